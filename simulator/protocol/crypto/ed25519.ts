// Ed25519 (RFC 8032) for signed JSON, server keys and request signatures.
//
// Signing and verification run on Node's OpenSSL through KeyObjects, synchronously: here
// about 0.04 ms per sign and 0.1 ms per verify, against 0.07 and 0.13 ms through WebCrypto
// (same OpenSSL, plus a job on libuv's pool and a promise) and 0.4 and 1.5 ms for
// @noble/curves. OpenSSL alone is not strict enough, so verifyEd25519 puts cheap checks in
// front of it (about 7 us). What OpenSSL's verify itself does, on Node 20.20 / OpenSSL
// 3.0.19, through crypto.verify and crypto.subtle.verify alike (pinned by the "Node
// behaviour" tests in ed25519.test.ts):
//   (a) S >= L (the malleated signature R || S+L): rejected.
//   (b) small-order public keys: ACCEPTED. If A has small order, [k]A = O whenever the
//       order of A divides k, so R = rB, S = r verifies for one message in eight or
//       fewer; for A = identity, R = identity and S = 0 verifies every message.
//   (c) non-canonical A (y >= p, or x = 0 with the sign bit set): ACCEPTED, y is reduced
//       mod p. Non-canonical R: rejected, because OpenSSL re-encodes [S]B - [k]A and
//       compares the bytes with R.
//   Also: small-order R is accepted. The equation is cofactorless, so a signature whose R
//   has a torsion component is rejected (noble's cofactored equation accepts it).
//
// The strict policy here is libsodium's (crypto_sign_ed25519_verify_detached without
// ED25519_COMPAT), which is what Synapse verifies with through python-signedjson and
// PyNaCl: S < L, R not of small order, A canonical and not of small order, then the
// cofactorless equation with a byte comparison of R. Checks are ordered key first, then
// signature, so every input gets exactly one, stable failure kind.

import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE } from '@noble/curves/utils.js';
import { bytesToHex, concatBytes } from '@noble/hashes/utils.js';
import {
  sign as signWithKeyObject,
  verify as verifyWithKeyObject,
  type KeyObject,
} from 'node:crypto';
import { fail, ok, type Failure, type Result } from '../result.ts';
import type { Rng } from './rng.ts';
import { meter, timedOp } from './meter.ts';
import { privateKeyObject, publicKeyObject } from './private-keys.ts';

export const ED25519_SEED_BYTES = 32;
export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

export const ED25519_KEY_FAILURE_KINDS = [
  'malformed-key',
  'non-canonical-key',
  'small-order-key',
] as const;
export type Ed25519KeyFailureKind = (typeof ED25519_KEY_FAILURE_KINDS)[number];

export const ED25519_FAILURE_KINDS = [
  ...ED25519_KEY_FAILURE_KINDS,
  'malformed-signature',
  'non-canonical-signature',
  'small-order-signature',
  'bad-signature',
] as const;
export type Ed25519FailureKind = (typeof ED25519_FAILURE_KINDS)[number];

export const ED25519_SEED_FAILURE_KINDS = ['malformed-seed'] as const;
export type Ed25519SeedFailureKind = (typeof ED25519_SEED_FAILURE_KINDS)[number];

type Verdict = Result<void, Failure<Ed25519FailureKind>>;

/** p = 2**255 - 19, the field order; L = 2**252 + 27742317777372353535851937790883648493. */
const P = ed25519.Point.Fp.ORDER;
const L = ed25519.Point.Fn.ORDER;

/**
 * The canonical encodings of the eight points of the 8-torsion subgroup (orders 1, 2, 4
 * and 8). Non-canonical encodings of these points fail the canonicity check first.
 */
export const SMALL_ORDER_ENCODINGS: readonly string[] = Object.freeze([
  '0100000000000000000000000000000000000000000000000000000000000000', // identity (0, 1)
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // (0, -1), order 2
  '0000000000000000000000000000000000000000000000000000000000000000', // (sqrt(-1), 0), order 4
  '0000000000000000000000000000000000000000000000000000000000000080', // (-sqrt(-1), 0)
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
]);
const SMALL_ORDER = new Set(SMALL_ORDER_ENCODINGS);

