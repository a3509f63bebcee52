import { fc, test } from '@fast-check/vitest';
import { chacha20 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { describe, expect } from 'vitest';
import { fork, positionOf, resumeStream, seededRng, systemRng, type Rng } from './rng.ts';

const RUNS = { numRuns: 100 };
const seedArb = fc.oneof(fc.string(), fc.integer(), fc.uint8Array({ maxLength: 40 }));

describe('seededRng', () => {
  test.prop([seedArb, fc.nat({ max: 300 })], RUNS)('same seed, same bytes', (seed, n) => {
    expect(seededRng(seed).bytes(n)).toEqual(seededRng(seed).bytes(n));
  });

  test.prop([seedArb, fc.array(fc.nat({ max: 150 }), { maxLength: 8 })], RUNS)(
    'the stream does not depend on how reads are split',
    (seed, sizes) => {
      const split = seededRng(seed);
      const pieces = concatBytes(...sizes.map((n) => split.bytes(n)));
      const total = sizes.reduce((sum, n) => sum + n, 0);
      expect(pieces).toEqual(seededRng(seed).bytes(total));
    },
  );

  test.prop([seedArb, seedArb], RUNS)('different seeds give different streams', (x, y) => {
    const identity = (seed: typeof x): string =>
      `${typeof seed}:${seed instanceof Uint8Array ? bytesToHex(seed) : String(seed)}`;
    fc.pre(identity(x) !== identity(y));
    expect(seededRng(x).bytes(32)).not.toEqual(seededRng(y).bytes(32));
  });

  test('seed types are domain-separated: 1, "1" and the byte "1" differ', () => {
    const streams = [seededRng(1), seededRng('1'), seededRng(utf8ToBytes('1'))].map((r) =>
      bytesToHex(r.bytes(16)),
    );
    expect(new Set(streams).size).toBe(3);
    expect(seededRng(0).bytes(16)).toEqual(seededRng(-0).bytes(16));
  });

  test('is the ChaCha20 keystream under SHA-256(tag || seed), fixed forever', () => {
    // Pinned so that a refactor cannot silently change every simulation's random bytes.
    const key = sha256(
      concatBytes(utf8ToBytes('fedconn/rng/v1/seed/string\0'), utf8ToBytes('fedconn')),
    );
    const expected = chacha20(key, new Uint8Array(12), new Uint8Array(100));
    expect(seededRng('fedconn').bytes(100)).toEqual(expected);
    expect(bytesToHex(seededRng('fedconn').bytes(8))).toBe(bytesToHex(expected.subarray(0, 8)));
  });

  test('bytes(0) is empty and invalid lengths are programming errors', () => {
    const rng = seededRng('x');
    expect(rng.bytes(0)).toEqual(new Uint8Array(0));
    expect(() => rng.bytes(-1)).toThrow(RangeError);
    expect(() => rng.bytes(1.5)).toThrow(RangeError);
    expect(() => rng.bytes(Number.NaN)).toThrow(RangeError);
  });
});

describe('fork', () => {
  test.prop([seedArb, fc.string(), fc.nat({ max: 200 })], RUNS)(
    'a child depends only on the parent seed and the label, not on the parent position',
    (seed, label, consumed) => {
      const fresh = seededRng(seed);
      const used = seededRng(seed);
      used.bytes(consumed);
      expect(fork(used, label).bytes(32)).toEqual(fork(fresh, label).bytes(32));
    },
  );

  test.prop([seedArb, fc.array(fc.string(), { maxLength: 4 }), fc.nat({ max: 100 })], RUNS)(
    'forking reads nothing from the parent: adding a consumer shifts no one',
    (seed, labels, n) => {
      const parent = seededRng(seed);
      for (const label of labels) fork(parent, label).bytes(10);
      expect(parent.bytes(n)).toEqual(seededRng(seed).bytes(n));
    },
  );

  test.prop([seedArb, fc.string(), fc.string()], RUNS)(
    'children with different labels, and the parent, are independent streams',
    (seed, x, y) => {
      fc.pre(x !== y);
      const parent = seededRng(seed);
      const streams = [parent, fork(parent, x), fork(parent, y)].map((r: Rng) =>
        bytesToHex(r.bytes(32)),
      );
      expect(new Set(streams).size).toBe(3);
    },
  );

  test('nested forks are not confused with concatenated labels', () => {
    const root = seededRng('root');
    const nested = fork(fork(root, 'a'), 'b').bytes(16);
    expect(nested).not.toEqual(fork(root, 'ab').bytes(16));
    expect(nested).toEqual(fork(fork(seededRng('root'), 'a'), 'b').bytes(16));
  });

  test('a fork of an unseeded rng draws its key from that rng', () => {
    let calls = 0;
    const counting: Rng = {
      bytes: (n) => {
        calls += 1;
        return new Uint8Array(n);
      },
    };
    const child = fork(counting, 'x');
    expect(calls).toBe(1);
    expect(child.bytes(8)).toEqual(fork(counting, 'x').bytes(8)); // same 32 zero bytes
    expect(fork(systemRng, 'x').bytes(16)).not.toEqual(fork(systemRng, 'x').bytes(16));
  });
});

describe('systemRng', () => {
  test('returns fresh bytes of the requested length, beyond the getRandomValues limit', () => {
    expect(systemRng.bytes(0)).toHaveLength(0);
    const big = systemRng.bytes(70_000);
    expect(big).toHaveLength(70_000);
    expect(big.subarray(65_536).some((b) => b !== 0)).toBe(true);
    expect(systemRng.bytes(32)).not.toEqual(systemRng.bytes(32));
    expect(() => systemRng.bytes(-1)).toThrow(RangeError);
  });
});

describe('positionOf and resumeStream', () => {
  test.prop([seedArb, fc.nat({ max: 300 }), fc.nat({ max: 300 })], RUNS)(
    'a resumed stream goes on with the byte that would have come next',
    (seed, read, next) => {
      const original = seededRng(seed);
      original.bytes(read);
      const position = positionOf(original);
      expect(position?.offset).toBe(read);
      const resumed = resumeStream(position ?? { key: new Uint8Array(32), offset: 0 });
      expect(resumed.bytes(next)).toEqual(original.bytes(next));
      expect(positionOf(resumed)?.offset).toBe(read + next);
    },
  );

  test('only a seeded stream has a position', () => {
    expect(positionOf(systemRng)).toBeUndefined();
    expect(positionOf({ bytes: (n) => new Uint8Array(n) })).toBeUndefined();
  });

  test('a negative or fractional offset is refused', () => {
    const key = new Uint8Array(32);
    expect(() => resumeStream({ key, offset: -1 })).toThrow(RangeError);
    expect(() => resumeStream({ key, offset: 1.5 })).toThrow(RangeError);
  });
});
