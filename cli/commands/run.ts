// `fedconn run`: runs the conformance checks against a target, shows progress,
// prints a verdict per family and every failure, and writes the reports.
import { curlOf } from '../../simulator/net/exchanges.ts';
import { existsSync, readFileSync } from 'node:fs';
import pc from 'picocolors';
import { z } from 'zod';
import {
  FAMILY_INFO,
  PROFILES,
  RULES,
  type Profile,
  type Rule,
} from '../../suites/catalog/index.ts';
import { CHECKS } from '../../suites/registry.ts';
import { findMutant, MUTANTS } from '../../suites/mutants.ts';
import { RULE_STATUSES, type RuleStatus, type RunReport } from '../../suites/harness/report.ts';
import {
  planExecutions,
  planOf,
  runChecks,
  type ProgressEvent,
  type Shard,
} from '../../suites/harness/runner.ts';
import {
  httpTarget,
  openHttpTarget,
  simTarget,
  withClientUnderTest,
  type Target,
} from '../../suites/harness/target.ts';
import { CLIENT_NAMES, isClientName } from '../../suites/harness/clients/index.ts';
import { plannedClient, startClient } from '../../suites/harness/clients/start.ts';
import { readClientDriverConfig } from '../../suites/harness/clients/driven.ts';
import {
  ContainerTargetError,
  startContainerTarget,
} from '../../suites/harness/container-target.ts';
import { readTargetConfig } from '../../simulator/serve/target-config.ts';
import { ALL_SERVICES } from '../../simulator/services/index.ts';
import { NetworkError } from '../../simulator/net/transport.ts';
import { writeReports } from '../../reports/write.ts';
import { EXIT, UsageError, type Io } from '../io.ts';
import { runInWorkers } from './workers.ts';
import { availableParallelism } from 'node:os';

export const VERSION = '0.1.0';

export interface RunCommandOptions {
  readonly target?: string;
  readonly config?: string;
  readonly image?: string;
  readonly profile?: readonly string[];
  readonly rules?: readonly string[];
  readonly skip?: readonly string[];
  readonly list?: boolean;
  readonly json?: boolean;
  readonly seed?: string;
  readonly runs?: string;
  readonly timeout?: string;
  readonly requestTimeout?: string;
  readonly expect?: string;
  readonly strict?: boolean;
  readonly mutant?: string;
  /** `K/N`: run only shard K of N of the plan (fedconn merge puts them together). */
  readonly shard?: string;
  /** The client under test, judged instead of the servers (CLIENT_NAMES). */
  readonly client?: string;
  readonly out?: string;
  readonly quiet?: boolean;
  /** Print every kept exchange of each failure, not only the last few. */
  readonly verbose?: boolean;
  /** Child processes to run the checks in (sim target; default: one per core). */
  readonly workers?: string;
  /** Progress as JSON lines on stdout, and no summary: a worker's output (hidden). */
  readonly events?: boolean;
}

/** Rule patterns are IDs or ID prefixes (CRED-CHAIN, CRED-CHAIN-0); each must match a rule. */
function matcher(
  option: string,
  patterns: readonly string[] | undefined,
): ((rule: Rule) => boolean) | undefined {
  if (patterns === undefined || patterns.length === 0) return undefined;
  const upper = patterns.map((p) => p.trim().toUpperCase()).filter((p) => p !== '');
  for (const p of upper) {
    if (!RULES.some((r) => r.id.startsWith(p))) {
      throw new UsageError(
        `--${option}: "${p}" matches no rule ID or prefix (see \`fedconn rules\`)`,
      );
    }
  }
  return (rule) => upper.some((p) => rule.id.startsWith(p));
}

function number(
  option: string,
  text: string | undefined,
  fallback: number,
  valid: (n: number) => boolean,
): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || !valid(n)) throw new UsageError(`--${option}: "${text}" is not valid`);
  return n;
}

const expectSchema = z.record(z.string(), z.string().min(1, 'give a reason'));

