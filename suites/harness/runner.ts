// Runs the selected checks against a target and folds their outcomes into one
// verdict per rule. A hung, crashing or lying target yields a failed, errored
// or timed-out rule with a message, never a crash of the runner: every check
// runs under its own deadline.
import type { Exchange } from '../../simulator/net/exchanges.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { z } from 'zod';
import { PROFILES, RULES, type Profile, type Rule } from '../catalog/index.ts';
import { NetworkError } from '../../simulator/net/transport.ts';
import { RequestFailed } from '../../simulator/clients/phoenix/env.ts';
import type { PhoenixProfile } from '../../simulator/homeserver/context.ts';
import { CheckFailure, CheckNotApplicable, CheckSkipped, type Check } from './check.ts';
import { DriverFailed } from './drivers/driver.ts';
import { applicability, exercisedBy } from './roles.ts';
import type {
  CheckResult,
  CheckStatus,
  Failure,
  RuleResult,
  RuleStatus,
  RunReport,
} from './report.ts';
import { VERDICT_STATUSES } from './report.ts';
import type { Target } from './target.ts';

export interface RunOptions {
  readonly target: Target;
  readonly checks: readonly Check[];
  readonly profiles: readonly Profile[];
  readonly seed: number;
  readonly runs: number;
  /** Deadline per check execution, in ms. */
  readonly timeoutMs: number;
  /** Which rules to run (from --rules and --skip). */
  readonly selected: (rule: Rule) => boolean;
  /** Rules expected to fail (from --expect). */
  readonly expectedToFail: ReadonlySet<string>;
  readonly strict: boolean;
  readonly mutant?: string;
  /** Builds the one-line command that replays one check. */
  readonly repro: (rule: string, profile: Profile, seed: number) => string;
  readonly onProgress?: (event: ProgressEvent) => void;
  readonly version: string;
  /**
   * Runs only shard `index` of `count` (1-based): every count-th check execution of the
   * plan, from the index-th on. `fedconn merge` puts the shards' reports back together.
   */
  readonly shard?: Shard;
}

export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** What turns check results into rule verdicts (a run's options, or a merge's). */
export interface VerdictOptions {
  readonly profiles: readonly Profile[];
  readonly selected: (rule: Rule) => boolean;
  readonly expectedToFail: ReadonlySet<string>;
  readonly strict: boolean;
  /** Rules that had check executions in the whole plan (some may be in other shards). */
  readonly planned: ReadonlySet<string>;
}

export type ProgressEvent =
  | { readonly type: 'start'; readonly total: number }
  | {
      readonly type: 'check-start';
      readonly index: number;
      readonly total: number;
      readonly check: string;
      readonly profile: Profile;
    }
  | {
      readonly type: 'check-end';
      readonly index: number;
      readonly total: number;
      readonly result: CheckResult;
    };

const MATRIX_PROFILES: readonly Profile[] = ['matrix-2014', 'matrix-current'];

/** A seed per check and profile that does not depend on which other checks run. */
export function checkSeed(runSeed: number, check: string, profile: Profile): number {
  const digest = sha256(new TextEncoder().encode(`${runSeed}|${check}|${profile}`));
  return (
    ((digest[0] ?? 0) << 23) ^ ((digest[1] ?? 0) << 15) ^ ((digest[2] ?? 0) << 7) ^ (digest[3] ?? 0)
  );
}

class Timeout extends Error {}

