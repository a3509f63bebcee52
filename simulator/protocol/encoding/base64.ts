// Unpadded base64 as the Matrix appendices define it (§ "Unpadded Base64"): RFC 4648
// without the trailing '='. Encoders never pad. Decoders SHOULD accept padded and
// unpadded input, and must also accept non-zero trailing bits, because the published
// signing-key seed `YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1` is not canonical
// (re-encoding gives `...XA0`). Everything else is strict: a character outside the
// alphabet, whitespace included, or an impossible length is a failure, not skipped
// the way Node's Buffer decoder silently skips it.

import { fail, ok, type Failure, type Result } from '../result.ts';

export const BASE64_FAILURE_KINDS = [
  'invalid-character',
  'invalid-length',
  'invalid-padding',
] as const;
export type Base64FailureKind = (typeof BASE64_FAILURE_KINDS)[number];

export type Base64Alphabet = 'standard' | 'url-safe';

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
  return encode(bytes, ALPHABETS.standard);
}

/** Unpadded URL-safe base64 (`-`, `_`): identity-service lookup hashes. */
export function encodeUnpaddedBase64Url(bytes: Uint8Array): string {
  return encode(bytes, ALPHABETS['url-safe']);
}

/** Decodes standard base64, padded or not; rejects the URL-safe characters. */
export function decodeBase64(text: string): Result<Uint8Array, Failure<Base64FailureKind>> {
  return decode(text, 'standard');
}

/** Decodes URL-safe base64, padded or not; rejects `+` and `/`. */
export function decodeBase64Url(text: string): Result<Uint8Array, Failure<Base64FailureKind>> {
  return decode(text, 'url-safe');
}

function encode(bytes: Uint8Array, alphabet: string): string {
  const at = (i: number): string => alphabet.charAt(i);
  let out = '';
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += at(n >>> 18) + at((n >>> 12) & 63) + at((n >>> 6) & 63) + at(n & 63);
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = (bytes[i] ?? 0) << 16;
    out += at(n >>> 18) + at((n >>> 12) & 63);
  } else if (rest === 2) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8);
    out += at(n >>> 18) + at((n >>> 12) & 63) + at((n >>> 6) & 63);
  }
  return out;
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
