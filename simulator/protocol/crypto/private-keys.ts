// Ed25519 and X25519 keys from their raw 32 bytes, as Node KeyObjects (Ed25519 signs and
// verifies on these) and as WebCrypto CryptoKeys (X25519, for HPKE); and X25519 key
// derivation (RFC 9180 §7.1.3).
//
// Why this exists: WebCrypto on Node 20 imports a private key given as PKCS#8 through
// OpenSSL 3's generic decoder, about 0.35 ms, more than the signature or key agreement
// the key then serves; registering one client imported 13 of them. Node's KeyObject
// builds the same key from a JWK `d` by OpenSSL's raw-key path in about 0.03 ms, and its
// JWK export carries the public key. WebCrypto's own JWK import then takes `d` with
// that `x` (it checks they belong together) in about 0.07 ms. Same key, a third of the
// time, and the public key comes for free instead of by an export.
//
// The raw bytes of every key imported here are remembered against its CryptoKey (weakly),
// so exporting them again, which ts-mls does for every key it stores, costs nothing.

import { createPrivateKey, createPublicKey, KeyObject, type webcrypto } from 'node:crypto';
import { KEM_SUITE_ID, labeledExpand, labeledExtract } from './hpke-labels.ts';

export type PrivateKeyCurve = 'Ed25519' | 'X25519';

/** Both curves' private and public keys are 32 bytes raw. */
export const KEY_BYTES = 32;

export interface ImportedPrivateKey {
  readonly privateKey: webcrypto.CryptoKey;
  /** The raw 32-byte public key belonging to it. */
  readonly publicKey: Uint8Array;
}

const subtle = globalThis.crypto.subtle;
const USAGES: Readonly<Record<PrivateKeyCurve, webcrypto.KeyUsage[]>> = {
  Ed25519: ['sign'],
  X25519: ['deriveBits'],
};

const rawPrivate = new WeakMap<webcrypto.CryptoKey, Uint8Array>();
const rawPublic = new WeakMap<webcrypto.CryptoKey, Uint8Array>();
/** The public key bytes of each private key imported here. */
const publicOfPrivate = new WeakMap<webcrypto.CryptoKey, Uint8Array>();

const base64Url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

/**
 * A raw private key (an Ed25519 seed or an X25519 scalar) as a Node KeyObject, with its
 * public key. Node signs and verifies Ed25519 with KeyObjects synchronously, without the
 * round trip through libuv's pool a WebCrypto job takes: in one process, about 40 us per
 * signature against 70 us.
 */
export function privateKeyObject(
  curve: PrivateKeyCurve,
  d: Uint8Array,
): { readonly keyObject: KeyObject; readonly publicKey: Uint8Array } {
  if (d.length !== KEY_BYTES) {
    throw new RangeError(`${curve} private key is ${d.length} bytes, expected 32`);
  }
  // KeyObject's JWK import reads only `d` for a private key; `x` must merely be a string.
  const keyObject = createPrivateKey({
    key: { kty: 'OKP', crv: curve, d: base64Url(d), x: '' },
    format: 'jwk',
  });
  const jwk = keyObject.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new Error(`${curve} JWK export lacks the public key`);
  return { keyObject, publicKey: new Uint8Array(Buffer.from(jwk.x, 'base64url')) };
}

/** The public key of a raw private key (an Ed25519 seed or an X25519 scalar). */
export function publicKeyOf(curve: PrivateKeyCurve, d: Uint8Array): Uint8Array {
  return privateKeyObject(curve, d).publicKey;
}

/** A raw 32-byte public key as a Node KeyObject (no validation beyond its length). */
export function publicKeyObject(curve: PrivateKeyCurve, publicKey: Uint8Array): KeyObject {
  if (publicKey.length !== KEY_BYTES) {
    throw new RangeError(`${curve} public key is ${publicKey.length} bytes, expected 32`);
  }
  return createPublicKey({
    key: { kty: 'OKP', crv: curve, x: base64Url(publicKey) },
    format: 'jwk',
  });
}

/**
 * Imports a raw private key as a WebCrypto key (Ed25519 for signing, X25519 for key
 * agreement) and returns it with its public key.
 */
export async function importRawPrivateKey(
  curve: PrivateKeyCurve,
  d: Uint8Array,
  extractable = true,
): Promise<ImportedPrivateKey> {
  const publicKey = publicKeyOf(curve, d);
  const privateKey = await subtle.importKey(
    'jwk',
    { kty: 'OKP', crv: curve, d: base64Url(d), x: base64Url(publicKey) },
    { name: curve },
    extractable,
    USAGES[curve],
  );
  rawPrivate.set(privateKey, d.slice());
  publicOfPrivate.set(privateKey, publicKey.slice());
  return { privateKey, publicKey };
}

/** The public half as a WebCrypto key, remembered with its bytes like the private half. */
export async function importRawPublicKey(
  curve: PrivateKeyCurve,
  publicKey: Uint8Array,
): Promise<webcrypto.CryptoKey> {
  const key = await subtle.importKey('raw', publicKey, { name: curve }, true, []);
  rawPublic.set(key, publicKey.slice());
  return key;
}

