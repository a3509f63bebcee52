// SHA-256, HMAC, HKDF (RFC 5869) and AES-128-GCM (simulator/protocol/crypto/aes-gcm.ts) for ts-mls on node:crypto, synchronously.
//
// ts-mls runs each of these as a WebCrypto job: a trip through libuv's pool and a promise
// for every hash, MAC and key-schedule step, and an MLS commit takes dozens of them. The
// same OpenSSL called directly costs a few microseconds each. Decryption failures fall
// back to ts-mls's own implementation, so they surface as the errors ts-mls raises.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { CiphersuiteImpl } from 'ts-mls';
import { gcmOpen, gcmSeal } from '../crypto/aes-gcm.ts';

const HASH = 'sha256';
const HASH_BYTES = 32;

const digest = (data: Uint8Array): Uint8Array =>
  new Uint8Array(createHash(HASH).update(data).digest());

const mac = (key: Uint8Array, data: Uint8Array): Uint8Array =>
  new Uint8Array(createHmac(HASH, key).update(data).digest());

/** HKDF-Extract: an empty salt is HashLen zeros, which HMAC's key padding makes the same. */
const extract = (salt: Uint8Array, ikm: Uint8Array): Uint8Array => mac(salt, ikm);

/** HKDF-Expand: T(i) = HMAC(PRK, T(i-1) | info | i), concatenated and cut to `length`. */
function expand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > 255 * HASH_BYTES)
    throw new RangeError(`HKDF-Expand cannot give ${length} bytes`);
  const out = new Uint8Array(length);
  let previous = new Uint8Array();
  for (let i = 1, filled = 0; filled < length; i++) {
    previous = new Uint8Array(
      createHmac(HASH, prk).update(previous).update(info).update(Uint8Array.of(i)).digest(),
    );
    out.set(previous.subarray(0, length - filled), filled);
    filled += previous.length;
  }
  return out;
}

/** `cs` (MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519) with these primitives in place. */
export function withNodePrimitives(cs: CiphersuiteImpl): CiphersuiteImpl {
  return {
    ...cs,
    hash: {
      digest: (data) => Promise.resolve(digest(data)),
      mac: (key, data) => Promise.resolve(mac(key, data)),
      verifyMac: (key, tag, data) => {
        const expected = mac(key, data);
        return Promise.resolve(expected.length === tag.length && timingSafeEqual(expected, tag));
      },
    },
    kdf: {
      extract: (salt, ikm) => Promise.resolve(extract(salt, ikm)),
      expand: (prk, info, length) => Promise.resolve(expand(prk, info, length)),
      size: HASH_BYTES,
    },
    hpke: {
      ...cs.hpke,
      encryptAead: (key, nonce, aad, plaintext) =>
        Promise.resolve(gcmSeal(key, nonce, plaintext, aad ?? new Uint8Array())),
      decryptAead: (key, nonce, aad, ciphertext) => {
        const plaintext = gcmOpen(key, nonce, ciphertext, aad ?? new Uint8Array());
        return plaintext === undefined
          ? cs.hpke.decryptAead(key, nonce, aad, ciphertext)
          : Promise.resolve(plaintext);
      },
    },
  };
}
