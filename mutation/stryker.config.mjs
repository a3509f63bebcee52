// StrykerJS for `npm run mutation -- <folder>` (mutation/run.mjs gives --mutate and the
// report folder). perTest coverage runs each mutant against only the checks that reach
// it; static mutants (module-level code every check would have to re-run) are left out.
const out = process.env.FEDCONN_MUTATION_REPORT ?? 'reports/mutation/run';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'mutation/vitest.config.ts' },
  plugins: ['@stryker-mutator/vitest-runner'],
  coverageAnalysis: 'perTest',
  ignoreStatic: true,
  concurrency: 2,
  timeoutMS: 20_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `${out}/mutation.html` },
  jsonReporter: { fileName: `${out}/mutation.json` },
  tempDirName: '.stryker-tmp',
};
