// Runs an experiment: every point of its sweep over every seed, one world each, every
// attack on the adversary's views; then the measures per point and attack. What each
// world saw is handed to `onWorld` (the exports), so a large experiment never holds more
// than one world's views.
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

export async function runExperiment(
  e: Experiment,
  hooks: {
    /** The experiment file, against which attack module paths resolve. */
    readonly file?: string;
    readonly onWorld?: (point: number, world: World) => void;
    readonly onProgress?: (progress: Progress) => void;
  } = {},
): Promise<readonly PointResult[]> {
  const points = sweepPoints(e);
  const total = points.reduce((n, p) => n + seedsOf(p.experiment).length, 0);
  // Loaded before the first world: a module that does not load fails the run at once.
  const attacks = new Map<string, Attack>();
  for (const name of new Set(points.flatMap((p) => p.experiment.attacks)))
    attacks.set(name, await loadAttack(name, hooks.file ?? 'experiment.json'));
  const started = performance.now();
  let done = 0;
  const results: PointResult[] = [];
  for (const [index, point] of points.entries()) {
    const guesses = new Map<string, Guess[]>(point.experiment.attacks.map((a) => [a, []]));
    for (const seed of seedsOf(point.experiment)) {
      const world = await runWorld(point.experiment, seed);
      hooks.onWorld?.(index, world);
      const usersOn = (server: string) =>
        world.truth.users.filter((u) => u.server === server).map((u) => u.userId);
      for (const name of point.experiment.attacks) {
        const found = (attacks.get(name) as Attack).run(
          {
            views: world.views,
            services: point.experiment.adversary.services,
            usersOn,
            seed: `${point.experiment.name}/${index}/${seed}`,
          },
          world.truth,
        );
        guesses.get(name)?.push(...found);
      }
      done++;
      hooks.onProgress?.({ done, total, elapsedMs: performance.now() - started });
    }
    results.push({
      parameters: point.parameters,
      attacks: [...guesses].map(([attack, list]) => ({ attack, measures: measure(list) })),
    });
  }
  return results;
}
