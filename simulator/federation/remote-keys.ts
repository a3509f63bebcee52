// Fetching and validating other servers' signing keys (GET /_matrix/key/v2/server),
// with the checks today's servers apply: the response names the server asked,
// it is signed by the server itself with a key among its verify_keys, and it is
// trusted at most until min(valid_until_ts, now + 7 days). Results are cached
// until then. Old keys never authenticate requests.
import { z } from 'zod';
import { decodeBase64 } from '../protocol/encoding/base64.ts';
import { checkJsonSignature } from '../protocol/encoding/signed-json.ts';
import { fail, ok, type Failure, type Result } from '../protocol/result.ts';
import type { HomeserverContext } from '../homeserver/context.ts';
import type { KeyLookup } from './x-matrix.ts';

export const MAX_KEY_TRUST_MS = 7 * 24 * 60 * 60 * 1000;

export const serverKeysSchema = z.object({
  server_name: z.string().min(1),
  valid_until_ts: z.int(),
  verify_keys: z.record(z.string().regex(/^ed25519:[a-zA-Z0-9_]+$/), z.object({ key: z.string() })),
  old_verify_keys: z
    .record(z.string(), z.object({ key: z.string(), expired_ts: z.int() }))
    .optional(),
  signatures: z.record(z.string(), z.record(z.string(), z.string())),
});
export type ServerKeys = z.output<typeof serverKeysSchema>;

export type KeyValidationFailureKind =
  'unreachable' | 'bad-response' | 'wrong-server-name' | 'not-self-signed' | 'expired';

export interface ValidatedKeys {
  readonly serverName: string;
  readonly keys: ReadonlyMap<string, Uint8Array>;
  /** min(valid_until_ts, fetched + 7 days) */
  readonly trustedUntil: number;
}

/** Validates a key response for `serverName` at time `now`. */
export async function validateServerKeys(
  value: unknown,
  serverName: string,
  now: number,
): Promise<Result<ValidatedKeys, Failure<KeyValidationFailureKind>>> {
  const parsed = serverKeysSchema.safeParse(value);
  if (!parsed.success)
    return fail(
      'bad-response',
      `not a server keys object: ${parsed.error.issues[0]?.message ?? ''}`,
    );
  const body = parsed.data;
  if (body.server_name !== serverName) {
    return fail('wrong-server-name', `asked ${serverName}, answer names ${body.server_name}`);
  }
  const keys = new Map<string, Uint8Array>();
  for (const [keyId, { key }] of Object.entries(body.verify_keys)) {
    const bytes = decodeBase64(key);
    if (bytes.ok && bytes.value.length === 32) keys.set(keyId, bytes.value);
  }
  // Signatures by key ids outside verify_keys (a notary's, say) are not ours to check here;
  // at least one must come from the server's own verify_keys.
  const own = Object.keys(body.signatures[serverName] ?? {}).filter((id) => keys.has(id));
  if (own.length === 0)
    return fail('not-self-signed', `no signature by a key in ${serverName}'s verify_keys`);
  const onlyOwn = {
    ...body,
    signatures: {
      [serverName]: Object.fromEntries(
        own.map((id) => [id, body.signatures[serverName]?.[id] ?? '']),
      ),
    },
  };
  const checked = await checkJsonSignature(onlyOwn, serverName, keys);
  if (!checked.ok) return fail('not-self-signed', checked.error.detail);
  const trustedUntil = Math.min(body.valid_until_ts, now + MAX_KEY_TRUST_MS);
  if (trustedUntil < now)
    return fail('expired', `keys of ${serverName} expired at ${body.valid_until_ts}`);
  return ok({ serverName, keys, trustedUntil });
}

const caches = new WeakMap<HomeserverContext, Map<string, ValidatedKeys>>();

/** The key lookup a homeserver uses to authenticate requests from other servers. */
export function remoteKeyLookup(ctx: HomeserverContext): KeyLookup {
  let cache = caches.get(ctx);
  if (cache === undefined) {
    cache = new Map();
    caches.set(ctx, cache);
  }
  const entries = cache;
  return async (serverName, keyId) => {
    const now = ctx.clock.now();
    let entry = entries.get(serverName);
    if (entry === undefined || entry.trustedUntil < now) {
      const fetched = await fetchServerKeys(ctx, serverName);
      if (!fetched.ok) return undefined;
      entry = fetched.value;
      entries.set(serverName, entry);
    }
    return entry.keys.get(keyId);
  };
}

export async function fetchServerKeys(
  ctx: HomeserverContext,
  serverName: string,
): Promise<Result<ValidatedKeys, Failure<KeyValidationFailureKind>>> {
  const origin = await ctx.directory.originOf(serverName);
  if (origin === undefined) return fail('unreachable', `cannot resolve ${serverName}`);
  let body: unknown;
  try {
    const response = await ctx.transport(new Request(`${origin}/_matrix/key/v2/server`));
    if (!response.ok) return fail('bad-response', `key request answered ${response.status}`);
    body = await response.json();
  } catch (error) {
    return fail('unreachable', `key request failed: ${String(error)}`);
  }
  return validateServerKeys(body, serverName, ctx.clock.now());
}
