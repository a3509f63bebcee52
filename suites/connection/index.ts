// Checks and mutants of the connection establishment area (CRED-CHAIN, CONN-*, ALIAS-UNLINK).
import { PHOENIX_MUTANTS } from '../../simulator/services/phoenix-mutants.ts';
import type { Check } from '../harness/check.ts';
import { asPublishesCredentials, asRefusesCsrWithoutPossession } from './credentials.ts';
import {
  aliasRegisteredOnce,
  deleteAliasDeletesAll,
  discoveryNeedsNoAuth,
  onlyOwnerDequeues,
} from './discovery.ts';
import { wrongEarKeyRefused } from './join.ts';
import { aliasTakesPayloadsOnly, noPackageOutsideLifetime, uploadsNeedOwner } from './packages.ts';

export const CONNECTION_CHECKS: readonly Check[] = [
  asPublishesCredentials,
  asRefusesCsrWithoutPossession,
  aliasTakesPayloadsOnly,
  noPackageOutsideLifetime,
  uploadsNeedOwner,
  discoveryNeedsNoAuth,
  aliasRegisteredOnce,
  deleteAliasDeletesAll,
  onlyOwnerDequeues,
  wrongEarKeyRefused,
];
export const CONNECTION_MUTANTS: readonly string[] = Object.values(PHOENIX_MUTANTS);
