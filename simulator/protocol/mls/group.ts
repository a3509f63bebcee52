// A connection group as one member sees it: the ts-mls ClientState plus that
// member's ciphersuite (and so its randomness). Values are immutable: every
// operation returns a new ConnectionGroup and leaves the old one usable, which
// is what lets a test replay one epoch against many inputs.
//
// Note on secret hygiene: ts-mls hands back the secrets an operation consumed
// so the caller can zero them. We do not, since zeroing would corrupt the
// previous state that callers here are allowed to keep.

import {
  createGroup,
  createGroupInfoWithExternalPub,
  createGroupInfoWithExternalPubAndRatchetTree,
  type CiphersuiteImpl,
  type ClientState,
  type GroupInfo,
  type RatchetTree,
} from 'ts-mls';
import { creatorLeaf, type Member } from './member.ts';
import { sameBytes } from './bytes.ts';
import { meter } from '../crypto/meter.ts';

export interface ConnectionGroup {
  readonly state: ClientState;
  readonly cs: CiphersuiteImpl;
}

export interface GroupMemberInfo {
  readonly leafIndex: number;
  /** BasicCredential identity; undefined for any other credential type. */
  readonly identity: Uint8Array | undefined;
  readonly signaturePublicKey: Uint8Array;
}

/** Creates a one-member group at epoch 0 (RFC 9420 §11). */
export async function createConnectionGroup(
  groupId: Uint8Array,
  creator: Member,
): Promise<ConnectionGroup> {
  meter.count('mls.createGroup');
  const { publicPackage, privatePackage } = await creatorLeaf(creator);
  const state = await createGroup(groupId.slice(), publicPackage, privatePackage, [], creator.cs);
  return { state, cs: creator.cs };
}

export interface ExportedGroupInfo {
  /** Signed GroupInfo carrying the external_pub extension (RFC 9420 §12.4.3.1). */
  readonly groupInfo: GroupInfo;
  /** The public ratchet tree; needed by the joiner unless `includeRatchetTree` was set. */
  readonly ratchetTree: RatchetTree;
}

/**
 * What the DS serves as "external commit information": a GroupInfo with
 * external_pub, plus the ratchet tree, either inside the GroupInfo
 * (ratchet_tree extension) or beside it, as the Phoenix DS does.
 */
export async function exportGroupInfo(
  group: ConnectionGroup,
  options: { readonly includeRatchetTree?: boolean } = {},
): Promise<ExportedGroupInfo> {
  meter.count('mls.exportGroupInfo');
  const groupInfo =
    options.includeRatchetTree === true
      ? await createGroupInfoWithExternalPubAndRatchetTree(group.state, [], group.cs)
      : await createGroupInfoWithExternalPub(group.state, [], group.cs);
  return { groupInfo, ratchetTree: group.state.ratchetTree };
}

export function epochOf(group: ConnectionGroup): bigint {
  return group.state.groupContext.epoch;
}

export function groupIdOf(group: ConnectionGroup): Uint8Array {
  return group.state.groupContext.groupId;
}

export function ownLeafIndex(group: ConnectionGroup): number {
  return group.state.privatePath.leafIndex;
}

/** The current members in leaf order, with their BasicCredential identities. */
export function membersOf(group: ConnectionGroup): GroupMemberInfo[] {
  const members: GroupMemberInfo[] = [];
  // Leaves sit at even node indices (RFC 9420 Appendix C).
  group.state.ratchetTree.forEach((node, nodeIndex) => {
    if (node?.nodeType !== 'leaf') return;
    const { credential } = node.leaf;
    members.push({
      leafIndex: nodeIndex / 2,
      identity: credential.credentialType === 'basic' ? credential.identity : undefined,
      signaturePublicKey: node.leaf.signaturePublicKey,
    });
  });
  return members;
}

/** Whether a message's group_id names this group. */
export function isGroup(group: ConnectionGroup, groupId: Uint8Array): boolean {
  return sameBytes(groupIdOf(group), groupId);
}
