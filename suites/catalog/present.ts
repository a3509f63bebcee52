// Plain-text presentation of catalog fields, shared by the CLI, docs and reports.
import { PROFILES, SOURCES, type Profile, type SourceRef } from './types.ts';
import type { Rule } from './index.ts';

export type RuleStatus = 'checked' | 'planned' | 'retired';

export function ruleStatus(rule: Rule): RuleStatus {
  if (rule.retired !== undefined) return 'retired';
  return rule.planned ? 'planned' : 'checked';
}

export function formatProfiles(profiles: readonly Profile[]): string {
  return PROFILES.every((p) => profiles.includes(p)) ? 'all' : profiles.join(', ');
}

export function formatSource(ref: SourceRef): string {
  return `${SOURCES[ref.doc].where} § ${ref.section}`;
}
