import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { loadVectors } from '../../../fixtures/vectors.ts';
import { unwrap, type Failure, type Result } from '../result.ts';
import { ed25519KeyPairFromSeed, generateEd25519KeyPair } from '../crypto/ed25519.ts';
import { seededRng } from '../crypto/rng.ts';
import { decodeBase64, encodeUnpaddedBase64 } from './base64.ts';
import { canonicalJson } from './canonical-json.ts';
import {
  CHECK_SIGNATURE_FAILURE_KINDS,
  SIGN_JSON_FAILURE_KINDS,
  checkJsonSignature,
  signJson,
  signingBytes,
  type CheckSignatureFailureKind,
  type JsonSigner,
  type SignJsonFailureKind,
  type SignedObject,
} from './signed-json.ts';

const RUNS = { numRuns: 100 };
const kindOf = <T, K extends string>(result: Result<T, Failure<K>>): K | 'ok' =>
  result.ok ? 'ok' : result.error.kind;

const keyPair = await generateEd25519KeyPair(seededRng('signed-json tests'));
const otherKeyPair = await generateEd25519KeyPair(seededRng('signed-json tests, other key'));
const signer: JsonSigner = { entity: 'domain', keyId: 'ed25519:1', keyPair };
const keys = new Map([['ed25519:1', keyPair.publicKey]]);

async function signed(object: unknown, by: JsonSigner = signer): Promise<SignedObject> {
  return unwrap(await signJson(object, by));
}

const jsonLeaf = fc.oneof(fc.constant(null), fc.boolean(), fc.maxSafeInteger(), fc.string());
const jsonValue = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    jsonLeaf,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.string(), tie('value'), { maxKeys: 3 }),
  ),
})).value;
const jsonObject = fc.dictionary(
  fc.string().filter((k) => k !== 'signatures' && k !== 'unsigned'),
  jsonValue,
  { maxKeys: 5 },
);

describe('fixtures/vectors/matrix-signing.json', () => {
  const file = loadVectors('matrix-signing');
  test.each(file.tests.map((t) => [`tcId ${t.tcId}: ${t.comment}`, t] as const))(
    '%s',
    async (_, t) => {
      if (t.result === 'valid') {
        const pair = unwrap(await ed25519KeyPairFromSeed(unwrap(decodeBase64(t.input.seed))));
        expect(encodeUnpaddedBase64(pair.publicKey)).toBe(t.expected.publicKey);
        const object = JSON.parse(t.input.json) as Record<string, unknown>;
        const result = await signed(object, {
          entity: t.input.entity,
          keyId: t.input.keyId,
          keyPair: pair,
        });
        expect(result).toEqual({
          ...object,
          signatures: { [t.input.entity]: { [t.input.keyId]: t.expected.signature } },
        });
        const verifyKeys = new Map([[t.input.keyId, pair.publicKey]]);
        expect(await checkJsonSignature(result, t.input.entity, verifyKeys)).toEqual({
          ok: true,
          value: [t.input.keyId],
        });
      } else {
        const verifyKeys = new Map(
          Object.entries(t.input.verifyKeys).map(([id, key]) => [id, unwrap(decodeBase64(key))]),
        );
        const result = await checkJsonSignature(
          JSON.parse(t.input.json),
          t.input.entity,
          verifyKeys,
        );
        expect(kindOf(result)).toBe(t.expected.failure);
      }
    },
  );
});