/** --expect FILE: a JSON object mapping rule IDs or prefixes to the reason they are known to fail. */
function readExpectations(path: string | undefined): Set<string> {
  if (path === undefined) return new Set();
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`--expect: cannot read ${path}: ${(error as Error).message}`);
  }
  const parsed = expectSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(
      `--expect: ${path}: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'} (expected {"RULE-ID": "reason"})`,
    );
  }
  const match = matcher('expect', Object.keys(parsed.data));
  return new Set(match === undefined ? [] : RULES.filter(match).map((r) => r.id));
}

/** A target ready to run against, and how to let go of it (stop its container). */
interface Acquired {
  readonly target: Target;
  readonly release: () => Promise<void>;
}

interface Prepared {
  /** How the plan and reports name the target before it is acquired. */
  readonly label: string;
  /** The target as far as it is known without starting anything (not a container's). */
  readonly planned: Target | undefined;
  readonly acquire: () => Promise<Acquired>;
  readonly targetArgs: string;
  readonly profiles: readonly Profile[];
  readonly selected: (rule: Rule) => boolean;
  readonly seed: number;
  readonly runs: number;
  readonly timeoutMs: number;
  readonly expected: Set<string>;
  readonly shard: Shard | undefined;
}

function prepare(options: RunCommandOptions, io: Io): Prepared {
  const kind = options.target ?? 'sim';
  const requested = options.profile ?? [];
  const profiles: Profile[] = requested.length === 0 ? [...PROFILES] : [];
  for (const name of requested) {
    const profile = PROFILES.find((known) => known === name);
    if (profile === undefined) {
      throw new UsageError(
        `--profile: unknown profile "${name}"; expected one of: ${PROFILES.join(', ')}`,
      );
    }
    profiles.push(profile);
  }
  const include = matcher('rules', options.rules);
  const exclude = matcher('skip', options.skip);
  const selected = (rule: Rule) =>
    (include === undefined || include(rule)) && !(exclude?.(rule) ?? false);
  const seed = number('seed', options.seed, Math.floor(Math.random() * 2 ** 31), (n) =>
    Number.isSafeInteger(n),
  );
  const runs = number('runs', options.runs, 1, (n) => n > 0 && n <= 1000);
  const timeoutMs = number('timeout', options.timeout, 60_000, (n) => n >= 100);
  // Well inside the check's deadline, so a request that is never answered becomes a
  // verdict of its own check rather than eating the deadline of every check after it.
  const requestTimeoutMs = number(
    'request-timeout',
    options.requestTimeout,
    Math.min(10_000, Math.floor(timeoutMs / 3)),
    (n) => n >= 50 && n <= timeoutMs,
  );
  const mutant = options.mutant === undefined ? undefined : findMutant(options.mutant);
  if (options.mutant !== undefined && mutant === undefined) {
    throw new UsageError(
      `--mutant: unknown mutant "${options.mutant}"; see \`fedconn mutants --list\``,
    );
  }
  // sim and http targets need no setup; a container is started only once the run begins.
  const ready = (target: Target) => ({
    label: target.label,
    planned: target,
    acquire: () => Promise.resolve({ target, release: () => target.close() }),
  });
  let how: Pick<Prepared, 'label' | 'acquire' | 'planned'>;
  if (options.config !== undefined && kind !== 'http') {
    throw new UsageError(
      kind === 'container'
        ? '--config is for --target http; with --target container the image writes its own config'
        : '--config is for --target http: without it fedconn tests its own simulator, not the servers in the config (add --target http)',
    );
  }
  if (options.image !== undefined && kind !== 'container')
    throw new UsageError('--image is for --target container');
  let targetArgs: string;
  switch (kind) {
    case 'sim':
      how = ready(
        simTarget({
          services: ALL_SERVICES,
          mutants: mutant === undefined ? [] : [mutant.name],
        }),
      );
      targetArgs = `--target sim${mutant === undefined ? '' : ` --mutant ${mutant.name}`}`;
      break;
    case 'http': {
      if (options.config === undefined)
        throw new UsageError('--target http needs --config FILE (as written by `fedconn serve`)');
      if (mutant !== undefined) throw new UsageError('--mutant works only with --target sim');
      const config = readTargetConfig(options.config);
      if (!config.ok) throw new UsageError(config.error.message);
      const http = { timeoutMs: requestTimeoutMs, label: `http (${options.config})` };
      how = {
        label: http.label,
        // The plan needs nothing started; the run gets fedconn's own homeservers beside
        // a target that declares a single one of a Phoenix profile.
        planned: httpTarget(config.value, http),
        acquire: async () => {
          const target = await openHttpTarget(config.value, {
            ...http,
            services: ALL_SERVICES,
            log: io.err,
          });
          return { target, release: () => target.close() };
        },
      };
      targetArgs = `--target http --config ${options.config}`;
      break;
    }
    case 'container': {
      const image = options.image;
      if (image === undefined || image === '')
        throw new UsageError(
          '--target container needs --image NAME (build the reference image with `npm run image`)',
        );
      if (mutant !== undefined) throw new UsageError('--mutant works only with --target sim');
      how = {
        label: `container ${image}`,
        planned: undefined,
        acquire: async () => {
          const started = await startContainerTarget({
            image,
            requestTimeoutMs,
            log: io.err,
          });
          return {
            target: started.target,
            release: async () => {
              await started.target.close();
              await started.stop();
            },
          };
        },
      };
      targetArgs = `--target container --image ${image}`;
      break;
    }
    default:
      throw new UsageError(`--target: unknown target "${kind}"; expected sim, http or container`);
  }
  const client = options.client;
  if (client !== undefined) {
    if (!isClientName(client)) {
      if (!existsSync(client))
        throw new UsageError(
          `--client: "${client}" is neither a client fedconn knows (${CLIENT_NAMES.join(', ')}) nor a client driver config file`,
        );
      try {
        readClientDriverConfig(client);
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
    }
    // The client is judged against the servers the target gives it, the reference's by default.
    const acquire = how.acquire;
    how = {
      label: `${client} (client under test) against ${how.label}`,
      planned:
        how.planned === undefined
          ? undefined
          : withClientUnderTest(how.planned, plannedClient(client)),
      acquire: async () => {
        const acquired = await acquire();
        try {
          const chosen = await startClient(
            client,
            new Set(mutant === undefined ? [] : [mutant.name]),
          );
          return {
            target: withClientUnderTest(acquired.target, chosen),
            release: async () => {
              try {
                await chosen.close();
              } finally {
                await acquired.release();
              }
            },
          };
        } catch (error) {
          await acquired.release();
          throw error;
        }
      },
    };
    targetArgs = `${targetArgs} --client ${client}`;
  }
  return {
    ...how,
    targetArgs,
    shard: parseShard(options.shard),
    profiles,
    selected,
    seed,
    runs,
    timeoutMs,
    expected: readExpectations(options.expect),
  };
}

interface PlannedRule {
  readonly id: string;
  readonly level: string;
  readonly status: 'will run' | 'skip' | 'n/a' | 'planned';
  readonly why?: string;
  readonly checks: readonly string[];
}

/** What a run would do with each selected rule, on a target known without starting it. */
function planRules(p: Prepared): PlannedRule[] {
  return RULES.filter(
    (r) =>
      r.retired === undefined && p.selected(r) && r.profiles.some((x) => p.profiles.includes(x)),
  ).map((r) => {
    const checks = CHECKS.filter((c) => c.rules.includes(r.id));
    const base = { id: r.id, level: r.level, checks: checks.map((c) => c.name) };
    if (r.planned === true) return { ...base, status: 'planned', why: 'no conformance check yet' };
    const target = p.planned;
    if (target === undefined) return { ...base, status: 'will run' };
    const plans = checks.flatMap((c) =>
      c.profiles.filter((x) => p.profiles.includes(x)).map((x) => planOf(target, c, x)),
    );
    if (plans.some((x) => x.runs)) return { ...base, status: 'will run' };
    const skipped = plans.find((x) => !x.runs && x.status === 'skip');
    const first = skipped ?? plans[0];
    const why = first !== undefined && !first.runs ? first.reason : 'no check in these profiles';
    return { ...base, status: skipped === undefined ? 'n/a' : 'skip', why };
  });
}

function listPlan(p: Prepared, io: Io, json: boolean): number {
  const rows = planRules(p);
  if (json) {
    io.out(`${JSON.stringify({ target: p.label, profiles: p.profiles, rules: rows }, null, 2)}\n`);
  } else {
    for (const r of rows)
      io.out(
        `${r.id.padEnd(16)} ${r.level.padEnd(6)} ${r.status.padEnd(9)} ${r.why ?? r.checks.join('; ')}\n`,
      );
    const count = (s: PlannedRule['status']) => rows.filter((r) => r.status === s).length;
    io.out(
      `${rows.length} rules: ${count('will run')} would run, ${count('skip')} skip, ${count('n/a')} n/a, ${count('planned')} planned.\n`,
    );
    if (p.planned === undefined)
      io.out('The container is not started for --list: what applies is known once it runs.\n');
    else if (p.planned.kind !== 'sim')
      io.out(
        'A check that would run may still skip when a driver lacks a verb it needs; the run says which.\n',
      );
  }
  return EXIT.ok;
}

const STATUS_COLOUR: Record<RuleStatus, (s: string) => string> = {
  pass: pc.green,
  fail: pc.red,
  xfail: pc.yellow,
  xpass: pc.magenta,
  error: pc.red,
  timeout: pc.red,
  skip: pc.dim,
  'n/a': pc.dim,
  planned: pc.dim,
};

function progress(io: Io, quiet: boolean): (e: ProgressEvent) => void {
  const start = performance.now();
  const elapsed = () => `${((performance.now() - start) / 1000).toFixed(1)}s`;
  const tty = io.columns !== undefined;
  return (e) => {
    if (quiet) return;
    if (e.type === 'start') io.out(`running ${e.total} check executions\n`);
    if (e.type === 'check-start' && tty) {
      io.out(
        `\r\x1b[2K[${e.index + 1}/${e.total}] ${elapsed()} ${e.check} (${e.profile})`.slice(
          0,
          io.columns + 8,
        ),
      );
    }
    if (e.type === 'check-end') {
      const r = e.result;
      const line = `[${e.index + 1}/${e.total}] ${elapsed()} ${r.status.padEnd(7)} ${r.rules.join(',')} ${r.check} (${r.profile}) ${r.durationMs.toFixed(0)}ms`;
      if (tty) {
        io.out('\r\x1b[2K');
        if (r.status !== 'pass') io.out(`${line}\n`);
      } else {
        io.out(`${line}\n`);
      }
    }
  };
}

/** How many exchanges a failure prints without --verbose: the answers its verdict rests on. */
const SHOWN_EXCHANGES = 4;

export function renderSummary(report: RunReport, verbose = false): string {
  const lines: string[] = [];
  const head = ['family', ...RULE_STATUSES]
    .map((h, i) => (i === 0 ? h.padEnd(14) : h.padStart(8)))
    .join('');
  lines.push('', pc.bold(head));
  for (const family of FAMILY_INFO) {
    const rules = report.rules.filter((r) => r.family === family.id);
    if (rules.length === 0) continue;
    const cells = RULE_STATUSES.map((s) => {
      const n = rules.filter((r) => r.status === s).length;
      return (n === 0 ? pc.dim : STATUS_COLOUR[s])(String(n).padStart(8));
    });
    lines.push(family.id.padEnd(14) + cells.join(''));
  }
  const failed = report.rules.filter((r) => r.failures.length > 0);
  const xpassed = report.rules.filter((r) => r.status === 'xpass');
  if (xpassed.length > 0) {
    lines.push(
      '',
      pc.bold('Expected to fail, but passed (xpass): remove them from the expectations'),
    );
    for (const rule of xpassed)
      lines.push(
        `${STATUS_COLOUR.xpass('XPASS')} ${pc.bold(rule.id)} (${rule.level}) ${rule.statement}`,
      );
  }
  if (failed.length > 0) lines.push('', pc.bold('Failures'));
  for (const rule of failed) {
    lines.push(
      '',
      `${STATUS_COLOUR[rule.status](rule.status.toUpperCase())} ${pc.bold(rule.id)} (${rule.level}) ${rule.statement}`,
    );
    for (const f of rule.failures) {
      lines.push(`  check:    ${f.check} [${f.profile}]`, `  what:     ${f.message}`);
      if (f.expected !== undefined) lines.push(`  expected: ${f.expected}`);
      if (f.actual !== undefined) lines.push(`  actual:   ${f.actual}`);
      if (f.counterexample !== undefined) lines.push(`  counterexample: ${f.counterexample}`);
      lines.push(`  repro:    ${f.repro}`);
      // The last few by default: the answers the verdict rests on; --verbose, all kept.
      const kept = f.exchanges ?? [];
      const shown = verbose ? kept : kept.slice(-SHOWN_EXCHANGES);
      if (shown.length < kept.length)
        lines.push(
          `  wire:     (${kept.length - shown.length} earlier exchanges: --verbose, or report.html)`,
        );
      for (const exchange of shown) {
        lines.push(`  wire:     ${curlOf(exchange).replace(/\n/g, '\n            ')}`);
      }
    }
  }
  const s = report.summary;
  lines.push(
    '',
    `${report.rules.length} rules: ${RULE_STATUSES.map((k) => `${s[k]} ${k}`).join(', ')}. Seed ${report.seed}, ${(report.durationMs / 1000).toFixed(1)}s.`,
  );
  if (s['n/a'] > 0)
    lines.push(
      pc.dim(
        `${s['n/a']} rules are n/a: they do not apply to this target (conformance.json gives each reason).`,
      ),
    );
  if (report.exitCode === 4)
    lines.push(
      pc.yellow(
        'No rule got a verdict: everything selected was skipped or not applicable. Check the target config (roles, drivers) and --rules/--profile.',
      ),
    );
  if (s.planned > 0)
    lines.push(
      pc.yellow(
        `${s.planned} rules are planned: no conformance check exists for them yet, so they are unchecked.`,
      ),
    );
  return `${lines.join('\n')}\n`;
}

export async function runCommand(options: RunCommandOptions, io: Io): Promise<number> {
  const p = prepare(options, io);
  if (options.list === true) return listPlan(p, io, options.json === true);
  const workers = workerCount(options, p);
  if (workers > 1) {
    const ran = await runInWorkers({
      args: workerArgs(options, p.seed),
      count: workers,
      onProgress: progress(io, options.quiet === true),
      io,
    });
    return typeof ran === 'number' ? ran : present(ran, options, io, ` (${workers} workers)`);
  }
  let acquired: Acquired;
  try {
    acquired = await p.acquire();
  } catch (error) {
    if (!(error instanceof ContainerTargetError)) throw error;
    // A wrong image name is the user's to fix (exit 2); no engine, or a container
    // that never became ready, leaves the target unreachable (exit 3).
    if (error.problem === 'image') throw new UsageError(error.message);
    io.err(`fedconn: target unreachable: ${error.message}\n`);
    return EXIT.unreachable;
  }
  try {
    return await runAgainst(acquired.target, p, options, io);
  } finally {
    await acquired.release();
  }
}

async function runAgainst(
  target: Target,
  p: Prepared,
  options: RunCommandOptions,
  io: Io,
): Promise<number> {
  if (target.kind !== 'sim') {
    const unreachable = await probe(target);
    if (unreachable !== undefined) {
      io.err(`fedconn: target unreachable: ${unreachable}\n`);
      return EXIT.unreachable;
    }
  }
  const mutant = options.mutant;
  const report = await runChecks({
    target,
    checks: CHECKS,
    profiles: p.profiles,
    seed: p.seed,
    runs: p.runs,
    timeoutMs: p.timeoutMs,
    selected: p.selected,
    expectedToFail: p.expected,
    strict: options.strict === true,
    ...(mutant === undefined ? {} : { mutant }),
    repro: (rule, profile) =>
      `npx fedconn run ${p.targetArgs} --profile ${profile} --rules ${rule} --seed ${p.seed}${p.runs === 1 ? '' : ` --runs ${p.runs}`}`,
    onProgress: options.events === true ? events(io) : progress(io, options.quiet === true),
    version: VERSION,
    ...(p.shard === undefined ? {} : { shard: p.shard }),
  });
  return present(report, options, io);
}

/** Prints the summary (unless quiet, or a worker), writes the reports; the exit code. */
function present(report: RunReport, options: RunCommandOptions, io: Io, how = ''): number {
  const quiet = options.quiet === true || options.events === true;
  if (!quiet) io.out(renderSummary(report, options.verbose === true));
  const paths = writeReports(report, options.out ?? 'reports/out');
  if (!quiet) io.out(`reports: ${paths.json}, ${paths.junit}, ${paths.html}${how}\n`);
  return report.exitCode;
}

/** Returns why the target cannot be reached, or undefined when every server answers. */
async function probe(target: Target): Promise<string | undefined> {
  const instance = await target.open({
    seed: 'probe',
    profile: target.phoenixProfiles[0] ?? 'multi-device',
  });
  for (const server of instance.servers) {
    try {
      const response = await instance.transport(
        new Request(`${server.origin}/_matrix/key/v2/server`),
      );
      // It answered: reachable. A body that then breaks off is for its rules to judge.
      await response.body?.cancel().catch(() => undefined);
    } catch (error) {
      // A server that accepts but does not answer is reachable: its rules will time out.
      if (error instanceof NetworkError && error.kind === 'timeout') continue;
      return `${server.serverName} at ${server.origin}: ${(error as Error).message}`;
    }
  }
  return undefined;
}

export { MUTANTS };

/** `K/N` (1 <= K <= N <= 1000), or undefined for a whole run. */
function parseShard(text: string | undefined): Shard | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (m === null || index < 1 || count < 1 || index > count || count > 1000)
    throw new UsageError(`--shard: expected K/N with 1 <= K <= N (such as 2/4), got "${text}"`);
  return { index, count };
}

