// Runs an experiment: every point of its sweep over every seed, one world each (a "job"),
// every attack on the adversary's views; then the measures per point and attack. What
// each world saw is handed to `onWorld` (the exports), so a run never holds more than one
// world's views. A run may take only some jobs (`only`): the shards of `--workers`, whose
// guesses the parent measures together (cli/commands/experiment.ts).
import { loadAttack, type Attack, type Guess } from './attacks/index.ts';
import { measure, type AttackMeasures } from './measures.ts';
import { seedsOf, sweepPoints, type Experiment } from './schema.ts';
import { runWorld, type World } from './world.ts';

export interface PointResult {
  /** The swept parameters' values at this point ({} without a sweep). */
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly attacks: readonly { readonly attack: string; readonly measures: AttackMeasures }[];
}

export interface Progress {
  readonly done: number;
  readonly total: number;
  readonly elapsedMs: number;
}

/** One world to run: the sweep point and the seed, numbered in run order. */
export interface Job {
  readonly index: number;
  readonly point: number;
  readonly seed: number;
}

export function jobsOf(e: Experiment): Job[] {
  return sweepPoints(e)
    .flatMap((p, point) => seedsOf(p.experiment).map((seed) => ({ point, seed })))
    .map((job, index) => ({ ...job, index }));
}

/** The guesses of one job's attacks. */
export interface JobGuesses {
  readonly job: Job;
  readonly guesses: Readonly<Record<string, readonly Guess[]>>;
}

export async function runJobs(
  e: Experiment,
  hooks: {
    /** The experiment file, against which attack module paths resolve. */
    readonly file?: string;
    /** The jobs to run (all by default). */
    readonly only?: (job: Job) => boolean;
    readonly onWorld?: (job: Job, world: World) => void;
    readonly onGuesses?: (result: JobGuesses) => void;
    readonly onProgress?: (progress: Progress) => void;
  } = {},
): Promise<void> {
  const points = sweepPoints(e);
  const jobs = jobsOf(e).filter(hooks.only ?? (() => true));
  // Loaded before the first world: a module that does not load fails the run at once.
  const attacks = new Map<string, Attack>();
  for (const name of new Set(points.flatMap((p) => p.experiment.attacks)))
    attacks.set(name, await loadAttack(name, hooks.file ?? 'experiment.json'));
  const started = performance.now();
  for (const [done, job] of jobs.entries()) {
    const point = points[job.point];
    if (point === undefined) continue;
    const world = await runWorld(point.experiment, job.seed);
    hooks.onWorld?.(job, world);
    const usersOn = (server: string) =>
      world.truth.users.filter((u) => u.server === server).map((u) => u.userId);
    const guesses: Record<string, readonly Guess[]> = {};
    for (const name of point.experiment.attacks) {
      guesses[name] = (attacks.get(name) as Attack).run(
        {
          views: world.views,
          services: point.experiment.adversary.services,
          usersOn,
          seed: `${point.experiment.name}/${job.point}/${job.seed}`,
        },
        world.truth,
      );
    }
    hooks.onGuesses?.({ job, guesses });
    hooks.onProgress?.({
      done: done + 1,
      total: jobs.length,
      elapsedMs: performance.now() - started,
    });
  }
}

/** The measures per point and attack, over the guesses of every job. */
export function measureJobs(e: Experiment, results: readonly JobGuesses[]): PointResult[] {
  return sweepPoints(e).map((p, point) => {
    const mine = results.filter((r) => r.job.point === point);
    return {
      parameters: p.parameters,
      attacks: p.experiment.attacks.map((attack) => ({
        attack,
        measures: measure(mine.flatMap((r) => r.guesses[attack] ?? [])),
      })),
    };
  });
}

/** Every job in this process, then the measures. */
export async function runExperiment(
  e: Experiment,
  hooks: Omit<Parameters<typeof runJobs>[1] & object, 'only' | 'onGuesses'> = {},
): Promise<readonly PointResult[]> {
  const results: JobGuesses[] = [];
  await runJobs(e, { ...hooks, onGuesses: (r) => results.push(r) });
  return measureJobs(e, results);
}
