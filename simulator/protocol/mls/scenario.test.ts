// The connection-group lifecycle end to end: the initiator creates the group,
// the responder joins by external commit through the initiator's DS, adds its
// other clients by Welcome, and everyone talks. Bytes cross a serialization
// boundary wherever they would cross the network.

import { describe, expect, it } from 'vitest';
import { unwrap } from '../result.ts';
import {
  addClients,
  checkConnectionJoin,
  createConnectionGroup,
  createMember,
  decodeGroupInfo,
  decodeProtocolMessage,
  decodeRatchetTree,
  decodeWelcome,
  decodeKeyPackage,
  decryptMessage,
  encodeGroupInfo,
  encodeKeyPackage,
  encodeMessage,
  encodeRatchetTree,
  encodeWelcome,
  encryptMessage,
  epochOf,
  exportGroupInfo,
  generateKeyPackage,
  inspectCommit,
  joinByExternalCommit,
  joinByWelcome,
  membersOf,
  processCommit,
  type ConnectionGroup,
} from './index.ts';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const groupId = text('connection-group-1');

describe('connection group lifecycle', () => {
  it('initiator, external join, two Welcome joins, everyone reads everyone', async () => {
    const alice = await createMember(text('alice/client-1'));
    const bob1 = await createMember(text('bob/client-1'));
    const bob2 = await createMember(text('bob/client-2'));
    const bob3 = await createMember(text('bob/client-3'));

    // Initiator creates the group; its DS serves the external commit information.
    let aliceGroup = await createConnectionGroup(groupId, alice);
    expect(epochOf(aliceGroup)).toBe(0n);
    const exported = await exportGroupInfo(aliceGroup);
    const groupInfo = unwrap(decodeGroupInfo(encodeGroupInfo(exported.groupInfo)));
    const tree = unwrap(decodeRatchetTree(encodeRatchetTree(exported.ratchetTree)));
    expect(groupInfo.extensions.some((e) => e.extensionType === 'external_pub')).toBe(true);

    // Responder joins by external commit.
    const joined = unwrap(await joinByExternalCommit(groupInfo, tree, bob1));
    let bob1Group = joined.group;
    const joinCommit = unwrap(decodeProtocolMessage(encodeMessage(joined.commit)));

    // The DS (and the initiator) check the commit's shape before accepting it.
    const join = unwrap(checkConnectionJoin(unwrap(inspectCommit(joinCommit))));
    expect(join.joinerIdentity).toEqual(text('bob/client-1'));
    expect(join.epoch).toBe(0n);

    aliceGroup = unwrap(await processCommit(aliceGroup, joinCommit));
    expect(epochOf(aliceGroup)).toBe(1n);
    expect(epochOf(bob1Group)).toBe(1n);

    // The responder adds its other clients.
    const kp2 = await generateKeyPackage(bob2);
    const kp3 = await generateKeyPackage(bob3);
    const keyPackages = [kp2, kp3].map((kp) =>
      unwrap(decodeKeyPackage(encodeKeyPackage(kp.publicPackage))),
    );
    const added = unwrap(await addClients(bob1Group, keyPackages));
    bob1Group = added.group;
    const addCommit = unwrap(decodeProtocolMessage(encodeMessage(added.commit)));
    const addInspection = unwrap(inspectCommit(addCommit));
    expect(addInspection.isExternal).toBe(false);
    expect(addInspection.sender).toEqual({ type: 'member', leafIndex: 1 });
    expect(addInspection.proposals).toEqual([
      { type: 'add', identity: text('bob/client-2') },
      { type: 'add', identity: text('bob/client-3') },
    ]);
    aliceGroup = unwrap(await processCommit(aliceGroup, addCommit));

    const welcome = unwrap(decodeWelcome(encodeWelcome(added.welcome)));
    const treeNow = unwrap(decodeRatchetTree(encodeRatchetTree(bob1Group.state.ratchetTree)));
    const bob2Group = unwrap(await joinByWelcome(welcome, kp2, treeNow));
    const bob3Group = unwrap(await joinByWelcome(welcome, kp3, treeNow));

    const groups: ConnectionGroup[] = [aliceGroup, bob1Group, bob2Group, bob3Group];
    for (const g of groups) expect(epochOf(g)).toBe(2n);
    expect(membersOf(aliceGroup).map((m) => new TextDecoder().decode(m.identity))).toEqual([
      'alice/client-1',
      'bob/client-1',
      'bob/client-2',
      'bob/client-3',
    ]);

    // Every member sends one message; every other member decrypts it.
    for (let sender = 0; sender < groups.length; sender++) {
      const plaintext = text(`hello from member ${sender}`);
      const sent = unwrap(await encryptMessage(groups[sender] as ConnectionGroup, plaintext));
      groups[sender] = sent.group;
      const wire = unwrap(decodeProtocolMessage(encodeMessage(sent.message)));
      for (let receiver = 0; receiver < groups.length; receiver++) {
        if (receiver === sender) continue;
        const received = unwrap(await decryptMessage(groups[receiver] as ConnectionGroup, wire));
        expect(received.plaintext).toEqual(plaintext);
        groups[receiver] = received.group;
      }
    }
  });
});
