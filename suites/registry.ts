// Every conformance check of the product, by area. `fedconn run` executes them
// and the meta-test measures rule coverage on them.
import { CONNECTION_CHECKS } from './connection/index.ts';
import { FEDERATION_CHECKS } from './federation/index.ts';
import type { Check } from './harness/check.ts';
import { IDENTITY_CHECKS } from './identity/index.ts';

export const CHECKS: readonly Check[] = [
  ...CONNECTION_CHECKS,
  ...FEDERATION_CHECKS,
  ...IDENTITY_CHECKS,
];
