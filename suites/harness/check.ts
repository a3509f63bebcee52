// A conformance check: one executable property or scenario that proves (or
// refutes) one or more rules against a target. Checks name their rules through
// the RuleId type, so a mistyped ID fails the typecheck.
import fc from 'fast-check';
import type { Profile, Role, RuleId } from '../catalog/index.ts';
import type { Target, TargetInstance } from './target.ts';

export interface CheckContext {
  readonly target: Target;
  /** Opened for this execution, in the Phoenix profile this execution uses. */
  readonly instance: TargetInstance;
  readonly profile: Profile;
  /** Seed for every random choice the check makes; the same seed gives the same verdict. */
  readonly seed: number;
  /** Multiplier for property run counts (--runs). */
  readonly runs: number;
  /** Aborted when the check's deadline passes; a check must stop promptly. */
  readonly signal: AbortSignal;
  /** Reports how many iterations (property runs, scenarios) ran. */
  iterations(count: number): void;
  /** Records what this execution could not try, and why; shown beside its verdict. */
  note(text: string): void;
  /**
   * Records how much of a fixed list (`eachOf`) a property run tried: the meta-test
   * fails a check that leaves a member untried. Optional: contexts made by hand skip it.
   */
  covered?(list: readonly unknown[], tried: ReadonlySet<unknown>): void;
}

export type Need =
  | 'virtual-time'
  // Server views: what each server received (from the wire on a real target).
  | 'observer'
  // What each server stored (its rows): only where fedconn runs the server's store.
  | 'stored-rows'
  | 'impostor'
  | 'reference-client'
  | 'dns'
  // TLS certificates as the simulator models them (matrix-2014's key/v1 certificates):
  // a real connection's certificate is the TLS stack's, not one fedconn picks per request.
  | 'modelled-tls';

export interface Check {
  /** What the check proves, in one line, e.g. "responder rejects an expired intermediate". */
  readonly name: string;
  /** The rules this check proves; never empty. */
  readonly rules: readonly [RuleId, ...RuleId[]];
  /** Profiles the check runs under; each must be among its rules' profiles. */
  readonly profiles: readonly Profile[];
  /**
   * What the target must provide beyond its servers (suites/harness/target.ts, `provides`):
   * time that can be moved, server views (received requests; stored rows), peers fedconn runs where the servers can reach
   * them (`impostor`), DNS fedconn controls, modelled TLS certificates (`modelled-tls`),
   * or fedconn's own reference client as the
   * client under test (CLIENT-role rules). Without it the check skips, saying which.
   */
  readonly needs?: readonly Need[];
  /**
   * The roles the check exercises, where fewer than all its rules bind (a FED-KEYS check
   * of a rule that binds FED and IS, judged on federation key documents only).
   */
  readonly roles?: readonly Role[];
  /** Resolves when the rules hold; throws a CheckFailure (or any error) when they do not. */
  readonly run: (ctx: CheckContext) => Promise<void>;
}

export function defineCheck(check: Check): Check {
  return check;
}

/** A rule violation, with what was expected and what the target did. */
export class CheckFailure extends Error {
  constructor(
    message: string,
    readonly details: {
      readonly expected?: string;
      readonly actual?: string;
      readonly counterexample?: string;
      readonly path?: string;
    } = {},
  ) {
    super(message);
    this.name = 'CheckFailure';
  }
}

/**
 * Thrown by a check whose rule is optional and which the target does not declare it
 * implements: the runner reports `skip` with the reason, never `pass`.
 */
/**
 * Thrown when fedconn's own means fail (a driver, a client driver process): an `error`
 * with the message, never a verdict, even when it happens inside a property run.
 */
export class SetupFailed extends Error {}

export class CheckSkipped extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'CheckSkipped';
  }
}

/**
 * Thrown by a check that finds, on the target, that its rule does not apply there (an
 * identity server that does not offer the optional `none` algorithm): `n/a`, not skip.
 */
export class CheckNotApplicable extends CheckSkipped {
  constructor(reason: string) {
    super(reason);
    this.name = 'CheckNotApplicable';
  }
}

function show(value: unknown): string {
  if (typeof value === 'string') return value;
  // JSON.stringify yields undefined for undefined and functions, whatever its type says.
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) as
    string | undefined;
  return text ?? String(value);
}

