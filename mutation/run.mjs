#!/usr/bin/env node
// `npm run mutation -- <folder> [more stryker flags]`: StrykerJS mutates the TypeScript
// sources under <folder> (tests excluded) and judges each mutant by the conformance
// checks that reach it (mutation/conformance.mutation.ts). The report lands in
// reports/mutation/<folder with dashes>/ (HTML and JSON).
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const [folder, ...rest] = process.argv.slice(2);
if (folder === undefined || folder.startsWith('-')) {
  console.error('usage: npm run mutation -- <folder> [stryker flags]');
  console.error('  e.g. npm run mutation -- simulator/services/identity');
  process.exit(2);
}
const clean = folder.replace(/\/+$/, '');
if (!existsSync(clean) || !statSync(clean).isDirectory()) {
  console.error(`mutation: no folder ${clean}`);
  process.exit(2);
}
const slug = clean.replace(/[^A-Za-z0-9]+/g, '-');
const result = spawnSync(
  'npx',
  [
    'stryker',
    'run',
    'mutation/stryker.config.mjs',
    '--mutate',
    `${clean}/**/*.ts,!${clean}/**/*.test.ts,!${clean}/**/test-support.ts,!${clean}/**/testing.ts`,
    ...rest,
  ],
  {
    stdio: 'inherit',
    env: { ...process.env, FEDCONN_MUTATION_REPORT: `reports/mutation/${slug}` },
  },
);
process.exit(result.status ?? 1);
