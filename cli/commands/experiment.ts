// `fedconn experiment FILE`: runs a privacy experiment on the simulator and writes, in one
// directory: the resolved experiment (with fedconn's version and the seeds), the observed
// servers' views and the ground truth as JSON lines and Parquet, the measures as CSV, a
// report.html, and the command that reproduces the run (docs/experiments.md).
//
// With --workers N the worlds are split among N child processes (`--shard K/N`, each
// writing its worlds' files apart); the parent joins them in run order, so the outputs
// are those of one process, byte for byte.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ExperimentFileError,
  readExperiment,
  seedsOf,
  sweepPoints,
  type Experiment,
} from '../../experiments/schema.ts';
import { jobsOf, measureJobs, runJobs, type Job, type JobGuesses } from '../../experiments/run.ts';
import type { AttackMeasures, Interval } from '../../experiments/measures.ts';
import { viewRows, truthRows } from '../../experiments/export.ts';
import { writeParquet } from '../../experiments/parquet.ts';
import { activityOf, measuresCsv, reportHtml } from '../../experiments/report.ts';
import { activitySpec, advantageSpec, linksSpec, renderSvg } from '../../experiments/figures.ts';
import { loadAttack } from '../../experiments/attacks/index.ts';
import { EXIT, UsageError, type Io } from '../io.ts';
import { VERSION } from './run.ts';

const BIN = fileURLToPath(new URL('../bin.js', import.meta.url));

export interface ExperimentCommandOptions {
  readonly out?: string;
  readonly quiet?: boolean;
  /** Child processes to run the worlds in (default: one per core for worlds of 100 users or more). */
  readonly workers?: string;
  /** Internal: run shard K of N, writing each world's files apart (a worker). */
  readonly shard?: string;
}

type Activity = ReturnType<typeof activityOf>;

/** What one job leaves besides its views and truth: its guesses, and the first one's activity. */
interface JobRecord extends JobGuesses {
  readonly activity?: Activity;
}

/** The first world's activity goes with its guesses, for the report's second figure. */
const recordOf = (r: JobGuesses, activities: ReadonlyMap<number, Activity>): JobRecord => {
  const activity = activities.get(r.job.index);
  return activity === undefined ? r : { ...r, activity };
};

const jsonl = (rows: Iterable<unknown>) => {
  let text = '';
  for (const row of rows) text += `${JSON.stringify(row)}\n`;
  return text;
};

