// Runs the checks against each mutant of the reference and records whether the
// suite noticed: a mutant is killed when the rule it violates fails (or errs,
// or times out). Only the checks of that rule's family (or of the rule alone) run
// per mutant, which keeps the kill matrix affordable as the suite grows.
import { getRule, type Profile } from '../catalog/index.ts';
import type { Service } from '../../simulator/homeserver/homeserver.ts';
import type { Mutant } from '../mutants.ts';
import type { Check } from './check.ts';
import { runChecks } from './runner.ts';
import { simTarget, type Target } from './target.ts';

/**
 * A target that serves one mutant, and its end: the reference served over HTTP (`fedconn
 * serve --mutant` in-process) for a server mutant, or the reference client's shim in a
 * process of its own (`fedconn client-shim --mutant`) for a client mutant.
 */
export interface ServedMutant {
  readonly target: Target;
  /** The command line that reproduces one rule's verdict against it. */
  readonly repro: (rule: string, profile: string, seed: number) => string;
  close(): Promise<void>;
}

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
  /**
   * Where the mutant runs: the simulator (default), or a real target that serves it
   * (the http kill matrix); a client mutant never runs there, fedconn's client being
   * the correct one.
   */
  readonly serve?: (mutant: Mutant) => Promise<ServedMutant>;
  /** What `serve` breaks: the servers (default) or the client; other mutants are unchecked. */
  readonly serves?: 'server' | 'client';
}): Promise<MutantResult> {
  const rule = getRule(options.mutant.violates);
  const base = { name: options.mutant.name, violates: rule.id };
  if (rule.planned === true) {
    return { ...base, killed: false, killedBy: [], note: 'its rule is planned: no check yet' };
  }
  const serves = options.serves ?? 'server';
  if (options.serve !== undefined && options.mutant.breaks !== serves) {
    return {
      ...base,
      killed: false,
      killedBy: [],
      note:
        serves === 'server'
          ? 'a mutant of the reference client: over http fedconn plays the client, unmutated'
          : 'a mutant of the reference servers: the client shim judges the client only',
    };
  }
  const served = await options.serve?.(options.mutant);
  try {
    return await judge(options, served);
  } finally {
    await served?.close();
  }
}

async function judge(
  options: Parameters<typeof tryMutant>[0],
  served: ServedMutant | undefined,
): Promise<MutantResult> {
  const rule = getRule(options.mutant.violates);
  const base = { name: options.mutant.name, violates: rule.id };
  const report = await runChecks({
    target:
      served?.target ?? simTarget({ services: options.services, mutants: [options.mutant.name] }),
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
      served === undefined
        ? `npx fedconn run --mutant ${options.mutant.name} --rules ${id} --profile ${profile} --seed ${seed}`
        : served.repro(id, profile, seed),
    version: options.version,
  });
  const failing = new Set(['fail', 'error', 'timeout']);
  const killedBy = report.rules.filter((r) => failing.has(r.status)).map((r) => r.id);
  const own = report.rules.find((r) => r.id === rule.id);
  if (
    served !== undefined &&
    own !== undefined &&
    (own.status === 'skip' || own.status === 'n/a')
  ) {
    return {
      ...base,
      killed: false,
      killedBy,
      note: `its rule gets no verdict on ${served.target.kind} (${own.status}: ${own.note ?? ''})`,
    };
  }
  return { ...base, killed: killedBy.includes(rule.id), killedBy };
}
