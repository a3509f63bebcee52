// Checks and mutants of the connection establishment area (CRED-CHAIN, CONN-*, ALIAS-UNLINK).
import { PHOENIX_MUTANTS } from '../../simulator/services/phoenix-mutants.ts';
import type { Check } from '../harness/check.ts';
import { INITIATOR_CHECKS, INITIATOR_MUTANTS } from './initiator-index.ts';
import { PRIVACY_CHECKS, PRIVACY_MUTANTS } from './privacy-index.ts';
import { RACE_CHECKS, RACE_MUTANTS } from './race-index.ts';
import { RESPONDER_CHECKS, RESPONDER_MUTANTS } from './responder-index.ts';
import { TRUST_CHECKS, TRUST_MUTANTS } from './trust-index.ts';
import {
  asPublishesCredentials,
  asPublishesRevocations,
  asRefusesCsrWithoutPossession,
} from './credentials.ts';
import { AS_CSR_CHECKS } from './credentials-csr.ts';
import {
  aliasRegisteredOnce,
  deleteAliasDeletesAll,
  discoveryNeedsNoAuth,
  federatedUsersReachedAsLocal,
  onlyOwnerDequeues,
} from './discovery.ts';
import { wrongEarKeyRefused } from './join.ts';
import {
  aliasTakesPayloadsOnly,
  clientsPublishSignedPackages,
  discoveryYieldsEveryClient,
  noPackageOutsideLifetime,
  packagesHandedOutOnce,
  servedPackagesComplete,
  uploadsNeedOwner,
} from './packages.ts';

export const CONNECTION_CHECKS: readonly Check[] = [
  asPublishesCredentials,
  asPublishesRevocations,
  asRefusesCsrWithoutPossession,
  ...AS_CSR_CHECKS,
  aliasTakesPayloadsOnly,
  noPackageOutsideLifetime,
  uploadsNeedOwner,
  servedPackagesComplete,
  clientsPublishSignedPackages,
  discoveryYieldsEveryClient,
  packagesHandedOutOnce,
  discoveryNeedsNoAuth,
  federatedUsersReachedAsLocal,
  aliasRegisteredOnce,
  deleteAliasDeletesAll,
  onlyOwnerDequeues,
  wrongEarKeyRefused,
  ...RACE_CHECKS,
  ...RESPONDER_CHECKS,
  ...PRIVACY_CHECKS,
  ...TRUST_CHECKS,
  ...INITIATOR_CHECKS,
];
export const CONNECTION_MUTANTS: readonly string[] = [
  ...Object.values(PHOENIX_MUTANTS),
  ...RACE_MUTANTS,
  ...RESPONDER_MUTANTS,
  ...PRIVACY_MUTANTS,
  ...TRUST_MUTANTS,
  ...INITIATOR_MUTANTS,
];
