// Checks and mutants of the connection area: the race part (see index.ts).
import type { Check } from '../harness/check.ts';

export const RACE_CHECKS: readonly Check[] = [];
export const RACE_MUTANTS: readonly string[] = [];
