// A thin layer over ts-mls for connection groups (ciphersuite 1 only).
import { timedOp } from '../crypto/meter.ts';
import * as commit from './commit.ts';
import * as externalJoin from './external-join.ts';
import * as group from './group.ts';
import * as member from './member.ts';
import * as message from './message.ts';
import * as welcome from './welcome.ts';

export { CIPHERSUITE, ciphersuite, type RandomSource } from './ciphersuite.ts';
export {
  loadKeyPackage,
  storeKeyPackage,
  storedInitKey,
  type KeyPackageBundle,
  type Member,
  type StoredKeyPackage,
} from './member.ts';
export {
  epochOf,
  groupIdOf,
  isGroup,
  membersOf,
  ownLeafIndex,
  type ConnectionGroup,
  type ExportedGroupInfo,
  type GroupMemberInfo,
} from './group.ts';
export { type ExternalJoin, type ExternalJoinFailureKind } from './external-join.ts';
export {
  checkConnectionJoin,
  inspectCommit,
  type CommitInspection,
  type CommitSender,
  type ConnectionJoin,
  type ExternalJoinCheckFailureKind,
  type InspectFailureKind,
  type ProposalSummary,
} from './inspect.ts';
export { type ProcessCommitFailureKind } from './commit.ts';
export {
  type AddClientsFailureKind,
  type AddedClients,
  type WelcomeFailureKind,
} from './welcome.ts';
export {
  type DecryptFailureKind,
  type DecryptedMessage,
  type EncryptFailureKind,
  type EncryptedMessage,
} from './message.ts';
export {
  decodeGroupInfo,
  decodeKeyPackage,
  decodeMessage,
  decodeProtocolMessage,
  decodeRatchetTree,
  decodeWelcome,
  encodeGroupInfo,
  encodeKeyPackage,
  encodeMessage,
  encodeRatchetTree,
  encodeWelcome,
  fromBase64,
  toBase64,
  type WireFailureKind,
} from './wire.ts';

// The metered operations, timed so a benchmark can tell crypto time from the rest.
export const createMember = timedOp('mls.member', member.createMember);
export const generateKeyPackage = timedOp('mls.keyPackage', member.generateKeyPackage);
export const createConnectionGroup = timedOp('mls.createGroup', group.createConnectionGroup);
export const exportGroupInfo = timedOp('mls.exportGroupInfo', group.exportGroupInfo);
export const joinByExternalCommit = timedOp('mls.externalJoin', externalJoin.joinByExternalCommit);
export const processCommit = timedOp('mls.processCommit', commit.processCommit);
export const addClients = timedOp('mls.addClients', welcome.addClients);
export const joinByWelcome = timedOp('mls.joinByWelcome', welcome.joinByWelcome);
export const encryptMessage = timedOp('mls.encrypt', message.encryptMessage);
export const decryptMessage = timedOp('mls.decrypt', message.decryptMessage);
