// Fetching and validating other servers' signing keys.
//
// matrix-current: GET /_matrix/key/v2/server, with the checks today's servers apply:
// the response names the server asked, it is signed by the server itself with a key
// among its verify_keys, and it is trusted at most until min(valid_until_ts, now +
// 7 days). Old keys (old_verify_keys) only verify event signatures made before their
// expired_ts, never requests.
//
// matrix-2014: GET /_matrix/key/v1, checked against the certificate the connection
// presented (see keys-v1.ts and simulator/net/tls.ts).
//
// Results are cached per server until trustedUntil. A key id missing from the cache
// triggers one refetch, so a rotation is picked up at the first request signed with
// the new key (and the old key then stops authenticating requests). A receiver that
// has not refetched keeps trusting a cached key until trustedUntil, as Matrix
// servers do. A real server would rate-limit refetches; the simulator does not.
import { z } from 'zod';
import { decodeBase64 } from '../protocol/encoding/base64.ts';
import { checkJsonSignature, ED25519_KEY_ID } from '../protocol/encoding/signed-json.ts';
import { fail, ok, type Failure, type Result } from '../protocol/result.ts';
import { isMutant, type HomeserverContext, type MatrixProfile } from '../homeserver/context.ts';
import { connectionCertificate } from '../net/tls.ts';
import { locateServer, requestTo, type Located } from './client.ts';
import { validateServerKeysV1, type KeyV1FailureKind } from './keys-v1.ts';
import { MATRIX_MUTANTS } from './mutants.ts';
import type { KeyLookup } from './x-matrix.ts';

export const MAX_KEY_TRUST_MS = 7 * 24 * 60 * 60 * 1000;

export const serverKeysSchema = z.object({
  server_name: z.string().min(1),
  valid_until_ts: z.int(),
  // Key ids of other algorithms are ignored below rather than failing the document.
  verify_keys: z.record(z.string(), z.object({ key: z.string() })),
  old_verify_keys: z
    .record(z.string(), z.object({ key: z.string(), expired_ts: z.int() }))
    .optional(),
  signatures: z.record(z.string(), z.record(z.string(), z.string())),
});
export type ServerKeys = z.output<typeof serverKeysSchema>;

export type KeyValidationFailureKind =
  | 'unreachable'
  | 'bad-response'
  | 'wrong-server-name'
  | 'not-self-signed'
  | 'expired'
  | Exclude<KeyV1FailureKind, 'bad-response' | 'wrong-server-name' | 'not-self-signed'>;

export interface OldVerifyKey {
  readonly key: Uint8Array;
  readonly expiredTs: number;
}

export interface ValidatedKeys {
  readonly serverName: string;
  /** verify_keys: valid for requests and events. */
  readonly keys: ReadonlyMap<string, Uint8Array>;
  /** old_verify_keys: valid only for event signatures made before expiredTs. */
  readonly oldKeys: ReadonlyMap<string, OldVerifyKey>;
  /** min(valid_until_ts, fetched + 7 days) */
  readonly trustedUntil: number;
  /** matrix-2014: the tls_certificate the key/v1 document names (client certificates match it). */
  readonly tlsCertificate?: Uint8Array;
}

export interface ValidateOptions {
  /** Mutant FED-KEYS-05: use the document whatever server_name it names. */
  readonly acceptAnyServerName?: boolean;
  /** Mutant FED-KEYS-06: trust valid_until_ts as is. */
  readonly uncappedTrust?: boolean;
  /** Mutant FED-KEYS-11: refuse padded base64 keys and signatures. */
  readonly strictBase64?: boolean;
  /** Mutant FED-KEYS-04: also take a self-signature that leaves this field out. */
  readonly uncovered?: string;
}

