// Checks and mutants of the federation area (FED-*).
import { MATRIX_MUTANTS } from '../../simulator/federation/mutants.ts';
import type { Check } from '../harness/check.ts';
import {
  badRequestSignatureRefused,
  destinationAuthenticatedFirst,
  headerSpellingsAccepted,
  invalidOriginRefused,
  requestsSignedWithXMatrix,
  wrongDestinationRefused,
} from './auth.ts';
import {
  badSendJoinRefused,
  badTemplateDiscarded,
  joinIsTwoSteps,
  joinSentToRoom,
  lyingStateRefused,
  makeJoinForeignUserRefused,
  publicRoomWithoutInvite,
  sendJoinStateBeforeJoin,
} from './join.ts';
import {
  inviteReturnedUntouched,
  inviteSignedBeforeDistribution,
  inviteSummaryHasCreate,
  inviteWithoutInviteeSignatureRefused,
  onlyGenuineInvitesSigned,
  reinviteSupported,
} from './invite.ts';
import {
  canonicalJsonSigning,
  jsonSigningRules,
  keyCertificateChecked,
  keyDocumentSelfSigned,
  keyDocumentShape,
  keyDocumentV1Shape,
  keyServerNameMismatch,
  keyTrustCapped,
  oldKeysNeverAuthenticate,
  paddedBase64Accepted,
  unpaddedBase64Emitted,
} from './keys.ts';

export const FEDERATION_CHECKS: readonly Check[] = [
  keyDocumentShape,
  keyDocumentSelfSigned,
  keyDocumentV1Shape,
  keyCertificateChecked,
  keyServerNameMismatch,
  keyTrustCapped,
  oldKeysNeverAuthenticate,
  canonicalJsonSigning,
  jsonSigningRules,
  unpaddedBase64Emitted,
  paddedBase64Accepted,
  wrongDestinationRefused,
  badRequestSignatureRefused,
  invalidOriginRefused,
  requestsSignedWithXMatrix,
  headerSpellingsAccepted,
  destinationAuthenticatedFirst,
  inviteSignedBeforeDistribution,
  inviteWithoutInviteeSignatureRefused,
  onlyGenuineInvitesSigned,
  inviteReturnedUntouched,
  reinviteSupported,
  inviteSummaryHasCreate,
  joinIsTwoSteps,
  badTemplateDiscarded,
  sendJoinStateBeforeJoin,
  badSendJoinRefused,
  makeJoinForeignUserRefused,
  joinSentToRoom,
  lyingStateRefused,
  publicRoomWithoutInvite,
];
export const FEDERATION_MUTANTS: readonly string[] = Object.values(MATRIX_MUTANTS);
