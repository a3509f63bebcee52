// What an attack achieved, over every guess of every seed: its success rate against the
// chance baseline (advantage), with 95% confidence intervals. Definitions and references:
// docs/experiments.md.
import type { Guess } from './attacks/index.ts';

/** z for a two-sided 95% interval. */
const Z = 1.959963984540054;

export interface Interval {
  readonly value: number;
  readonly low: number;
  readonly high: number;
}

/**
 * Wilson's score interval for a proportion (Wilson 1927): unlike the normal
 * approximation it stays inside [0, 1] and keeps its coverage near 0 and 1, where a
 * broken client puts an attack's success.
 */
export function wilson(successes: number, trials: number): Interval {
  if (trials === 0) return { value: Number.NaN, low: Number.NaN, high: Number.NaN };
  const p = successes / trials;
  const z2 = Z * Z;
  const centre = (p + z2 / (2 * trials)) / (1 + z2 / trials);
  const half =
    (Z / (1 + z2 / trials)) * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials));
  return { value: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

export interface AttackMeasures {
  readonly trials: number;
  readonly success: Interval;
  /** Mean of 1 / candidates: the success of guessing at random. */
  readonly baseline: number;
  /** success - baseline, its interval the success's shifted by the (fixed) baseline. */
  readonly advantage: Interval;
  /** Mean anonymity set size (what stayed equally likely) and its entropy in bits, log2 of the size. */
  readonly anonymitySet: number;
  readonly entropyBits: number;
  /** For attacks that infer links: how many of them were right, of those it named and of the true ones. */
  readonly links?: LinkMeasures;
}

/** One world's inferred links scored against its connections (each an unordered pair of users). */
export interface LinkScore {
  readonly inferred: number;
  readonly correct: number;
  /** The world's connections that were established. */
  readonly truth: number;
  /** The unordered pairs of users the workload can connect: what a link drawn at random is drawn from. */
  readonly pairs: number;
}

export interface LinkMeasures {
  readonly inferred: number;
  readonly correct: number;
  readonly truth: number;
  /** Correct / inferred. */
  readonly precision: Interval;
  /** Correct / true connections. */
  readonly recall: Interval;
  /** The precision of links drawn at random: true connections / pairs the workload can connect. */
  readonly chance: number;
}

/** Links scored over every world, each link a trial (Wilson intervals, as for success). */
export function measureLinks(scores: readonly LinkScore[]): LinkMeasures | undefined {
  if (scores.length === 0) return undefined;
  const sum = (f: (s: LinkScore) => number) => scores.reduce((total, s) => total + f(s), 0);
  const [inferred, correct, truth, pairs] = [
    sum((s) => s.inferred),
    sum((s) => s.correct),
    sum((s) => s.truth),
    sum((s) => s.pairs),
  ];
  return {
    inferred,
    correct,
    truth,
    precision: wilson(correct, inferred),
    recall: wilson(correct, truth),
    chance: pairs === 0 ? Number.NaN : truth / pairs,
  };
}

export function measure(
  guesses: readonly Guess[],
  links: readonly LinkScore[] = [],
): AttackMeasures {
  const trials = guesses.length;
  const successes = guesses.filter((g) => g.guess !== undefined && g.guess === g.truth).length;
  const success = wilson(successes, trials);
  const mean = (f: (g: Guess) => number) =>
    trials === 0 ? Number.NaN : guesses.reduce((sum, g) => sum + f(g), 0) / trials;
  const baseline = mean((g) => 1 / g.candidates);
  const linkMeasures = measureLinks(links);
  return {
    trials,
    success,
    baseline,
    advantage: {
      value: success.value - baseline,
      low: success.low - baseline,
      high: success.high - baseline,
    },
    anonymitySet: mean((g) => g.anonymitySet ?? g.candidates),
    entropyBits: mean((g) => Math.log2(g.anonymitySet ?? g.candidates)),
    ...(linkMeasures === undefined ? {} : { links: linkMeasures }),
  };
}
