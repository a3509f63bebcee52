// Lookup peppers the identity service draws for itself. MSC2134 allows [a-zA-Z0-9]+;
// 32 characters of 62 give about 190 bits, far more than a pepper needs.
import type { Rng } from '../../protocol/crypto/rng.ts';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const GENERATED_PEPPER_LENGTH = 32;

/** A fresh pepper from rng; rejection sampling keeps every character equally likely. */
export function generatePepper(rng: Rng): string {
  // 248 = 4 * 62: bytes at or above it would favour the first characters.
  const limit = Math.floor(256 / ALPHANUMERIC.length) * ALPHANUMERIC.length;
  let pepper = '';
  while (pepper.length < GENERATED_PEPPER_LENGTH) {
    for (const byte of rng.bytes(GENERATED_PEPPER_LENGTH)) {
      if (byte < limit && pepper.length < GENERATED_PEPPER_LENGTH) {
        pepper += ALPHANUMERIC.charAt(byte % ALPHANUMERIC.length);
      }
    }
  }
  return pepper;
}
