// A conformance check: one executable property or scenario that proves (or
// refutes) one or more rules against a target. Checks name their rules through
// the RuleId type, so a mistyped ID fails the typecheck.
import type { Profile, RuleId } from '../catalog/index.ts';

export interface CheckContext {
  /** Seed for every random choice the check makes; the same seed gives the same verdict. */
  readonly seed: number;
  /** Multiplier for property run counts (--runs). */
  readonly runs: number;
  /** Aborted when the check's deadline passes; a check must stop promptly. */
  readonly signal: AbortSignal;
}

export interface Check {
  /** What the check proves, in one line, e.g. "responder rejects an expired intermediate". */
  readonly name: string;
  /** The rules this check proves; never empty. */
  readonly rules: readonly [RuleId, ...RuleId[]];
  /** Profiles the check runs under; each must be among its rules' profiles. */
  readonly profiles: readonly Profile[];
  /** Resolves when the rules hold; rejects with an explanation when they do not. */
  readonly run: (ctx: CheckContext) => Promise<void>;
}

export function defineCheck(check: Check): Check {
  return check;
}
