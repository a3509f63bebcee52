import { fc, test } from '@fast-check/vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { describe, expect } from 'vitest';
import { createPublicKey, verify } from 'node:crypto';
import { unwrap } from '../result.ts';
import { decodeBase64 } from '../encoding/base64.ts';
import {
  ED25519_FAILURE_KINDS,
  SMALL_ORDER_ENCODINGS,
  checkEd25519PublicKey,
  ed25519KeyPairFromSeed,
  generateEd25519KeyPair,
  isCanonicalPointEncoding,
  isCanonicalScalar,
  verifyEd25519,
  verifyEd25519Noble,
  type Ed25519FailureKind,
} from './ed25519.ts';
import { seededRng } from './rng.ts';

const RUNS = { numRuns: 100 };
const { Point } = ed25519;
const L = Point.Fn.ORDER;
const P = Point.Fp.ORDER;
const modL = (n: bigint): bigint => ((n % L) + L) % L;
const le32 = (n: bigint): Uint8Array => numberToBytesLE(n, 32);

// The published Matrix test key (appendices, Cryptographic Test Vectors).
const SEED = unwrap(decodeBase64('YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1'));
const matrixKey = unwrap(await ed25519KeyPairFromSeed(SEED));
const A = matrixKey.publicKey;
const a = ed25519.utils.getExtendedPublicKey(SEED).scalar; // the secret scalar, for crafting
const message = utf8ToBytes('{"one":1,"two":"Two"}');

/** k = SHA-512(R || A || M) mod L, the RFC 8032 challenge. */
const challenge = (r: Uint8Array, publicKey: Uint8Array, m: Uint8Array): bigint =>
  modL(bytesToNumberLE(sha512(concatBytes(r, publicKey, m))));

/** Raw crypto.verify on a KeyObject, without any of our checks: what verifyEd25519 relies on. */
function nodeAccepts(publicKey: Uint8Array, m: Uint8Array, signature: Uint8Array): boolean {
  const key = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') },
    format: 'jwk',
  });
  return verify(null, m, key, signature);
}

/** Raw WebCrypto verify, without any of our checks: what Node itself accepts. */
async function webcryptoAccepts(publicKey: Uint8Array, m: Uint8Array, signature: Uint8Array) {
  const key = await crypto.subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, [
    'verify',
  ]);
  return crypto.subtle.verify('Ed25519', key, signature, m);
}

const kindOf = (result: { ok: boolean; error?: { kind: string } }): string =>
  result.ok ? 'ok' : (result.error?.kind ?? '?');

const T8 = Point.fromBytes(
  hexToBytes('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'),
);
const torsion = Array.from({ length: 8 }, (_, k) =>
  k === 0 ? Point.ZERO : T8.multiply(BigInt(k)),
);
const IDENTITY = Point.ZERO.toBytes();

/**
 * A small-order key A' = t with a signature that passes the plain equation [S]B = R + [k]A':
 * R = rB and S = r, for a message whose challenge k is a multiple of the order of t
 * (then [k]A' = O). One message in eight or fewer qualifies.
 */
function smallOrderForgery(t: typeof Point.ZERO) {
  const r = 7n;
  const R = Point.BASE.multiply(r).toBytes();
  const publicKey = t.toBytes();
  for (let i = 0; ; i++) {
    const m = utf8ToBytes(`forged ${i}`);
    if (t.multiplyUnsafe(challenge(R, publicKey, m)).is0()) {
      return { publicKey, message: m, signature: concatBytes(R, le32(r)) };
    }
  }
}

/** A signature by the honest key with the given R (any encoding) and S = r + k a. */
function withR(rBytes: Uint8Array, r: bigint) {
  const s = modL(r + challenge(rBytes, A, message) * a);
  return concatBytes(rBytes, le32(s));
}

interface Crafted {
  readonly name: string;
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
  /** What crypto.subtle.verify returns on Node 20.20 / OpenSSL 3.0.x. */
  readonly webcrypto: boolean;
  /** verifyEd25519 (strict, WebCrypto) */
  readonly strict: Ed25519FailureKind | 'ok';
  /** verifyEd25519Noble (strict, cofactored) */
  readonly noble: Ed25519FailureKind | 'ok';
}

const honest = await matrixKey.sign(message);
const S = bytesToNumberLE(honest.subarray(32));