async function withDeadline<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort(new Timeout(`no verdict within ${ms} ms`));
      reject(new Timeout(`no verdict within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([work(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The first line of an error's message, so a report never carries a dump. */
function oneLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}

function classify(error: unknown): {
  status: CheckStatus;
  message: string;
  details: CheckFailure['details'];
} {
  if (error instanceof Timeout) return { status: 'timeout', message: error.message, details: {} };
  if (error instanceof CheckFailure)
    return { status: 'fail', message: error.message, details: error.details };
  // A server that accepted a request and never answered it: the request's own timeout.
  if (error instanceof NetworkError && error.kind === 'timeout')
    return { status: 'timeout', message: oneLine(error.message), details: {} };
  // The target refused or did not answer where the rule needs an answer: a violation, not a harness bug.
  if (error instanceof RequestFailed || error instanceof NetworkError) {
    return { status: 'fail', message: oneLine(error.message), details: {} };
  }
  // Setting up test state failed: no verdict on the server, but no pass either.
  if (error instanceof DriverFailed)
    return { status: 'error', message: oneLine(error.message), details: {} };
  // A schema error from fedconn's own parsing: its first issue, never the whole dump.
  if (error instanceof z.ZodError) {
    const issue = error.issues[0];
    return {
      status: 'error',
      message: `unexpected error while checking: fedconn could not parse a value: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''}`,
      details: {},
    };
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return {
    status: 'error',
    message: `unexpected error while checking: ${oneLine(message)}`,
    details: {},
  };
}

/** The run's plan: each check proving a selected rule, once in each selected profile. */
export function planExecutions(
  options: Pick<RunOptions, 'checks' | 'profiles' | 'selected'>,
): { readonly check: Check; readonly profile: Profile }[] {
  const rules = RULES.filter((r) => r.retired === undefined);
  const plan: { check: Check; profile: Profile }[] = [];
  for (const check of options.checks) {
    if (!check.rules.some((id) => rules.some((r) => r.id === id && options.selected(r)))) continue;
    for (const profile of check.profiles)
      if (options.profiles.includes(profile)) plan.push({ check, profile });
  }
  return plan;
}

export async function runChecks(options: RunOptions): Promise<RunReport> {
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const plan = planExecutions(options);
  // A shard takes every count-th execution of the plan: the same plan in every shard, so
  // the shards together run each execution exactly once.
  const shard = options.shard;
  const mine = plan
    .map((entry, position) => ({ ...entry, position }))
    .filter(({ position }) => shard === undefined || position % shard.count === shard.index - 1);
  options.onProgress?.({ type: 'start', total: mine.length });
  const results: CheckResult[] = [];
  for (const [index, { check, profile, position }] of mine.entries()) {
    options.onProgress?.({
      type: 'check-start',
      index,
      total: mine.length,
      check: check.name,
      profile,
    });
    const result = { ...(await runOne(options, check, profile)), position };
    results.push(result);
    options.onProgress?.({ type: 'check-end', index, total: mine.length, result });
  }
  const planned = new Set(plan.flatMap(({ check }) => check.rules));
  return assembleReport(
    { ...options, planned },
    {
      tool: { name: 'fedconn', version: options.version },
      target: options.target.label,
      profiles: options.profiles,
      seed: options.seed,
      runs: options.runs,
      ...(options.mutant === undefined ? {} : { mutant: options.mutant }),
      ...(shard === undefined ? {} : { shard }),
      strict: options.strict,
      expectedToFail: [...options.expectedToFail],
      startedAt,
      durationMs: Date.now() - started,
    },
    results,
  );
}

/** What a report says of its run besides the verdicts. */
export type RunMeta = Omit<RunReport, 'summary' | 'rules' | 'checks' | 'exitCode'>;

/** Folds check results (of a run, or of merged shards) into rule verdicts and a report. */
export function assembleReport(
  options: VerdictOptions,
  meta: RunMeta,
  results: readonly CheckResult[],
): RunReport {
  const rules = RULES.filter((r) => r.retired === undefined);
  const byRule = new Map<string, CheckResult[]>();
  for (const result of results)
    for (const id of result.rules) byRule.set(id, [...(byRule.get(id) ?? []), result]);
  const ruleResults: RuleResult[] = rules.map((rule) =>
    verdict(rule, byRule.get(rule.id) ?? [], options),
  );
  const summary = Object.fromEntries(
    (['pass', 'fail', 'skip', 'xfail', 'xpass', 'error', 'timeout', 'planned', 'n/a'] as const).map(
      (s) => [s, ruleResults.filter((r) => r.status === s).length],
    ),
  ) as Record<RuleStatus, number>;
  const failing = ruleResults.some(
    (r) =>
      (r.level === 'MUST' || (options.strict && r.level === 'SHOULD')) &&
      (r.status === 'fail' ||
        r.status === 'error' ||
        r.status === 'timeout' ||
        r.status === 'xpass'),
  );
  return {
    ...meta,
    summary,
    rules: ruleResults,
    checks: results,
    // A run in which no rule got a verdict proves nothing: never a green.
    exitCode: failing ? 1 : ruleResults.some((r) => VERDICT_STATUSES.has(r.status)) ? 0 : 4,
  };
}

/** Whether a check runs on the target in `profile`, and if not, its status and why. */
export function planOf(
  target: Target,
  check: Check,
  profile: Profile,
):
  | { readonly runs: true; readonly servers: readonly string[] }
  | { readonly runs: false; readonly status: 'skip' | 'n/a'; readonly reason: string } {
  const applies = applicability(target.roles, exercisedBy(check), profile);
  if (!applies.applies) return { runs: false, status: 'n/a', reason: applies.reason };
  // Only the simulator can move time and show server views; real targets get peers.
  const missing = check.needs?.find((need) => !target.provides.has(need));
  if (missing !== undefined) {
    return {
      runs: false,
      status: 'skip',
      reason: `needs ${missing}, which the ${target.kind} target cannot provide`,
    };
  }
  const resolvesBy = target.resolvesNamesBy;
  if (
    check.needs?.includes('dns') === true &&
    resolvesBy !== undefined &&
    (profile === 'matrix-2014' || profile === 'matrix-current') &&
    profile !== resolvesBy
  ) {
    return {
      runs: false,
      status: 'skip',
      reason: `needs servers that resolve names by ${profile}; the target's resolve by ${resolvesBy} (capabilities.test_network)`,
    };
  }
  return { runs: true, servers: applies.servers };
}

