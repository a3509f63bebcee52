// Reading a commit before accepting it. A PublicMessage commit (RFC 9420 §6.2)
// shows its sender, proposals and UpdatePath in the clear, which is all a DS,
// or the initiator, needs to decide whether it is an acceptable connection
// join. Inspection checks structure only, no signature: processing the commit
// (processCommit) is what authenticates it.

import type { Credential, MLSMessage, Proposal, ProposalOrRef } from 'ts-mls';
import { fail, ok, type Failure, type Result } from '../result.ts';

export type InspectFailureKind =
  /** Not a handshake message carrying a Commit (a Welcome, an application message, a proposal...). */
  | 'not-a-commit'
  /** A Commit inside a PrivateMessage: only group members can read it. */
  | 'encrypted';

export type CommitSender =
  | { readonly type: 'member'; readonly leafIndex: number }
  | { readonly type: 'new_member_commit' }
  | { readonly type: 'other'; readonly senderType: string };

/** One entry of Commit.proposals, reduced to what an access decision needs. */
export type ProposalSummary =
  | { readonly type: 'add'; readonly identity: Uint8Array | undefined }
  | { readonly type: 'update' }
  | { readonly type: 'remove'; readonly removed: number }
  | { readonly type: 'psk' }
  | { readonly type: 'reinit' }
  | { readonly type: 'external_init' }
  | { readonly type: 'group_context_extensions' }
  | { readonly type: 'custom'; readonly proposalType: number }
  | { readonly type: 'reference'; readonly reference: Uint8Array };

export interface CommitInspection {
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
  readonly sender: CommitSender;
  /** Sent by a non-member joining by external commit (sender new_member_commit). */
  readonly isExternal: boolean;
  readonly proposals: readonly ProposalSummary[];
  /** The committer's new leaf from the UpdatePath; for an external commit, the joiner. */
  readonly committerLeaf:
    | { readonly identity: Uint8Array | undefined; readonly signaturePublicKey: Uint8Array }
    | undefined;
  readonly authenticatedData: Uint8Array;
}

export function inspectCommit(
  message: MLSMessage,
): Result<CommitInspection, Failure<InspectFailureKind>> {
  if (message.wireformat === 'mls_private_message') {
    return message.privateMessage.contentType === 'commit'
      ? fail('encrypted', 'the Commit is a PrivateMessage; its proposals are not visible')
      : fail(
          'not-a-commit',
          `PrivateMessage of content type ${message.privateMessage.contentType}`,
        );
  }
  if (message.wireformat !== 'mls_public_message') {
    return fail('not-a-commit', `wire format ${message.wireformat}`);
  }
  const { content } = message.publicMessage;
  if (content.contentType !== 'commit') {
    return fail('not-a-commit', `PublicMessage of content type ${content.contentType}`);
  }
  const { sender } = content;
  const path = content.commit.path;
  return ok({
    groupId: content.groupId,
    epoch: content.epoch,
    sender:
      sender.senderType === 'member'
        ? { type: 'member', leafIndex: sender.leafIndex }
        : sender.senderType === 'new_member_commit'
          ? { type: 'new_member_commit' }
          : { type: 'other', senderType: sender.senderType },
    isExternal: sender.senderType === 'new_member_commit',
    proposals: content.commit.proposals.map(summarize),
    committerLeaf:
      path === undefined
        ? undefined
        : {
            identity: basicIdentity(path.leafNode.credential),
            signaturePublicKey: path.leafNode.signaturePublicKey,
          },
    authenticatedData: content.authenticatedData,
  });
}

function summarize(entry: ProposalOrRef): ProposalSummary {
  if (entry.proposalOrRefType === 'reference') {
    return { type: 'reference', reference: entry.reference };
  }
  const proposal: Proposal = entry.proposal;
  switch (proposal.proposalType) {
    case 'add':
      return { type: 'add', identity: basicIdentity(proposal.add.keyPackage.leafNode.credential) };
    case 'remove':
      return { type: 'remove', removed: proposal.remove.removed };
    case 'update':
    case 'psk':
    case 'reinit':
    case 'external_init':
    case 'group_context_extensions':
      return { type: proposal.proposalType };
    default:
      // Custom proposals (RFC 9420 §12.1.8) carry a numeric type.
      return { type: 'custom', proposalType: proposal.proposalType };
  }
}

function basicIdentity(credential: Credential): Uint8Array | undefined {
  return credential.credentialType === 'basic' ? credential.identity : undefined;
}

export type ExternalJoinCheckFailureKind =
  /** Sent by an existing member, not by a joiner. */
  | 'not-external-commit'
  /** Carries a proposal other than the one ExternalInit (an Add, Remove, Update, a second join...). */
  | 'forbidden-proposal'
  /** No UpdatePath, so no leaf for the joiner (RFC 9420 requires one). */
  | 'missing-path'
  /** The joiner's leaf has no BasicCredential, so no identity to check. */
  | 'unsupported-credential';

export interface ConnectionJoin {
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
  /** The joiner's BasicCredential identity, for the ClientCredential check. */
  readonly joinerIdentity: Uint8Array;
  readonly joinerSignaturePublicKey: Uint8Array;
  readonly authenticatedData: Uint8Array;
}

/**
 * The shape rule for joining a connection group: an external commit that adds
 * the joiner and nobody else and changes nothing else, so exactly one
 * ExternalInit, by value. A PreSharedKey proposal (the implementation binds the
 * connection offer that way) is allowed only with `allowPsk`.
 */
export function checkConnectionJoin(
  inspection: CommitInspection,
  options: { readonly allowPsk?: boolean } = {},
): Result<ConnectionJoin, Failure<ExternalJoinCheckFailureKind>> {
  if (!inspection.isExternal) {
    return fail('not-external-commit', `sender is ${describeSender(inspection.sender)}`);
  }
  const externalInits = inspection.proposals.filter((p) => p.type === 'external_init').length;
  const others = inspection.proposals.filter(
    (p) => p.type !== 'external_init' && !(p.type === 'psk' && options.allowPsk === true),
  );
  if (externalInits !== 1 || others.length > 0) {
    const types = inspection.proposals.map((p) => p.type).join(', ');
    return fail('forbidden-proposal', `proposals [${types}]; expected one external_init only`);
  }
  const leaf = inspection.committerLeaf;
  if (leaf === undefined) return fail('missing-path', 'external commit without UpdatePath');
  if (leaf.identity === undefined) {
    return fail('unsupported-credential', 'joiner leaf has no BasicCredential');
  }
  return ok({
    groupId: inspection.groupId,
    epoch: inspection.epoch,
    joinerIdentity: leaf.identity,
    joinerSignaturePublicKey: leaf.signaturePublicKey,
    authenticatedData: inspection.authenticatedData,
  });
}

function describeSender(sender: CommitSender): string {
  switch (sender.type) {
    case 'member':
      return `member at leaf ${sender.leafIndex}`;
    case 'new_member_commit':
      return 'new_member_commit';
    case 'other':
      return sender.senderType;
  }
}
