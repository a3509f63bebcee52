// The KEM with fedconn's key handling against RFC 9180's published base-mode vector, and
// against @hpke/core's own KEM both ways.
import { Aes128Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { X25519Kem, withPublicKey } from './x25519-kem.ts';

// RFC 9180 Appendix A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, mode 0.
const A11 = {
  ikmE: '7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234',
  pkEm: '37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431',
  ikmR: '6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037',
  pkRm: '3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d',
  info: '4f6465206f6e2061204772656369616e2055726e',
  pt: '4265617574792069732074727574682c20747275746820626561757479',
  aad: '436f756e742d30',
  ct: 'f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a',
};

const suiteWith = (kem: X25519Kem | DhkemX25519HkdfSha256) =>
  new CipherSuite({ kem, kdf: new HkdfSha256(), aead: new Aes128Gcm() });
const ours = suiteWith(new X25519Kem());
const theirs = suiteWith(new DhkemX25519HkdfSha256());

describe('X25519Kem', () => {
  it('seals the published first message of RFC 9180 A.1.1, and opens it', async () => {
    const recipient = await ours.kem.deriveKeyPair(hexToBytes(A11.ikmR));
    expect(bytesToHex(new Uint8Array(await ours.kem.serializePublicKey(recipient.publicKey)))).toBe(
      A11.pkRm,
    );
    const sealed = await ours.seal(
      {
        recipientPublicKey: recipient.publicKey,
        info: hexToBytes(A11.info),
        ekm: hexToBytes(A11.ikmE),
      },
      hexToBytes(A11.pt),
      hexToBytes(A11.aad),
    );
    expect(bytesToHex(new Uint8Array(sealed.enc))).toBe(A11.pkEm);
    expect(bytesToHex(new Uint8Array(sealed.ct))).toBe(A11.ct);
    // A bare private key (its public key recomputed) and a pair (taken as given) open alike.
    for (const recipientKey of [recipient.privateKey, await withPublicKey(recipient.privateKey)]) {
      const opened = await ours.open(
        { recipientKey, enc: sealed.enc, info: hexToBytes(A11.info) },
        sealed.ct,
        hexToBytes(A11.aad),
      );
      expect(bytesToHex(new Uint8Array(opened))).toBe(A11.pt);
    }
  });

  it('interoperates with @hpke/core’s own KEM in both directions', async () => {
    const ikm = new Uint8Array(32).fill(5);
    for (const [sender, receiver] of [
      [ours, theirs],
      [theirs, ours],
    ] as const) {
      const recipient = await receiver.kem.deriveKeyPair(ikm);
      const sealed = await sender.seal(
        { recipientPublicKey: recipient.publicKey, ekm: new Uint8Array(32).fill(9) },
        new Uint8Array([1, 2, 3]),
      );
      const opened = await receiver.open({ recipientKey: recipient, enc: sealed.enc }, sealed.ct);
      expect([...new Uint8Array(opened)]).toEqual([1, 2, 3]);
    }
  });

  it('refuses input keying material over RFC 9180’s limit', async () => {
    await expect(new X25519Kem().deriveKeyPair(new Uint8Array(8193))).rejects.toThrow(
      'ikm of 8193 bytes is too long',
    );
  });
});