async function runOne(options: RunOptions, check: Check, profile: Profile): Promise<CheckResult> {
  const seed = checkSeed(options.seed, check.name, profile);
  const start = performance.now();
  let iterations = 1;
  const notes: string[] = [];
  const base = { check: check.name, rules: check.rules, profile };
  const plan = planOf(options.target, check, profile);
  if (!plan.runs) {
    return { ...base, status: plan.status, durationMs: 0, iterations: 0, skipReason: plan.reason };
  }
  const phoenix: PhoenixProfile =
    profile === 'multi-device' || profile === 'aliases'
      ? profile
      : (options.target.phoenixProfiles[0] ?? 'multi-device');
  const withNotes = () => (notes.length === 0 ? {} : { notes: [...new Set(notes)] });
  // Members of fixed lists (eachOf) a passing run left untried: the meta-test fails them.
  const untried: string[] = [];
  const timeoutsBefore = options.target.timedOutRequests?.() ?? 0;
  let exchangesOf: (() => readonly Exchange[]) | undefined;
  try {
    await withDeadline(options.timeoutMs, async (signal) => {
      const matrixProfile =
        profile === 'matrix-2014' || profile === 'matrix-current' ? profile : undefined;
      const opened = await options.target.open({
        seed: `${seed}`,
        profile: phoenix,
        ...(matrixProfile === undefined ? {} : { matrixProfile }),
      });
      exchangesOf = opened.exchanges;
      // The check sees the servers that implement what it exercises, in config order.
      const instance = {
        ...opened,
        servers: opened.servers.filter((s) => plan.servers.includes(s.serverName)),
      };
      try {
        await check.run({
          target: options.target,
          instance,
          profile,
          seed,
          runs: options.runs,
          signal,
          iterations: (n) => {
            iterations = n;
          },
          note: (text) => {
            notes.push(text);
          },
          covered: (list, tried) => {
            for (const member of list) if (!tried.has(member)) untried.push(JSON.stringify(member));
          },
        });
      } finally {
        await opened.close();
      }
    });
    return {
      ...base,
      status: 'pass',
      ...(untried.length === 0 ? {} : { untried }),
      durationMs: performance.now() - start,
      iterations,
      ...withNotes(),
    };
  } catch (error) {
    if (error instanceof CheckSkipped) {
      return {
        ...base,
        status: error instanceof CheckNotApplicable ? 'n/a' : 'skip',
        durationMs: performance.now() - start,
        iterations: 0,
        skipReason: error.reason,
      };
    }
    const classified = classify(error);
    // A check that failed after a request to the target went unanswered was judged on
    // silence, not on an answer: that is a timeout, whatever the check made of it.
    const silent =
      classified.status === 'fail' && (options.target.timedOutRequests?.() ?? 0) > timeoutsBefore;
    const { status, message, details } = silent
      ? { ...classified, status: 'timeout' as const }
      : classified;
    const failure: Failure = {
      message,
      ...(details.expected === undefined ? {} : { expected: details.expected }),
      ...(details.actual === undefined ? {} : { actual: details.actual }),
      ...(details.counterexample === undefined ? {} : { counterexample: details.counterexample }),
      ...(details.path === undefined || details.path === '' ? {} : { path: details.path }),
      seed,
      repro: options.repro(check.rules[0], profile, seed),
      ...lastExchanges(exchangesOf?.() ?? []),
    };
    return {
      ...base,
      status,
      durationMs: performance.now() - start,
      iterations,
      failure,
      ...withNotes(),
    };
  }
}

