// Checks and mutants of the connection area: the initiator and package part (see index.ts).
import { INITIATOR_CLIENT_MUTANTS } from '../../simulator/clients/phoenix/mutants-initiator.ts';
import { DISCOVERY_MUTANTS, GROUP_MUTANTS } from '../../simulator/services/phoenix-mutants.ts';
import type { Check } from '../harness/check.ts';
import {
  freshGroupPerConnection,
  groupHoldsAllInitiatorClients,
  onePackagePerResponderClient,
  packageCarriesAllFieldsSigned,
} from './initiator.ts';
import { initiatorRefusesStalePackages, initiatorVerifiesPackages } from './initiator-packages.ts';

export const INITIATOR_CHECKS: readonly Check[] = [
  initiatorVerifiesPackages,
  initiatorRefusesStalePackages,
  packageCarriesAllFieldsSigned,
  onePackagePerResponderClient,
  freshGroupPerConnection,
  groupHoldsAllInitiatorClients,
];
export const INITIATOR_MUTANTS: readonly string[] = [
  ...Object.values(INITIATOR_CLIENT_MUTANTS),
  ...Object.values(DISCOVERY_MUTANTS),
  ...Object.values(GROUP_MUTANTS),
];
