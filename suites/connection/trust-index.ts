// Checks and mutants of the connection area: acceptance on the reference client,
// no trust before it and joining the initiator's group (see index.ts).
import { TRUST_MUTANT_NAMES } from '../../simulator/clients/phoenix/mutants-trust.ts';
import type { Check } from '../harness/check.ts';
import { TRUST_CHECKS as TRUST } from './trust.ts';

export const TRUST_CHECKS: readonly Check[] = [...TRUST];
export const TRUST_MUTANTS: readonly string[] = TRUST_MUTANT_NAMES;