/** The bytes a key was imported from here, or undefined for a key imported elsewhere. */
export function knownPrivateBytes(key: webcrypto.CryptoKey): Uint8Array | undefined {
  return rawPrivate.get(key)?.slice();
}

export function knownPublicBytes(key: webcrypto.CryptoKey): Uint8Array | undefined {
  return rawPublic.get(key)?.slice();
}

/** The public key of a private key imported here, or undefined for one imported elsewhere. */
export function knownPublicBytesOfPrivate(key: webcrypto.CryptoKey): Uint8Array | undefined {
  return publicOfPrivate.get(key)?.slice();
}

/**
 * DeriveKeyPair(ikm) of DHKEM(X25519, HKDF-SHA256), RFC 9180 §7.1.3: the private key is
 * LabeledExpand(LabeledExtract("", "dkp_prk", ikm), "sk", "", 32), used as is (X25519
 * clamps on use). The labeled HKDF is ./hpke-labels.ts's: two small HMACs in line, cheaper
 * than as four WebCrypto jobs.
 */
export function deriveX25519PrivateKey(ikm: Uint8Array): Uint8Array {
  const dkpPrk = labeledExtract(KEM_SUITE_ID, new Uint8Array(), 'dkp_prk', ikm);
  return labeledExpand(KEM_SUITE_ID, dkpPrk, 'sk', new Uint8Array(), KEY_BYTES);
}

// X25519 keys for ts-mls's ciphersuite, as handles. ts-mls types HPKE keys as WebCrypto
// CryptoKeys but only ever hands them back to the ciphersuite, whose seal, open, export and
// import run on node:crypto from the raw bytes (./hpke-base.ts). Importing each key into
// WebCrypto as well cost 40% of deriving a key pair (9% of registering a user) for keys
// nothing used. So a key made here is a frozen stand-in whose bytes (and, for a private
// key, its KeyObject) are remembered against it, as an imported key's are; a real CryptoKey
// is made only when @hpke/core must run (asCryptoKey).

const handles = new WeakSet<webcrypto.CryptoKey>();
const keyObjects = new WeakMap<webcrypto.CryptoKey, KeyObject>();
const realKeys = new WeakMap<webcrypto.CryptoKey, Promise<webcrypto.CryptoKey>>();

function handle(type: 'private' | 'public'): webcrypto.CryptoKey {
  // Shaped like a CryptoKey for whoever prints or inspects it; nothing here reads it.
  const key = Object.freeze({
    type,
    algorithm: Object.freeze({ name: 'X25519' }),
    extractable: true,
    usages: Object.freeze(type === 'private' ? ['deriveBits'] : []),
  }) as unknown as webcrypto.CryptoKey;
  handles.add(key);
  return key;
}

/** An X25519 private key (a 32-byte scalar) as a handle, with its public key. */
export function x25519PrivateHandle(d: Uint8Array): ImportedPrivateKey {
  const { keyObject, publicKey } = privateKeyObject('X25519', d);
  const privateKey = handle('private');
  rawPrivate.set(privateKey, d.slice());
  publicOfPrivate.set(privateKey, publicKey.slice());
  keyObjects.set(privateKey, keyObject);
  return { privateKey, publicKey };
}

/** An X25519 public key (32 bytes) as a handle. */
export function x25519PublicHandle(publicKey: Uint8Array): webcrypto.CryptoKey {
  if (publicKey.length !== KEY_BYTES)
    throw new RangeError(`X25519 public key is ${publicKey.length} bytes, expected 32`);
  const key = handle('public');
  rawPublic.set(key, publicKey.slice());
  return key;
}

/** DeriveKeyPair(ikm) (RFC 9180 §7.1.3) as handles. */
export function deriveX25519Handles(ikm: Uint8Array): {
  readonly privateKey: webcrypto.CryptoKey;
  readonly publicKey: webcrypto.CryptoKey;
} {
  const pair = x25519PrivateHandle(deriveX25519PrivateKey(ikm));
  return { privateKey: pair.privateKey, publicKey: x25519PublicHandle(pair.publicKey) };
}

/** A private key as a Node KeyObject: a handle's own, or a real CryptoKey's. */
export function keyObjectOfPrivate(key: webcrypto.CryptoKey): KeyObject {
  return keyObjects.get(key) ?? KeyObject.from(key);
}

/** A real WebCrypto key for `key`: imported once for a handle, `key` itself otherwise. */
export function asCryptoKey(key: webcrypto.CryptoKey): Promise<webcrypto.CryptoKey> {
  if (!handles.has(key)) return Promise.resolve(key);
  let real = realKeys.get(key);
  if (real === undefined) {
    const d = rawPrivate.get(key);
    const publicKey = rawPublic.get(key);
    real =
      d !== undefined
        ? importRawPrivateKey('X25519', d).then((k) => k.privateKey)
        : importRawPublicKey('X25519', publicKey ?? new Uint8Array());
    realKeys.set(key, real);
  }
  return real;
}