export async function experimentCommand(
  file: string,
  options: ExperimentCommandOptions,
  io: Io,
): Promise<number> {
  let e: Experiment;
  try {
    e = readExperiment(file);
  } catch (error) {
    if (error instanceof ExperimentFileError) throw new UsageError(error.message);
    throw error;
  }
  // Every attack loads before the first world, so a module that does not is a usage error.
  const names = [...new Set(sweepPoints(e).flatMap((p) => p.experiment.attacks))];
  let attacks;
  try {
    attacks = await Promise.all(names.map((name) => loadAttack(name, file)));
  } catch (error) {
    throw new UsageError(`${file}: ${(error as Error).message}`);
  }
  const jobs = jobsOf(e);
  const dir = options.out ?? join('reports', 'experiments', e.name);
  mkdirSync(dir, { recursive: true });

  if (options.shard !== undefined) return runShard(e, file, options.shard, dir, io);

  const workers = workerCount(options.workers, jobs.length, e);
  const command = `npx fedconn experiment ${file} --out ${dir}`;
  writeFileSync(
    join(dir, 'experiment.json'),
    `${JSON.stringify(
      {
        fedconn: VERSION,
        command,
        file,
        experiment: e,
        points: sweepPoints(e).map((p) => ({
          parameters: p.parameters,
          seeds: seedsOf(p.experiment),
        })),
      },
      null,
      2,
    )}\n`,
  );
  for (const name of ['views.jsonl', 'truth.jsonl']) writeFileSync(join(dir, name), '');
  const progress = progressBar(io, options.quiet === true, jobs.length);
  const records: JobRecord[] = [];
  const activities = new Map<number, Activity>();
  if (workers <= 1) {
    await runJobs(e, {
      file,
      onWorld: (job, world) => {
        appendFileSync(join(dir, 'views.jsonl'), jsonl(viewRows(job.point, world)));
        appendFileSync(join(dir, 'truth.jsonl'), jsonl(truthRows(job.point, world)));
        if (job.index === 0) activities.set(0, activityOf(world));
      },
      onGuesses: (r) => records.push(recordOf(r, activities)),
      onProgress: () => {
        progress.world();
      },
    });
  } else {
    const joined = await runWorkers(file, dir, jobs, workers, io, () => {
      progress.world();
    });
    if (typeof joined === 'number') return joined;
    records.push(...joined);
  }
  progress.end();
  const results = measureJobs(e, records);
  await writeParquet(dir);
  writeFileSync(join(dir, 'measures.csv'), measuresCsv(e, results));
  const figures: string[] = [];
  for (const spec of [advantageSpec(e, results), linksSpec(e, results)])
    if (spec !== undefined) figures.push(await renderSvg(spec));
  const first = records.find((r) => r.activity !== undefined);
  if (first?.activity !== undefined && first.activity.length > 0)
    figures.push(
      await renderSvg(
        activitySpec(first.activity, `point ${first.job.point}, seed ${first.job.seed}`),
      ),
    );
  writeFileSync(join(dir, 'report.html'), reportHtml(e, results, command, attacks, figures));
  for (const point of results) {
    for (const { attack, measures: m } of point.attacks) {
      const at = Object.entries(point.parameters)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(' ');
      io.out(`${attack}${at === '' ? '' : ` [${at}]`}: ${summary(m)}\n`);
    }
  }
  io.out(
    `written: ${relative('.', dir) || '.'}/ (experiment.json, views and truth as .jsonl and .parquet, measures.csv, report.html)${workers > 1 ? `, ${workers} workers` : ''}\nreproduce: ${command}\n`,
  );
  return EXIT.ok;
}

const interval = (i: Interval) =>
  `${i.value.toFixed(3)} (95% CI ${i.low.toFixed(3)} to ${i.high.toFixed(3)})`;

/** One line per attack and point: the advantage of its guesses, the precision and recall of its links. */
function summary(m: AttackMeasures): string {
  const parts = [];
  if (m.trials > 0)
    parts.push(
      `advantage ${interval(m.advantage)}, success ${m.success.value.toFixed(3)} against chance ${m.baseline.toFixed(3)}, ${m.trials} guesses`,
    );
  if (m.links !== undefined)
    parts.push(
      `links: ${m.links.inferred === 0 ? 'none inferred' : `precision ${interval(m.links.precision)} of ${m.links.inferred} inferred (chance ${m.links.chance.toFixed(3)})`}, recall ${interval(m.links.recall)} of ${m.links.truth} connections`,
    );
  return parts.length === 0 ? 'no guesses and no links' : parts.join('; ');
}

/**
 * Small worlds run faster in one process: a worker takes over a second to start, and two
 * on two cores slow each other down (alias-linkage, 8 users a world: 8 s in one process,
 * 12 s in two). Large ones gain (1,000 users a world: 159 s in one, 89 s in two).
 */
const USERS_FOR_WORKERS = 100;

