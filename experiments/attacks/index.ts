// The attacks an experiment can run: each a small module that sees only the adversary's
// views (and what the adversary knows anyway: the users of its own servers) and guesses
// something the ground truth holds. Measures (experiments/measures.ts) score the guesses.
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ServerView } from '../../simulator/net/observer.ts';
import type { Flow, GroundTruth } from '../world.ts';
import { aliasOwnerByOrder } from './alias-owner.ts';
import { connectionsByActivity } from './connections.ts';
import { idealView } from './ideal-view.ts';

/** One guess of an attack, scored against the ground truth. */
export interface Guess {
  /** What was guessed about: an alias, a user's connection. */
  readonly subject: string;
  readonly guess: string | undefined;
  readonly truth: string;
  /** How many answers the adversary chose among before the attack: chance is 1 / candidates. */
  readonly candidates: number;
  /**
   * How many answers it still held equally likely after it (its anonymity set): the
   * leaders of a tie, the worlds a view does not tell apart. Candidates when not given.
   */
  readonly anonymitySet?: number;
}

/** Two users the attack says are connected (in either order). */
export type Link = readonly [string, string];

/** What an attack returns: guesses about single facts, links it infers, or both. */
export interface AttackOutput {
  readonly guesses?: readonly Guess[];
  readonly links?: readonly Link[];
}

export interface AttackInput {
  /** The adversary's views, by server. */
  readonly views: ReadonlyMap<string, ServerView>;
  /** The adversary's services, as server/SERVICE. */
  readonly services: readonly string[];
  /** Who is registered on each server: the adversary's own servers know their users. */
  readonly usersOn: (server: string) => readonly string[];
  /** Seeds the adversary's coin flips (ties, no evidence). */
  readonly seed: string;
  /** The network observer's record (empty without one: `adversary.network`). */
  readonly flows: readonly Flow[];
  /**
   * For attacks that compare worlds (`twins: true`): what the adversary sees in each twin
   * of this world, the same seed with the aliases' owners permuted (experiments/world.ts),
   * every twin's ownership distinct.
   */
  readonly twins?: readonly {
    readonly views: ReadonlyMap<string, ServerView>;
    readonly flows: readonly Flow[];
  }[];
}

export interface Attack {
  readonly name: string;
  readonly description: string;
  /** Whether the attack needs the world's twins (the run then plays them too). */
  readonly twins?: boolean;
  /** Guesses (an array of them is read as `{ guesses }`), links, or both. */
  run(input: AttackInput, truth: GroundTruth): AttackOutput | readonly Guess[];
}

export const ATTACKS = [aliasOwnerByOrder, connectionsByActivity, idealView] as const;
export const ATTACK_NAMES = [
  'alias-owner-by-order',
  'connections-by-activity',
  'ideal-view',
] as const satisfies readonly Attack['name'][];

/** An attack's output in one shape. */
export const outputOf = (output: AttackOutput | readonly Guess[]): AttackOutput =>
  Array.isArray(output) ? { guesses: output as readonly Guess[] } : (output as AttackOutput);

/**
 * The attack an experiment names: a built-in one, or a module (a path, relative to the
 * experiment file) that exports `attack`, checked to be one.
 */
export async function loadAttack(name: string, relativeTo: string): Promise<Attack> {
  const builtIn = ATTACKS.find((a) => a.name === name);
  if (builtIn !== undefined) return builtIn;
  const path = resolve(dirname(relativeTo), name);
  let module: { attack?: unknown };
  try {
    module = (await import(pathToFileURL(path).href)) as { attack?: unknown };
  } catch (error) {
    throw new Error(`attacks: cannot load ${path}: ${(error as Error).message}`);
  }
  const attack = module.attack as Partial<Attack> | undefined;
  if (
    attack === undefined ||
    typeof attack.name !== 'string' ||
    typeof attack.description !== 'string' ||
    typeof attack.run !== 'function'
  )
    throw new Error(
      `attacks: ${path} exports no attack: export const attack = { name, description, run(input, truth) }`,
    );
  return attack as Attack;
}