/** Validates a /_matrix/key/v2/server response for `serverName` at time `now`. */
export async function validateServerKeys(
  value: unknown,
  serverName: string,
  now: number,
  options: ValidateOptions = {},
): Promise<Result<ValidatedKeys, Failure<KeyValidationFailureKind>>> {
  const parsed = serverKeysSchema.safeParse(value);
  if (!parsed.success)
    return fail(
      'bad-response',
      `not a server keys object: ${parsed.error.issues[0]?.message ?? ''}`,
    );
  const body = parsed.data;
  if (body.server_name !== serverName && options.acceptAnyServerName !== true) {
    return fail('wrong-server-name', `asked ${serverName}, answer names ${body.server_name}`);
  }
  const signer = body.server_name;
  if (options.strictBase64 === true) {
    const values = [
      ...Object.values(body.verify_keys).map(({ key }) => key),
      ...Object.values(body.signatures).flatMap((byKey) => Object.values(byKey)),
    ];
    if (values.some((v) => v.includes('='))) {
      return fail('bad-response', 'padded base64 in the key document');
    }
  }
  const keys = new Map<string, Uint8Array>();
  for (const [keyId, { key }] of Object.entries(body.verify_keys)) {
    const bytes = decodeBase64(key);
    if (ED25519_KEY_ID.test(keyId) && bytes.ok && bytes.value.length === 32) {
      keys.set(keyId, bytes.value);
    }
  }
  // Signatures by key ids outside verify_keys (a notary's, say) are not ours to check here;
  // at least one must come from the server's own verify_keys.
  const own = Object.keys(body.signatures[signer] ?? {}).filter((id) => keys.has(id));
  if (own.length === 0)
    return fail('not-self-signed', `no signature by a key in ${signer}'s verify_keys`);
  // Verify the document as received (the parsed copy lacks members the schema does not
  // name), keeping only the signer's own signatures.
  const onlyOwn = {
    ...(value as Record<string, unknown>),
    signatures: {
      [signer]: Object.fromEntries(own.map((id) => [id, body.signatures[signer]?.[id] ?? ''])),
    },
  };
  const checked = await checkJsonSignature(onlyOwn, signer, keys, options.uncovered);
  if (!checked.ok) return fail('not-self-signed', checked.error.detail);
  const trustedUntil =
    options.uncappedTrust === true
      ? body.valid_until_ts
      : Math.min(body.valid_until_ts, now + MAX_KEY_TRUST_MS);
  if (trustedUntil < now)
    return fail('expired', `keys of ${serverName} expired at ${body.valid_until_ts}`);
  const oldKeys = new Map<string, OldVerifyKey>();
  for (const [keyId, { key, expired_ts }] of Object.entries(body.old_verify_keys ?? {})) {
    const bytes = decodeBase64(key);
    if (ED25519_KEY_ID.test(keyId) && bytes.ok && bytes.value.length === 32) {
      oldKeys.set(keyId, { key: bytes.value, expiredTs: expired_ts });
    }
  }
  return ok({ serverName, keys, oldKeys, trustedUntil });
}

/** The Matrix profile a homeserver follows. */
export const matrixProfile = (ctx: HomeserverContext): MatrixProfile =>
  ctx.config.matrixProfile ?? 'matrix-current';

const caches = new WeakMap<HomeserverContext, Map<string, ValidatedKeys>>();

function cacheOf(ctx: HomeserverContext): Map<string, ValidatedKeys> {
  let cache = caches.get(ctx);
  if (cache === undefined) {
    cache = new Map();
    caches.set(ctx, cache);
  }
  return cache;
}

/**
 * The keys of `serverName` as this homeserver knows them: from the cache while trusted
 * and while it holds every id in `keyIds`, fetched otherwise.
 */
export async function knownServerKeys(
  ctx: HomeserverContext,
  serverName: string,
  keyIds: readonly string[] = [],
  located?: Located,
): Promise<ValidatedKeys | undefined> {
  const cache = cacheOf(ctx);
  const cached = cache.get(serverName);
  const fresh = cached !== undefined && cached.trustedUntil >= ctx.clock.now();
  const holds = keyIds.every(
    (id) => cached?.keys.has(id) === true || cached?.oldKeys.has(id) === true,
  );
  if (fresh && holds) return cached;
  const first = await sharedFetch(ctx, serverName, located);
  const lacksAKey = (r: Fetched) => r.ok && !keyIds.every((id) => r.value.keys.has(id));
  // A fetch joined after it started may predate a key this lookup needs: fetch once more.
  const result =
    first.joined && lacksAKey(first.result)
      ? (await sharedFetch(ctx, serverName, located)).result
      : first.result;
  if (!result.ok) return fresh ? cached : undefined;
  cache.set(serverName, result.value);
  return result.value;
}

type Fetched = Awaited<ReturnType<typeof fetchServerKeys>>;
const inFlight = new WeakMap<HomeserverContext, Map<string, Promise<Fetched>>>();

/**
 * One fetch for concurrent misses: two requests from a server that arrive together (a
 * DS delivering several WelcomeBundles at once) wait for the same key document instead
 * of each fetching and validating it. The next miss after it settles fetches again.
 */
