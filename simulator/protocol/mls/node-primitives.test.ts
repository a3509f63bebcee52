// ts-mls's hash, KDF and AEAD on node:crypto give the bytes its WebCrypto ones give, and
// HKDF-SHA256 gives RFC 5869's published output.
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { getCiphersuiteFromName, getCiphersuiteImpl } from 'ts-mls';
import { describe, expect, it } from 'vitest';
import { CIPHERSUITE } from './ciphersuite.ts';
import { withNodePrimitives } from './node-primitives.ts';

const webcrypto = await getCiphersuiteImpl(getCiphersuiteFromName(CIPHERSUITE));
const node = withNodePrimitives(webcrypto);
const bytes = (length: number, seed: number) =>
  Uint8Array.from({ length }, (_, i) => (i * 31 + seed * 7) & 0xff);

describe('ts-mls primitives on node:crypto', () => {
  it('HKDF-SHA256 reproduces RFC 5869 test case 1', async () => {
    const prk = await node.kdf.extract(
      hexToBytes('000102030405060708090a0b0c'),
      new Uint8Array(22).fill(0x0b),
    );
    expect(bytesToHex(prk)).toBe(
      '077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5',
    );
    const okm = await node.kdf.expand(prk, hexToBytes('f0f1f2f3f4f5f6f7f8f9'), 42);
    expect(bytesToHex(okm)).toBe(
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
  });

  it.each([0, 1, 32, 33, 100])('agrees with WebCrypto on inputs of %i bytes', async (n) => {
    const [a, b] = [bytes(n, 1), bytes(n, 2)];
    expect(await node.hash.digest(a)).toEqual(await webcrypto.hash.digest(a));
    expect(await node.hash.mac(bytes(32, 3), a)).toEqual(await webcrypto.hash.mac(bytes(32, 3), a));
    // @hpke/core takes a salt of HashLen bytes or none; so does MLS's key schedule.
    for (const salt of [new Uint8Array(), bytes(32, 7)])
      expect(await node.kdf.extract(salt, b)).toEqual(await webcrypto.kdf.extract(salt, b));
    for (const length of [0, 16, 32, 33, 64, 100])
      expect(await node.kdf.expand(bytes(32, 4), a, length)).toEqual(
        await webcrypto.kdf.expand(bytes(32, 4), a, length),
      );
    const [key, nonce] = [bytes(16, 5), bytes(12, 6)];
    const sealed = await node.hpke.encryptAead(key, nonce, b, a);
    expect(sealed).toEqual(await webcrypto.hpke.encryptAead(key, nonce, b, a));
    expect(await node.hpke.decryptAead(key, nonce, b, sealed)).toEqual(a);
  });

  it('a MAC verifies only itself, and a tampered ciphertext fails as ts-mls fails it', async () => {
    const key = bytes(32, 8);
    const tag = await node.hash.mac(key, bytes(10, 9));
    expect(await node.hash.verifyMac(key, tag, bytes(10, 9))).toBe(true);
    expect(await node.hash.verifyMac(key, tag, bytes(10, 10))).toBe(false);
    expect(await node.hash.verifyMac(key, tag.subarray(1), bytes(10, 9))).toBe(false);
    const [aesKey, nonce] = [bytes(16, 5), bytes(12, 6)];
    const sealed = await node.hpke.encryptAead(aesKey, nonce, undefined, bytes(20, 1));
    sealed[0] = (sealed[0] ?? 0) ^ 1;
    const theirs = await webcrypto.hpke
      .decryptAead(aesKey, nonce, undefined, sealed)
      .catch((e: unknown) => e);
    const ours = await node.hpke
      .decryptAead(aesKey, nonce, undefined, sealed)
      .catch((e: unknown) => e);
    expect(ours).toBeInstanceOf(Error);
    expect((ours as Error).constructor).toBe((theirs as Error).constructor);
    await expect(
      node.hpke.decryptAead(aesKey, nonce, undefined, new Uint8Array(3)),
    ).rejects.toThrow();
  });
});
