import { describe, expect, it } from 'vitest';
import { bytesToHex } from '@noble/hashes/utils.js';
import { seededRng } from '../crypto/rng.ts';
import { createMember, generateKeyPackage, loadKeyPackage, storeKeyPackage } from './member.ts';
import { encodeKeyPackage } from './wire.ts';
import { text } from './test-fixture.ts';

const hex = (bytes: Uint8Array) => bytesToHex(bytes);

/** Two members made alike from one seed: one to store, one to compare against. */
async function twins(seed: string) {
  const make = async () => generateKeyPackage(await createMember(text('carol/1'), seededRng(seed)));
  return [await make(), await make()] as const;
}

describe('a stored KeyPackage', () => {
  it('loads as the bundle it was, its owner drawing the bytes the original would draw next', async () => {
    const [kept, original] = await twins('stored');
    const loaded = await loadKeyPackage(storeKeyPackage(kept));
    expect(hex(encodeKeyPackage(loaded.publicPackage))).toBe(
      hex(encodeKeyPackage(original.publicPackage)),
    );
    expect(hex(loaded.privatePackage.initPrivateKey)).toBe(
      hex(original.privatePackage.initPrivateKey),
    );
    expect(hex(loaded.privatePackage.hpkePrivateKey)).toBe(
      hex(original.privatePackage.hpkePrivateKey),
    );
    expect(hex(loaded.owner.signaturePrivateKey)).toBe(hex(original.owner.signaturePrivateKey));
    expect(hex(loaded.owner.credential.identity)).toBe(hex(text('carol/1')));
    expect(hex(loaded.owner.cs.rng.randomBytes(48))).toBe(
      hex(original.owner.cs.rng.randomBytes(48)),
    );
  });

  it('keeps a member that draws system randomness whole', async () => {
    const bundle = await generateKeyPackage(await createMember(text('dave/1')));
    const stored = storeKeyPackage(bundle);
    expect(stored.owner).toBe(bundle.owner);
    expect((await loadKeyPackage(stored)).owner).toBe(bundle.owner);
  });

  it('refuses to load an owner whose stream does not replay to the KeyPackage’s signature key', async () => {
    const [kept] = await twins('tampered');
    const stored = storeKeyPackage(kept);
    if ('cs' in stored.owner) throw new Error('a seeded owner should be stored by position');
    const other = { ...stored.owner, origin: { key: new Uint8Array(32), offset: 0 } };
    await expect(loadKeyPackage({ ...stored, owner: other })).rejects.toThrow(/did not replay/);
  });
});
