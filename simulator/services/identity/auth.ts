// Who is asking the identity service. Users present an IS access token
// (`Authorization: Bearer`; the query-string access_token was removed in v1.20).
// Servers present an X-Matrix signature; only hash_details and the hash push
// accept them, and only from servers this one trusts.
import type { Context } from 'hono';
import type { HomeserverContext } from '../../homeserver/context.ts';
import { fail } from '../../homeserver/http.ts';
import { authenticateServer } from '../../federation/inbound.ts';
import type { IdentityState } from './state.ts';

export type Caller =
  | { readonly kind: 'user'; readonly userId: string }
  | { readonly kind: 'server'; readonly serverName: string };

type Authenticated<T> = { ok: true; value: T } | { ok: false; error: Response };

const unauthorized = (why: string): { ok: false; error: Response } => ({
  ok: false,
  error: fail('M_UNAUTHORIZED', why),
});

function bearerToken(c: Context): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '');
  return match?.[1];
}

/** A user with a valid, unexpired IS access token. */
export function authenticateUser(
  ctx: HomeserverContext,
  state: IdentityState,
  c: Context,
): Authenticated<Extract<Caller, { kind: 'user' }>> {
  const token = bearerToken(c);
  if (token === undefined) return unauthorized('an identity service access token is required');
  const userId = state.tokenUser(token, ctx.clock.now());
  if (userId === undefined) return unauthorized('unknown or expired access token');
  return { ok: true, value: { kind: 'user', userId } };
}

export const isTrusted = (ctx: HomeserverContext, serverName: string): boolean =>
  ctx.config.trustedIdentityServers.includes(serverName);

/**
 * A trusted server proven by its X-Matrix signature over the request (`content` is the
 * parsed body, or undefined for none). A bad signature is 401; a good signature from a
 * server outside trustedIdentityServers is 403.
 */
export async function authenticateTrustedServer(
  ctx: HomeserverContext,
  c: Context,
  content: unknown,
): Promise<Authenticated<Extract<Caller, { kind: 'server' }>>> {
  const verdict = await authenticateServer(ctx, c, content);
  if (!verdict.ok) return { ok: false, error: verdict.response };
  if (!isTrusted(ctx, verdict.origin)) {
    return {
      ok: false,
      error: fail('M_FORBIDDEN', `${verdict.origin} is not a trusted identity server here`),
    };
  }
  return { ok: true, value: { kind: 'server', serverName: verdict.origin } };
}

/** A user by token, or a trusted server by signature, told apart by the auth scheme. */
export async function authenticateUserOrServer(
  ctx: HomeserverContext,
  state: IdentityState,
  c: Context,
): Promise<Authenticated<Caller>> {
  const header = c.req.header('authorization') ?? '';
  if (/^\s*X-Matrix\s/i.test(header)) return authenticateTrustedServer(ctx, c, undefined);
  return authenticateUser(ctx, state, c);
}
