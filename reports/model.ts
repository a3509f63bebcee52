// Views over a RunReport that every reporter needs: families in presentation
// order, counts per status, the level of a check. Pure functions only.
import { FAMILY_INFO, LEVELS, type Level } from '../suites/catalog/index.ts';
import {
  RULE_STATUSES,
  type CheckResult,
  type RuleResult,
  type RuleStatus,
  type RunReport,
} from '../suites/harness/report.ts';

export interface FamilyGroup {
  readonly id: string;
  readonly title: string;
  readonly rules: readonly RuleResult[];
}

/**
 * Groups the report's rules by family, families in catalog order (a family the
 * catalog does not know, e.g. from a newer report, comes after in first-seen
 * order), rules in report order.
 */
export function groupByFamily(rules: readonly RuleResult[]): readonly FamilyGroup[] {
  const known = new Map<string, number>(FAMILY_INFO.map((f, i) => [f.id, i]));
  const seen: string[] = [];
  for (const rule of rules) if (!seen.includes(rule.family)) seen.push(rule.family);
  const rank = (id: string) => known.get(id) ?? known.size + seen.indexOf(id);
  return [...seen]
    .sort((a, b) => rank(a) - rank(b))
    .map((id) => ({
      id,
      title: FAMILY_INFO.find((f) => f.id === id)?.title ?? id,
      rules: rules.filter((r) => r.family === id),
    }));
}

/** Counts rules per status, recomputed from the rules so a document never disagrees with itself. */
export function countByStatus(rules: readonly RuleResult[]): Record<RuleStatus, number> {
  const counts = Object.fromEntries(RULE_STATUSES.map((s) => [s, 0])) as Record<RuleStatus, number>;
  for (const rule of rules) counts[rule.status] += 1;
  return counts;
}

/** MUST is stronger than SHOULD, which is stronger than MAY. */
export function strongestLevel(levels: readonly Level[]): Level | undefined {
  return LEVELS.find((level) => levels.includes(level));
}

/** Index of the report's rules by ID. */
export function ruleIndex(report: RunReport): ReadonlyMap<string, RuleResult> {
  return new Map(report.rules.map((r) => [r.id, r]));
}

/**
 * The family a check execution is filed under: the family of its first rule (a
 * check lists its main rule first). Falls back to the ID without its number when
 * the report does not carry the rule.
 */
export function checkFamily(check: CheckResult, rules: ReadonlyMap<string, RuleResult>): string {
  const first = check.rules[0] ?? '';
  return rules.get(first)?.family ?? first.replace(/-\d+$/, '');
}

/** The strongest level among a check's rules, as far as the report knows them. */
export function checkLevel(
  check: CheckResult,
  rules: ReadonlyMap<string, RuleResult>,
): Level | undefined {
  return strongestLevel(check.rules.flatMap((id) => rules.get(id)?.level ?? []));
}

/** "850 ms", "12.3 s", "2 min 05 s": durations as people read them. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return 'unknown';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
}
