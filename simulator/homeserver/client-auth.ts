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
    url: new URL(c.req.url),
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
