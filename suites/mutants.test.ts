// The suite's own honesty: on the reference every checked rule passes, and every
// checked rule has at least one mutant. That each mutant is killed, and killed by the
// rule it violates, is proved by the mutants-killed.*.test.ts shards.
import { describe, expect, test } from 'vitest';
import { PROFILES, RULES } from './catalog/index.ts';
import { runChecks } from './harness/runner.ts';
import { simTarget } from './harness/target.ts';
import { MUTANTS } from './mutants.ts';
import { CHECKS } from './registry.ts';
import { ALL_SERVICES } from '../simulator/services/index.ts';

const checked = RULES.filter((r) => r.retired === undefined && r.planned !== true);

describe('mutation testing of the suite', () => {
  test('on the reference, every checked rule passes', async () => {
    const report = await runChecks({
      target: simTarget({ services: ALL_SERVICES }),
      checks: CHECKS,
      profiles: PROFILES,
      seed: 1,
      runs: 1,
      timeoutMs: 60_000,
      selected: () => true,
      expectedToFail: new Set(),
      strict: true,
      repro: () => '',
      version: 'test',
    });
    const notPassing = report.rules.filter((r) => r.status !== 'pass' && r.status !== 'planned');
    expect(
      notPassing.map((r) => `${r.id}: ${r.status} ${r.failures[0]?.message ?? r.note ?? ''}`),
    ).toEqual([]);
    expect(report.exitCode).toBe(0);
    // Exhaustive where the list is fixed: no check left a member of an eachOf list untried
    // (suites/harness/fixed-lists.test.ts shows this failing on a check that samples).
    expect(
      report.checks.flatMap((c) =>
        c.untried === undefined ? [] : [`${c.check} (${c.profile}): ${c.untried.join(', ')}`],
      ),
    ).toEqual([]);
  }, 240_000);

  test('every checked rule has at least one mutant', () => {
    const withMutant = new Set(MUTANTS.map((m) => m.violates));
    expect(checked.filter((r) => !withMutant.has(r.id)).map((r) => r.id)).toEqual([]);
  });
});
