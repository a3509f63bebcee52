// The one ciphersuite connection groups use, as a ts-mls CiphersuiteImpl, with an
// optional injected source of randomness so the simulator can replay a run
// byte for byte from a seed.
//
// ts-mls draws randomness in four places, all reachable through CiphersuiteImpl:
//   - `rng.randomBytes`: epoch secret of a new group, path secrets of every
//     UpdatePath, reuse guards of PrivateMessages, PSK nonces;
//   - `hpke.generateKeyPair`: init and leaf keys of a KeyPackage;
//   - `signature.keygen`: a member's signature key pair;
//   - inside @hpke/core: the ephemeral key of every HPKE `seal` (UpdatePath
//     secrets, Welcome group secrets) and of `exportSecret` (ExternalInit).
// The last one is not behind `rng`, so the seeded suite re-implements `seal` and
// `exportSecret` with ephemeral key material drawn here, on a synchronous RFC 9180 base
// mode over node:crypto (../crypto/hpke-base.ts), byte for byte what @hpke/core gave.
// Everything else (HKDF, AES-GCM, Ed25519 signing) is deterministic already.
//
// Imported keys are cached by their bytes (../crypto/key-cache.ts): ts-mls would
// otherwise import the signing key for every signature and re-import stored HPKE
// private keys, each import costing more than the operation it serves.
//
// Keys are typed webcrypto.CryptoKey here; globals.d.ts aliases the global
// CryptoKey that ts-mls and @hpke/core name (@types/node 20 lacks it).

import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { webcrypto } from 'node:crypto';
import {
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  type CiphersuiteImpl,
  type CiphersuiteName,
  type Hpke,
  type PrivateKey,
  type PublicKey,
  type Signature,
} from 'ts-mls';
import { cachedKey, rememberKey } from '../crypto/key-cache.ts';
import {
  createPrivateKey,
  KeyObject,
  sign as signWithKeyObject,
  verify as verifyWithKeyObject,
} from 'node:crypto';
import {
  asCryptoKey,
  deriveX25519Handles,
  keyObjectOfPrivate,
  knownPrivateBytes,
  knownPublicBytes,
  knownPublicBytesOfPrivate,
  privateKeyObject,
  publicKeyObject,
  x25519PrivateHandle,
  x25519PublicHandle,
} from '../crypto/private-keys.ts';
import { withPublicKey } from '../crypto/x25519-kem.ts';
import { withNodePrimitives } from './node-primitives.ts';
import {
  exportBase,
  importBase,
  openBase,
  sealBase,
  type X25519KeyPair,
} from '../crypto/hpke-base.ts';

/** MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519 (RFC 9420 §17.1, value 0x0001). */
export const CIPHERSUITE: CiphersuiteName = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519';

/** A source of (pseudo)random bytes; the simulator passes a seeded one. */
export interface RandomSource {
  bytes(n: number): Uint8Array;
}

/**
 * ts-mls's ciphersuite with Ed25519 on Node KeyObjects (synchronous: no round trip through
 * libuv's pool, see ../crypto/ed25519.ts) and every key import going through the cache.
 */
