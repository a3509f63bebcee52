// Shards merged are the run: two shards of a run (one with a failure, its counterexample,
// repro and transcript), joined by fedconn merge, give the report of the unsharded run
// of the same seed, apart from durations; shards of different runs are refused.
import { describe, expect, test } from 'vitest';
import { toConformanceJson } from '../../reports/json.ts';
import { timelessReport } from '../../reports/test-fixture.ts';
import { ALL_SERVICES } from '../../simulator/services/index.ts';
import { CHECKS } from '../registry.ts';
import { MergeError, mergeShards, readShard } from './merge.ts';
import { runChecks, type Shard } from './runner.ts';
import { simTarget } from './target.ts';

const MUTANT = 'FED-KEYS-04/sign-with-foreign-key';

const run = (shard?: Shard, seed = 4) =>
  runChecks({
    target: simTarget({ services: ALL_SERVICES, mutants: [MUTANT] }),
    checks: CHECKS,
    profiles: ['multi-device', 'matrix-current'],
    seed,
    runs: 1,
    timeoutMs: 30_000,
    selected: (r) => r.family === 'CRED-CHAIN' || r.family === 'FED-KEYS',
    expectedToFail: new Set(['FED-KEYS-09']),
    strict: false,
    mutant: MUTANT,
    repro: (rule, profile, s) => `npx fedconn run --rules ${rule} --profile ${profile} --seed ${s}`,
    version: 'test',
    ...(shard === undefined ? {} : { shard }),
  });

describe('fedconn merge', () => {
  test('two shards merged give the unsharded run: verdicts, failures, repros, transcripts', async () => {
    const whole = await run();
    const shards = [await run({ index: 2, count: 2 }), await run({ index: 1, count: 2 })];
    // Each shard ran about half of the plan, and none ran all of it.
    for (const s of shards) expect(s.checks.length).toBeLessThan(whole.checks.length);
    expect(shards[0]?.rules.some((r) => r.note?.includes('other shards'))).toBe(true);
    const texts = shards.map((s) => toConformanceJson(s));
    const merged = mergeShards(
      texts.map((t, i) => readShard(t, `shard ${i}`)),
      ['shard 2', 'shard 1'],
    );
    // Something to compare: the mutant's failure, with its counterexample and transcript.
    const failed = whole.rules.find((r) => r.id === 'FED-KEYS-04');
    expect(failed?.status).toBe('fail');
    expect(failed?.failures[0]?.exchanges?.length).toBeGreaterThan(0);
    expect(timelessReport(toConformanceJson(merged))).toEqual(
      timelessReport(toConformanceJson(whole)),
    );
    expect(merged.exitCode).toBe(whole.exitCode);
  });

  test('shards of different runs, missing or repeated shards, and unsharded reports are refused', async () => {
    const one = toConformanceJson(await run({ index: 1, count: 2 }));
    const two = toConformanceJson(await run({ index: 2, count: 2 }));
    const otherSeed = toConformanceJson(await run({ index: 2, count: 2 }, 5));
    const read = (t: string, name: string) => readShard(t, name);
    expect(() => mergeShards([read(one, 'a')], ['a'])).toThrow(/missing 2/);
    expect(() => mergeShards([read(one, 'a'), read(one, 'b')], ['a', 'b'])).toThrow(
      /missing 2; given twice 1/,
    );
    expect(() => mergeShards([read(one, 'a'), read(otherSeed, 'b')], ['a', 'b'])).toThrow(
      /b: seed 5 differs from a's 4/,
    );
    const unsharded = toConformanceJson(await run());
    expect(() => read(unsharded, 'whole.json')).toThrow(
      /whole.json: shard: .*fedconn run --shard K\/N/,
    );
    expect(() => read('{', 'x.json')).toThrow(MergeError);
    expect(() => mergeShards([read(one, 'a'), read(two, 'b')], ['a', 'b'])).not.toThrow();
  });
});
