// Checks and mutants of the identity service area (IS-*).
import { IDENTITY_CLIENT_MUTANT_NAMES } from '../../simulator/clients/identity-client-mutants.ts';
import { IDENTITY_SERVER_MUTANT_NAMES } from '../../simulator/services/identity/mutants.ts';
import type { Check } from '../harness/check.ts';
import { CLIENT_LOOKUP_CHECKS } from './client.ts';
import { FEDERATION_LOOKUP_CHECKS } from './federation.ts';
import { LOOKUP_CHECKS } from './lookup.ts';
import { PUSH_CHECKS } from './push.ts';

export const IDENTITY_CHECKS: readonly Check[] = [
  ...LOOKUP_CHECKS,
  ...FEDERATION_LOOKUP_CHECKS,
  ...PUSH_CHECKS,
  ...CLIENT_LOOKUP_CHECKS,
];
export const IDENTITY_MUTANTS: readonly string[] = [
  ...IDENTITY_SERVER_MUTANT_NAMES,
  ...IDENTITY_CLIENT_MUTANT_NAMES,
];