function withKeyCache(cs: CiphersuiteImpl): CiphersuiteImpl {
  const signature: Signature = {
    ...cs.signature,
    async sign(signKey, message) {
      const key = await cachedKey('ed25519-sign', signKey, () => {
        // ts-mls accepts a bare 32-byte seed or its PKCS#8 wrapping; so does this.
        const seed = seedOf(signKey);
        return seed === undefined
          ? createPrivateKey({ key: Buffer.from(signKey), format: 'der', type: 'pkcs8' })
          : privateKeyObject('Ed25519', seed).keyObject;
      });
      return new Uint8Array(signWithKeyObject(null, message, key));
    },
    async verify(publicKey, message, signatureBytes) {
      // A key that does not import verifies nothing, as WebCrypto's verify answered false.
      let key: KeyObject;
      try {
        key = await cachedKey('ed25519-verify', publicKey, () =>
          publicKeyObject('Ed25519', publicKey),
        );
      } catch {
        return false;
      }
      return verifyWithKeyObject(null, message, key, signatureBytes);
    },
  };
  // Keys are imported from and derived to raw bytes (../crypto/private-keys.ts), so
  // exporting them is a lookup; a key from elsewhere falls back to ts-mls's export.
  const hpke: Hpke = {
    ...cs.hpke,
    // 32-byte keys become handles (../crypto/private-keys.ts): every step below takes their
    // bytes, and @hpke/core gets a real key from asCryptoKey when it must run.
    importPrivateKey: async (k) =>
      (await cachedKey('x25519-private', k, () =>
        k.length === 32 ? x25519PrivateHandle(k).privateKey : cs.hpke.importPrivateKey(k),
      )) as PrivateKey,
    importPublicKey: async (k) =>
      (await cachedKey('x25519-public', k, () =>
        k.length === 32 ? x25519PublicHandle(k) : cs.hpke.importPublicKey(k),
      )) as PublicKey,
    async exportPrivateKey(k) {
      const bytes = knownPrivateBytes(k) ?? (await cs.hpke.exportPrivateKey(k));
      rememberKey('x25519-private', bytes, k);
      return bytes;
    },
    exportPublicKey: async (k) => knownPublicBytes(k) ?? cs.hpke.exportPublicKey(k),
    deriveKeyPair(ikm) {
      const pair = deriveX25519Handles(ikm);
      return Promise.resolve({
        privateKey: pair.privateKey as PrivateKey,
        publicKey: pair.publicKey as PublicKey,
      });
    },
    // ts-mls's own seal and export (of the unseeded suite) are @hpke/core's.
    seal: async (publicKey, plaintext, info, aad) =>
      cs.hpke.seal((await asCryptoKey(publicKey)) as PublicKey, plaintext, info, aad),
    exportSecret: async (publicKey, exporterContext, length, info) =>
      cs.hpke.exportSecret(
        (await asCryptoKey(publicKey)) as PublicKey,
        exporterContext,
        length,
        info,
      ),
    // Synchronously on node:crypto (../crypto/hpke-base.ts). What does not open goes to
    // @hpke/core, so a failure surfaces as the error ts-mls raises; it gets a recipient key
    // pair, whose public key it then takes as given (../crypto/x25519-kem.ts).
    open: (privateKey, kemOutput, ciphertext, info, aad) =>
      onNodeOr(
        privateKey,
        (r) => openBase(r, kemOutput, info, ciphertext, aad ?? new Uint8Array()),
        (k) => cs.hpke.open(k, kemOutput, ciphertext, info, aad),
      ),
    importSecret: (privateKey, exporterContext, kemOutput, length, info) =>
      onNodeOr(
        privateKey,
        (r) => importBase(r, kemOutput, info, exporterContext, length),
        (k) => cs.hpke.importSecret(k, exporterContext, kemOutput, length, info),
      ),
  };
  return { ...cs, signature, hpke };
}

// WebCrypto-backed; built once, it holds no per-member state.
const native: CiphersuiteImpl = withNodePrimitives(
  withKeyCache(await getCiphersuiteImpl(getCiphersuiteFromName(CIPHERSUITE))),
);

/**
 * The ciphersuite implementation for one member. Without `rng` it is ts-mls's own
 * (WebCrypto randomness). With `rng`, every random value ts-mls uses comes from
 * `rng`, so the same sequence of operations on the same seed yields the same bytes.
 */
export function ciphersuite(rng?: RandomSource): CiphersuiteImpl {
  return rng === undefined ? native : seeded(rng);
}

