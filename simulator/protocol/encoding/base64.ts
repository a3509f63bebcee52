// Unpadded base64 as the Matrix appendices define it (§ "Unpadded Base64"): RFC 4648
// without the trailing '='. Encoders never pad. Decoders SHOULD accept padded and
// unpadded input, and must also accept non-zero trailing bits, because the published
// signing-key seed `YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1` is not canonical
// (re-encoding gives `...XA0`). Everything else is strict: a character outside the
// alphabet, whitespace included, or an impossible length is a failure, not skipped
// the way Node's Buffer decoder silently skips it.

import { z } from 'zod';
import { fail, ok, type Failure, type Result } from '../result.ts';

export const BASE64_FAILURE_KINDS = [
  'invalid-character',
  'invalid-length',
  'invalid-padding',
] as const;
export type Base64FailureKind = (typeof BASE64_FAILURE_KINDS)[number];

export type Base64Alphabet = 'standard' | 'url-safe';

/**
 * A JSON field of standard base64 text, padded or not: what every message schema asks of
 * its byte fields. It checks the alphabet; decodeBase64 still judges the length.
 */
export const base64Text = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'not base64');

const ALPHABETS: Readonly<Record<Base64Alphabet, string>> = {
  standard: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/',
  'url-safe': 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
};

// Reverse tables indexed by char code; -1 marks a character outside the alphabet.
const DECODE_TABLES: Readonly<Record<Base64Alphabet, Int8Array>> = {
  standard: reverseTable(ALPHABETS.standard),
  'url-safe': reverseTable(ALPHABETS['url-safe']),
};

function reverseTable(alphabet: string): Int8Array {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
}

/** Unpadded standard base64 (`+`, `/`): signatures, keys and hashes in Matrix JSON. */
export function encodeUnpaddedBase64(bytes: Uint8Array): string {
  return encode(bytes, 'standard');
}

/** Unpadded URL-safe base64 (`-`, `_`): identity-service lookup hashes. */
export function encodeUnpaddedBase64Url(bytes: Uint8Array): string {
  return encode(bytes, 'url-safe');
}

/** Decodes standard base64, padded or not; rejects the URL-safe characters. */
export function decodeBase64(text: string): Result<Uint8Array, Failure<Base64FailureKind>> {
  return decode(text, 'standard');
}

/** Decodes URL-safe base64, padded or not; rejects `+` and `/`. */
export function decodeBase64Url(text: string): Result<Uint8Array, Failure<Base64FailureKind>> {
  return decode(text, 'url-safe');
}

// Node's encoder emits exactly RFC 4648; 'base64url' is already unpadded.
function encode(bytes: Uint8Array, alphabet: Base64Alphabet): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (alphabet === 'url-safe') return buffer.toString('base64url');
  const padded = buffer.toString('base64');
  const pad = bytes.byteLength % 3 === 0 ? 0 : 3 - (bytes.byteLength % 3);
  return pad === 0 ? padded : padded.slice(0, -pad);
}

// Node's decoder is native, and most text is well formed, so it goes first. It reads a
// character above U+00FF as its low byte (U+012D as '-'), so only ASCII text goes to it.
// There it takes both alphabets, skips any other character and stops at an '='. So ASCII
// text whose length is not 1 mod 4 is well formed exactly when it holds no character of
// the other alphabet and decodes to its full length: each character skipped or cut off
// would shorten the output.
// (A JavaScript regex over the alphabet cost more than the decoding on MLS messages.)
const OTHER_ALPHABET: Readonly<Record<Base64Alphabet, readonly [string, string]>> = {
  standard: ['-', '_'],
  'url-safe': ['+', '/'],
};

function decodeNatively(body: string, alphabet: Base64Alphabet): Uint8Array | undefined {
  const [a, b] = OTHER_ALPHABET[alphabet];
  const ascii = Buffer.byteLength(body, 'utf8') === body.length;
  if (!ascii || body.includes(a) || body.includes(b)) return undefined;
  const bytes = Buffer.from(body, alphabet === 'standard' ? 'base64' : 'base64url');
  if (bytes.length !== Math.floor((body.length * 3) / 4)) return undefined;
  // A copy into a Uint8Array of its own: a Buffer this small shares Node's pool.
  return new Uint8Array(bytes);
}

function decode(
  text: string,
  alphabet: Base64Alphabet,
): Result<Uint8Array, Failure<Base64FailureKind>> {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x3d /* '=' */) end--;
  const padding = text.length - end;
  // Accept exactly the RFC 4648 padding (total length a multiple of 4) or none at all;
  // a partial pad such as `Zg=` means the text was truncated or mangled.
  if (padding > 0 && (padding > 2 || text.length % 4 !== 0)) {
    return fail('invalid-padding', `${padding} '=' characters on ${text.length} characters`);
  }
  const body = padding === 0 ? text : text.slice(0, end);
  const native = end % 4 === 1 ? undefined : decodeNatively(body, alphabet);
  if (native !== undefined) return ok(native);
  const table = DECODE_TABLES[alphabet];
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const code = text.charCodeAt(i);
    const value = code < 128 ? (table[code] ?? -1) : -1;
    if (value < 0) {
      return fail(
        'invalid-character',
        `${JSON.stringify(text.charAt(i))} at offset ${i} is not in the ${alphabet} alphabet`,
      );
    }
    acc = ((acc << 6) | value) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
    }
  }
  // One leftover character carries only 6 bits, less than a byte: no encoder emits it.
  if (end % 4 === 1) {
    return fail('invalid-length', `${end} base64 characters (length % 4 == 1) cannot be decoded`);
  }
  // Leftover bits (2 or 4) are dropped even when non-zero: the leniency the Matrix seed needs.
  return ok(out);
}
