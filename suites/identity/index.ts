// Checks and mutants of the identity service area (IS-*).
import type { Check } from '../harness/check.ts';

export const IDENTITY_CHECKS: readonly Check[] = [];
export const IDENTITY_MUTANTS: readonly string[] = [];