const crafted: readonly Crafted[] = [
  {
    name: 'honest signature',
    ...{ publicKey: A, message, signature: honest },
    ...{ webcrypto: true, strict: 'ok', noble: 'ok' },
  },
  {
    name: '(a) S + L (malleated)',
    ...{ publicKey: A, message, signature: concatBytes(honest.subarray(0, 32), le32(S + L)) },
    ...{ webcrypto: false, strict: 'non-canonical-signature', noble: 'non-canonical-signature' },
  },
  ...torsion.map((t, k): Crafted => ({
    name: `(b) small-order key [${k}]T8 = ${bytesToHex(t.toBytes()).slice(0, 8)}…`,
    ...smallOrderForgery(t),
    ...{ webcrypto: true, strict: 'small-order-key', noble: 'small-order-key' },
  })),
  {
    name: '(b) identity key, R = identity, S = 0: verifies for every message',
    ...{ publicKey: IDENTITY, message, signature: concatBytes(IDENTITY, new Uint8Array(32)) },
    ...{ webcrypto: true, strict: 'small-order-key', noble: 'small-order-key' },
  },
  {
    name: '(c) non-canonical key: identity encoded with y = p + 1',
    ...{ publicKey: le32(P + 1n), message, signature: concatBytes(IDENTITY, new Uint8Array(32)) },
    ...{ webcrypto: true, strict: 'non-canonical-key', noble: 'non-canonical-key' },
  },
  {
    name: '(c) non-canonical key: identity with the x sign bit set ("-0")',
    ...{
      publicKey: hexToBytes('01'.padEnd(62, '0') + '80'),
      ...{ message, signature: concatBytes(IDENTITY, new Uint8Array(32)) },
    },
    ...{ webcrypto: true, strict: 'non-canonical-key', noble: 'non-canonical-key' },
  },
  {
    name: '(c) non-canonical R: identity encoded with y = p + 1',
    ...{ publicKey: A, message, signature: withR(le32(P + 1n), 0n) },
    ...{ webcrypto: false, strict: 'non-canonical-signature', noble: 'non-canonical-signature' },
  },
  {
    name: '(c) non-canonical R: identity with the x sign bit set',
    ...{ publicKey: A, message, signature: withR(hexToBytes('01'.padEnd(62, '0') + '80'), 0n) },
    ...{ webcrypto: false, strict: 'non-canonical-signature', noble: 'non-canonical-signature' },
  },
  {
    name: 'small-order R (identity) with S = k a',
    ...{ publicKey: A, message, signature: withR(IDENTITY, 0n) },
    ...{ webcrypto: true, strict: 'small-order-signature', noble: 'small-order-signature' },
  },
  {
    name: 'mixed-order R = rB + T8: passes only the cofactored equation',
    ...{
      publicKey: A,
      message,
      signature: withR(Point.BASE.multiply(12345n).add(T8).toBytes(), 12345n),
    },
    ...{ webcrypto: false, strict: 'bad-signature', noble: 'ok' },
  },
];

describe('Node behaviour (documents ed25519.ts; fails if Node changes it)', () => {
  test.each(crafted.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    expect(await webcryptoAccepts(c.publicKey, c.message, c.signature)).toBe(c.webcrypto);
    // crypto.verify on a KeyObject (what verifyEd25519 calls) is the same OpenSSL verify.
    expect(nodeAccepts(c.publicKey, c.message, c.signature)).toBe(c.webcrypto);
  });

  test('an off-curve key imports, and verify just returns false', async () => {
    const offCurve = le32(2n); // y = 2 has no x
    expect(() => Point.fromBytes(offCurve)).toThrow();
    expect(await webcryptoAccepts(offCurve, message, honest)).toBe(false);
  });

  test('a 63-byte signature returns false rather than throwing', async () => {
    expect(await webcryptoAccepts(A, message, honest.subarray(0, 63))).toBe(false);
  });
});

describe('strict verdicts', () => {
  test.each(crafted.map((c) => [c.name, c] as const))('verifyEd25519: %s', async (_, c) => {
    expect(kindOf(await verifyEd25519(c.publicKey, c.message, c.signature))).toBe(c.strict);
  });

  test.each(crafted.map((c) => [c.name, c] as const))('verifyEd25519Noble: %s', (_, c) => {
    expect(kindOf(verifyEd25519Noble(c.publicKey, c.message, c.signature))).toBe(c.noble);
  });

  test('noble RFC 8032 mode alone rejects small-order and non-canonical keys and S >= L', () => {
    for (const c of crafted.filter((x) => x.webcrypto && x.strict !== 'ok')) {
      if (c.strict === 'small-order-signature') continue; // RFC 8032 allows small-order R
      expect(ed25519.verify(c.signature, c.message, c.publicKey, { zip215: false })).toBe(false);
    }
  });
});

