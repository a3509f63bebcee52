// Every member of a fixed list is tried in every run: eachOf's members go first, whatever
// the seed. The meta-test (suites/mutants.test.ts) fails any check that leaves one
// untried; here it is seen failing on a check that samples its list instead.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ALL_SERVICES } from '../../simulator/services/index.ts';
import { checkProperty, defineCheck, eachOf } from './check.ts';
import { runChecks } from './runner.ts';
import { simTarget } from './target.ts';

const DEFECTS = Array.from({ length: 12 }, (_, i) => `defect ${i + 1}`) as [string, ...string[]];

/** A check of IS-LOOKUP-01 that tries its 12 defects in 6 runs, fully or by sampling. */
const checkOfDefects = (sample: boolean, seen: Set<string>) =>
  defineCheck({
    name: sample ? 'samples 6 of 12 defects' : 'tries every defect',
    rules: ['IS-LOOKUP-01'],
    profiles: ['matrix-current'],
    async run(ctx) {
      await checkProperty(
        ctx,
        [eachOf(...DEFECTS), fc.integer()],
        async (defect, n: number) => {
          // The other argument is drawn from the seed as usual.
          expect(Number.isInteger(n)).toBe(true);
          seen.add(defect);
          return Promise.resolve();
        },
        { numRuns: 6, sampleFixedLists: sample },
      );
    },
  });

const run = (sample: boolean, seed: number, seen: Set<string>) =>
  runChecks({
    target: simTarget({ services: ALL_SERVICES }),
    checks: [checkOfDefects(sample, seen)],
    profiles: ['matrix-current'],
    seed,
    runs: 1,
    timeoutMs: 10_000,
    selected: (r) => r.id === 'IS-LOOKUP-01',
    expectedToFail: new Set(),
    strict: true,
    repro: () => '',
    version: 'test',
  });

describe('fixed lists (eachOf)', () => {
  test.each([1, 2, 3])(
    'seed %i: every member is tried, with the random runs besides',
    async (seed) => {
      const seen = new Set<string>();
      const report = await run(false, seed, seen);
      expect([...seen].sort()).toEqual([...DEFECTS].sort());
      const [result] = report.checks;
      expect(result?.status).toBe('pass');
      expect(result?.untried).toBeUndefined();
      expect(result?.iterations).toBe(12 + 6);
    },
  );

  test('a check that samples its list leaves members untried, and the report says which', async () => {
    const seen = new Set<string>();
    const report = await run(true, 1, seen);
    const [result] = report.checks;
    expect(result?.status).toBe('pass');
    expect(seen.size).toBeLessThan(DEFECTS.length);
    expect(result?.untried?.length).toBe(DEFECTS.length - seen.size);
    for (const missing of result?.untried ?? [])
      expect(seen.has(JSON.parse(missing) as string)).toBe(false);
  });
});
