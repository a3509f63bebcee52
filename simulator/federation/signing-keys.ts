// The server's own federation signing keys: the current key (signs requests,
// events and the key document) and the old keys it has rotated away from, which
// are published in old_verify_keys with their expired_ts. ctx.signingKey is the
// key the server was born with; after a rotation the current key lives here, so
// everything that signs must ask `currentSigningKey(ctx)`, never ctx.signingKey.
//
// The keys are rows of one Table, so the observer sees every rotation. Rows keep
// the key pair object, whose private half lives in a closure: only the public key
// reaches the recorded view.
import { generateEd25519KeyPair, type Ed25519KeyPair } from '../protocol/crypto/ed25519.ts';
import { fork } from '../protocol/crypto/rng.ts';
import { ED25519_KEY_ID } from '../protocol/encoding/signed-json.ts';
import { fail, ok, type Failure, type Result } from '../protocol/result.ts';
import { isMutant, type HomeserverContext, type ServerSigningKey } from '../homeserver/context.ts';
import { MATRIX_MUTANTS } from './mutants.ts';
import { Table } from '../net/store.ts';

/** How long a published key is valid (valid_until_ts), as the homeserver's first key. */
export const SIGNING_KEY_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * When less than this remains of valid_until_ts, the server extends it by a full lifetime.
 * Readers trust a key until min(valid_until_ts, fetch + 7 days), so serving an almost
 * expired key would only make them refetch; Synapse similarly renews on a refresh interval.
 */
export const SIGNING_KEY_RENEW_MARGIN_MS = SIGNING_KEY_LIFETIME_MS / 2;

interface KeyRow {
  readonly keyId: string;
  readonly pair: Ed25519KeyPair;
  readonly status: 'current' | 'old';
  /** valid_until_ts while current. */
  readonly validUntil: number;
  /** expired_ts once old. */
  readonly expiredTs?: number;
}

export interface OldKey {
  readonly keyId: string;
  readonly publicKey: Uint8Array;
  readonly expiredTs: number;
}

export type RotateFailureKind = 'invalid-key-id' | 'key-id-in-use';

export interface Rotation {
  readonly keyId: string;
  readonly oldKeyId: string;
  readonly expiredTs: number;
}

const tables = new WeakMap<HomeserverContext, Table<KeyRow>>();

function keyTable(ctx: HomeserverContext): Table<KeyRow> {
  let table = tables.get(ctx);
  if (table === undefined) {
    table = new Table<KeyRow>('server_signing_keys', ctx.recorder);
    const { keyId, pair, validUntil } = ctx.signingKey;
    table.put(keyId, { keyId, pair, status: 'current', validUntil });
    tables.set(ctx, table);
  }
  return table;
}

function currentRow(table: Table<KeyRow>): KeyRow {
  const row = table.values().find((r) => r.status === 'current');
  // The table is created with a current key and rotation always installs one.
  if (row === undefined) throw new Error('no current signing key');
  return row;
}

/** The key this server signs with now. */
export function currentSigningKey(ctx: HomeserverContext): ServerSigningKey {
  const table = keyTable(ctx);
  // The mutant goes on signing with the key it was born with, whatever it publishes.
  const born = isMutant(ctx, MATRIX_MUTANTS.signWithRetiredKey)
    ? table.get(ctx.signingKey.keyId)
    : undefined;
  const { keyId, pair, validUntil } = born ?? currentRow(table);
  return { keyId, pair, validUntil };
}

/**
 * The current key with a valid_until_ts fit to publish at `now`: renewed (and recorded) when
 * less than SIGNING_KEY_RENEW_MARGIN_MS remains.
 */
export function publishableSigningKey(ctx: HomeserverContext): ServerSigningKey {
  const table = keyTable(ctx);
  const row = currentRow(table);
  const now = ctx.clock.now();
  if (row.validUntil - now >= SIGNING_KEY_RENEW_MARGIN_MS) return row;
  const renewed: KeyRow = { ...row, validUntil: now + SIGNING_KEY_LIFETIME_MS };
  table.put(row.keyId, renewed);
  return renewed;
}

/** Keys this server no longer signs with, oldest first. */
export function oldSigningKeys(ctx: HomeserverContext): readonly OldKey[] {
  return keyTable(ctx)
    .values()
    .flatMap((r) =>
      r.status === 'old'
        ? [{ keyId: r.keyId, publicKey: r.pair.publicKey, expiredTs: r.expiredTs ?? 0 }]
        : [],
    );
}

/**
 * Replaces the current key by a fresh one drawn from ctx.rng. The old key is kept as
 * expired now: it stays published in old_verify_keys (valid for signatures made before
 * expired_ts) and is never used again. Key ids default to `ed25519:<n>`, n counting keys.
 */
export async function rotateSigningKey(
  ctx: HomeserverContext,
  options: { readonly keyId?: string } = {},
): Promise<Result<Rotation, Failure<RotateFailureKind>>> {
  const table = keyTable(ctx);
  const keyId = options.keyId ?? nextKeyId(table);
  if (!ED25519_KEY_ID.test(keyId)) {
    return fail('invalid-key-id', `${JSON.stringify(keyId)} is not ed25519:[a-zA-Z0-9_]+`);
  }
  // Reusing a key id for another key would let caches confuse the two (MSC4499).
  if (table.has(keyId)) return fail('key-id-in-use', `${keyId} was already used by this server`);
  const pair = await generateEd25519KeyPair(fork(ctx.rng, `signing key ${keyId}`));
  const old = currentRow(table);
  const now = ctx.clock.now();
  if (isMutant(ctx, MATRIX_MUTANTS.rotationForgetsOldKey)) table.delete(old.keyId);
  else table.put(old.keyId, { ...old, status: 'old', expiredTs: now });
  table.put(keyId, { keyId, pair, status: 'current', validUntil: now + SIGNING_KEY_LIFETIME_MS });
  return ok({ keyId, oldKeyId: old.keyId, expiredTs: now });
}

function nextKeyId(table: Table<KeyRow>): string {
  let n = table.size + 1;
  while (table.has(`ed25519:${n}`)) n++;
  return `ed25519:${n}`;
}