function sharedFetch(
  ctx: HomeserverContext,
  serverName: string,
  located: Located | undefined,
): Promise<{ readonly result: Fetched; readonly joined: boolean }> {
  let pending = inFlight.get(ctx);
  if (pending === undefined) {
    pending = new Map();
    inFlight.set(ctx, pending);
  }
  // Requests that would differ (another origin, Host or TLS name) do not share a fetch.
  const key = JSON.stringify([
    serverName,
    located?.origin,
    located?.hostHeader,
    located?.tlsServerName,
  ]);
  const running = pending.get(key);
  if (running !== undefined) return running.then((result) => ({ result, joined: true }));
  const fetching = fetchServerKeys(ctx, serverName, located).finally(() => {
    pending.delete(key);
  });
  pending.set(key, fetching);
  return fetching.then((result) => ({ result, joined: false }));
}

/** The key lookup a homeserver uses to authenticate requests from other servers. */
export function remoteKeyLookup(ctx: HomeserverContext): KeyLookup {
  return async (serverName, keyId) => {
    const known = await knownServerKeys(ctx, serverName, [keyId]);
    const key = known?.keys.get(keyId);
    if (key !== undefined) return key;
    // FED-KEYS-07: an old key never authenticates a request, except in the mutant.
    return isMutant(ctx, MATRIX_MUTANTS.oldKeysAuthenticateRequests)
      ? known?.oldKeys.get(keyId)?.key
      : undefined;
  };
}

/**
 * The keys of `serverName` able to verify an event signature made at `originServerTs`:
 * its verify_keys, plus old keys that expired after that time.
 */
export async function eventVerifyKeys(
  ctx: HomeserverContext,
  serverName: string,
  keyIds: readonly string[],
  originServerTs: number,
): Promise<ReadonlyMap<string, Uint8Array>> {
  const known = await knownServerKeys(ctx, serverName, keyIds);
  const keys = new Map<string, Uint8Array>();
  if (known === undefined) return keys;
  for (const [keyId, old] of known.oldKeys) {
    if (old.expiredTs > originServerTs) keys.set(keyId, old.key);
  }
  for (const [keyId, key] of known.keys) keys.set(keyId, key);
  return keys;
}

/** Fetches and validates the keys of `serverName` by the server's Matrix profile. */
export async function fetchServerKeys(
  ctx: HomeserverContext,
  serverName: string,
  // Where the caller already resolved serverName to: the key fetch then uses that same
  // connection (as a 2014 server checks the certificate of the peer it is about to
  // talk to) instead of resolving the name a second time.
  endpoint?: Located,
): Promise<Result<ValidatedKeys, Failure<KeyValidationFailureKind>>> {
  const located =
    endpoint === undefined
      ? await locateServer(ctx, serverName)
      : ({ ok: true, value: endpoint } as const);
  if (!located.ok) return fail('unreachable', `cannot resolve ${serverName}: ${located.detail}`);
  const v1 = matrixProfile(ctx) === 'matrix-2014';
  let text: string;
  let body: unknown;
  let certificate: Uint8Array | undefined;
  try {
    const response = await ctx.transport(
      requestTo(located.value, v1 ? '/_matrix/key/v1' : '/_matrix/key/v2/server'),
    );
    if (!response.ok) return fail('bad-response', `key request answered ${response.status}`);
    certificate = connectionCertificate(response);
    text = await response.text();
  } catch (error) {
    return fail('unreachable', `key request failed: ${String(error)}`);
  }
  try {
    body = JSON.parse(text);
  } catch {
    return fail('bad-response', 'the key response is not JSON');
  }
  const now = ctx.clock.now();
  if (v1) {
    return validateServerKeysV1(body, serverName, {
      connectionCertificate: certificate,
      now,
      trustMs: MAX_KEY_TRUST_MS,
      skipCertificateCheck: isMutant(ctx, MATRIX_MUTANTS.skipCertificateCheck),
    });
  }
  return validateServerKeys(body, serverName, now, {
    acceptAnyServerName: isMutant(ctx, MATRIX_MUTANTS.acceptAnyServerName),
    uncappedTrust: isMutant(ctx, MATRIX_MUTANTS.uncappedKeyTrust),
    ...(isMutant(ctx, MATRIX_MUTANTS.keysSignatureWithoutValidity)
      ? { uncovered: 'valid_until_ts' }
      : {}),
    strictBase64: isMutant(ctx, MATRIX_MUTANTS.strictBase64Decoder),
  });
}