/**
 * How many of the last exchanges a failure keeps: the ones its verdict rests on (a check
 * fails on the answers it has just read), with the steps that led to them.
 */
const KEPT_EXCHANGES = 12;
const lastExchanges = (all: readonly Exchange[]) =>
  all.length === 0 ? {} : { exchanges: all.slice(-KEPT_EXCHANGES) };

function verdict(rule: Rule, results: readonly CheckResult[], options: VerdictOptions): RuleResult {
  const base = {
    id: rule.id,
    level: rule.level,
    family: rule.family,
    roles: rule.roles,
    statement: rule.statement,
  };
  const failures = results.flatMap((r) =>
    r.failure === undefined ? [] : [{ ...r.failure, check: r.check, profile: r.profile }],
  );
  const ran = results.filter((r) => r.status !== 'skip' && r.status !== 'n/a');
  if (!options.selected(rule))
    return { ...base, status: 'skip', checks: 0, failures: [], note: 'not selected' };
  if (rule.planned === true)
    return {
      ...base,
      status: 'planned',
      checks: 0,
      failures: [],
      note: 'no conformance check yet',
    };
  if (!rule.profiles.some((p) => options.profiles.includes(p))) {
    return {
      ...base,
      status: 'skip',
      checks: 0,
      failures: [],
      note: `profiles ${rule.profiles.join(', ')} not selected`,
    };
  }
  if (ran.length === 0) {
    // n/a only when no check of the rule applies; one that applies but cannot run is a skip.
    const skipped = results.find((r) => r.status === 'skip');
    const inapplicable = results.find((r) => r.status === 'n/a');
    if (skipped === undefined && inapplicable !== undefined) {
      return {
        ...base,
        status: 'n/a',
        checks: 0,
        failures: [],
        note: inapplicable.skipReason ?? 'not applicable',
      };
    }
    const reason =
      skipped?.skipReason ??
      (results.length === 0 && options.planned.has(rule.id)
        ? 'its checks ran in other shards (--shard): fedconn merge gives its verdict'
        : 'no check ran');
    return { ...base, status: 'skip', checks: 0, failures: [], note: reason };
  }
  const worst: RuleStatus = ran.some((r) => r.status === 'error')
    ? 'error'
    : ran.some((r) => r.status === 'timeout')
      ? 'timeout'
      : ran.some((r) => r.status === 'fail')
        ? 'fail'
        : 'pass';
  const expected = options.expectedToFail.has(rule.id);
  const status: RuleStatus = expected ? (worst === 'pass' ? 'xpass' : 'xfail') : worst;
  return {
    ...base,
    status,
    checks: ran.length,
    failures,
    ...(expected ? { note: 'expected to fail (--expect)' } : {}),
  };
}

export { MATRIX_PROFILES, PROFILES };