describe('signing', () => {
  test.prop([jsonObject], RUNS)('sign then check succeeds', async (object) => {
    const result = await signed(object);
    expect(await checkJsonSignature(result, 'domain', keys)).toEqual({
      ok: true,
      value: ['ed25519:1'],
    });
  });

  test('the input object is not mutated and unsigned is carried over', async () => {
    const input = Object.freeze({
      a: 1,
      unsigned: Object.freeze({ age: 5 }),
      signatures: Object.freeze({ other: Object.freeze({ 'ed25519:x': 'c2ln' }) }),
    });
    const result = await signed(input);
    expect(input).toEqual({
      a: 1,
      unsigned: { age: 5 },
      signatures: { other: { 'ed25519:x': 'c2ln' } },
    });
    expect(result.unsigned).toEqual({ age: 5 });
    expect(Object.keys(result.signatures)).toEqual(['other', 'domain']);
  });

  test('existing signatures survive, including other keys of the same entity', async () => {
    const once = await signed({ a: 1 });
    const twice = await signed(once, {
      entity: 'domain',
      keyId: 'ed25519:2',
      keyPair: otherKeyPair,
    });
    const thrice = await signed(twice, { entity: 'other.example', keyId: 'ed25519:k', keyPair });
    expect(Object.keys(thrice.signatures.domain ?? {})).toEqual(['ed25519:1', 'ed25519:2']);
    const both = new Map([
      ['ed25519:1', keyPair.publicKey],
      ['ed25519:2', otherKeyPair.publicKey],
    ]);
    expect(await checkJsonSignature(thrice, 'domain', both)).toEqual({
      ok: true,
      value: ['ed25519:1', 'ed25519:2'],
    });
    expect(
      kindOf(
        await checkJsonSignature(
          thrice,
          'other.example',
          new Map([['ed25519:k', keyPair.publicKey]]),
        ),
      ),
    ).toBe('ok');
  });

  test('re-signing with the same key id replaces only that signature', async () => {
    const once = await signed({ a: 1 });
    const again = await signed({ ...once, a: 2 });
    expect(again.signatures.domain?.['ed25519:1']).not.toBe(once.signatures.domain?.['ed25519:1']);
    expect(kindOf(await checkJsonSignature(again, 'domain', keys))).toBe('ok');
  });

  test('key ids must be ed25519:<[a-zA-Z0-9_]+>', async () => {
    for (const keyId of ['ed25519:a_B9', 'ed25519:1']) {
      expect(kindOf(await signJson({}, { ...signer, keyId }))).toBe('ok');
    }
    for (const keyId of ['ed25519:', 'ed25519:a-b', 'ed25519:a:b', 'curve25519:1', 'ed25519', '']) {
      expect(kindOf(await signJson({}, { ...signer, keyId }))).toBe('invalid-key-id');
    }
  });

  test('only plain objects can be signed; symbol keys are not JSON', async () => {
    expect(kindOf(await signJson(new Date(0), signer))).toBe('not-an-object');
    expect(kindOf(await signJson(new Map(), signer))).toBe('not-an-object');
    expect(kindOf(await signJson({ [Symbol('s')]: 1 }, signer))).toBe('unsupported-value');
    expect(kindOf(await signJson(Object.create(null), signer))).toBe('ok');
  });

  test('signingBytes strips signatures and unsigned and nothing else', () => {
    const bytes = unwrap(signingBytes({ b: 1, unsigned: { x: 1 }, signatures: {}, a: 'é' }));
    expect(new TextDecoder().decode(bytes)).toBe('{"a":"é","b":1}');
  });
});

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