/**
 * RFC 8032 §5.1.3 canonical point encoding: y < p, and the sign bit clear when x = 0
 * (x = 0 exactly when y = 1 or y = p - 1). Pure byte arithmetic, no curve operations.
 */
export function isCanonicalPointEncoding(bytes: Uint8Array): boolean {
  if (bytes.length !== 32) return false;
  const last = bytes[31] ?? 0;
  const y = bytesToNumberLE(concatBytes(bytes.subarray(0, 31), Uint8Array.of(last & 0x7f)));
  if (y >= P) return false;
  const signBit = (last & 0x80) !== 0;
  return !(signBit && (y === 1n || y === P - 1n));
}

/** True when S, the second half of a signature, is a reduced scalar (S < L). */
export function isCanonicalScalar(bytes: Uint8Array): boolean {
  return bytes.length === 32 && bytesToNumberLE(bytes) < L;
}

/** Validates a raw 32-byte public key A: canonical, on the curve, not of small order. */
export function checkEd25519PublicKey(
  publicKey: Uint8Array,
): Result<void, Failure<Ed25519KeyFailureKind>> {
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES) {
    return fail('malformed-key', `public key is ${publicKey.length} bytes, expected 32`);
  }
  if (!isCanonicalPointEncoding(publicKey)) {
    return fail('non-canonical-key', 'public key is not the canonical encoding of its point');
  }
  try {
    ed25519.Point.fromBytes(publicKey, false);
  } catch {
    return fail('malformed-key', 'public key does not decode to a curve point');
  }
  if (SMALL_ORDER.has(bytesToHex(publicKey))) {
    return fail('small-order-key', 'public key is a point of small order');
  }
  return ok(undefined);
}

function checkSignatureEncoding(signature: Uint8Array): Verdict {
  if (signature.length !== ED25519_SIGNATURE_BYTES) {
    return fail('malformed-signature', `signature is ${signature.length} bytes, expected 64`);
  }
  if (!isCanonicalScalar(signature.subarray(32))) {
    return fail('non-canonical-signature', 'S >= L: the signature is malleable');
  }
  const r = signature.subarray(0, 32);
  if (!isCanonicalPointEncoding(r)) {
    return fail('non-canonical-signature', 'R is not a canonical point encoding');
  }
  if (SMALL_ORDER.has(bytesToHex(r))) {
    return fail('small-order-signature', 'R is a point of small order');
  }
  return ok(undefined);
}

// ---------------------------------------------------------------------------------------
// Key pairs (Node KeyObjects)

