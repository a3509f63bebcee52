// A thin layer over ts-mls for connection groups (ciphersuite 1 only).

export { CIPHERSUITE, ciphersuite, type RandomSource } from './ciphersuite.ts';
export { createMember, generateKeyPackage, type KeyPackageBundle, type Member } from './member.ts';
export {
  createConnectionGroup,
  epochOf,
  exportGroupInfo,
  groupIdOf,
  isGroup,
  membersOf,
  ownLeafIndex,
  type ConnectionGroup,
  type ExportedGroupInfo,
  type GroupMemberInfo,
} from './group.ts';
export {
  joinByExternalCommit,
  type ExternalJoin,
  type ExternalJoinFailureKind,
} from './external-join.ts';
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
export { processCommit, type ProcessCommitFailureKind } from './commit.ts';
export {
  addClients,
  joinByWelcome,
  type AddClientsFailureKind,
  type AddedClients,
  type WelcomeFailureKind,
} from './welcome.ts';
export {
  decryptMessage,
  encryptMessage,
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
