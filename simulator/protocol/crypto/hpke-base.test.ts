// HPKE base mode on node:crypto against RFC 9180's published test vector for
// DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM (Appendix A.1.1: the key pairs, the
// shared secret, key and base nonce, and the first message), and byte for byte against
// @hpke/core's own KEM on random inputs.
import { Aes128Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  deriveKeyPair,
  dh,
  exportBase,
  importBase,
  keySchedule,
  openBase,
  sealBase,
  sharedSecret,
} from './hpke-base.ts';

const hex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const toHex = (b: Uint8Array | ArrayBuffer) => Buffer.from(new Uint8Array(b)).toString('hex');

// RFC 9180 A.1.1.
const IKM_E = '7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234';
const IKM_R = '6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037';
const PK_EM = '37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431';
const PK_RM = '3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d';
const INFO = '4f6465206f6e2061204772656369616e2055726e';

const suite = new CipherSuite({
  kem: new DhkemX25519HkdfSha256(),
  kdf: new HkdfSha256(),
  aead: new Aes128Gcm(),
});

describe('HPKE base mode (RFC 9180)', () => {
  test('DeriveKeyPair gives the published key pairs', () => {
    expect(toHex(deriveKeyPair(hex(IKM_E)).publicKey)).toBe(PK_EM);
    expect(toHex(deriveKeyPair(hex(IKM_R)).publicKey)).toBe(PK_RM);
  });

  test('the published exported values come out on both sides', () => {
    const recipient = deriveKeyPair(hex(IKM_R));
    for (const [context, value] of [
      ['', '3853fe2b4035195a573ffc53856e77058e15d9ea064de3e59f4961d0095250ee'],
      ['00', '2e8f0b54673c7029649d4eb9d5e33bf1872cf76d623ff164ac185da9e88c21a5'],
      [
        '54657374436f6e74657874',
        'e9e43065102c3836401bed8c3c3c75ae46be1639869391d62c61f1ec7af54931',
      ],
    ] as const) {
      const exported = exportBase(recipient.publicKey, hex(INFO), hex(context), 32, hex(IKM_E));
      expect(toHex(exported.secret)).toBe(value);
      const imported = importBase(recipient, exported.enc, hex(INFO), hex(context), 32);
      expect(imported).toBeDefined();
      expect(toHex(imported as Uint8Array)).toBe(value);
    }
    expect(() =>
      exportBase(recipient.publicKey, hex(INFO), hex(''), 255 * 32 + 1, hex(IKM_E)),
    ).toThrow(/HKDF-Expand cannot give 8161 bytes/);
  });

  test('the shared secret, key and base nonce are the published ones', () => {
    const ephemeral = deriveKeyPair(hex(IKM_E));
    const shared = sharedSecret(dh(ephemeral.privateKey, hex(PK_RM)), hex(PK_EM), hex(PK_RM));
    expect(toHex(shared)).toBe('fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc');
    const { key, baseNonce } = keySchedule(shared, hex(INFO));
    expect(toHex(key)).toBe('4531685d41d65f03dc48f6b8302c05b0');
    expect(toHex(baseNonce)).toBe('56d890e5accaaf011cff4b7d');
  });

  test('seals as @hpke/core does, byte for byte, and each opens what the other sealed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.uint8Array({ maxLength: 300 }),
        async (ikmR, ekm, info, plaintext) => {
          const recipient = deriveKeyPair(ikmR);
          const ours = sealBase(recipient.publicKey, info, plaintext, ekm);
          const theirs = await suite.seal(
            {
              recipientPublicKey: await suite.kem.deserializePublicKey(recipient.publicKey),
              info,
              ekm,
            },
            plaintext,
          );
          expect(toHex(ours.enc)).toBe(toHex(theirs.enc));
          expect(toHex(ours.ciphertext)).toBe(toHex(theirs.ct));
          const pair = await suite.kem.deriveKeyPair(ikmR);
          const opened = await suite.open(
            { recipientKey: pair, enc: ours.enc, info },
            ours.ciphertext,
          );
          expect(toHex(opened)).toBe(toHex(plaintext));
          const mine = openBase(recipient, ours.enc, info, ours.ciphertext);
          expect(mine).toBeDefined();
          expect(toHex(mine as Uint8Array)).toBe(toHex(plaintext));
        },
      ),
      { numRuns: 40 },
    );
  });

  test('seals with AAD and exports secrets as @hpke/core does, byte for byte, and the recipient opens and imports them', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.integer({ min: 1, max: 80 }),
        async (ikmR, ekm, info, extra, length) => {
          const recipient = deriveKeyPair(ikmR);
          const recipientPublicKey = await suite.kem.deserializePublicKey(recipient.publicKey);
          const ours = sealBase(recipient.publicKey, info, extra, ekm, extra);
          const theirs = await suite.seal({ recipientPublicKey, info, ekm }, extra, extra);
          expect(toHex(ours.ciphertext)).toBe(toHex(theirs.ct));
          const exported = exportBase(recipient.publicKey, info, extra, length, ekm);
          const context = await suite.createSenderContext({ recipientPublicKey, info, ekm });
          expect(toHex(exported.enc)).toBe(toHex(context.enc));
          expect(toHex(exported.secret)).toBe(toHex(await context.export(extra, length)));
          // The recipient's side: what was sealed with AAD opens with it, not without; the
          // exported secret is imported again.
          expect(
            toHex(openBase(recipient, ours.enc, info, ours.ciphertext, extra) ?? hex('01')),
          ).toBe(toHex(extra));
          if (extra.length > 0)
            expect(openBase(recipient, ours.enc, info, ours.ciphertext)).toBeUndefined();
          expect(toHex(importBase(recipient, exported.enc, info, extra, length) ?? hex('01'))).toBe(
            toHex(exported.secret),
          );
        },
      ),
      { numRuns: 40 },
    );
  });

  test('the published first message seals and opens; another info, key or bit does not open', () => {
    const recipient = deriveKeyPair(hex(IKM_R));
    const pt = new TextEncoder().encode('Beauty is truth, truth beauty');
    const published = sealBase(
      recipient.publicKey,
      hex(INFO),
      pt,
      hex(IKM_E),
      hex('436f756e742d30'),
    );
    expect(toHex(published.ciphertext)).toBe(
      'f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a',
    );
    const sealed = sealBase(recipient.publicKey, hex(INFO), pt, hex(IKM_E));
    expect(toHex(sealed.enc)).toBe(PK_EM);
    expect(openBase(recipient, sealed.enc, hex(INFO), sealed.ciphertext)).toEqual(pt);
    expect(openBase(recipient, sealed.enc, hex('00'), sealed.ciphertext)).toBeUndefined();
    expect(
      openBase(deriveKeyPair(hex(IKM_E)), sealed.enc, hex(INFO), sealed.ciphertext),
    ).toBeUndefined();
    const flipped = sealed.ciphertext.slice();
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    expect(openBase(recipient, sealed.enc, hex(INFO), flipped)).toBeUndefined();
  });

  test('input keying material over RFC 9180’s limit is refused', () => {
    expect(() => deriveKeyPair(new Uint8Array(8193))).toThrow('ikm of 8193 bytes is too long');
  });

  test('every small-order point is refused: no shared secret, no seal, no open, no import', () => {
    // The encodings of X25519's small-order points (0, 1, the two of order 8, p - 1, p,
    // p + 1): each gives the all-zero shared secret, which DH refuses.
    const smallOrder = [
      '00'.repeat(32),
      '01' + '00'.repeat(31),
      'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
      '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
      'ec' + 'ff'.repeat(30) + '7f',
      'ed' + 'ff'.repeat(30) + '7f',
      'ee' + 'ff'.repeat(30) + '7f',
    ];
    const recipient = deriveKeyPair(hex(IKM_R));
    for (const point of smallOrder) {
      expect(() => dh(recipient.privateKey, hex(point))).toThrow();
      expect(() => sealBase(hex(point), hex(INFO), hex('00'), hex(IKM_E))).toThrow();
      // Export has no tag to fail on: only decap's refusal makes this undefined.
      expect(importBase(recipient, hex(point), hex(INFO), hex(''), 32)).toBeUndefined();
      expect(openBase(recipient, hex(point), hex(INFO), hex('00'.repeat(17)))).toBeUndefined();
    }
  });
});
