// The result of a conformance run, as every reporter sees it: console, JSON,
// JUnit and HTML all render this one value.
import type { Exchange } from '../../simulator/net/exchanges.ts';
import type { Level, Profile, Role } from '../catalog/index.ts';

/**
 * Verdict of one rule in one run. `n/a` (not applicable): no server of the target
 * implements a role the rule binds; never a pass, never a failure, not "checked".
 */
export type RuleStatus =
  'pass' | 'fail' | 'skip' | 'xfail' | 'xpass' | 'error' | 'timeout' | 'planned' | 'n/a';
export const RULE_STATUSES: readonly RuleStatus[] = [
  'pass',
  'fail',
  'xfail',
  'xpass',
  'error',
  'timeout',
  'skip',
  'n/a',
  'planned',
];

/** Statuses that are a verdict on the target (the others say why there is none). */
export const VERDICT_STATUSES: ReadonlySet<RuleStatus> = new Set([
  'pass',
  'fail',
  'xfail',
  'xpass',
  'error',
  'timeout',
]);

/** Verdict of one execution of one check (in one profile). */
export type CheckStatus = 'pass' | 'fail' | 'error' | 'timeout' | 'skip' | 'n/a';

export interface Failure {
  /** What went wrong, in one line. */
  readonly message: string;
  readonly expected?: string;
  readonly actual?: string;
  /** The shrunk counterexample, printed as text. */
  readonly counterexample?: string;
  /** Seed that reproduces this failure (with `path` for property checks). */
  readonly seed: number;
  readonly path?: string;
  /** One command line that replays exactly this failure. */
  readonly repro: string;
  /** The last requests and answers on the wire before it failed (real targets). */
  readonly exchanges?: readonly Exchange[];
}

export interface CheckResult {
  readonly check: string;
  readonly rules: readonly string[];
  readonly profile: Profile;
  readonly status: CheckStatus;
  readonly durationMs: number;
  /** Property runs or scenario iterations performed. */
  readonly iterations: number;
  readonly failure?: Failure;
  /** Why the check was skipped or is not applicable. */
  readonly skipReason?: string;
  /** What a passing check could not try, and why (a driver without a verb, say). */
  readonly notes?: readonly string[];
  /** Members of its fixed lists (eachOf) that a passing run did not try. */
  readonly untried?: readonly string[];
  /** Its place in the run's plan (the same in every shard of the run). */
  readonly position?: number;
}

export interface RuleResult {
  readonly id: string;
  readonly level: Level;
  readonly family: string;
  readonly roles: readonly Role[];
  readonly statement: string;
  readonly status: RuleStatus;
  /** How many check executions ran for this rule. */
  readonly checks: number;
  readonly failures: readonly (Failure & { readonly check: string; readonly profile: Profile })[];
  /** Why the rule was skipped or is expected to fail, when it is. */
  readonly note?: string;
}

export interface RunReport {
  readonly tool: { readonly name: 'fedconn'; readonly version: string };
  /** e.g. "sim", "http (reports/out/target.json)", "container fedconn-ref:latest". */
  readonly target: string;
  readonly profiles: readonly Profile[];
  readonly seed: number;
  readonly runs: number;
  readonly mutant?: string;
  /** The shard of the plan this run ran (--shard K/N); absent for a whole run. */
  readonly shard?: { readonly index: number; readonly count: number };
  /** --strict: SHOULD failures fail the run. */
  readonly strict?: boolean;
  /** Rules (or prefixes) expected to fail (--expect). */
  readonly expectedToFail?: readonly string[];
  readonly startedAt: string;
  readonly durationMs: number;
  readonly summary: Readonly<Record<RuleStatus, number>>;
  readonly rules: readonly RuleResult[];
  readonly checks: readonly CheckResult[];
  /** 0 success, 1 failures, 4 no rule got a verdict (see README). */
  readonly exitCode: 0 | 1 | 4;
}
