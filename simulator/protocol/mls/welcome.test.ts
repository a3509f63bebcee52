import { beforeAll, describe, expect, it } from 'vitest';
import { createCommit, type KeyPackage, type Welcome } from 'ts-mls';
import { encryptWithLabel } from 'ts-mls/crypto/hpke.js';
import { makeKeyPackageRef } from 'ts-mls/keyPackage.js';
import { unwrap } from '../result.ts';
import { CIPHERSUITE } from './ciphersuite.ts';
import { processCommit } from './commit.ts';
import { joinByExternalCommit } from './external-join.ts';
import { createConnectionGroup, epochOf, exportGroupInfo, membersOf } from './group.ts';
import { createMember, generateKeyPackage } from './member.ts';
import { addClients, joinByWelcome } from './welcome.ts';
import { connectionFixture, flipByte, text, type ConnectionFixture } from './test-fixture.ts';

let f: ConnectionFixture;
beforeAll(async () => {
  f = await connectionFixture();
});

const kindOf = (r: { ok: boolean; error?: { kind: string } }): string => r.error?.kind ?? 'ok';

describe('addClients', () => {
  it('can put the ratchet tree into the Welcome', async () => {
    const bob4 = await generateKeyPackage(await createMember(text('bob/4')));
    const added = unwrap(
      await addClients(f.bob1Group2, [bob4.publicPackage], { includeRatchetTree: true }),
    );
    const joined = unwrap(await joinByWelcome(added.welcome, bob4));
    expect(epochOf(joined)).toBe(3n);
    expect(membersOf(joined)).toHaveLength(5);
  });

  it('refuses an empty list: no-key-packages', async () => {
    expect(kindOf(await addClients(f.bob1Group2, []))).toBe('no-key-packages');
  });

  it('refuses a client that is already a member: duplicate-member', async () => {
    expect(kindOf(await addClients(f.bob1Group2, [f.kp2.publicPackage]))).toBe('duplicate-member');
    const bob5 = await generateKeyPackage(await createMember(text('bob/5')));
    const twice = [bob5.publicPackage, bob5.publicPackage];
    expect(kindOf(await addClients(f.bob1Group2, twice))).toBe('duplicate-member');
  });

  it('refuses a KeyPackage with a bad signature: invalid-key-package', async () => {
    const { publicPackage } = await generateKeyPackage(await createMember(text('bob/6')));
    const forged: KeyPackage = { ...publicPackage, signature: flipByte(publicPackage.signature) };
    expect(kindOf(await addClients(f.bob1Group2, [forged]))).toBe('invalid-key-package');
  });

  it('refuses once the member was removed: not-active', async () => {
    // Alice removes bob1 (leaf 1); ts-mls is called directly since removal is
    // not part of this layer.
    const removal = await createCommit(
      { state: f.alice2.state, cipherSuite: f.alice2.cs },
      {
        extraProposals: [{ proposalType: 'remove', remove: { removed: 1 } }],
        wireAsPublicMessage: true,
      },
    );
    const removed = unwrap(await processCommit(f.bob1Group2, removal.commit));
    expect(removed.state.groupActiveState.kind).toBe('removedFromGroup');
    const kp = await generateKeyPackage(await createMember(text('bob/7')));
    expect(kindOf(await addClients(removed, [kp.publicPackage]))).toBe('not-active');
  });
});

describe('joinByWelcome', () => {
  it('refuses a Welcome of another ciphersuite: unsupported-ciphersuite', async () => {
    const other: Welcome = {
      ...f.added.welcome,
      cipherSuite: 'MLS_128_DHKEMP256_AES128GCM_SHA256_P256',
    };
    expect(kindOf(await joinByWelcome(other, f.kp2, f.bob1Group2.state.ratchetTree))).toBe(
      'unsupported-ciphersuite',
    );
  });

  it('refuses a Welcome made for other KeyPackages: not-for-us', async () => {
    const stranger = await generateKeyPackage(f.bob2);
    const tree = f.bob1Group2.state.ratchetTree;
    expect(kindOf(await joinByWelcome(f.added.welcome, stranger, tree))).toBe('not-for-us');
  });

  it('refuses a tampered encrypted GroupInfo: decryption-failed', async () => {
    const w = f.added.welcome;
    const tampered: Welcome = { ...w, encryptedGroupInfo: flipByte(w.encryptedGroupInfo, 40) };
    const tree = f.bob1Group2.state.ratchetTree;
    expect(kindOf(await joinByWelcome(tampered, f.kp2, tree))).toBe('decryption-failed');
  });

  it('needs the tree when the Welcome lacks it: missing-ratchet-tree', async () => {
    expect(kindOf(await joinByWelcome(f.added.welcome, f.kp2))).toBe('missing-ratchet-tree');
  });

  it('refuses a tree of another epoch: invalid-ratchet-tree', async () => {
    const stale = f.join.group.state.ratchetTree; // epoch 1: alice and bob1 only
    expect(kindOf(await joinByWelcome(f.added.welcome, f.kp2, stale))).toBe('invalid-ratchet-tree');
  });

  it("refuses a tree whose signer leaf is someone else's: invalid-group-info-signature", async () => {
    // Same shape (two leaves) but leaf 1, the Welcome's signer, is carol, not bob1.
    const dave = await createMember(text('dave/1'));
    const other = await createConnectionGroup(text('other-group'), dave);
    const { groupInfo, ratchetTree } = await exportGroupInfo(other);
    const carol = await createMember(text('carol/1'));
    const tree = unwrap(await joinByExternalCommit(groupInfo, ratchetTree, carol)).group.state
      .ratchetTree;
    expect(kindOf(await joinByWelcome(f.added.welcome, f.kp2, tree))).toBe(
      'invalid-group-info-signature',
    );
  });

  it('refuses group secrets that decrypt to garbage: invalid-welcome', async () => {
    // A malicious committer can encrypt anything to our init key.
    const { cs } = f.kp2.owner;
    const { encryptedGroupInfo } = f.added.welcome;
    const sealed = await encryptWithLabel(
      // ts-mls's PublicKey is the global CryptoKey, which this project's lib
      // (ES2023 + @types/node 20) lacks, so it is kept out of a variable.
      await cs.hpke.importPublicKey(f.kp2.publicPackage.initKey),
      'Welcome',
      encryptedGroupInfo,
      text('junk'),
      cs.hpke,
    );
    const forged: Welcome = {
      cipherSuite: CIPHERSUITE,
      encryptedGroupInfo,
      secrets: [
        {
          newMember: await makeKeyPackageRef(f.kp2.publicPackage, cs.hash),
          encryptedGroupSecrets: { kemOutput: sealed.enc, ciphertext: sealed.ct },
        },
      ],
    };
    const tree = f.bob1Group2.state.ratchetTree;
    expect(kindOf(await joinByWelcome(forged, f.kp2, tree))).toBe('invalid-welcome');
  });
});
