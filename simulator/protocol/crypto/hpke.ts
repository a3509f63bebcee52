// HPKE (RFC 9180) base mode with the suite MLS ciphersuite 1 uses:
// DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM. A ConnectionEncryptionKey
// is such a public key; establishment packages are sealed to it.
//
// Key pairs are derived from Rng bytes and the sender's ephemeral key too, so a
// seeded run seals to identical bytes (@hpke/core's `ekm` parameter).
import { Aes128Gcm, CipherSuite, HkdfSha256 } from '@hpke/core';
import type { webcrypto } from 'node:crypto';
import { fail, ok, type Failure, type Result } from '../result.ts';
import type { Rng } from './rng.ts';
import { meter, timedOp } from './meter.ts';
import { cachedKey } from './key-cache.ts';
import { deriveX25519KeyPair, importRawPrivateKey } from './private-keys.ts';
import { X25519Kem } from './x25519-kem.ts';

const suite = new CipherSuite({
  kem: new X25519Kem(),
  kdf: new HkdfSha256(),
  aead: new Aes128Gcm(),
});

export const HPKE_PUBLIC_KEY_BYTES = 32;
const IKM_BYTES = 32;

export interface HpkeKeyPair {
  /** The serialized X25519 public key (32 bytes). */
  readonly publicKey: Uint8Array;
  /** Opaque handle for decryption; never leaves the process. */
  readonly privateKey: webcrypto.CryptoKey;
}

export interface HpkeSealed {
  /** The KEM encapsulation (the sender's ephemeral public key). */
  readonly enc: Uint8Array;
  readonly ciphertext: Uint8Array;
}

export type HpkeFailureKind = 'malformed-key' | 'decryption-failed';

export const deriveHpkeKeyPair = timedOp(
  'hpke.derive',
  async function deriveHpkeKeyPair(rng: Rng): Promise<HpkeKeyPair> {
    meter.count('hpke.derive');
    const derived = await deriveX25519KeyPair(rng.bytes(IKM_BYTES));
    const pair: HpkeKeyPair = { publicKey: derived.publicKeyBytes, privateKey: derived.privateKey };
    publicHandles.set(pair, Promise.resolve(derived.publicKey));
    return pair;
  },
);

export const hpkeSeal = timedOp(
  'hpke.seal',
  async function hpkeSeal(input: {
    readonly publicKey: Uint8Array;
    readonly plaintext: Uint8Array;
    readonly info: Uint8Array;
    readonly rng: Rng;
  }): Promise<Result<HpkeSealed, Failure<'malformed-key'>>> {
    meter.count('hpke.seal');
    if (input.publicKey.length !== HPKE_PUBLIC_KEY_BYTES) {
      return fail(
        'malformed-key',
        `HPKE public key is ${input.publicKey.length} bytes, expected 32`,
      );
    }
    let recipientPublicKey: webcrypto.CryptoKey;
    try {
      recipientPublicKey = await suite.kem.deserializePublicKey(input.publicKey);
    } catch (error) {
      return fail('malformed-key', `not an X25519 public key: ${String(error)}`);
    }
    try {
      const sealed = await suite.seal(
        { recipientPublicKey, info: input.info, ekm: input.rng.bytes(IKM_BYTES) },
        input.plaintext,
      );
      return ok({ enc: new Uint8Array(sealed.enc), ciphertext: new Uint8Array(sealed.ct) });
    } catch (error) {
      // X25519 with a low-order public key yields an all-zero shared secret, which HPKE refuses.
      return fail('malformed-key', `cannot seal to this key: ${String(error)}`);
    }
  },
);

export const hpkeOpen = timedOp(
  'hpke.open',
  async function hpkeOpen(input: {
    readonly keyPair: HpkeKeyPair;
    readonly sealed: HpkeSealed;
    readonly info: Uint8Array;
  }): Promise<Result<Uint8Array, Failure<HpkeFailureKind>>> {
    meter.count('hpke.open');
    try {
      const plaintext = await suite.open(
        {
          recipientKey: {
            privateKey: input.keyPair.privateKey,
            publicKey: await publicHandle(input.keyPair),
          },
          enc: input.sealed.enc,
          info: input.info,
        },
        input.sealed.ciphertext,
      );
      return ok(new Uint8Array(plaintext));
    } catch (error) {
      return fail('decryption-failed', `HPKE open failed: ${String(error)}`);
    }
  },
);

const publicHandles = new WeakMap<HpkeKeyPair, Promise<webcrypto.CryptoKey>>();
function publicHandle(pair: HpkeKeyPair): Promise<webcrypto.CryptoKey> {
  let handle = publicHandles.get(pair);
  if (handle === undefined) {
    handle = suite.kem.deserializePublicKey(pair.publicKey);
    publicHandles.set(pair, handle);
  }
  return handle;
}

/** A key pair from raw X25519 keys, such as a KeyPackage's init key pair. */
export async function hpkeKeyPairFromRaw(
  privateKey: Uint8Array,
  publicKey: Uint8Array,
): Promise<HpkeKeyPair> {
  // Usually a key ts-mls just generated and exported, so already in the cache.
  // A key that is not 32 bytes is refused by the import, naming its length.
  const handle = await cachedKey(
    'x25519-private',
    privateKey,
    async () => (await importRawPrivateKey('X25519', privateKey)).privateKey,
  );
  return { publicKey: publicKey.slice(), privateKey: handle };
}
