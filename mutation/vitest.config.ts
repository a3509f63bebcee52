// The vitest configuration of the mutation run: the conformance checks only.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['mutation/conformance.mutation.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
