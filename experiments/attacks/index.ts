// The attacks an experiment can run: each a small module that sees only the adversary's
// views (and what the adversary knows anyway: the users of its own servers) and guesses
// something the ground truth holds. Measures (experiments/measures.ts) score the guesses.
import type { ServerView } from '../../simulator/net/observer.ts';
import type { GroundTruth } from '../world.ts';
import { aliasOwnerByOrder } from './alias-owner.ts';

/** One guess of an attack, scored against the ground truth. */
export interface Guess {
  /** What was guessed about: an alias, a user's connection. */
  readonly subject: string;
  readonly guess: string | undefined;
  readonly truth: string;
  /** How many answers the adversary chose among: chance is 1 / candidates. */
  readonly candidates: number;
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
}

export interface Attack {
  readonly name: string;
  readonly description: string;
  run(input: AttackInput, truth: GroundTruth): readonly Guess[];
}

export const ATTACKS = [aliasOwnerByOrder] as const;
export const ATTACK_NAMES = ['alias-owner-by-order'] as const satisfies readonly Attack['name'][];

export function attackNamed(name: string): Attack {
  const attack = ATTACKS.find((a) => a.name === name);
  if (attack === undefined) throw new Error(`no attack ${name}`);
  return attack;
}
