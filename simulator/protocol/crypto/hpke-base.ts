// HPKE (RFC 9180) base mode, single shot, for the suite MLS ciphersuite 1 uses:
// DHKEM(X25519, HKDF-SHA256) (kem 0x0020), HKDF-SHA256 (kdf 0x0001), AES-128-GCM (aead
// 0x0001), synchronously on node:crypto. @hpke/core runs each X25519, HKDF and AES step
// as a WebCrypto job, a round trip through libuv's pool and a promise apiece; these are
// the same OpenSSL calls made in line. Checked against RFC 9180's test vectors (A.1.1)
// and byte for byte against @hpke/core (hpke-base.test.ts) for every length ts-mls asks
// for. (@hpke/core writes a label's length as one byte, so from 256 bytes on its exports
// differ from RFC 9180's; these follow the RFC.)
import { diffieHellman, type KeyObject } from 'node:crypto';
import { gcmOpen, gcmSeal } from './aes-gcm.ts';
import {
  concat,
  HPKE_SUITE_ID,
  KEM_SUITE_ID,
  labeledExpand,
  labeledExtract,
} from './hpke-labels.ts';
import { deriveX25519PrivateKey, privateKeyObject, publicKeyObject } from './private-keys.ts';

const NK = 16; // AES-128 key
const NN = 12; // nonce
const NH = 32; // SHA-256
const NSECRET = 32; // DHKEM(X25519) shared secret

const MODE_BASE = Uint8Array.of(0x00);

/** DH(sk, pk) for X25519, refusing the all-zero output of a low-order point (RFC 9180 §7.1.4). */
export function dh(privateKey: KeyObject, publicKey: Uint8Array): Uint8Array {
  const shared = new Uint8Array(
    diffieHellman({ privateKey, publicKey: publicKeyObject('X25519', publicKey) }),
  );
  if (shared.every((b) => b === 0)) throw new Error('X25519 gave the all-zero shared secret');
  return shared;
}

/** ExtractAndExpand(dh, kem_context) of DHKEM (RFC 9180 §4.1). */
export function sharedSecret(dhOut: Uint8Array, enc: Uint8Array, pkR: Uint8Array) {
  const prk = labeledExtract(KEM_SUITE_ID, new Uint8Array(), 'eae_prk', dhOut);
  return labeledExpand(KEM_SUITE_ID, prk, 'shared_secret', concat(enc, pkR), NSECRET);
}

/** KeySchedule(mode_base, shared_secret, info, "", "") (RFC 9180 §5.1): key and base nonce. */
export function keySchedule(secretIn: Uint8Array, info: Uint8Array) {
  const none = new Uint8Array();
  const pskIdHash = labeledExtract(HPKE_SUITE_ID, none, 'psk_id_hash', none);
  const infoHash = labeledExtract(HPKE_SUITE_ID, none, 'info_hash', info);
  const context = concat(MODE_BASE, pskIdHash, infoHash);
  const secret = labeledExtract(HPKE_SUITE_ID, secretIn, 'secret', none);
  return {
    key: labeledExpand(HPKE_SUITE_ID, secret, 'key', context, NK),
    baseNonce: labeledExpand(HPKE_SUITE_ID, secret, 'base_nonce', context, NN),
    exporterSecret: labeledExpand(HPKE_SUITE_ID, secret, 'exp', context, NH),
  };
}

export interface X25519KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: Uint8Array;
}

/** DeriveKeyPair(ikm) of DHKEM(X25519, HKDF-SHA256) (RFC 9180 §7.1.3). */
export function deriveKeyPair(ikm: Uint8Array): X25519KeyPair {
  // RFC 9180 §7.2.1: DeriveKeyPair takes at most 8192 bytes of input keying material.
  if (ikm.length > 8192) throw new RangeError(`ikm of ${ikm.length} bytes is too long`);
  const { keyObject, publicKey } = privateKeyObject('X25519', deriveX25519PrivateKey(ikm));
  return { privateKey: keyObject, publicKey };
}

/** A key pair from raw X25519 keys (the public key is taken as given). */
export const keyPairFromRaw = (privateKey: Uint8Array, publicKey: Uint8Array): X25519KeyPair => ({
  privateKey: privateKeyObject('X25519', privateKey).keyObject,
  publicKey: publicKey.slice(),
});

/**
 * SealBase(pkR, info, "", pt) with the ephemeral key derived from `ekm` (RFC 9180's
 * DeriveKeyPair, as the test vectors do), so a seeded run seals to the same bytes.
 * Throws on a public key of the wrong length or of low order.
 */
export function sealBase(
  pkR: Uint8Array,
  info: Uint8Array,
  plaintext: Uint8Array,
  ekm: Uint8Array,
  aad: Uint8Array = new Uint8Array(),
) {
  const { enc, schedule } = encap(pkR, info, ekm);
  return { enc, ciphertext: gcmSeal(schedule.key, schedule.baseNonce, plaintext, aad) };
}

/** Encap to pkR with the ephemeral key from `ekm`, and the sender's key schedule. */
function encap(pkR: Uint8Array, info: Uint8Array, ekm: Uint8Array) {
  const ephemeral = deriveKeyPair(ekm);
  const enc = ephemeral.publicKey;
  const shared = sharedSecret(dh(ephemeral.privateKey, pkR), enc, pkR);
  return { enc, schedule: keySchedule(shared, info) };
}

/**
 * SetupBaseS(pkR, info) then Export(exporter_context, L) (RFC 9180 §5.3): the
 * encapsulation and a secret of `length` bytes.
 */
export function exportBase(
  pkR: Uint8Array,
  info: Uint8Array,
  exporterContext: Uint8Array,
  length: number,
  ekm: Uint8Array,
) {
  const { enc, schedule } = encap(pkR, info, ekm);
  const exporter = schedule.exporterSecret;
  return { enc, secret: labeledExpand(HPKE_SUITE_ID, exporter, 'sec', exporterContext, length) };
}

/**
 * The recipient's side of the KEM and key schedule, or undefined when decap fails: an enc
 * that is not a public key, or one of low order. A programming error still throws.
 */
function decap(recipient: X25519KeyPair, enc: Uint8Array, info: Uint8Array) {
  let shared: Uint8Array;
  try {
    shared = dh(recipient.privateKey, enc);
  } catch (error) {
    if (error instanceof TypeError) throw error;
    return undefined;
  }
  return keySchedule(sharedSecret(shared, enc, recipient.publicKey), info);
}

/** OpenBase(enc, skR, info, aad, ct): the plaintext, or undefined when it does not open. */
export function openBase(
  recipient: X25519KeyPair,
  enc: Uint8Array,
  info: Uint8Array,
  ciphertext: Uint8Array,
  aad: Uint8Array = new Uint8Array(),
): Uint8Array | undefined {
  const schedule = decap(recipient, enc, info);
  return schedule === undefined
    ? undefined
    : gcmOpen(schedule.key, schedule.baseNonce, ciphertext, aad);
}

/**
 * SetupBaseR(enc, skR, info) then Export(exporter_context, L): the secret the sender's
 * exportBase gave, or undefined when decap fails.
 */
export function importBase(
  recipient: X25519KeyPair,
  enc: Uint8Array,
  info: Uint8Array,
  exporterContext: Uint8Array,
  length: number,
): Uint8Array | undefined {
  const schedule = decap(recipient, enc, info);
  return schedule === undefined
    ? undefined
    : labeledExpand(HPKE_SUITE_ID, schedule.exporterSecret, 'sec', exporterContext, length);
}