describe('encodings', () => {
  test('SMALL_ORDER_ENCODINGS is exactly the 8-torsion subgroup', () => {
    expect(T8.multiply(4n).is0()).toBe(false);
    expect(T8.multiplyUnsafe(8n).is0()).toBe(true);
    const encodings = torsion.map((t) => bytesToHex(t.toBytes()));
    expect(new Set(encodings)).toEqual(new Set(SMALL_ORDER_ENCODINGS));
    for (const t of torsion) expect(t.isSmallOrder()).toBe(true);
  });

  test('non-canonical point encodings: y in [p, 2**255) and x = 0 with the sign bit', () => {
    for (let k = 0n; k < 19n; k++) {
      for (const sign of [0, 0x80]) {
        const bytes = le32(P + k);
        bytes[31] = (bytes[31] ?? 0) | sign;
        expect(isCanonicalPointEncoding(bytes)).toBe(false);
      }
    }
    const sign = (bytes: Uint8Array) =>
      concatBytes(bytes.subarray(0, 31), Uint8Array.of((bytes[31] ?? 0) | 0x80));
    expect(isCanonicalPointEncoding(sign(le32(1n)))).toBe(false);
    expect(isCanonicalPointEncoding(sign(le32(P - 1n)))).toBe(false);
    expect(isCanonicalPointEncoding(le32(P - 1n))).toBe(true);
    expect(isCanonicalPointEncoding(sign(le32(0n)))).toBe(true); // x = ±sqrt(-1), not 0
    expect(isCanonicalPointEncoding(new Uint8Array(31))).toBe(false);
  });

  test.prop([fc.bigInt({ min: 1n, max: L - 1n })], RUNS)(
    'every encoding a point serialises to is canonical',
    (n) => {
      const bytes = Point.BASE.multiply(n)
        .add(torsion[Number(n % 8n)] ?? Point.ZERO)
        .toBytes();
      expect(isCanonicalPointEncoding(bytes)).toBe(true);
    },
  );

  test.prop([fc.uint8Array({ minLength: 32, maxLength: 32 })], RUNS)(
    'canonicity agrees with noble RFC 8032 decoding on random bytes that decode at all',
    (bytes) => {
      let decodes = true;
      try {
        Point.fromBytes(bytes, true);
      } catch {
        decodes = false;
      }
      if (!decodes) return;
      let strict = true;
      try {
        Point.fromBytes(bytes, false);
      } catch {
        strict = false;
      }
      expect(isCanonicalPointEncoding(bytes)).toBe(strict);
    },
  );

  test('S < L boundaries', () => {
    expect(isCanonicalScalar(le32(0n))).toBe(true);
    expect(isCanonicalScalar(le32(L - 1n))).toBe(true);
    expect(isCanonicalScalar(le32(L))).toBe(false);
    expect(isCanonicalScalar(le32(2n ** 256n - 1n))).toBe(false);
    expect(isCanonicalScalar(new Uint8Array(33))).toBe(false);
  });
});

describe('key pairs', () => {
  test('the Matrix test seed gives the derived public key XGX0JRS2…', () => {
    expect(unwrap(decodeBase64('XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI'))).toEqual(A);
  });

  test.prop(
    [fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 64 })],
    RUNS,
  )('WebCrypto keys and signatures equal noble’s (RFC 8032 is deterministic)', async (seed, m) => {
    const pair = unwrap(await ed25519KeyPairFromSeed(seed));
    expect(pair.publicKey).toEqual(ed25519.getPublicKey(seed));
    expect(await pair.sign(m)).toEqual(ed25519.sign(m, seed));
  });

  test('generation from a seeded rng is reproducible', async () => {
    const one = await generateEd25519KeyPair(seededRng('server-a'));
    const two = await generateEd25519KeyPair(seededRng('server-a'));
    const other = await generateEd25519KeyPair(seededRng('server-b'));
    expect(one.publicKey).toEqual(two.publicKey);
    expect(one.publicKey).not.toEqual(other.publicKey);
  });

  test('publicKey hands out copies', () => {
    const copy = matrixKey.publicKey;
    copy[0] = (copy[0] ?? 0) ^ 0xff;
    expect(matrixKey.publicKey).toEqual(A);
  });

  test('a seed of the wrong length is a failure, not an exception', async () => {
    expect(kindOf(await ed25519KeyPairFromSeed(new Uint8Array(31)))).toBe('malformed-seed');
  });
});

