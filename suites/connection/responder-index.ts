// Checks and mutants of the connection area: the responder part (see index.ts).
import { RESPONDER_CLIENT_MUTANTS } from '../../simulator/clients/phoenix/mutants-responder.ts';
import type { Check } from '../harness/check.ts';
import { RESPONDER_CHAIN_CHECKS } from './responder.ts';

export const RESPONDER_CHECKS: readonly Check[] = [...RESPONDER_CHAIN_CHECKS];
export const RESPONDER_MUTANTS: readonly string[] = Object.values(RESPONDER_CLIENT_MUTANTS);
