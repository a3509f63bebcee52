// HPKE (RFC 9180) base mode with the suite MLS ciphersuite 1 uses:
// DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM. A ConnectionEncryptionKey
// is such a public key; establishment packages are sealed to it.
//
// Key pairs are derived from Rng bytes and the sender's ephemeral key too, so a
// seeded run seals to identical bytes. The HPKE itself runs synchronously on node:crypto
// (./hpke-base.ts), byte for byte what @hpke/core gave.
import type { KeyObject } from 'node:crypto';
import { fail, ok, type Failure, type Result } from '../result.ts';
import type { Rng } from './rng.ts';
import { meter, timedOp } from './meter.ts';
import { deriveKeyPair, keyPairFromRaw, openBase, sealBase } from './hpke-base.ts';

export const HPKE_PUBLIC_KEY_BYTES = 32;
const IKM_BYTES = 32;

export interface HpkeKeyPair {
  /** The serialized X25519 public key (32 bytes). */
  readonly publicKey: Uint8Array;
  /** Opaque handle for decryption; never leaves the process. */
  readonly privateKey: KeyObject;
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
    return Promise.resolve(deriveKeyPair(rng.bytes(IKM_BYTES)));
  },
);

export const hpkeSeal = timedOp(
  'hpke.seal',
  function hpkeSeal(input: {
    readonly publicKey: Uint8Array;
    readonly plaintext: Uint8Array;
    readonly info: Uint8Array;
    readonly rng: Rng;
  }): Promise<Result<HpkeSealed, Failure<'malformed-key'>>> {
    meter.count('hpke.seal');
    if (input.publicKey.length !== HPKE_PUBLIC_KEY_BYTES) {
      return Promise.resolve(
        fail('malformed-key', `HPKE public key is ${input.publicKey.length} bytes, expected 32`),
      );
    }
    try {
      const sealed = sealBase(
        input.publicKey,
        input.info,
        input.plaintext,
        input.rng.bytes(IKM_BYTES),
      );
      return Promise.resolve(ok(sealed));
    } catch (error) {
      // X25519 with a low-order public key yields an all-zero shared secret, which HPKE refuses.
      return Promise.resolve(fail('malformed-key', `cannot seal to this key: ${String(error)}`));
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
    const plaintext = openBase(
      input.keyPair,
      input.sealed.enc,
      input.info,
      input.sealed.ciphertext,
    );
    return Promise.resolve(
      plaintext === undefined
        ? fail('decryption-failed', 'HPKE open failed: the ciphertext does not open under this key')
        : ok(plaintext),
    );
  },
);

/** A key pair from raw X25519 keys, such as a KeyPackage's init key pair. */
export function hpkeKeyPairFromRaw(
  privateKey: Uint8Array,
  publicKey: Uint8Array,
): Promise<HpkeKeyPair> {
  // A key that is not 32 bytes is refused, naming its length.
  return Promise.resolve(keyPairFromRaw(privateKey, publicKey));
}
