// The whole conformance suite as `npm start` runs it, timed from outside in a
// child process, with per-family times and property run counts read from the
// report it writes (each check execution records its duration and its runs).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SuiteFamily {
  readonly family: string;
  /** Check executions attributed to the family (by the first rule each check proves). */
  readonly checks: number;
  /** Sum of their durations as the runner measured them. */
  readonly ms: number;
  /** Property runs (or scenario iterations) they performed. */
  readonly runs: number;
}

export interface SuiteCheck {
  readonly check: string;
  readonly profile: string;
  readonly family: string;
  readonly status: string;
  readonly ms: number;
  readonly runs: number;
}

export interface SuiteFigure {
  readonly command: string;
  /** Worker processes the run used (`--workers`). */
  readonly workers: number;
  /** Wall time of the whole command, process start to exit. */
  readonly wallMs: number;
  /** The runner's own total (check executions only, no start-up). */
  readonly runnerMs: number;
  readonly exitCode: number | null;
  readonly summary: Readonly<Record<string, number>>;
  readonly families: readonly SuiteFamily[];
  readonly checks: readonly SuiteCheck[];
}

interface ReportJson {
  readonly durationMs: number;
  readonly summary: Record<string, number>;
  readonly rules: readonly { readonly id: string; readonly family: string }[];
  readonly checks: readonly {
    readonly check: string;
    readonly rules: readonly string[];
    readonly profile: string;
    readonly status: string;
    readonly durationMs: number;
    readonly iterations: number;
  }[];
}

export async function measureSuite(workers: number): Promise<SuiteFigure> {
  const out = mkdtempSync(join(tmpdir(), 'fedconn-bench-'));
  // `npm start` is `node cli/bin.js run --seed 1`; only the report directory and the
  // worker count (by default one per core) are set.
  const args = [
    'cli/bin.js',
    'run',
    '--seed',
    '1',
    '--workers',
    String(workers),
    '--quiet',
    '--out',
    out,
  ];
  try {
    const start = performance.now();
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
      child.on('error', reject);
      child.on('exit', (code) => {
        resolve(code);
      });
    });
    const wallMs = performance.now() - start;
    const report = JSON.parse(readFileSync(join(out, 'conformance.json'), 'utf8')) as ReportJson;
    const familyOf = new Map(report.rules.map((r) => [r.id, r.family]));
    const checks: SuiteCheck[] = report.checks.map((c) => ({
      check: c.check,
      profile: c.profile,
      family: familyOf.get(c.rules[0] ?? '') ?? 'unknown',
      status: c.status,
      ms: c.durationMs,
      runs: c.iterations,
    }));
    const families = new Map<string, { checks: number; ms: number; runs: number }>();
    for (const c of checks) {
      const f = families.get(c.family) ?? { checks: 0, ms: 0, runs: 0 };
      families.set(c.family, { checks: f.checks + 1, ms: f.ms + c.ms, runs: f.runs + c.runs });
    }
    return {
      command: `node ${args.join(' ')}`,
      workers,
      wallMs,
      runnerMs: report.durationMs,
      exitCode,
      summary: report.summary,
      families: [...families].map(([family, f]) => ({ family, ...f })).sort((a, b) => b.ms - a.ms),
      checks,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
