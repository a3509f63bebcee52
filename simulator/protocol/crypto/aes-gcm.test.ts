// AES-GCM against the published test cases of McGrew and Viega, "The Galois/Counter Mode
// of Operation (GCM)" (2005), Appendix B (also NIST's GCM test vectors), and against
// @noble/ciphers, which it replaced, on random inputs: same bytes out, same refusals.
import { gcm } from '@noble/ciphers/aes.js';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { gcmOpen, gcmSeal } from './aes-gcm.ts';

const hex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('AES-GCM', () => {
  test.each([
    // Test case 1: AES-128, empty plaintext.
    ['00'.repeat(16), '00'.repeat(12), '', '', '58e2fccefa7e3061367f1d57a4e7455a'],
    // Test case 2: AES-128, one zero block.
    [
      '00'.repeat(16),
      '00'.repeat(12),
      '00'.repeat(16),
      '0388dace60b6a392f328c2b971b2fe78',
      'ab6e47d42cec13bdf53a67b21257bddf',
    ],
    // Test case 13: AES-256, empty plaintext.
    ['00'.repeat(32), '00'.repeat(12), '', '', '530f8afbc74536b9a963b4f1c4cb738b'],
    // Test case 14: AES-256, one zero block.
    [
      '00'.repeat(32),
      '00'.repeat(12),
      '00'.repeat(16),
      'cea7403d4d606b6e074ec5d3baf39d18',
      'd0d1c8a799996bf0265b98b5d48ab919',
    ],
  ])('published case: key %s', (key, nonce, plaintext, ciphertext, tag) => {
    const sealed = gcmSeal(hex(key), hex(nonce), hex(plaintext));
    expect(toHex(sealed)).toBe(ciphertext + tag);
    expect(toHex(gcmOpen(hex(key), hex(nonce), sealed) ?? new Uint8Array([1]))).toBe(plaintext);
  });

  test('agrees with @noble/ciphers on random keys, nonces, plaintexts and AAD; a flipped bit is refused', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(16, 24, 32).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.nat(),
        (key, nonce, plaintext, aad, flip) => {
          const ours = gcmSeal(key, nonce, plaintext, aad);
          expect(toHex(ours)).toBe(toHex(gcm(key, nonce, aad).encrypt(plaintext)));
          expect(toHex(gcmOpen(key, nonce, ours, aad) ?? new Uint8Array([1]))).toBe(
            toHex(plaintext),
          );
          const broken = new Uint8Array(ours);
          const bit = flip % (broken.length * 8);
          broken[bit >> 3] = (broken[bit >> 3] ?? 0) ^ (1 << (bit & 7));
          expect(gcmOpen(key, nonce, broken, aad)).toBeUndefined();
        },
      ),
      { numRuns: 200 },
    );
  });

  test('a sealed text shorter than the tag, or a key of another length, is refused', () => {
    expect(gcmOpen(new Uint8Array(32), new Uint8Array(12), new Uint8Array(15))).toBeUndefined();
    expect(gcmOpen(new Uint8Array(20), new Uint8Array(12), new Uint8Array(40))).toBeUndefined();
    expect(() => gcmSeal(new Uint8Array(20), new Uint8Array(12), new Uint8Array(1))).toThrow(
      /16-, 24- or 32-byte key, not 20 bytes/,
    );
  });
});