describe('tampering', () => {
  test.prop([jsonObject, fc.nat()], RUNS)(
    'flipping any bit of the signed content fails (or is a no-op on the canonical form)',
    async (object, bitSeed) => {
      const result = await signed(object);
      const canonical = unwrap(signingBytes(result));
      const bit = bitSeed % (canonical.length * 8);
      const flipped = canonical.slice();
      flipped[bit >> 3] = (flipped[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      let tampered: unknown;
      try {
        tampered = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(flipped));
      } catch {
        return; // not JSON any more: nothing a peer could send as this object
      }
      if (!isObject(tampered)) return;
      const forged = { ...tampered, signatures: result.signatures };
      const same = canonicalJson(tampered);
      const unchanged = same.ok && same.value === new TextDecoder().decode(canonical);
      const verdict = await checkJsonSignature(forged, 'domain', keys);
      // The flip may have renamed a member to `signatures` or `unsigned`.
      const stripsToSignatures =
        Object.hasOwn(tampered, 'signatures') || Object.hasOwn(tampered, 'unsigned');
      if (unchanged) expect(kindOf(verdict)).toBe('ok');
      else if (!stripsToSignatures && same.ok) expect(kindOf(verdict)).toBe('bad-signature');
      else expect(kindOf(verdict)).not.toBe('ok');
    },
  );

  test.prop([jsonObject, fc.nat()], RUNS)(
    'flipping any bit of the signature fails with a signature kind',
    async (object, bitSeed) => {
      const result = await signed(object);
      const signature = unwrap(decodeBase64(result.signatures.domain?.['ed25519:1'] ?? ''));
      const bit = bitSeed % (signature.length * 8);
      signature[bit >> 3] = (signature[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      const forged = {
        ...result,
        signatures: { domain: { 'ed25519:1': encodeUnpaddedBase64(signature) } },
      };
      // Only S's top bits can push S over L; R bits may make R non-canonical or off-curve.
      expect(['bad-signature', 'non-canonical-signature']).toContain(
        kindOf(await checkJsonSignature(forged, 'domain', keys)),
      );
    },
  );

  test.prop([jsonObject, jsonValue], RUNS)(
    'unsigned may change freely',
    async (object, unsigned) => {
      const result = await signed(object);
      expect(kindOf(await checkJsonSignature({ ...result, unsigned }, 'domain', keys))).toBe('ok');
    },
  );

  test('every signature with a known key must verify, not just one', async () => {
    const result = await signed({ a: 1 });
    const withBogus = {
      ...result,
      signatures: {
        domain: {
          ...result.signatures.domain,
          'ed25519:2': result.signatures.domain?.['ed25519:1'],
        },
      },
    };
    const both = new Map([...keys, ['ed25519:2', otherKeyPair.publicKey]]);
    expect(kindOf(await checkJsonSignature(withBogus, 'domain', both))).toBe('bad-signature');
    // A signature under a key id we have no key for is skipped, as the spec's step 3 allows.
    expect(kindOf(await checkJsonSignature(withBogus, 'domain', keys))).toBe('ok');
  });

  test('step 2 filters on the algorithm only; a malformed version just has no key', async () => {
    const result = await signed({ a: 1 });
    const sig = result.signatures.domain?.['ed25519:1'];
    const odd = { ...result, signatures: { domain: { 'ed25519:a-b': sig, 'ed25519x:1': sig } } };
    expect(kindOf(await checkJsonSignature(odd, 'domain', keys))).toBe('unknown-key');
    const oddKeys = new Map([['ed25519:a-b', keyPair.publicKey]]);
    expect(await checkJsonSignature(odd, 'domain', oddKeys)).toEqual({
      ok: true,
      value: ['ed25519:a-b'],
    });
  });

  test('signatures under unknown algorithms are ignored when an ed25519 one remains', async () => {
    const result = await signed({ a: 1 });
    const mixed = {
      ...result,
      signatures: { domain: { ...result.signatures.domain, 'curve25519:1': 42 } },
    };
    expect(await checkJsonSignature(mixed, 'domain', keys)).toEqual({
      ok: true,
      value: ['ed25519:1'],
    });
  });
});

const good = await signed({ a: 1 });

describe('every failure kind', () => {
  const float = { a: 0.5 };
  const signExamples: Record<SignJsonFailureKind, () => Promise<Result<unknown, Failure<string>>>> =
    {
      'not-an-object': () => signJson([1], signer),
      'invalid-key-id': () => signJson({}, { ...signer, keyId: 'ed25519:!' }),
      'malformed-signatures': () => signJson({ signatures: { x: { 'ed25519:1': 1 } } }, signer),
      float: () => signJson(float, signer),
      'integer-out-of-range': () => signJson({ a: 2 ** 53 }, signer),
      'non-finite-number': () => signJson({ a: NaN }, signer),
      'lone-surrogate': () => signJson({ a: '\udfff' }, signer),
      'unsupported-value': () => signJson({ a: new Date(0) }, signer),
      cycle: () => {
        const loop: Record<string, unknown> = {};
        loop.loop = loop;
        return signJson(loop, signer);
      },
      'too-deep': () =>
        signJson(JSON.parse(`{"a":${'['.repeat(1000)}${']'.repeat(1000)}}`), signer),
    };
  test.each(SIGN_JSON_FAILURE_KINDS)('signJson: %s', async (kind) => {
    expect(kindOf(await signExamples[kind]())).toBe(kind);
  });

  test('signJson: malformed-signatures for every malformed shape', async () => {
    for (const signatures of [[], 'x', { domain: [] }, { domain: 'x' }, { other: { k: null } }]) {
      expect(kindOf(await signJson({ signatures }, signer))).toBe('malformed-signatures');
    }
  });

  const goodSig = good.signatures.domain?.['ed25519:1'] ?? '';
  const withSig = (object: object, sig: unknown) => ({
    ...object,
    signatures: { domain: { 'ed25519:1': sig } },
  });
  const check = (object: unknown, verifyKeys: ReadonlyMap<string, Uint8Array> = keys) =>
    checkJsonSignature(object, 'domain', verifyKeys);
  const S_PLUS_L = (() => {
    const bytes = unwrap(decodeBase64(goodSig));
    let s = 0n;
    for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(bytes[i] ?? 0);
    s += 2n ** 252n + 27742317777372353535851937790883648493n;
    for (let i = 32; i < 64; i++, s >>= 8n) bytes[i] = Number(s & 0xffn);
    return encodeUnpaddedBase64(bytes);
  })();
  const identity = new Uint8Array(32);
  identity[0] = 1;
  const checkExamples: Record<
    CheckSignatureFailureKind,
    () => Promise<Result<unknown, Failure<string>>>
  > = {
    'not-an-object': () => check('{}'),
    'malformed-signatures': () => check({ a: 1, signatures: { domain: 'x' } }),
    'not-signed-by-entity': () => check({ a: 1 }),
    'no-supported-algorithm': () => check({ a: 1, signatures: { domain: { 'ed448:1': goodSig } } }),
    'unknown-key': () => check(good, new Map([['ed25519:2', keyPair.publicKey]])),
    'invalid-base64': () => check(withSig({ a: 1 }, `${goodSig}*`)),
    float: () => check(withSig(float, goodSig)),
    'integer-out-of-range': () => check(withSig({ a: -(2 ** 60) }, goodSig)),
    'non-finite-number': () => check(withSig({ a: Infinity }, goodSig)),
    'lone-surrogate': () => check(withSig({ '\ud800x': 1 }, goodSig)),
    'unsupported-value': () => check(withSig({ a: 1n }, goodSig)),
    cycle: () => {
      const loop: Record<string, unknown> = {};
      loop.loop = [loop];
      return check(withSig(loop, goodSig));
    },
    'too-deep': () =>
      check(withSig(JSON.parse(`{"a":${'['.repeat(1000)}${']'.repeat(1000)}}`) as object, goodSig)),
    'malformed-key': () => check(good, new Map([['ed25519:1', keyPair.publicKey.subarray(1)]])),
    'non-canonical-key': () => check(good, new Map([['ed25519:1', new Uint8Array(32).fill(0xff)]])),
    'small-order-key': () => check(good, new Map([['ed25519:1', identity]])),
    'malformed-signature': () => check(withSig({ a: 1 }, goodSig.slice(0, 80))),
    'non-canonical-signature': () => check(withSig({ a: 1 }, S_PLUS_L)),
    'small-order-signature': () =>
      check(
        withSig(
          { a: 1 },
          encodeUnpaddedBase64(new Uint8Array([...identity, ...new Uint8Array(32)])),
        ),
      ),
    'bad-signature': () => check({ ...good, a: 2 }),
  };
  test.each(CHECK_SIGNATURE_FAILURE_KINDS)('checkJsonSignature: %s', async (kind) => {
    expect(kindOf(await checkExamples[kind]())).toBe(kind);
  });

  test('checkJsonSignature: malformed-signatures for every malformed shape', async () => {
    for (const signatures of [
      [],
      'x',
      5,
      { domain: [] },
      { domain: null },
      { domain: { 'ed25519:1': 7 } },
    ]) {
      expect(kindOf(await check({ a: 1, signatures }))).toBe('malformed-signatures');
    }
  });
});
