// A recipient's key pair for @hpke/core's decap: a private key imported or derived by
// ./private-keys.ts comes back with its public key, and opens as the bare key does.
import { Aes128Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import { describe, expect, it } from 'vitest';
import { sealBase } from './hpke-base.ts';
import { deriveX25519KeyPair } from './private-keys.ts';
import { withPublicKey } from './x25519-kem.ts';

const suite = new CipherSuite({
  kem: new DhkemX25519HkdfSha256(),
  kdf: new HkdfSha256(),
  aead: new Aes128Gcm(),
});

describe('withPublicKey', () => {
  it('pairs a derived private key with its public key; the pair and the bare key open alike', async () => {
    const recipient = await deriveX25519KeyPair(new Uint8Array(32).fill(5));
    const paired = await withPublicKey(recipient.privateKey);
    expect('publicKey' in paired).toBe(true);
    const sealed = sealBase(
      recipient.publicKeyBytes,
      new Uint8Array([7]),
      new Uint8Array([1, 2, 3]),
      new Uint8Array(32).fill(9),
    );
    for (const recipientKey of [recipient.privateKey, paired]) {
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
