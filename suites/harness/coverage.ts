// Which rules have checks. A rule in force without a check is a defect unless it
// is marked planned; a planned rule with checks has a stale mark.
import type { Rule, RuleId } from '../catalog/index.ts';

export interface Coverage {
  /** Rules in force, not planned, with no check: these fail `npm test`. */
  readonly unchecked: readonly Rule[];
  /** Rules marked planned although checks exist: the mark must go. */
  readonly stalePlanned: readonly Rule[];
  /** Retired rules that checks still name. */
  readonly retiredButChecked: readonly Rule[];
  /** Number of checks per rule ID. */
  readonly checksPerRule: ReadonlyMap<RuleId, number>;
}

export function coverage(
  rules: readonly Rule[],
  checks: readonly { readonly rules: readonly RuleId[] }[],
): Coverage {
  const checksPerRule = new Map<RuleId, number>();
  for (const check of checks) {
    for (const id of new Set(check.rules)) checksPerRule.set(id, (checksPerRule.get(id) ?? 0) + 1);
  }
  const has = (r: Rule) => (checksPerRule.get(r.id) ?? 0) > 0;
  return {
    unchecked: rules.filter((r) => r.retired === undefined && !r.planned && !has(r)),
    stalePlanned: rules.filter((r) => r.retired === undefined && r.planned === true && has(r)),
    retiredButChecked: rules.filter((r) => r.retired !== undefined && has(r)),
    checksPerRule,
  };
}
