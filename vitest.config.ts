import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    // vitest's default leaves one core idle; the tests are CPU-bound crypto and
    // simulation, and a 2-core CI machine would otherwise run them one file at a time.
    maxWorkers: Math.max(2, availableParallelism()),
    exclude: ['node_modules/**', 'reports/out/**', '.stryker-tmp/**'],
    testTimeout: 60_000,
    // Suites must never hang; a stuck test is a defect, not something to wait out.
    hookTimeout: 60_000,
  },
});