/** Fails unless `condition`; `expected` and `actual` describe the two sides. */
export function expectThat(
  condition: boolean,
  message: string,
  expected: unknown,
  actual: unknown,
): asserts condition {
  if (!condition)
    throw new CheckFailure(message, { expected: show(expected), actual: show(actual) });
}

export function expectEqual<T>(actual: T, expected: T, message: string): void {
  if (show(actual) !== show(expected))
    throw new CheckFailure(message, { expected: show(expected), actual: show(actual) });
}

const FIXED_LIST = Symbol('fixed list');

/**
 * The members of a fixed list (defects, corruptions, variants) as an arbitrary that
 * checkProperty tries in full: every member at least once in every run, whatever the
 * seed, before the random runs. A list sampled a few draws at a time would leave a defect
 * untried for many seeds in a row, and a server with exactly that bug would pass.
 */
export function eachOf<T>(...list: readonly T[]): fc.Arbitrary<T> {
  if (list.length === 0) throw new Error('eachOf: an empty list');
  return Object.assign(fc.constantFrom(...list), { [FIXED_LIST]: list });
}

const fixedListOf = (arbitrary: fc.Arbitrary<unknown>): readonly unknown[] | undefined =>
  (arbitrary as { [FIXED_LIST]?: readonly unknown[] })[FIXED_LIST];

/**
 * Runs a fast-check property with the check's seed and scaled run count. A
 * failure becomes a CheckFailure carrying the shrunk counterexample and the
 * path that replays it. Arguments drawn by `eachOf` go through every member of
 * their list first (fast-check examples, the other arguments drawn from the seed),
 * then the scaled number of random runs.
 */
export async function checkProperty<Ts extends [unknown, ...unknown[]]>(
  ctx: CheckContext,
  arbitraries: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> },
  predicate: (...args: Ts) => Promise<void>,
  options: {
    readonly numRuns: number;
    readonly path?: string;
    /** Draw `eachOf` lists at random like any list (only to show the meta-test failing). */
    readonly sampleFixedLists?: boolean;
  },
): Promise<void> {
  const arbs = arbitraries as readonly fc.Arbitrary<unknown>[];
  const lists = arbs.map(fixedListOf);
  const longest = Math.max(0, ...lists.map((l) => l?.length ?? 0));
  const examples =
    // Kept with a replay path too: the path counts the examples among the runs.
    options.sampleFixedLists === true
      ? []
      : Array.from({ length: longest }, (_, i) =>
          arbs.map((a, k) => {
            const list = lists[k];
            return list === undefined
              ? fc.sample(a, { seed: ctx.seed + i, numRuns: 1 })[0]
              : list[i % list.length];
          }),
        );
  const tried = lists.map(() => new Set<unknown>());
  const recording = async (...args: Ts) => {
    args.forEach((arg, k) => {
      if (lists[k] !== undefined) tried[k]?.add(arg);
    });
    await predicate(...args);
  };
  const numRuns = Math.max(1, Math.round(options.numRuns * ctx.runs)) + examples.length;
  const details = await fc.check(fc.asyncProperty(...arbitraries, recording), {
    seed: ctx.seed,
    numRuns,
    ...(examples.length === 0 ? {} : { examples: examples as Ts[] }),
    ...(options.path === undefined ? {} : { path: options.path, endOnFailure: true }),
  });
  lists.forEach((list, k) => {
    if (list !== undefined) ctx.covered?.(list, tried[k] ?? new Set());
  });
  ctx.iterations(details.numRuns);
  if (!details.failed) return;
  const cause = details.errorInstance;
  // A precondition the target cannot meet, found inside a run, is a skip, not a failure.
  if (cause instanceof CheckSkipped) throw cause;
  // So is a failure of fedconn's own means: an error, not a counterexample.
  if (cause instanceof SetupFailed) throw cause;
  const inner = cause instanceof CheckFailure ? cause : undefined;
  throw new CheckFailure(
    inner?.message ?? (cause instanceof Error ? cause.message : 'property failed'),
    {
      ...(inner?.details.expected === undefined ? {} : { expected: inner.details.expected }),
      ...(inner?.details.actual === undefined ? {} : { actual: inner.details.actual }),
      counterexample: fc.stringify(details.counterexample),
      path: details.counterexamplePath ?? '',
    },
  );
}