function seeded(rng: RandomSource): CiphersuiteImpl {
  const draw = (n: number): Uint8Array => {
    const bytes = rng.bytes(n);
    if (bytes.length !== n) throw new RangeError(`RandomSource returned ${bytes.length}, not ${n}`);
    // A copy: ts-mls zeroes some secrets in place after use.
    return bytes.slice();
  };
  // ts-mls seals several HPKE ciphertexts concurrently (Promise.all over the
  // copath), so drawing ephemeral keys from the stream would tie the bytes to
  // promise scheduling. Instead each ephemeral key is a PRF of the seal's inputs
  // under a key drawn once here (like RFC 6979 nonces): order-independent, and
  // fresh because every sealed plaintext is itself a fresh secret.
  const sealKey = draw(32);
  const seal = async (
    publicKey: Parameters<Hpke['seal']>[0],
    plaintext: Uint8Array,
    info: Uint8Array,
    aad?: Uint8Array,
  ): Promise<{ ct: Uint8Array; enc: Uint8Array }> => {
    const pkR = await native.hpke.exportPublicKey(publicKey);
    const ekm = prf(sealKey, [pkR, info, aad ?? new Uint8Array(), plaintext]);
    // Synchronously on node:crypto, byte for byte what @hpke/core's seal gave.
    const sealed = sealBase(pkR, info, plaintext, ekm, aad ?? new Uint8Array());
    return { ct: sealed.ciphertext, enc: sealed.enc };
  };
  // Only the external joiner calls this, once per join and never concurrently,
  // so the stream is safe here and a retried join gets a fresh init secret.
  const exportSecret = async (
    publicKey: webcrypto.CryptoKey,
    exporterContext: Uint8Array,
    length: number,
    info: Uint8Array,
  ): Promise<{ enc: Uint8Array; secret: Uint8Array }> => {
    // Drawn when called, as before the export became synchronous: the stream's order stays.
    const ekm = draw(32);
    const pkR = await native.hpke.exportPublicKey(publicKey as Parameters<Hpke['seal']>[0]);
    return exportBase(pkR, info, exporterContext, length, ekm);
  };
  // The rest is inherited from `native`, not copied: a simulation of 100,000 users holds
  // hundreds of thousands of members, and copied method tables were 2 KiB of each.
  const hpke = derive(native.hpke, {
    seal,
    exportSecret,
    generateKeyPair: () => native.hpke.deriveKeyPair(draw(32)),
  });
  const signature = derive(native.signature, {
    keygen: () => Promise.resolve(ed25519FromSeed(draw(32))),
  });
  return derive(native, { hpke, signature, rng: { randomBytes: draw } });
}

/** `base` with `own` in front of it: what `own` leaves out is looked up on `base`. */
function derive<T extends object>(base: T, own: Partial<T>): T {
  return Object.assign(Object.create(base) as T, own);
}

/**
 * A recipient's HPKE step on the synchronous base mode, for a private key imported or
 * derived here (its public key known); otherwise, or when it does not open, @hpke/core's,
 * given the key pair when there is one.
 */
async function onNodeOr(
  privateKey: webcrypto.CryptoKey,
  sync: (recipient: X25519KeyPair) => Uint8Array | undefined,
  fallback: (key: PrivateKey) => Promise<Uint8Array>,
): Promise<Uint8Array> {
  const publicKey = knownPublicBytesOfPrivate(privateKey);
  const done =
    publicKey === undefined
      ? undefined
      : sync({ privateKey: keyObjectOfPrivate(privateKey), publicKey });
  return done ?? fallback((await withPublicKey(privateKey)) as PrivateKey);
}

/** HMAC-SHA256 over length-prefixed parts, so part boundaries are unambiguous. */
function prf(key: Uint8Array, parts: readonly Uint8Array[]): Uint8Array {
  const mac = hmac.create(sha256, key);
  for (const part of parts) {
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, part.length);
    mac.update(length).update(part);
  }
  return mac.digest();
}

// RFC 8410 PKCS#8 wrapping of a 32-byte Ed25519 seed, the form ts-mls's own
// keygen returns (its sign() accepts either).
const PKCS8_ED25519_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);

function pkcs8(seed: Uint8Array): Uint8Array {
  const signKey = new Uint8Array(PKCS8_ED25519_PREFIX.length + seed.length);
  signKey.set(PKCS8_ED25519_PREFIX);
  signKey.set(seed, PKCS8_ED25519_PREFIX.length);
  return signKey;
}

/** The 32-byte seed of a bare seed or of its fixed RFC 8410 wrapping; undefined otherwise. */
function seedOf(signKey: Uint8Array): Uint8Array | undefined {
  if (signKey.length === 32) return signKey;
  const prefix = signKey.subarray(0, PKCS8_ED25519_PREFIX.length);
  const wrapped =
    signKey.length === PKCS8_ED25519_PREFIX.length + 32 &&
    prefix.every((byte, i) => byte === PKCS8_ED25519_PREFIX[i]);
  return wrapped ? signKey.subarray(PKCS8_ED25519_PREFIX.length) : undefined;
}

function ed25519FromSeed(seed: Uint8Array): { signKey: Uint8Array; publicKey: Uint8Array } {
  const signKey = pkcs8(seed);
  const { keyObject, publicKey } = privateKeyObject('Ed25519', seed);
  // The member signs with this key next: keep the import.
  rememberKey('ed25519-sign', signKey, keyObject);
  return { signKey, publicKey };
}
