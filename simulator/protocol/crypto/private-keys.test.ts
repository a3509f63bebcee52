import { DhkemX25519HkdfSha256 } from '@hpke/core';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import {
  asCryptoKey,
  deriveX25519Handles,
  keyObjectOfPrivate,
  knownPublicBytesOfPrivate,
  x25519PublicHandle,
  deriveX25519PrivateKey,
  importRawPrivateKey,
  knownPrivateBytes,
  knownPublicBytes,
  publicKeyOf,
} from './private-keys.ts';

const subtle = globalThis.crypto.subtle;

// RFC 9180 Appendix A.1.1, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode.
const RFC9180_A11 = [
  {
    ikm: '7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234',
    sk: '52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736',
    pk: '37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431',
  },
  {
    ikm: '6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037',
    sk: '4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8',
    pk: '3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d',
  },
];

// RFC 8032 §7.1, TEST 1.
const RFC8032_TEST1 = {
  seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
  publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
  signatureOfEmpty:
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
};

/** DeriveKeyPair as the ciphersuite makes it (handles), then as the real keys @hpke/core gets. */
async function derivedCryptoKeys(ikm: Uint8Array) {
  const pair = deriveX25519Handles(ikm);
  return {
    privateKey: await asCryptoKey(pair.privateKey),
    publicKey: await asCryptoKey(pair.publicKey),
    publicKeyBytes: publicKeyOf('X25519', deriveX25519PrivateKey(ikm)),
  };
}

describe('X25519 DeriveKeyPair (RFC 9180 §7.1.3)', () => {
  it.each(RFC9180_A11)('derives the published key pair from ikm $ikm', async (vector) => {
    expect(bytesToHex(deriveX25519PrivateKey(hexToBytes(vector.ikm)))).toBe(vector.sk);
    const pair = await derivedCryptoKeys(hexToBytes(vector.ikm));
    expect(bytesToHex(pair.publicKeyBytes)).toBe(vector.pk);
    expect(bytesToHex(new Uint8Array(await subtle.exportKey('raw', pair.publicKey)))).toBe(
      vector.pk,
    );
    const jwk = await subtle.exportKey('jwk', pair.privateKey);
    expect(bytesToHex(new Uint8Array(Buffer.from(jwk.d ?? '', 'base64url')))).toBe(vector.sk);
  });

  it('agrees with @hpke/core on ikm of every length it is given', async () => {
    const kem = new DhkemX25519HkdfSha256();
    for (const length of [0, 1, 31, 32, 33, 64]) {
      const ikm = Uint8Array.from({ length }, (_, i) => (i * 37 + length) & 0xff);
      const theirs = await kem.deriveKeyPair(ikm);
      const ours = await derivedCryptoKeys(ikm);
      expect(bytesToHex(ours.publicKeyBytes)).toBe(
        bytesToHex(new Uint8Array(await kem.serializePublicKey(theirs.publicKey))),
      );
      expect(bytesToHex(knownPrivateBytes(ours.privateKey) ?? new Uint8Array())).toBe(
        bytesToHex(new Uint8Array(await kem.serializePrivateKey(theirs.privateKey))),
      );
    }
  });

  it('gives keys that agree on a shared secret with keys made elsewhere', async () => {
    const ours = await derivedCryptoKeys(hexToBytes(RFC9180_A11[0]?.ikm ?? ''));
    const peerSecret = x25519.utils.randomSecretKey();
    const peerPublic = await subtle.importKey(
      'raw',
      x25519.getPublicKey(peerSecret),
      { name: 'X25519' },
      false,
      [],
    );
    const shared = await subtle.deriveBits(
      { name: 'X25519', public: peerPublic },
      ours.privateKey,
      256,
    );
    expect(bytesToHex(new Uint8Array(shared))).toBe(
      bytesToHex(x25519.getSharedSecret(peerSecret, ours.publicKeyBytes)),
    );
  });
});

