import { beforeAll, describe, expect, it } from 'vitest';
import type { GroupInfo } from 'ts-mls';
import { unwrap } from '../result.ts';
import { processCommit } from './commit.ts';
import { joinByExternalCommit } from './external-join.ts';
import { epochOf, exportGroupInfo } from './group.ts';
import { createMember, type Member } from './member.ts';
import { connectionFixture, flipByte, text, type ConnectionFixture } from './test-fixture.ts';

let f: ConnectionFixture;
let carol: Member;
beforeAll(async () => {
  f = await connectionFixture();
  carol = await createMember(text('carol/1'));
});

const kind = async (p: Promise<{ ok: boolean; error?: { kind: string } }>) => (await p).error?.kind;

describe('joinByExternalCommit', () => {
  it('joins with the tree inside the GroupInfo (ratchet_tree extension)', async () => {
    const { groupInfo } = await exportGroupInfo(f.alice0, { includeRatchetTree: true });
    const joined = unwrap(await joinByExternalCommit(groupInfo, undefined, carol));
    expect(epochOf(joined.group)).toBe(1n);
    expect(epochOf(unwrap(await processCommit(f.alice0, joined.commit)))).toBe(1n);
  });

  it('carries the authenticated data the DS reads', async () => {
    const aad = text('encrypted credential information');
    const { groupInfo, ratchetTree } = f.exported0;
    const joined = unwrap(
      await joinByExternalCommit(groupInfo, ratchetTree, carol, { authenticatedData: aad }),
    );
    if (joined.commit.wireformat !== 'mls_public_message') throw new Error('not public');
    expect(joined.commit.publicMessage.content.authenticatedData).toEqual(aad);
    expect(unwrap(await processCommit(f.alice0, joined.commit)).state.groupContext.epoch).toBe(1n);
  });

  it('checks the group id the responder expects: wrong-group', async () => {
    const { groupInfo, ratchetTree } = f.exported0;
    const expected = groupInfo.groupContext.groupId;
    const ok = await joinByExternalCommit(groupInfo, ratchetTree, carol, { groupId: expected });
    expect(ok.ok).toBe(true);
    const other = { groupId: text('the group named in the CEP') };
    expect(await kind(joinByExternalCommit(groupInfo, ratchetTree, carol, other))).toBe(
      'wrong-group',
    );
  });

  it('rejects a GroupInfo of another ciphersuite: unsupported-ciphersuite', async () => {
    const gi = f.exported0.groupInfo;
    const other: GroupInfo = {
      ...gi,
      groupContext: { ...gi.groupContext, cipherSuite: 'MLS_128_DHKEMP256_AES128GCM_SHA256_P256' },
    };
    expect(await kind(joinByExternalCommit(other, f.exported0.ratchetTree, carol))).toBe(
      'unsupported-ciphersuite',
    );
  });

  it('rejects a GroupInfo without external_pub: missing-external-pub', async () => {
    const gi = f.exported0.groupInfo;
    const stripped: GroupInfo = {
      ...gi,
      extensions: gi.extensions.filter((e) => e.extensionType !== 'external_pub'),
    };
    expect(await kind(joinByExternalCommit(stripped, f.exported0.ratchetTree, carol))).toBe(
      'missing-external-pub',
    );
  });

  it('needs a ratchet tree from somewhere: missing-ratchet-tree', async () => {
    expect(await kind(joinByExternalCommit(f.exported0.groupInfo, undefined, carol))).toBe(
      'missing-ratchet-tree',
    );
  });

  it('rejects a tree of another epoch: invalid-ratchet-tree', async () => {
    const wrongTree = f.alice1.state.ratchetTree;
    expect(await kind(joinByExternalCommit(f.exported0.groupInfo, wrongTree, carol))).toBe(
      'invalid-ratchet-tree',
    );
  });

  it('rejects an undecodable ratchet_tree extension: invalid-ratchet-tree', async () => {
    const gi = f.exported0.groupInfo;
    const garbage: GroupInfo = {
      ...gi,
      extensions: [...gi.extensions, { extensionType: 'ratchet_tree', extensionData: text('x') }],
    };
    expect(await kind(joinByExternalCommit(garbage, undefined, carol))).toBe(
      'invalid-ratchet-tree',
    );
  });

  it('rejects a GroupInfo with a bad signature: invalid-group-info-signature', async () => {
    const gi = f.exported0.groupInfo;
    const forged: GroupInfo = { ...gi, signature: flipByte(gi.signature, 7) };
    expect(await kind(joinByExternalCommit(forged, f.exported0.ratchetTree, carol))).toBe(
      'invalid-group-info-signature',
    );
  });

  it('rejects an external_pub that is no X25519 key: invalid-group-info', async () => {
    const gi = f.exported0.groupInfo;
    const badKey: GroupInfo = {
      ...gi,
      extensions: gi.extensions.map((e) =>
        e.extensionType === 'external_pub' ? { ...e, extensionData: text('short') } : e,
      ),
    };
    expect(await kind(joinByExternalCommit(badKey, f.exported0.ratchetTree, carol))).toBe(
      'invalid-group-info',
    );
  });
});
