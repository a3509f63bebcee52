// A recipient's key pair for @hpke/core's decap: a private key imported or derived by
// ./private-keys.ts comes back with its public key, and opens as the bare key does.
import { Aes128Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import { describe, expect, it } from 'vitest';
import { sealBase } from './hpke-base.ts';
import {
  asCryptoKey,
  deriveX25519Handles,
  deriveX25519PrivateKey,
  publicKeyOf,
} from './private-keys.ts';
import { withPublicKey } from './x25519-kem.ts';

const suite = new CipherSuite({
  kem: new DhkemX25519HkdfSha256(),
  kdf: new HkdfSha256(),
  aead: new Aes128Gcm(),
});

describe('withPublicKey', () => {
  it('pairs a derived private key with its public key; the pair and the bare key open alike', async () => {
    const ikm = new Uint8Array(32).fill(5);
    // The ciphersuite derives handles; @hpke/core gets real keys for them.
    const recipient = deriveX25519Handles(ikm);
    const paired = await withPublicKey(recipient.privateKey);
    expect('publicKey' in paired).toBe(true);
    const bare = await asCryptoKey(recipient.privateKey);
    const sealed = sealBase(
      publicKeyOf('X25519', deriveX25519PrivateKey(ikm)),
      new Uint8Array([7]),
      new Uint8Array([1, 2, 3]),
      new Uint8Array(32).fill(9),
    );
    for (const recipientKey of [bare, paired]) {
      const opened = await suite.open(
        { recipientKey, enc: sealed.enc, info: new Uint8Array([7]) },
        sealed.ciphertext,
      );
      expect([...new Uint8Array(opened)]).toEqual([1, 2, 3]);
    }
  });

  it('returns a key it does not know as it is', async () => {
    const foreign = await suite.kem.deriveKeyPair(new Uint8Array(32).fill(1));
    expect(await withPublicKey(foreign.privateKey)).toBe(foreign.privateKey);
  });
});
