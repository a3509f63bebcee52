// Checks and mutants of the federation area (FED-*).
import { MATRIX_MUTANTS } from '../../simulator/federation/mutants.ts';
import type { Check } from '../harness/check.ts';
import { keyDocumentSelfSigned, keyDocumentShape } from './keys.ts';

export const FEDERATION_CHECKS: readonly Check[] = [keyDocumentShape, keyDocumentSelfSigned];
export const FEDERATION_MUTANTS: readonly string[] = Object.values(MATRIX_MUTANTS);
