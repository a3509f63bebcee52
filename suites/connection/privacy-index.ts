// Checks and mutants of the connection area: the privacy part (see index.ts).
import type { Check } from '../harness/check.ts';

export const PRIVACY_CHECKS: readonly Check[] = [];
export const PRIVACY_MUTANTS: readonly string[] = [];
