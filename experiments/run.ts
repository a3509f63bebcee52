// Runs an experiment: every point of its sweep over every seed, one world each (a "job"),
// every attack on the adversary's views; then the measures per point and attack. What
// each world saw is handed to `onWorld` (the exports), so a run never holds more than one
// world's views. A run may take only some jobs (`only`): the shards of `--workers`, whose
// guesses the parent measures together (cli/commands/experiment.ts).
import { loadAttack, outputOf, type Attack, type Guess, type Link } from './attacks/index.ts';
import { measure, type AttackMeasures, type LinkScore } from './measures.ts';
import { seedsOf, sweepPoints, type Experiment } from './schema.ts';
import { runWorld, type GroundTruth, type World } from './world.ts';

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

/** The guesses of one job's attacks, and the links they inferred, scored. */
export interface JobGuesses {
  readonly job: Job;
  readonly guesses: Readonly<Record<string, readonly Guess[]>>;
  readonly links?: Readonly<Record<string, LinkScore>>;
}

const pairKey = (a: string, b: string) => (a < b ? `${a}\n${b}` : `${b}\n${a}`);

/**
 * Inferred links against the world's established connections, both as unordered pairs.
 * A link drawn at random is drawn from the pairs the workload can connect: any two users,
 * or only users of different homeservers (`pairs: other-server`), and the chosen pairs.
 */
export function scoreLinks(links: readonly Link[], truth: GroundTruth, e: Experiment): LinkScore {
  const real = new Set(
    truth.connections
      .filter((c) => 'groupId' in c.outcome)
      .map((c) => pairKey(c.initiator, c.responder)),
  );
  const inferred = new Set(links.filter(([a, b]) => a !== b).map(([a, b]) => pairKey(a, b)));
  const n = truth.users.length;
  const perServer = new Map<string, number>();
  for (const u of truth.users) perServer.set(u.server, (perServer.get(u.server) ?? 0) + 1);
  const apart = perServer.size > 1 && e.workload.pairs === 'other-server';
  const sameServer = [...perServer.values()].reduce((sum, k) => sum + (k * (k - 1)) / 2, 0);
  const serverOf = new Map(truth.users.map((u) => [u.userId, u.server]));
  const chosenAtHome = new Set(
    e.workload.chosen
      .filter((c) => serverOf.get(c.initiator) === serverOf.get(c.responder))
      .map((c) => pairKey(c.initiator, c.responder)),
  ).size;
  return {
    inferred: inferred.size,
    correct: [...inferred].filter((k) => real.has(k)).length,
    truth: real.size,
    pairs: (n * (n - 1)) / 2 - (apart ? sameServer - chosenAtHome : 0),
  };
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
    const mine = point.experiment.attacks.map(
      (name) => [name, attacks.get(name) as Attack] as const,
    );
    const variants = point.experiment.adversary.ideal_worlds;
    const twinned = mine.some(([, attack]) => attack.twins === true);
    const world = await runWorld(point.experiment, job.seed, twinned ? { variants } : {});
    hooks.onWorld?.(job, world);
    // The twins are played only for attacks that compare worlds; their views and flows kept.
    const twins = [];
    if (twinned)
      for (let variant = 1; variant < world.ownerships; variant++) {
        const twin = await runWorld(point.experiment, job.seed, { variant, variants });
        twins.push({ views: twin.views, flows: twin.flows });
      }
    const usersOn = (server: string) =>
      world.truth.users.filter((u) => u.server === server).map((u) => u.userId);
    const guesses: Record<string, readonly Guess[]> = {};
    const links: Record<string, LinkScore> = {};
    for (const [name, attack] of mine) {
      const output = outputOf(
        attack.run(
          {
            views: world.views,
            services: point.experiment.adversary.services,
            usersOn,
            seed: `${point.experiment.name}/${job.point}/${job.seed}`,
            flows: world.flows,
            ...(attack.twins === true ? { twins } : {}),
          },
          world.truth,
        ),
      );
      guesses[name] = output.guesses ?? [];
      if (output.links !== undefined)
        links[name] = scoreLinks(output.links, world.truth, point.experiment);
    }
    hooks.onGuesses?.({ job, guesses, ...(Object.keys(links).length > 0 ? { links } : {}) });
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
        measures: measure(
          mine.flatMap((r) => r.guesses[attack] ?? []),
          mine.flatMap((r) => r.links?.[attack] ?? []),
        ),
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
