import { fc, test } from '@fast-check/vitest';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect } from 'vitest';
import { loadVectors } from '../../../fixtures/vectors.ts';
import type { Failure, Result } from '../result.ts';
import {
  BASE64_FAILURE_KINDS,
  decodeBase64,
  decodeBase64Url,
  encodeUnpaddedBase64,
  encodeUnpaddedBase64Url,
  type Base64Alphabet,
  type Base64FailureKind,
} from './base64.ts';

const RUNS = { numRuns: 200 };

const codec = {
  standard: { encode: encodeUnpaddedBase64, decode: decodeBase64 },
  'url-safe': { encode: encodeUnpaddedBase64Url, decode: decodeBase64Url },
} as const satisfies Record<Base64Alphabet, unknown>;

describe('fixtures/vectors/matrix-unpadded-base64.json', () => {
  const file = loadVectors('matrix-unpadded-base64');
  test.each(file.tests.map((t) => [`tcId ${t.tcId}: ${t.comment}`, t] as const))('%s', (_, t) => {
    const { encode, decode } = codec[t.input.alphabet];
    const decoded = decode(t.input.encoded);
    if (t.result === 'valid') {
      expect(decoded.ok && bytesToHex(decoded.value)).toBe(t.expected.hex);
      expect(encode(hexToBytes(t.expected.hex))).toBe(t.expected.reencoded);
    } else {
      expect(decoded.ok ? 'ok' : decoded.error.kind).toBe(t.expected.failure);
    }
  });
});

describe('round trips', () => {
  test.prop([fc.uint8Array({ maxLength: 100 })], RUNS)('standard alphabet', (bytes) => {
    const text = encodeUnpaddedBase64(bytes);
    expect(text).not.toMatch(/[=\-_]/);
    expect(text).toBe(Buffer.from(bytes).toString('base64').replace(/=+$/, ''));
    expect(decodeBase64(text)).toEqual({ ok: true, value: bytes });
  });

  test.prop([fc.uint8Array({ maxLength: 100 })], RUNS)('URL-safe alphabet', (bytes) => {
    const text = encodeUnpaddedBase64Url(bytes);
    expect(text).not.toMatch(/[=+/]/);
    expect(text).toBe(Buffer.from(bytes).toString('base64url'));
    expect(decodeBase64Url(text)).toEqual({ ok: true, value: bytes });
  });

  test.prop([fc.uint8Array({ maxLength: 100 })], RUNS)('padded input decodes too', (bytes) => {
    const padded = Buffer.from(bytes).toString('base64');
    expect(decodeBase64(padded)).toEqual({ ok: true, value: bytes });
  });

  test.prop([fc.string({ unit: 'binary', maxLength: 40 })], RUNS)(
    'decode agrees with Node Buffer wherever it succeeds, and fails only on bad input',
    (text) => {
      const decoded = decodeBase64(text);
      if (decoded.ok) {
        expect(decoded.value).toEqual(new Uint8Array(Buffer.from(text, 'base64')));
      } else {
        const unpadded = text.replace(/=+$/, '');
        const valid = /^[A-Za-z0-9+/]*$/.test(unpadded) && unpadded.length % 4 !== 1;
        const padOk =
          unpadded === text || (text.length % 4 === 0 && text.length - unpadded.length <= 2);
        expect(valid && padOk).toBe(false);
      }
    },
  );
});

// Mostly alphabet characters, so that whole lengths come up, with now and then one that
// Node's decoder would skip, stop at or take from the other alphabet.
const nearlyBase64 = fc
  .array(
    fc.oneof(
      {
        weight: 20,
        arbitrary: fc.constantFrom(
          ...Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_'),
        ),
      },
      {
        weight: 1,
        arbitrary: fc.integer({ min: 0, max: 0x17f }).map((c) => String.fromCharCode(c)),
      },
      // Node reads a character above U+00FF by its low byte: U+012D would pass for '-'.
      {
        weight: 1,
        arbitrary: fc.integer({ min: 0x100, max: 0xffff }).map((c) => String.fromCharCode(c)),
      },
      { weight: 1, arbitrary: fc.constantFrom('=', ' ', '\n', '\0', '.', '\uD800', '\u{1F600}') },
    ),
    { maxLength: 40 },
  )
  .map((chars) => chars.join(''));

describe('the native fast path judges as the alphabet does', () => {
  for (const alphabet of ['standard', 'url-safe'] as const) {
    const own = alphabet === 'standard' ? /^[A-Za-z0-9+/]*$/ : /^[A-Za-z0-9_-]*$/;
    test.prop([nearlyBase64], { numRuns: 2000 })(
      `${alphabet}: accepted exactly when every character is in the alphabet`,
      (text) => {
        const decoded = codec[alphabet].decode(text);
        const body = text.replace(/=+$/, '');
        const padOk = body === text || (text.length % 4 === 0 && text.length - body.length <= 2);
        expect(decoded.ok).toBe(padOk && own.test(body) && body.length % 4 !== 1);
        if (decoded.ok) {
          expect(bytesToHex(decoded.value)).toBe(
            Buffer.from(body, alphabet === 'standard' ? 'base64' : 'base64url').toString('hex'),
          );
        }
      },
    );
  }
});

describe('every failure kind', () => {
  const examples: Record<Base64FailureKind, () => Result<Uint8Array, Failure<Base64FailureKind>>> =
    {
      'invalid-character': () => decodeBase64('Zm9v!'),
      'invalid-length': () => decodeBase64Url('Zm9vY'),
      'invalid-padding': () => decodeBase64('Zg='),
    };
  test.each(BASE64_FAILURE_KINDS)('%s', (kind) => {
    const result = examples[kind]();
    expect(result.ok ? 'ok' : result.error.kind).toBe(kind);
  });
});
