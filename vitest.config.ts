import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'reports/out/**'],
    testTimeout: 60_000,
    // Suites must never hang; a stuck test is a defect, not something to wait out.
    hookTimeout: 60_000,
  },
});
