// Checks and mutants of the federation area (FED-*).
import { MATRIX_MUTANTS } from '../../simulator/federation/mutants.ts';
import type { Check } from '../harness/check.ts';
import {
  badRequestSignatureRefused,
  invalidOriginRefused,
  wrongDestinationRefused,
} from './auth.ts';
import {
  badSendJoinRefused,
  badTemplateDiscarded,
  joinSentToRoom,
  lyingStateRefused,
  makeJoinForeignUserRefused,
  sendJoinStateBeforeJoin,
} from './join.ts';
import {
  inviteReturnedUntouched,
  inviteSignedBeforeDistribution,
  inviteWithoutInviteeSignatureRefused,
  onlyGenuineInvitesSigned,
} from './invite.ts';
import {
  brokenWellKnownFallsThrough,
  grammar2014,
  grammarCurrent,
  hostAndCertificateName,
  literalsAndPortsDirect,
  namesCaseSensitive,
  numericRanges,
  ownNamesRecommended,
  resolution2014,
  wellKnownCached,
  wellKnownDelegationFollowed,
} from './names.ts';
import {
  keyCertificateChecked,
  keyDocumentSelfSigned,
  keyDocumentShape,
  keyDocumentV1Shape,
  keyServerNameMismatch,
  keyTrustCapped,
  oldKeysNeverAuthenticate,
} from './keys.ts';

export const FEDERATION_CHECKS: readonly Check[] = [
  keyDocumentShape,
  keyDocumentSelfSigned,
  keyDocumentV1Shape,
  keyCertificateChecked,
  keyServerNameMismatch,
  keyTrustCapped,
  oldKeysNeverAuthenticate,
  wrongDestinationRefused,
  badRequestSignatureRefused,
  invalidOriginRefused,
  grammar2014,
  grammarCurrent,
  numericRanges,
  namesCaseSensitive,
  ownNamesRecommended,
  resolution2014,
  literalsAndPortsDirect,
  wellKnownDelegationFollowed,
  brokenWellKnownFallsThrough,
  hostAndCertificateName,
  wellKnownCached,
  inviteSignedBeforeDistribution,
  inviteWithoutInviteeSignatureRefused,
  onlyGenuineInvitesSigned,
  inviteReturnedUntouched,
  badTemplateDiscarded,
  sendJoinStateBeforeJoin,
  badSendJoinRefused,
  makeJoinForeignUserRefused,
  joinSentToRoom,
  lyingStateRefused,
];
export const FEDERATION_MUTANTS: readonly string[] = Object.values(MATRIX_MUTANTS);
