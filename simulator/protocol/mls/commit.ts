// An existing member applying a Commit someone else sent (RFC 9420 §12.4.2):
// the responder's external join as seen by the initiator, or the responder's
// Add of its other clients as seen by everyone else.

import { makePskIndex, processMessage, type MLSMessage } from 'ts-mls';
import { CryptoVerificationError } from 'ts-mls/mlsError.js';
import { fail, ok, type Failure, type Result } from '../result.ts';
import { attempt, type ErrorRule } from './failure.ts';
import { epochOf, isGroup, type ConnectionGroup } from './group.ts';
import { findDuplicateKey } from './uniqueness.ts';
import { meter } from '../crypto/meter.ts';

export type ProcessCommitFailureKind =
  /** Not a Commit (a Welcome, GroupInfo, proposal or application message). */
  | 'not-a-commit'
  /** The Commit's group_id is another group's. */
  | 'wrong-group'
  /** The Commit is for an epoch this member has left: another commit won the race. */
  | 'stale-epoch'
  /** The Commit is for an epoch this member has not reached: it missed a commit. */
  | 'future-epoch'
  /** A member's PublicMessage whose membership_tag does not verify. */
  | 'invalid-membership-tag'
  /** The FramedContent or the committer's new leaf node is not validly signed. */
  | 'invalid-signature'
  /** Signed, but the confirmation_tag does not match the new epoch's key schedule. */
  | 'invalid-confirmation-tag'
  /** Authenticated but not valid: bad proposals, bad UpdatePath, duplicate keys... */
  | 'invalid-commit';

const RULES: readonly ErrorRule<ProcessCommitFailureKind>[] = [
  { kind: 'invalid-membership-tag', error: CryptoVerificationError, message: /membership/i },
  { kind: 'invalid-confirmation-tag', error: CryptoVerificationError, message: /confirmation/i },
  { kind: 'invalid-signature', error: CryptoVerificationError },
];

/**
 * Validates `commit` against this member's current epoch and, if it is valid,
 * returns the group in the next epoch. A member must not feed its own commits
 * back in: it is already in the new epoch, so they come back as 'stale-epoch'.
 */
export async function processCommit(
  group: ConnectionGroup,
  commit: MLSMessage,
): Promise<Result<ConnectionGroup, Failure<ProcessCommitFailureKind>>> {
  meter.count('mls.processCommit');
  let header: { groupId: Uint8Array; epoch: bigint; contentType: string };
  if (commit.wireformat === 'mls_public_message') {
    const { content } = commit.publicMessage;
    header = { groupId: content.groupId, epoch: content.epoch, contentType: content.contentType };
  } else if (commit.wireformat === 'mls_private_message') {
    header = commit.privateMessage;
  } else {
    return fail('not-a-commit', `wire format ${commit.wireformat}`);
  }
  if (header.contentType !== 'commit') {
    return fail('not-a-commit', `content type ${header.contentType}`);
  }
  // Checked before ts-mls so the epoch race is reported as such, not as a
  // generic validation error.
  if (!isGroup(group, header.groupId)) return fail('wrong-group', 'group_id differs');
  const epoch = epochOf(group);
  if (header.epoch < epoch) {
    return fail('stale-epoch', `commit for epoch ${String(header.epoch)}, now ${String(epoch)}`);
  }
  if (header.epoch > epoch) {
    return fail('future-epoch', `commit for epoch ${String(header.epoch)}, now ${String(epoch)}`);
  }
  const processed = await attempt(
    () =>
      processMessage(commit, group.state, makePskIndex(group.state, {}), () => 'accept', group.cs),
    RULES,
    'invalid-commit',
  );
  if (!processed.ok) return processed;
  const { newState } = processed.value;
  const duplicate = findDuplicateKey(newState.ratchetTree);
  if (duplicate !== undefined) return fail('invalid-commit', `RFC 9420 §7.3: ${duplicate}`);
  return ok({ state: newState, cs: group.cs });
}
