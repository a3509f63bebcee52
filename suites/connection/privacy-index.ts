// Checks and mutants of the connection area: the privacy part (see index.ts).
import { PRIVACY_MUTANT_NAMES } from '../../simulator/clients/phoenix/mutants-privacy.ts';
import { IDENTIFYING_MUTANTS } from '../../simulator/services/phoenix-mutants.ts';
import type { Check } from '../harness/check.ts';
import {
  aliasesUnlinkedFromEachOther,
  aliasRequestsUseAliasKeys,
  aliasUnlinkedFromUserId,
  encryptionKeysNeverReused,
} from './privacy-alias.ts';
import {
  discoveryIsAnonymous,
  dsStoresStateSealed,
  noViewLinksTheUsers,
  packageSealedEndToEnd,
  queuesUnlinkedFromUsers,
} from './privacy-link.ts';

export const PRIVACY_CHECKS: readonly Check[] = [
  aliasesUnlinkedFromEachOther,
  aliasUnlinkedFromUserId,
  aliasRequestsUseAliasKeys,
  encryptionKeysNeverReused,
  noViewLinksTheUsers,
  discoveryIsAnonymous,
  dsStoresStateSealed,
  packageSealedEndToEnd,
  queuesUnlinkedFromUsers,
];
export const PRIVACY_MUTANTS: readonly string[] = [
  ...PRIVACY_MUTANT_NAMES,
  ...Object.values(IDENTIFYING_MUTANTS),
];
