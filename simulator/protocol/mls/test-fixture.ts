// One connection group walked through its first epochs, for tests that need a
// state at a given point. States are immutable, so tests share them freely.

import type {
  FramedContentAuthDataCommit,
  FramedContentCommitData,
  FramedContentData,
  MLSMessage,
  PublicMessage,
} from 'ts-mls';
import { unwrap } from '../result.ts';
import type { RandomSource } from './ciphersuite.ts';
import {
  createConnectionGroup,
  exportGroupInfo,
  type ConnectionGroup,
  type ExportedGroupInfo,
} from './group.ts';
import { joinByExternalCommit, type ExternalJoin } from './external-join.ts';
import { processCommit } from './commit.ts';
import { createMember, generateKeyPackage, type KeyPackageBundle, type Member } from './member.ts';
import { addClients, joinByWelcome, type AddedClients } from './welcome.ts';

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A copy of `bytes` with the byte at `index` (mod length) xored with `mask` (non-zero). */
export function flipByte(bytes: Uint8Array, index = 0, mask = 1): Uint8Array {
  const copy = bytes.slice();
  const i = index % copy.length;
  copy[i] = (copy[i] ?? 0) ^ mask;
  return copy;
}

/** The PublicMessage commit inside `message`; tests use it to build tampered variants. */
export function publicCommit(message: MLSMessage): {
  message: PublicMessage;
  content: FramedContentData & FramedContentCommitData;
  auth: FramedContentAuthDataCommit;
} {
  if (message.wireformat !== 'mls_public_message') throw new Error('not a PublicMessage');
  const { content, auth } = message.publicMessage;
  if (content.contentType !== 'commit' || auth.contentType !== 'commit') {
    throw new Error('not a commit');
  }
  return { message: message.publicMessage, content, auth };
}

export function asPublicMessage(publicMessage: PublicMessage): MLSMessage {
  return { version: 'mls10', wireformat: 'mls_public_message', publicMessage };
}

export interface ConnectionFixture {
  readonly alice: Member;
  readonly bob1: Member;
  readonly bob2: Member;
  readonly bob3: Member;
  /** Alice's group at epoch 0 and the GroupInfo her DS serves for it. */
  readonly alice0: ConnectionGroup;
  readonly exported0: ExportedGroupInfo;
  /** bob1's external join (commit for epoch 0, bob1 at epoch 1). */
  readonly join: ExternalJoin;
  readonly alice1: ConnectionGroup;
  readonly kp2: KeyPackageBundle;
  readonly kp3: KeyPackageBundle;
  /** bob1 adding bob2 and bob3 (commit for epoch 1, bob1 at epoch 2). */
  readonly added: AddedClients;
  readonly alice2: ConnectionGroup;
  readonly bob1Group2: ConnectionGroup;
  readonly bob2Group2: ConnectionGroup;
  readonly bob3Group2: ConnectionGroup;
}

/** Builds the fixture; with `rng`, each member gets its own stream derived from it. */
export async function connectionFixture(
  groupId: Uint8Array = text('fixture-group'),
  rng?: (member: string) => RandomSource,
): Promise<ConnectionFixture> {
  const member = (name: string) => createMember(text(name), rng?.(name));
  const alice = await member('alice/1');
  const bob1 = await member('bob/1');
  const bob2 = await member('bob/2');
  const bob3 = await member('bob/3');
  const alice0 = await createConnectionGroup(groupId, alice);
  const exported0 = await exportGroupInfo(alice0);
  const join = unwrap(await joinByExternalCommit(exported0.groupInfo, exported0.ratchetTree, bob1));
  const alice1 = unwrap(await processCommit(alice0, join.commit));
  const kp2 = await generateKeyPackage(bob2);
  const kp3 = await generateKeyPackage(bob3);
  const added = unwrap(await addClients(join.group, [kp2.publicPackage, kp3.publicPackage]));
  const alice2 = unwrap(await processCommit(alice1, added.commit));
  const tree = added.group.state.ratchetTree;
  const bob2Group2 = unwrap(await joinByWelcome(added.welcome, kp2, tree));
  const bob3Group2 = unwrap(await joinByWelcome(added.welcome, kp3, tree));
  return {
    alice,
    bob1,
    bob2,
    bob3,
    alice0,
    exported0,
    join,
    alice1,
    kp2,
    kp3,
    added,
    alice2,
    bob1Group2: added.group,
    bob2Group2,
    bob3Group2,
  };
}
