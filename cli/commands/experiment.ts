// `fedconn experiment FILE`: runs a privacy experiment on the simulator and writes, in one
// directory: the resolved experiment (with fedconn's version and the seeds), the observed
// servers' views and the ground truth as JSON lines and Parquet, the measures as CSV, a report.html,
// and the command that reproduces the run (docs/experiments.md).
import { mkdirSync, writeFileSync, createWriteStream, type WriteStream } from 'node:fs';
import { join, relative } from 'node:path';
import {
  ExperimentFileError,
  readExperiment,
  seedsOf,
  sweepPoints,
} from '../../experiments/schema.ts';
import { runExperiment, type PointResult } from '../../experiments/run.ts';
import { viewRows, truthRows } from '../../experiments/export.ts';
import { writeParquet } from '../../experiments/parquet.ts';
import { activityOf, measuresCsv, reportHtml } from '../../experiments/report.ts';
import { activitySpec, advantageSpec, renderSvg } from '../../experiments/figures.ts';
import { loadAttack } from '../../experiments/attacks/index.ts';
import { EXIT, UsageError, type Io } from '../io.ts';
import { VERSION } from './run.ts';

export interface ExperimentCommandOptions {
  readonly out?: string;
  readonly quiet?: boolean;
}

export async function experimentCommand(
  file: string,
  options: ExperimentCommandOptions,
  io: Io,
): Promise<number> {
  let e;
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
  const dir = options.out ?? join('reports', 'experiments', e.name);
  mkdirSync(dir, { recursive: true });
  const command = `npx fedconn experiment ${file} --out ${dir}`;
  const points = sweepPoints(e);
  writeFileSync(
    join(dir, 'experiment.json'),
    `${JSON.stringify(
      {
        fedconn: VERSION,
        command,
        file,
        experiment: e,
        points: points.map((p) => ({ parameters: p.parameters, seeds: seedsOf(p.experiment) })),
      },
      null,
      2,
    )}\n`,
  );
  const views = createWriteStream(join(dir, 'views.jsonl'));
  const truth = createWriteStream(join(dir, 'truth.jsonl'));
  const write = (stream: WriteStream, rows: Iterable<unknown>) => {
    for (const row of rows) stream.write(`${JSON.stringify(row)}\n`);
  };
  let results: readonly PointResult[];
  // The first world's activity over virtual time, for the report's second figure.
  let activity:
    { readonly world: string; readonly rows: ReturnType<typeof activityOf> } | undefined;
  try {
    results = await runExperiment(e, {
      file,
      onWorld: (point, world) => {
        write(views, viewRows(point, world));
        write(truth, truthRows(point, world));
        activity ??= { world: `point ${point}, seed ${world.seed}`, rows: activityOf(world) };
      },
      onProgress: ({ done, total, elapsedMs }) => {
        if (options.quiet === true) return;
        const eta = ((elapsedMs / done) * (total - done)) / 1000;
        const line = `[${bar(done / total)}] ${done}/${total} worlds, ${(elapsedMs / 1000).toFixed(1)} s, ETA ${eta.toFixed(0)} s`;
        // A terminal gets one line redrawn; a log a line per tenth of the work.
        if (process.stderr.isTTY) io.err(`\r${line} `);
        else if (Math.floor((done * 10) / total) > Math.floor(((done - 1) * 10) / total))
          io.err(`${line}\n`);
      },
    });
  } finally {
    await Promise.all([views, truth].map((s) => new Promise((resolve) => s.end(resolve))));
  }
  if (options.quiet !== true && process.stderr.isTTY) io.err('\n');
  await writeParquet(dir);
  writeFileSync(join(dir, 'measures.csv'), measuresCsv(e, results));
  const figures = [await renderSvg(advantageSpec(e, results))];
  if (activity !== undefined && activity.rows.length > 0)
    figures.push(await renderSvg(activitySpec(activity.rows, activity.world)));
  writeFileSync(join(dir, 'report.html'), reportHtml(e, results, command, attacks, figures));
  for (const point of results) {
    for (const { attack, measures: m } of point.attacks) {
      const at = Object.entries(point.parameters)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(' ');
      io.out(
        `${attack}${at === '' ? '' : ` [${at}]`}: advantage ${m.advantage.value.toFixed(3)} (95% CI ${m.advantage.low.toFixed(3)} to ${m.advantage.high.toFixed(3)}), success ${m.success.value.toFixed(3)} against chance ${m.baseline.toFixed(3)}, ${m.trials} guesses\n`,
      );
    }
  }
  io.out(
    `written: ${relative('.', dir) || '.'}/ (experiment.json, views and truth as .jsonl and .parquet, measures.csv, report.html)\nreproduce: ${command}\n`,
  );
  return EXIT.ok;
}

const bar = (fraction: number, width = 24) => {
  const full = Math.round(fraction * width);
  return `${'#'.repeat(full)}${'.'.repeat(width - full)}`;
};
