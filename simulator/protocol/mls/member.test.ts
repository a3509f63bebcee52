import { describe, expect, it } from 'vitest';
import { bytesToHex } from '@noble/hashes/utils.js';
import { seededRng } from '../crypto/rng.ts';
import { verifyLeafNodeSignatureKeyPackage } from 'ts-mls/leafNode.js';
import { processCommit } from './commit.ts';
import { joinByExternalCommit } from './external-join.ts';
import { createConnectionGroup, exportGroupInfo } from './group.ts';
import {
  createMember,
  creatorLeaf,
  externalJoinerLeaf,
  generateKeyPackage,
  loadKeyPackage,
  storeKeyPackage,
} from './member.ts';
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

describe('the leaves of a creator and an external joiner', () => {
  it("a creator's leaf is signed and carries its HPKE key, with no init key or package signature", async () => {
    const creator = await createMember(text('erin/1'), seededRng('creator leaf'));
    const { publicPackage, privatePackage } = await creatorLeaf(creator);
    const { leafNode } = publicPackage;
    expect(leafNode.hpkePublicKey.length).toBe(32);
    expect(privatePackage.hpkePrivateKey.length).toBe(32);
    expect(await verifyLeafNodeSignatureKeyPackage(leafNode, creator.cs.signature)).toBe(true);
    expect(publicPackage.initKey.length).toBe(0);
    expect(publicPackage.signature.length).toBe(0);
  });

  it("an external joiner's leaf is replaced by the one its commit signs", async () => {
    const creator = await createMember(text('erin/1'), seededRng('creator'));
    const group = await createConnectionGroup(text('leaves group id'), creator);
    const { groupInfo, ratchetTree } = await exportGroupInfo(group);
    const joiner = await createMember(text('frank/1'), seededRng('joiner'));
    expect(externalJoinerLeaf(joiner).publicPackage.leafNode.signature.length).toBe(0);
    const joined = await joinByExternalCommit(groupInfo, ratchetTree, joiner);
    if (!joined.ok) throw new Error(joined.error.detail);
    // The creator takes the commit: the joiner's leaf it now holds is complete and signed.
    const processed = await processCommit(group, joined.value.commit);
    if (!processed.ok) throw new Error(processed.error.detail);
    const leaf = processed.value.state.ratchetTree[2];
    if (leaf?.nodeType !== 'leaf') throw new Error('no joiner leaf');
    expect(leaf.leaf.leafNodeSource).toBe('commit');
    expect(leaf.leaf.hpkePublicKey.length).toBe(32);
    expect(hex(leaf.leaf.signaturePublicKey)).toBe(hex(joiner.signaturePublicKey));
  });
});