/** Progress as JSON lines, for the parent of a worker (cli/commands/workers.ts). */
function events(io: Io): (e: ProgressEvent) => void {
  return (e) => {
    if (e.type === 'start') io.out(`${JSON.stringify({ type: 'start', total: e.total })}\n`);
    if (e.type === 'check-end')
      io.out(`${JSON.stringify({ type: 'check-end', result: e.result })}\n`);
  };
}

/** Fewer executions than this per worker are not worth a process (about a second to start). */
const EXECUTIONS_PER_WORKER = 16;

/**
 * How many workers run the checks (all but one in child processes). Against the
 * simulator, one per core by default (fewer for a small selection); against real servers
 * always one: a server under test would meet several runs at once, and the race checks,
 * request timeouts and the test network expect one client of fedconn's at a time.
 */
function workerCount(options: RunCommandOptions, p: Prepared): number {
  const kind = options.target ?? 'sim';
  if (options.workers !== undefined) {
    const n = Number(options.workers);
    if (!Number.isInteger(n) || n < 1 || n > 64)
      throw new UsageError(`--workers: expected an integer from 1 to 64, got "${options.workers}"`);
    if (n > 1 && kind !== 'sim')
      throw new UsageError(
        `--workers ${n}: only the sim target runs in several workers; servers under test are judged by one`,
      );
    if (n > 1 && p.shard !== undefined)
      throw new UsageError(`--workers ${n} with --shard: a shard runs in one worker`);
    // More workers than executions would start processes with nothing to run.
    return Math.max(1, Math.min(n, planExecutions({ checks: CHECKS, ...p }).length));
  }
  if (kind !== 'sim' || p.shard !== undefined || options.events === true) return 1;
  const executions = planExecutions({ checks: CHECKS, ...p }).length;
  return Math.max(
    1,
    Math.min(availableParallelism(), Math.floor(executions / EXECUTIONS_PER_WORKER)),
  );
}

/** The run's own options as a worker's arguments, with the seed fixed. */
function workerArgs(options: RunCommandOptions, seed: number): string[] {
  const args = ['--seed', String(seed)];
  const one = (flag: string, value: string | undefined) => {
    if (value !== undefined) args.push(flag, value);
  };
  const many = (flag: string, values: readonly string[] | undefined) => {
    if (values !== undefined && values.length > 0) args.push(flag, values.join(','));
  };
  one('--target', options.target);
  many('--profile', options.profile);
  many('--rules', options.rules);
  many('--skip', options.skip);
  one('--runs', options.runs);
  one('--timeout', options.timeout);
  one('--request-timeout', options.requestTimeout);
  one('--expect', options.expect);
  if (options.strict === true) args.push('--strict');
  one('--mutant', options.mutant);
  one('--client', options.client);
  return args;
}