export interface Ed25519KeyPair {
  /** The raw 32-byte public key A (a fresh copy on every read). */
  readonly publicKey: Uint8Array;
  /** Deterministic RFC 8032 signature over message. */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** Imports a 32-byte RFC 8032 seed (the "private key") as a key pair. */
export function ed25519KeyPairFromSeed(
  seed: Uint8Array,
): Promise<Result<Ed25519KeyPair, Failure<Ed25519SeedFailureKind>>> {
  return Promise.resolve(keyPairFromSeed(seed));
}

function keyPairFromSeed(
  seed: Uint8Array,
): Result<Ed25519KeyPair, Failure<Ed25519SeedFailureKind>> {
  if (seed.length !== ED25519_SEED_BYTES) {
    return fail('malformed-seed', `seed is ${seed.length} bytes, expected 32`);
  }
  // A KeyObject from the raw seed, which also yields the public key (./private-keys.ts).
  const { keyObject, publicKey } = privateKeyObject('Ed25519', seed);
  return ok(
    Object.freeze({
      get publicKey(): Uint8Array {
        return publicKey.slice();
      },
      sign(message: Uint8Array): Promise<Uint8Array> {
        meter.count('ed25519.sign');
        return meter.timed(
          'ed25519.sign',
          () => new Uint8Array(signWithKeyObject(null, message, keyObject)),
        );
      },
    }),
  );
}

/** Draws a 32-byte seed from rng, so key generation is as reproducible as the rng. */
export const generateEd25519KeyPair = timedOp(
  'ed25519.keygen',
  function generateEd25519KeyPair(rng: Rng): Ed25519KeyPair {
    meter.count('ed25519.keygen');
    const pair = keyPairFromSeed(rng.bytes(ED25519_SEED_BYTES));
    if (!pair.ok) throw new Error(`rng returned a bad seed: ${pair.error.detail}`);
    return pair.value;
  },
);

// ---------------------------------------------------------------------------------------
// Verification

type ImportedKey = Result<KeyObject, Failure<Ed25519KeyFailureKind>>;

// Importing and validating a key (one point decompression) costs more than a verify, and
// the same few server keys verify most signatures, so both are cached, failures included.
// The bound keeps long property-test runs with random keys from growing without limit.
const KEY_CACHE_LIMIT = 4096;
const keyCache = new Map<string, ImportedKey>();

function importVerifyKey(publicKey: Uint8Array): ImportedKey {
  const id = bytesToHex(publicKey);
  const cached = keyCache.get(id);
  if (cached !== undefined) {
    keyCache.delete(id); // re-insert: Map order doubles as least-recently-used order
    keyCache.set(id, cached);
    return cached;
  }
  // The first sight of a key costs a point decompression and an import: metered apart.
  meter.count('ed25519.importKey');
  const imported = importChecked(publicKey);
  keyCache.set(id, imported);
  if (keyCache.size > KEY_CACHE_LIMIT) {
    const oldest = keyCache.keys().next();
    if (oldest.done !== true) keyCache.delete(oldest.value);
  }
  return imported;
}

function importChecked(publicKey: Uint8Array): ImportedKey {
  const checked = checkEd25519PublicKey(publicKey);
  if (!checked.ok) return checked;
  try {
    return ok(publicKeyObject('Ed25519', publicKey));
  } catch (error) {
    return fail('malformed-key', `Node rejected the key: ${String(error)}`);
  }
}

/**
 * The reference verifier: strict (libsodium policy, see the top of this file) and fast
 * (OpenSSL, with the key import and key checks cached).
 */
export const verifyEd25519 = timedOp(
  'ed25519.verify',
  function verifyEd25519(
    publicKey: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
  ): Verdict {
    meter.count('ed25519.verify');
    const key = importVerifyKey(publicKey);
    if (!key.ok) return key;
    const encoding = checkSignatureEncoding(signature);
    if (!encoding.ok) return encoding;
    let valid: boolean;
    try {
      valid = verifyWithKeyObject(null, message, key.value, signature);
    } catch (error) {
      return fail('bad-signature', `Node could not verify: ${String(error)}`);
    }
    return valid ? ok(undefined) : fail('bad-signature', 'signature does not match');
  },
);

/**
 * The same checks on @noble/curves with RFC 8032 rules (`zip215: false`: canonical R and
 * A, S < L, small-order A rejected). About 10x slower than verifyEd25519: an independent
 * second implementation for cross-checks. It differs from verifyEd25519 on one class of
 * input: noble's equation is cofactored ([8][S]B = [8]R + [8][k]A), so a signature whose
 * R, or a key whose A, has a torsion component can pass here and fail there.
 */
export function verifyEd25519Noble(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Verdict {
  const key = checkEd25519PublicKey(publicKey);
  if (!key.ok) return key;
  const encoding = checkSignatureEncoding(signature);
  if (!encoding.ok) return encoding;
  let valid: boolean;
  try {
    valid = ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch (error) {
    return fail('bad-signature', `noble could not verify: ${String(error)}`);
  }
  return valid ? ok(undefined) : fail('bad-signature', 'signature does not match');
}