describe('sign and verify', () => {
  test.prop(
    [fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 100 })],
    RUNS,
  )('a signature verifies under both verifiers', async (seed, m) => {
    const pair = unwrap(await ed25519KeyPairFromSeed(seed));
    const signature = await pair.sign(m);
    expect(await verifyEd25519(pair.publicKey, m, signature)).toEqual({
      ok: true,
      value: undefined,
    });
    expect(verifyEd25519Noble(pair.publicKey, m, signature)).toEqual({
      ok: true,
      value: undefined,
    });
  });

  /** The kind a strict verifier must report once one bit of (A, M, signature) flipped. */
  function expectedKind(publicKey: Uint8Array, signature: Uint8Array): Ed25519FailureKind {
    const canonical = (b: Uint8Array) => {
      const y = bytesToNumberLE(concatBytes(b.subarray(0, 31), Uint8Array.of((b[31] ?? 0) & 0x7f)));
      return y < P && !((b[31] ?? 0) & 0x80 && (y === 1n || y === P - 1n));
    };
    if (!canonical(publicKey)) return 'non-canonical-key';
    try {
      Point.fromBytes(publicKey);
    } catch {
      return 'malformed-key';
    }
    if (bytesToNumberLE(signature.subarray(32)) >= L) return 'non-canonical-signature';
    if (!canonical(signature.subarray(0, 32))) return 'non-canonical-signature';
    return 'bad-signature';
  }

  test.prop([fc.uint8Array({ maxLength: 64 }), fc.nat()], RUNS)(
    'flipping any bit of the key, message or signature fails with the right kind',
    async (m, bitSeed) => {
      const signature = await matrixKey.sign(m);
      const material = concatBytes(A, m, signature);
      const bit = bitSeed % (material.length * 8);
      material[bit >> 3] = (material[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      const publicKey = material.subarray(0, 32);
      const flippedMessage = material.subarray(32, 32 + m.length);
      const flippedSignature = material.subarray(32 + m.length);
      const expected = expectedKind(publicKey, flippedSignature);
      expect(kindOf(await verifyEd25519(publicKey, flippedMessage, flippedSignature))).toBe(
        expected,
      );
      expect(kindOf(verifyEd25519Noble(publicKey, flippedMessage, flippedSignature))).toBe(
        expected,
      );
    },
  );

  test('verdicts for a rejected key are cached and stay the same', async () => {
    const bad = le32(P + 1n);
    const first = await verifyEd25519(bad, message, honest);
    const second = await verifyEd25519(bad, message, honest);
    expect(first).toEqual(second);
    expect(kindOf(first)).toBe('non-canonical-key');
  });
});

describe('every failure kind', () => {
  const offCurve = le32(2n);
  const examples: Record<
    Ed25519FailureKind,
    () => Promise<{ ok: boolean; error?: { kind: string } }>
  > = {
    'malformed-key': () => verifyEd25519(offCurve, message, honest),
    'non-canonical-key': () => verifyEd25519(le32(P + 1n), message, honest),
    'small-order-key': () => verifyEd25519(IDENTITY, message, honest),
    'malformed-signature': () => verifyEd25519(A, message, honest.subarray(0, 63)),
    'non-canonical-signature': () =>
      verifyEd25519(A, message, concatBytes(honest.subarray(0, 32), le32(S + L))),
    'small-order-signature': () => verifyEd25519(A, message, withR(IDENTITY, 0n)),
    'bad-signature': () => verifyEd25519(A, utf8ToBytes('other'), honest),
  };
  test.each(ED25519_FAILURE_KINDS)('%s', async (kind) => {
    expect(kindOf(await examples[kind]())).toBe(kind);
  });

  test('malformed-key for a key of the wrong length, from both verifiers and the key check', async () => {
    expect(kindOf(await verifyEd25519(A.subarray(0, 31), message, honest))).toBe('malformed-key');
    expect(kindOf(verifyEd25519Noble(A.subarray(0, 31), message, honest))).toBe('malformed-key');
    expect(kindOf(checkEd25519PublicKey(offCurve))).toBe('malformed-key');
  });
});
