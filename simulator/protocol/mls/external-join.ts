// Joining a connection group by external commit (RFC 9420 §12.4.3.2): the
// responder takes the GroupInfo the initiator's DS serves, derives the
// ExternalInit secret from its external_pub, adds itself with an UpdatePath and
// sends the Commit as a PublicMessage to that DS ("join connection group").

import { joinGroupExternal, type GroupInfo, type MLSMessage, type RatchetTree } from 'ts-mls';
import { CryptoVerificationError, ValidationError } from 'ts-mls/mlsError.js';
import { fail, ok, type Failure, type Result } from '../result.ts';
import { CIPHERSUITE } from './ciphersuite.ts';
import { attempt, type ErrorRule } from './failure.ts';
import type { ConnectionGroup } from './group.ts';
import { externalJoinerLeaf, type Member } from './member.ts';
import { sameBytes } from './bytes.ts';
import { decodeRatchetTree } from './wire.ts';
import { meter } from '../crypto/meter.ts';

export type ExternalJoinFailureKind =
  /** The GroupInfo is for another group than the one the caller expects. */
  | 'wrong-group'
  /** The GroupInfo names a ciphersuite other than CIPHERSUITE. */
  | 'unsupported-ciphersuite'
  /** The GroupInfo has no external_pub extension, so nobody can join externally. */
  | 'missing-external-pub'
  /** No ratchet tree was given and the GroupInfo has no ratchet_tree extension. */
  | 'missing-ratchet-tree'
  /** The tree does not decode, or fails validation against the GroupInfo's tree hash. */
  | 'invalid-ratchet-tree'
  /** The GroupInfo signature does not verify under the signer's leaf key. */
  | 'invalid-group-info-signature'
  /** Anything else wrong with the GroupInfo (e.g. an external_pub that is no X25519 key). */
  | 'invalid-group-info';

export interface ExternalJoin {
  /** The Commit, an MLSMessage wrapping a PublicMessage, for the DS. */
  readonly commit: MLSMessage;
  /** The joiner's state in the new epoch, valid once the DS accepts the commit. */
  readonly group: ConnectionGroup;
}

const RULES: readonly ErrorRule<ExternalJoinFailureKind>[] = [
  { kind: 'invalid-group-info-signature', error: CryptoVerificationError, message: /groupInfo/i },
  // Everything validateRatchetTree reports (tree/parent hash, leaf signatures,
  // key uniqueness, structure), and a signer index with no leaf.
  { kind: 'invalid-ratchet-tree', error: ValidationError },
  { kind: 'invalid-ratchet-tree', error: CryptoVerificationError },
];

/**
 * Builds the external commit by which `joiner` joins the group described by
 * `groupInfo` (and `ratchetTree`, unless the GroupInfo carries one). Nothing is
 * sent: the DS decides whether this commit wins the epoch. `groupId` is the id
 * the responder expects (from the ConnectionEstablishmentPackage), so a DS
 * cannot steer it into another group. `authenticatedData` is the FramedContent's
 * authenticated_data, where the Phoenix design carries encrypted credential
 * information for the DS.
 */
export async function joinByExternalCommit(
  groupInfo: GroupInfo,
  ratchetTree: RatchetTree | undefined,
  joiner: Member,
  options: { readonly groupId?: Uint8Array; readonly authenticatedData?: Uint8Array } = {},
): Promise<Result<ExternalJoin, Failure<ExternalJoinFailureKind>>> {
  meter.count('mls.externalJoin');
  const { groupContext } = groupInfo;
  if (options.groupId !== undefined && !sameBytes(groupContext.groupId, options.groupId)) {
    return fail('wrong-group', 'GroupInfo is for another group_id');
  }
  // Checked here rather than left to ts-mls, which would otherwise report these
  // only as usage errors or not at all (the ciphersuite).
  if (groupContext.cipherSuite !== CIPHERSUITE) {
    return fail('unsupported-ciphersuite', `GroupInfo uses ${groupContext.cipherSuite}`);
  }
  const extension = (type: string) => groupInfo.extensions.find((e) => e.extensionType === type);
  if (extension('external_pub') === undefined) {
    return fail('missing-external-pub', 'GroupInfo lacks external_pub');
  }
  // ts-mls prefers the extension's tree to the one passed in, and reports an
  // undecodable one with assorted errors; decoding it here names the problem.
  const treeExtension = extension('ratchet_tree');
  if (treeExtension !== undefined) {
    const decoded = decodeRatchetTree(treeExtension.extensionData);
    if (!decoded.ok) return fail('invalid-ratchet-tree', decoded.error.detail);
  } else if (ratchetTree === undefined) {
    return fail('missing-ratchet-tree', 'no ratchet tree given and none in the GroupInfo');
  }
  // ts-mls takes a KeyPackage; of it, an external join uses the leaf node only.
  const { publicPackage, privatePackage } = externalJoinerLeaf(joiner);
  const joined = await attempt(
    () =>
      joinGroupExternal(
        groupInfo,
        publicPackage,
        privatePackage,
        false, // resync: a connection group is joined, never re-joined, this way
        joiner.cs,
        ratchetTree,
        undefined,
        options.authenticatedData,
      ),
    RULES,
    'invalid-group-info',
  );
  if (!joined.ok) return joined;
  const { publicMessage, newState } = joined.value;
  return ok({
    commit: { version: 'mls10', wireformat: 'mls_public_message', publicMessage },
    group: { state: newState, cs: joiner.cs },
  });
}
