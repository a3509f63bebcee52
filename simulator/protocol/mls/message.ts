// Application messages (RFC 9420 §6.3): PrivateMessages encrypted under the
// sender's application ratchet in the secret tree.

import {
  createApplicationMessage,
  emptyPskIndex,
  processPrivateMessage,
  type MLSMessage,
} from 'ts-mls';
import {
  CodecError,
  CryptoError,
  CryptoVerificationError,
  ValidationError,
} from 'ts-mls/mlsError.js';
import { fail, ok, type Failure, type Result } from '../result.ts';
import { attempt, type ErrorRule } from './failure.ts';
import { epochOf, isGroup, type ConnectionGroup } from './group.ts';
import { meter } from '../crypto/meter.ts';

export type EncryptFailureKind =
  /** This member was removed from the group and can no longer send. */
  'not-active';

export interface EncryptedMessage {
  readonly message: MLSMessage;
  /** The sender's state with its application ratchet advanced. */
  readonly group: ConnectionGroup;
}

export async function encryptMessage(
  group: ConnectionGroup,
  plaintext: Uint8Array,
): Promise<Result<EncryptedMessage, Failure<EncryptFailureKind>>> {
  meter.count('mls.encrypt');
  const active = group.state.groupActiveState.kind;
  if (active !== 'active') return fail('not-active', `group state is ${active}`);
  const { privateMessage, newState } = await createApplicationMessage(
    group.state,
    plaintext,
    group.cs,
  );
  return ok({
    message: { version: 'mls10', wireformat: 'mls_private_message', privateMessage },
    group: { state: newState, cs: group.cs },
  });
}

export type DecryptFailureKind =
  /** Not a PrivateMessage of content type application. */
  | 'not-an-application-message'
  | 'wrong-group'
  /** From an epoch whose keys this member no longer (or never) had. */
  | 'stale-epoch'
  /** From an epoch this member has not reached yet. */
  | 'future-epoch'
  /** The sender data or the content does not decrypt: tampered, or not for this group. */
  | 'decryption-failed'
  /** Decrypts, but the content is not signed by the leaf the sender data names. */
  | 'invalid-signature'
  /** The key for this generation was already used: a replay (or far too late). */
  | 'replay'
  /** Anything else, e.g. a generation too far ahead of the sender's ratchet. */
  | 'invalid-message';

export interface DecryptedMessage {
  readonly plaintext: Uint8Array;
  /** The receiver's state with the used key deleted from its secret tree. */
  readonly group: ConnectionGroup;
}

const RULES: readonly ErrorRule<DecryptFailureKind>[] = [
  { kind: 'stale-epoch', error: ValidationError, message: /epoch too old/ },
  { kind: 'replay', error: ValidationError, message: /gen in the past/ },
  { kind: 'decryption-failed', error: CryptoError },
  // A sender data or content that does not parse after decryption.
  { kind: 'decryption-failed', error: CodecError },
  { kind: 'invalid-signature', error: CryptoVerificationError },
];

export async function decryptMessage(
  group: ConnectionGroup,
  message: MLSMessage,
): Promise<Result<DecryptedMessage, Failure<DecryptFailureKind>>> {
  meter.count('mls.decrypt');
  if (message.wireformat !== 'mls_private_message') {
    return fail('not-an-application-message', `wire format ${message.wireformat}`);
  }
  const { privateMessage } = message;
  // content_type is in the clear and bound into the AEAD data, so checking it
  // first keeps commits from being applied through this door.
  if (privateMessage.contentType !== 'application') {
    return fail('not-an-application-message', `content type ${privateMessage.contentType}`);
  }
  if (!isGroup(group, privateMessage.groupId)) return fail('wrong-group', 'group_id differs');
  const epoch = epochOf(group);
  if (privateMessage.epoch > epoch) {
    const detail = `message for epoch ${String(privateMessage.epoch)}, now ${String(epoch)}`;
    return fail('future-epoch', detail);
  }
  // Older epochs are ts-mls's call: it keeps a few epochs' receiver keys.
  const processed = await attempt(
    () => processPrivateMessage(group.state, privateMessage, emptyPskIndex, group.cs),
    RULES,
    'invalid-message',
  );
  if (!processed.ok) return processed;
  const result = processed.value;
  if (result.kind !== 'applicationMessage') {
    // Unreachable after the content type check; kept so a ts-mls change cannot
    // silently turn this into a commit path.
    return fail('not-an-application-message', `ts-mls returned ${result.kind}`);
  }
  return ok({ plaintext: result.message, group: { state: result.newState, cs: group.cs } });
}
