// Runs the checks against each mutant of the reference and records whether the
// suite noticed: a mutant is killed when the rule it violates fails (or errs,
// or times out). Only the checks of that rule's family (or of the rule alone) run
// per mutant, which keeps the kill matrix affordable as the suite grows.
import { getRule, type Profile } from '../catalog/index.ts';
import type { Service } from '../../simulator/homeserver/homeserver.ts';
import type { Mutant } from '../mutants.ts';
import type { Check } from './check.ts';
import { runChecks } from './runner.ts';
import { simTarget } from './target.ts';

export interface MutantResult {
  readonly name: string;
  readonly violates: string;
  readonly killed: boolean;
  /** Rules whose checks failed against this mutant. */
  readonly killedBy: readonly string[];
  /** Why the mutant could not be tried, when its rule has no check yet. */
  readonly note?: string;
}

export async function tryMutant(options: {
  readonly mutant: Mutant;
  readonly checks: readonly Check[];
  readonly services: readonly Service[];
  readonly profiles: readonly Profile[];
  readonly seed: number;
  readonly timeoutMs: number;
  readonly version: string;
  /**
   * Which checks run: the violated rule's whole family (default, for the kill matrix
   * of `fedconn mutants`), or only the violated rule's own checks, enough to prove
   * the mutant is killed by the rule it violates (the meta-test).
   */
  readonly scope?: 'family' | 'rule';
}): Promise<MutantResult> {
  const rule = getRule(options.mutant.violates);
  const base = { name: options.mutant.name, violates: rule.id };
  if (rule.planned === true) {
    return { ...base, killed: false, killedBy: [], note: 'its rule is planned: no check yet' };
  }
  const report = await runChecks({
    target: simTarget({ services: options.services, mutants: [options.mutant.name] }),
    checks: options.checks,
    profiles: options.profiles,
    seed: options.seed,
    runs: 1,
    timeoutMs: options.timeoutMs,
    selected: options.scope === 'rule' ? (r) => r.id === rule.id : (r) => r.family === rule.family,
    expectedToFail: new Set(),
    strict: true,
    mutant: options.mutant.name,
    repro: (id, profile, seed) =>
      `npx fedconn run --mutant ${options.mutant.name} --rules ${id} --profile ${profile} --seed ${seed}`,
    version: options.version,
  });
  const failing = new Set(['fail', 'error', 'timeout']);
  const killedBy = report.rules.filter((r) => failing.has(r.status)).map((r) => r.id);
  return { ...base, killed: killedBy.includes(rule.id), killedBy };
}
