// Authenticating Phoenix client requests (Fedconn-Sig, see protocol/request-auth.ts)
// inside a Hono handler. The service supplies how a key reference maps to a key.
import type { Context } from 'hono';
import { parseAuthorization, verifySignedRequest } from '../protocol/request-auth.ts';
// The names of the services' mutants: a constants module, the one thing taken from services/.
import { PHOENIX_MUTANTS } from '../services/phoenix-mutants.ts';
import { isMutant, type HomeserverContext } from './context.ts';
import { fail } from './http.ts';

export type KeyResolver = (keyRef: string) => Uint8Array | undefined;

export async function authenticateClient(
  ctx: HomeserverContext,
  c: Context,
  content: unknown,
  resolve: KeyResolver,
): Promise<{ ok: true; keyRef: string } | { ok: false; response: Response }> {
  const parsed = parseAuthorization(c.req.header('authorization') ?? null);
  if (!parsed.ok) {
    return {
      ok: false,
      response: fail('M_MISSING_TOKEN', `authentication required: ${parsed.error.detail}`),
    };
  }
  const key = resolve(parsed.value.keyRef);
  if (key === undefined) {
    return {
      ok: false,
      response: fail('M_UNKNOWN_TOKEN', `no key known for ${parsed.value.keyRef}`),
    };
  }
  const verdict = await verifySignedRequest({
    auth: parsed.value,
    publicKey: key,
    method: c.req.method,
    url: addressedUrl(c.req.raw),
    content,
    now: ctx.clock.now(),
    ...(isMutant(ctx, PHOENIX_MUTANTS.requestSignatureWithoutContent)
      ? { uncovered: 'content' }
      : {}),
  });
  if (!verdict.ok) {
    return {
      ok: false,
      response: fail('M_UNAUTHORIZED', `request signature: ${verdict.error.detail}`),
    };
  }
  return { ok: true, keyRef: parsed.value.keyRef };
}

/**
 * What a server under one of the identifying mutants (services/phoenix-mutants.ts) asks
 * of a request the protocol sends without naming its user: a client credential's
 * signature. Refused before any verification, since a correct client never offers one;
 * undefined where the request names a client.
 */
export function demandClientSignature(c: Context, what: string): Response | undefined {
  const parsed = parseAuthorization(c.req.header('authorization') ?? null);
  return parsed.ok && parsed.value.keyRef.startsWith('client:')
    ? undefined
    : fail('M_MISSING_TOKEN', `${what} must be signed by the sender's client credential`);
}

/**
 * The URL as the client addressed it: the host is the Host header where the request has
 * one (HTTP's own rule, and what a served server sees), else the URL's. The two differ for
 * a client under test behind fedconn's loopback gateway (suites/harness/clients/gateway.ts),
 * which signed the host it connected to.
 */
function addressedUrl(request: Request): URL {
  const url = new URL(request.url);
  const host = request.headers.get('host');
  if (host !== null && host !== '') url.host = host;
  return url;
}
