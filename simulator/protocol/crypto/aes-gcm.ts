// AES-GCM (NIST SP 800-38D) on node:crypto, in the layout WebCrypto and @noble/ciphers
// use: the ciphertext followed by the 16-byte tag. The key's length picks AES-128,
// AES-192 or AES-256. OpenSSL called directly costs a few microseconds; the pure-JS AES this
// replaced cost about 1 s of the conformance suite's 40 s of CPU.
import { createCipheriv, createDecipheriv, type CipherGCMTypes } from 'node:crypto';

export const GCM_TAG_BYTES = 16;
export const GCM_NONCE_BYTES = 12;

const algorithm = (key: Uint8Array): CipherGCMTypes => {
  if (key.length === 16 || key.length === 24 || key.length === 32)
    return `aes-${key.length * 8}-gcm` as CipherGCMTypes;
  throw new RangeError(`AES-GCM takes a 16-, 24- or 32-byte key, not ${key.length} bytes`);
};

const bytesOf = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/** Encrypts and authenticates `plaintext` (and `aad`): ciphertext || tag. */
export function gcmSeal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array = new Uint8Array(),
): Uint8Array {
  const cipher = createCipheriv(algorithm(key), key, nonce, { authTagLength: GCM_TAG_BYTES });
  cipher.setAAD(aad);
  return bytesOf(Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]));
}

/**
 * The plaintext, or undefined when the tag does not verify, the input is too short or the
 * key has no AES length: a key that cannot open it is a wrong key.
 */
export function gcmOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  aad: Uint8Array = new Uint8Array(),
): Uint8Array | undefined {
  if (sealed.length < GCM_TAG_BYTES || ![16, 24, 32].includes(key.length)) return undefined;
  const decipher = createDecipheriv(algorithm(key), key, nonce, { authTagLength: GCM_TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - GCM_TAG_BYTES));
  try {
    return bytesOf(
      Buffer.concat([
        decipher.update(sealed.subarray(0, sealed.length - GCM_TAG_BYTES)),
        decipher.final(),
      ]),
    );
  } catch {
    return undefined;
  }
}
