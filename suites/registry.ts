// Every conformance check of the product. The suites by area add theirs here;
// `fedconn run` executes them and the meta-test measures rule coverage on them.
import type { Check } from './harness/check.ts';
import { keyDocumentSelfSigned, keyDocumentShape } from './federation/keys.ts';

export const CHECKS: readonly Check[] = [keyDocumentShape, keyDocumentSelfSigned];
