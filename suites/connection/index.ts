// Checks and mutants of the connection establishment area (CRED-CHAIN, CONN-*, ALIAS-UNLINK).
import type { Check } from '../harness/check.ts';

export const CONNECTION_CHECKS: readonly Check[] = [];
export const CONNECTION_MUTANTS: readonly string[] = [];
