// Checks and mutants of the connection area: the responder part (see index.ts).
import type { Check } from '../harness/check.ts';

export const RESPONDER_CHECKS: readonly Check[] = [];
export const RESPONDER_MUTANTS: readonly string[] = [];