function workerCount(requested: string | undefined, jobs: number, e: Experiment): number {
  if (requested === undefined) {
    const users = e.population.homeservers * e.population.users_per_server;
    return users < USERS_FOR_WORKERS ? 1 : Math.max(1, Math.min(availableParallelism(), jobs));
  }
  const n = Number(requested);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--workers: "${requested}" is not a positive integer`);
  return Math.min(n, jobs);
}

/** A worker: its share of the jobs (every N-th from K), each job's files apart. */
async function runShard(
  e: Experiment,
  file: string,
  shard: string,
  dir: string,
  io: Io,
): Promise<number> {
  const match = /^(\d+)\/(\d+)$/.exec(shard);
  const k = Number(match?.[1]);
  const n = Number(match?.[2]);
  if (match === null || k < 1 || k > n)
    throw new UsageError(`--shard: expected K/N, got "${shard}"`);
  const activities = new Map<number, Activity>();
  await runJobs(e, {
    file,
    only: (job) => job.index % n === k - 1,
    onWorld: (job, world) => {
      writeFileSync(join(dir, `views-${job.index}.jsonl`), jsonl(viewRows(job.point, world)));
      writeFileSync(join(dir, `truth-${job.index}.jsonl`), jsonl(truthRows(job.point, world)));
      if (job.index === 0) activities.set(0, activityOf(world));
    },
    onGuesses: (r) => {
      writeFileSync(join(dir, `job-${r.job.index}.json`), JSON.stringify(recordOf(r, activities)));
      io.out(`${JSON.stringify({ type: 'world', index: r.job.index })}\n`);
    },
  });
  return EXIT.ok;
}

/** Runs the jobs in `count` child processes and joins their files into `dir`, in run order. */
async function runWorkers(
  file: string,
  dir: string,
  jobs: readonly Job[],
  count: number,
  io: Io,
  onWorld: () => void,
): Promise<JobRecord[] | number> {
  const parts = mkdtempSync(join(tmpdir(), 'fedconn-experiment-'));
  const processes: ChildProcess[] = [];
  // One worker failing, or this process being stopped, stops them all.
  const killAll = () => {
    for (const p of processes) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
  };
  process.once('SIGINT', killAll);
  process.once('SIGTERM', killAll);
  const children = Array.from({ length: count }, (_, k) => {
    const child = spawn(
      process.execPath,
      [BIN, 'experiment', file, '--shard', `${k + 1}/${count}`, '--out', join(parts, String(k))],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    processes.push(child);
    let stderr = '';
    // Whole lines only: a line may arrive in two chunks.
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.includes('"world"')) onWorld();
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-2000);
    });
    return new Promise<{ code: number | null; stderr: string }>((resolve) => {
      child.on('error', (error) => {
        resolve({ code: null, stderr: String(error) });
      });
      child.on('close', (code) => {
        if (code !== EXIT.ok) killAll();
        resolve({ code, stderr });
      });
    });
  });
  const stop = () => {
    process.off('SIGINT', killAll);
    process.off('SIGTERM', killAll);
    killAll();
    rmSync(parts, { recursive: true, force: true });
  };
  try {
    const exits = await Promise.all(children);
    const broken = exits.findIndex((x) => x.code !== EXIT.ok);
    if (broken >= 0) {
      io.err(
        `fedconn: worker ${broken + 1} of ${count} failed (exit ${exits[broken]?.code ?? 'none'}): ${exits[broken]?.stderr.trim() ?? ''}\n`,
      );
      return EXIT.failures;
    }
    const records: JobRecord[] = [];
    for (const job of jobs) {
      const from = join(parts, String(job.index % count));
      appendFileSync(
        join(dir, 'views.jsonl'),
        readFileSync(join(from, `views-${job.index}.jsonl`)),
      );
      appendFileSync(
        join(dir, 'truth.jsonl'),
        readFileSync(join(from, `truth-${job.index}.jsonl`)),
      );
      records.push(
        JSON.parse(readFileSync(join(from, `job-${job.index}.json`), 'utf8')) as JobRecord,
      );
    }
    return records;
  } finally {
    stop();
  }
}

/** One line redrawn on a terminal; a line per tenth of the work in a log. */
function progressBar(io: Io, quiet: boolean, total: number) {
  const started = performance.now();
  let done = 0;
  const bar = (fraction: number, width = 24) => {
    const full = Math.round(fraction * width);
    return `${'#'.repeat(full)}${'.'.repeat(width - full)}`;
  };
  return {
    world() {
      done++;
      if (quiet) return;
      const elapsedMs = performance.now() - started;
      const eta = ((elapsedMs / done) * (total - done)) / 1000;
      const line = `[${bar(done / total)}] ${done}/${total} worlds, ${(elapsedMs / 1000).toFixed(1)} s, ETA ${eta.toFixed(0)} s`;
      if (process.stderr.isTTY) io.err(`\r${line} `);
      else if (Math.floor((done * 10) / total) > Math.floor(((done - 1) * 10) / total))
        io.err(`${line}\n`);
    },
    end() {
      if (!quiet && process.stderr.isTTY) io.err('\n');
    },
  };
}