describe('raw private keys', () => {
  it('imports an RFC 8032 seed that signs as the published test', async () => {
    const seed = hexToBytes(RFC8032_TEST1.seed);
    expect(bytesToHex(publicKeyOf('Ed25519', seed))).toBe(RFC8032_TEST1.publicKey);
    const { privateKey, publicKey } = await importRawPrivateKey('Ed25519', seed, false);
    expect(bytesToHex(publicKey)).toBe(RFC8032_TEST1.publicKey);
    const signature = new Uint8Array(await subtle.sign('Ed25519', privateKey, new Uint8Array()));
    expect(bytesToHex(signature)).toBe(RFC8032_TEST1.signatureOfEmpty);
    expect(privateKey.extractable).toBe(false);
  });

  it('matches an independent public-key computation for many keys', () => {
    for (let i = 0; i < 32; i++) {
      const d = Uint8Array.from({ length: 32 }, (_, j) => (i * 131 + j * 7) & 0xff);
      expect(bytesToHex(publicKeyOf('Ed25519', d))).toBe(bytesToHex(ed25519.getPublicKey(d)));
      expect(bytesToHex(publicKeyOf('X25519', d))).toBe(bytesToHex(x25519.getPublicKey(d)));
    }
  });

  it('refuses a private key that is not 32 bytes, naming the length', async () => {
    for (const length of [0, 31, 33, 48]) {
      expect(() => publicKeyOf('X25519', new Uint8Array(length))).toThrow(
        `X25519 private key is ${length} bytes, expected 32`,
      );
      await expect(importRawPrivateKey('Ed25519', new Uint8Array(length))).rejects.toThrow(
        `Ed25519 private key is ${length} bytes, expected 32`,
      );
    }
  });

  it('remembers the bytes of its own keys only, as copies', async () => {
    const pair = await derivedCryptoKeys(new Uint8Array(32));
    const remembered = knownPublicBytes(pair.publicKey);
    expect(remembered).toEqual(pair.publicKeyBytes);
    remembered?.fill(0);
    expect(knownPublicBytes(pair.publicKey)).toEqual(pair.publicKeyBytes);
    const elsewhere = await subtle.generateKey({ name: 'X25519' }, true, ['deriveBits']);
    expect(knownPrivateBytes((elsewhere as { privateKey: CryptoKey }).privateKey)).toBeUndefined();
  });
});

describe('X25519 handles', () => {
  it.each(RFC9180_A11)('stand for the key pair derived from ikm $ikm', async (vector) => {
    const pair = deriveX25519Handles(hexToBytes(vector.ikm));
    expect(bytesToHex(knownPrivateBytes(pair.privateKey) ?? new Uint8Array())).toBe(vector.sk);
    expect(bytesToHex(knownPublicBytesOfPrivate(pair.privateKey) ?? new Uint8Array())).toBe(
      vector.pk,
    );
    expect(bytesToHex(knownPublicBytes(pair.publicKey) ?? new Uint8Array())).toBe(vector.pk);
    const jwk = keyObjectOfPrivate(pair.privateKey).export({ format: 'jwk' });
    expect(bytesToHex(new Uint8Array(Buffer.from(jwk.d ?? '', 'base64url')))).toBe(vector.sk);
  });

  it('become real WebCrypto keys, once, when @hpke/core needs them', async () => {
    const [vector] = RFC9180_A11;
    const pair = deriveX25519Handles(hexToBytes(vector?.ikm ?? ''));
    const real = await asCryptoKey(pair.privateKey);
    expect(real).toBeInstanceOf(
      ((await subtle.generateKey({ name: 'X25519' }, false, ['deriveBits'])) as CryptoKeyPair)
        .privateKey.constructor,
    );
    expect(await asCryptoKey(pair.privateKey)).toBe(real);
    const jwk = await subtle.exportKey('jwk', real);
    expect(bytesToHex(new Uint8Array(Buffer.from(jwk.d ?? '', 'base64url')))).toBe(vector?.sk);
    const realPublic = await asCryptoKey(pair.publicKey);
    expect(bytesToHex(new Uint8Array(await subtle.exportKey('raw', realPublic)))).toBe(vector?.pk);
    // A real key is its own.
    expect(await asCryptoKey(real)).toBe(real);
  });

  it('refuses a public key that is not 32 bytes', () => {
    expect(() => x25519PublicHandle(new Uint8Array(31))).toThrow(/31 bytes/);
  });
});
