// The conformance checks as the tests of an independent mutation run (StrykerJS,
// `npm run mutation -- <folder>`): one test per check and profile, each running that
// check alone against the reference in the simulator and failing unless every rule it
// proves passes. One test per check lets Stryker run, for each mutant, only the checks
// that reach the mutated code. Not part of `npm test` (its name is not *.test.ts).
import { describe, expect, test } from 'vitest';
import { PROFILES } from '../suites/catalog/index.ts';
import { runChecks } from '../suites/harness/runner.ts';
import { simTarget } from '../suites/harness/target.ts';
import { CHECKS } from '../suites/registry.ts';
import { ALL_SERVICES } from '../simulator/services/index.ts';

const executions = CHECKS.flatMap((check) =>
  check.profiles.map((profile) => ({ check, profile, title: `${check.name} [${profile}]` })),
);

describe('conformance checks against the reference', () => {
  test.each(executions)('$title', async ({ check, profile }) => {
    const report = await runChecks({
      target: simTarget({ services: ALL_SERVICES }),
      checks: [check],
      profiles: PROFILES.filter((p) => p === profile),
      seed: 1,
      runs: 1,
      timeoutMs: 30_000,
      selected: () => true,
      expectedToFail: new Set(),
      strict: true,
      repro: () => '',
      version: 'mutation',
    });
    const judged = report.checks.filter((c) => c.status !== 'skip' && c.status !== 'n/a');
    expect(judged.length, 'the check ran').toBeGreaterThan(0);
    expect(
      judged
        .filter((c) => c.status !== 'pass')
        .map((c) => `${c.status}: ${c.failure?.message ?? ''}`),
    ).toEqual([]);
  });
});
