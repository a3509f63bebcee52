// `fedconn rules`: the rule catalog as a table or as JSON, with filters.
import Table from 'cli-table3';
import pc from 'picocolors';
import {
  FAMILY_INFO,
  LEVELS,
  PROFILES,
  ROLES,
  RULES,
  SOURCES,
  type Level,
  type Profile,
  type Role,
  type Rule,
} from '../../suites/catalog/index.ts';
import { formatProfiles, ruleStatus, type RuleStatus } from '../../suites/catalog/present.ts';
import { UsageError, type Io } from '../io.ts';

export interface RulesOptions {
  readonly json?: boolean;
  readonly family?: readonly string[];
  readonly profile?: readonly string[];
  readonly role?: readonly string[];
  readonly level?: readonly string[];
  readonly status?: readonly string[];
  readonly retired?: boolean;
}

const STATUSES: readonly RuleStatus[] = ['checked', 'planned', 'retired'];

/** Checks each value against the allowed set, naming the option and the allowed values on error. */
function pick<T extends string>(
  option: string,
  values: readonly string[] | undefined,
  allowed: readonly T[],
  normalise: (v: string) => string = (v) => v,
): readonly T[] | undefined {
  if (values === undefined || values.length === 0) return undefined;
  return values.map((raw) => {
    const v = normalise(raw.trim());
    const match = allowed.find((a) => a === v);
    if (match === undefined) {
      throw new UsageError(
        `--${option}: unknown value "${raw}"; expected one of: ${allowed.join(', ')}`,
      );
    }
    return match;
  });
}

export function selectRules(options: RulesOptions): readonly Rule[] {
  const families = pick(
    'family',
    options.family,
    FAMILY_INFO.map((f) => f.id),
    (v) => v.toUpperCase(),
  );
  const profiles = pick<Profile>('profile', options.profile, PROFILES, (v) => v.toLowerCase());
  const roles = pick<Role>('role', options.role, ROLES, (v) => v.toUpperCase());
  const levels = pick<Level>('level', options.level, LEVELS, (v) => v.toUpperCase());
  const statuses = pick('status', options.status, STATUSES, (v) => v.toLowerCase());
  return RULES.filter(
    (r) =>
      (options.retired === true || statuses?.includes('retired') || r.retired === undefined) &&
      (families === undefined || families.includes(r.family)) &&
      (profiles === undefined || r.profiles.some((p) => profiles.includes(p))) &&
      (roles === undefined || r.roles.some((x) => roles.includes(x))) &&
      (levels === undefined || levels.includes(r.level)) &&
      (statuses === undefined || statuses.includes(ruleStatus(r))),
  );
}

export function rulesToJson(rules: readonly Rule[]): unknown {
  return {
    version: 1,
    families: FAMILY_INFO.filter((f) => rules.some((r) => r.family === f.id)).map((f) => ({
      id: f.id,
      title: f.title,
      part: f.part,
      summary: f.summary,
    })),
    rules: rules.map((r) => ({
      id: r.id,
      family: r.family,
      level: r.level,
      roles: r.roles,
      profiles: r.profiles,
      sources: r.sources.map((s) => ({ ...s, ...SOURCES[s.doc] })),
      statement: r.statement,
      checkedBy: r.checkedBy,
      ...(r.note === undefined ? {} : { note: r.note }),
      status: ruleStatus(r),
      planned: r.planned === true,
      ...(r.retired === undefined ? {} : { retired: r.retired }),
    })),
  };
}

const colourStatus = (s: RuleStatus): string =>
  s === 'checked' ? pc.green(s) : s === 'planned' ? pc.yellow('planned (unchecked)') : pc.dim(s);

const colourLevel = (l: Level): string =>
  l === 'MUST' ? pc.bold(l) : l === 'SHOULD' ? l : pc.dim(l);

export function renderRulesTable(rules: readonly Rule[], columns: number | undefined): string {
  const width = Math.max(columns ?? 140, 100);
  // Fixed columns first; the statement takes what is left.
  const fixed = [17, 8, 14, 22, 21];
  const statement = Math.max(width - fixed.reduce((a, b) => a + b, 0) - 7, 30);
  const table = new Table({
    head: ['ID', 'Level', 'Roles', 'Profiles', 'Status', 'Statement'],
    colWidths: [...fixed, statement],
    wordWrap: true,
    style: { head: [], border: [] },
  });
  for (const r of rules) {
    table.push([
      r.id,
      colourLevel(r.level),
      r.roles.join(', '),
      formatProfiles(r.profiles),
      colourStatus(ruleStatus(r)),
      r.statement,
    ]);
  }
  return table.toString();
}

export function summarise(rules: readonly Rule[]): string {
  const count = (p: (r: Rule) => boolean) => rules.filter(p).length;
  const families = new Set(rules.map((r) => r.family)).size;
  const planned = count((r) => ruleStatus(r) === 'planned');
  const checked = count((r) => ruleStatus(r) === 'checked');
  const levels = LEVELS.map((l) => `${count((r) => r.level === l)} ${l}`).join(', ');
  return `${rules.length} rules (${levels}) in ${families} families: ${checked} checked, ${planned} planned and unchecked.`;
}

export function rulesCommand(options: RulesOptions, io: Io): number {
  const rules = selectRules(options);
  if (options.json === true) {
    io.out(`${JSON.stringify(rulesToJson(rules), null, 2)}\n`);
    return 0;
  }
  if (rules.length === 0) {
    io.out('No rule matches these filters.\n');
    return 0;
  }
  io.out(`${renderRulesTable(rules, io.columns)}\n${summarise(rules)}\n`);
  return 0;
}
