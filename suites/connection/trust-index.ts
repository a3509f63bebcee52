// Checks and mutants of the connection area: acceptance on the reference client,
// no trust before it and joining the initiator's group (see index.ts).
import { TRUST_MUTANT_NAMES } from '../../simulator/clients/phoenix/mutants-trust.ts';
import type { Check } from '../harness/check.ts';
import { JOIN_CLIENT_CHECKS } from './join-client.ts';
import { TRUST_CHECKS as TRUST } from './trust.ts';

export const TRUST_CHECKS: readonly Check[] = [...TRUST, ...JOIN_CLIENT_CHECKS];
export const TRUST_MUTANTS: readonly string[] = TRUST_MUTANT_NAMES;
