// DHKEM(X25519, HKDF-SHA256) (RFC 9180 §4.1) as @hpke/core implements it, with its key
// handling routed through ./private-keys.ts. @hpke/core derives the ephemeral key of every
// seal by importing it as PKCS#8 (OpenSSL 3's decoder, about 0.35 ms) and recovers a
// recipient's public key from its private key by a JWK export and import; here the
// ephemeral key is derived and imported from raw bytes, and public keys already known
// are not recomputed. The KEM itself (DH, the shared-secret KDF) stays @hpke/core's.
import { DhkemX25519HkdfSha256 } from '@hpke/core';
import type { webcrypto } from 'node:crypto';
import {
  deriveX25519KeyPair,
  importRawPrivateKey,
  importRawPublicKey,
  knownPublicBytes,
  knownPublicBytesOfPrivate,
} from './private-keys.ts';

// RFC 9180 §7.2.1: DeriveKeyPair takes at most this much input keying material.
const IKM_LIMIT = 8192;

const bytesOf = (data: ArrayBufferLike | ArrayBufferView): Uint8Array =>
  ArrayBuffer.isView(data)
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : new Uint8Array(data);

const arrayBuffer = (bytes: Uint8Array): ArrayBuffer => bytes.slice().buffer;

export class X25519Kem extends DhkemX25519HkdfSha256 {
  constructor() {
    super();
    const prim = this._prim;
    const serializePublicKey = prim.serializePublicKey.bind(prim);
    const derivePublicKey = prim.derivePublicKey.bind(prim);
    prim.serializePublicKey = (key) => {
      const known = knownPublicBytes(key);
      return known === undefined ? serializePublicKey(key) : Promise.resolve(arrayBuffer(known));
    };
    prim.derivePublicKey = (key) => {
      const known = knownPublicBytesOfPrivate(key);
      return known === undefined ? derivePublicKey(key) : importRawPublicKey('X25519', known);
    };
    prim.deserializePrivateKey = async (key) =>
      (await importRawPrivateKey('X25519', bytesOf(key))).privateKey;
  }

  override async deriveKeyPair(
    ikm: ArrayBufferLike | ArrayBufferView,
  ): Promise<webcrypto.CryptoKeyPair> {
    const bytes = bytesOf(ikm);
    if (bytes.length > IKM_LIMIT) throw new RangeError(`ikm of ${bytes.length} bytes is too long`);
    const pair = await deriveX25519KeyPair(bytes);
    return { privateKey: pair.privateKey, publicKey: pair.publicKey };
  }
}

/**
 * The key pair of a private key imported or derived here, so HPKE's decap takes the public
 * key as given instead of recomputing it; a key from elsewhere is returned as it is.
 */
export async function withPublicKey(
  privateKey: webcrypto.CryptoKey,
): Promise<webcrypto.CryptoKey | webcrypto.CryptoKeyPair> {
  const known = knownPublicBytesOfPrivate(privateKey);
  return known === undefined
    ? privateKey
    : { privateKey, publicKey: await importRawPublicKey('X25519', known) };
}
