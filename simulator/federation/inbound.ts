// Authenticating inbound federation requests inside a Hono handler.
import type { Context } from 'hono';
import type { HomeserverContext } from '../homeserver/context.ts';
import { fail } from '../homeserver/http.ts';
import { remoteKeyLookup } from './remote-keys.ts';
import { verifyXMatrix } from './x-matrix.ts';

/**
 * Verifies the X-Matrix header of the request in `c`. Returns the origin
 * server_name, or the 401 response to send. The body must be read by the caller
 * first (as JSON, or undefined when empty) because a request body is read once.
 */
export async function authenticateServer(
  ctx: HomeserverContext,
  c: Context,
  content: unknown,
): Promise<{ ok: true; origin: string } | { ok: false; response: Response }> {
  const url = new URL(c.req.url);
  const verdict = await verifyXMatrix({
    header: c.req.header('authorization') ?? null,
    method: c.req.method,
    uri: url.pathname + url.search,
    content,
    ownServerName: ctx.config.serverName,
    lookup: remoteKeyLookup(ctx),
  });
  if (verdict.ok) return { ok: true, origin: verdict.value };
  return {
    ok: false,
    response: fail(
      'M_UNAUTHORIZED',
      `federation request not authenticated: ${verdict.error.detail}`,
    ),
  };
}
