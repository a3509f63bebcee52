// Every mutant of a checked rule is killed, and killed by the rule it violates. The
// mutants are dealt round-robin into shards, one test file each, so that vitest runs
// them on every core instead of one after the other in a single file.
import { describe, expect, test } from 'vitest';
import { PROFILES, RULES } from './catalog/index.ts';
import { tryMutant } from './harness/mutation.ts';
import { MUTANTS } from './mutants.ts';
import { CHECKS } from './registry.ts';
import { ALL_SERVICES } from '../simulator/services/index.ts';

export const SHARDS = 2;

const checked = new Set(
  RULES.filter((r) => r.retired === undefined && r.planned !== true).map((r) => r.id),
);

export function describeMutantKills(shard: number): void {
  const mine = MUTANTS.filter((m) => checked.has(m.violates)).filter(
    (_, i) => i % SHARDS === shard,
  );
  describe(`mutation testing of the suite (shard ${shard + 1} of ${SHARDS})`, () => {
    test.each(mine.map((m) => [m.name, m] as const))(
      '%s is killed by the rule it violates',
      async (_name, mutant) => {
        const result = await tryMutant({
          mutant,
          checks: CHECKS,
          services: ALL_SERVICES,
          profiles: PROFILES,
          seed: 1,
          timeoutMs: 60_000,
          version: 'test',
          // Only the violated rule's checks: the kill by that rule is what is proved here.
          scope: 'rule',
        });
        expect(result.killed, `killed by ${result.killedBy.join(', ') || 'nothing'}`).toBe(true);
        expect(result.killedBy).toContain(mutant.violates);
      },
      180_000,
    );
  });
}
