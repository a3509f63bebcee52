// Meta-tests of the rule catalog: every rule is complete and well-formed, IDs
// are stable forever, docs/spec.md cannot drift from the catalog, and every rule
// in force has a conformance check unless it is marked planned.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { coverage } from '../harness/coverage.ts';
import { CHECKS } from '../registry.ts';
import {
  FAMILY_INFO,
  LEVELS,
  PROFILES,
  ROLES,
  RULES,
  SOURCES,
  type Rule,
  type RuleId,
} from './index.ts';
import { syncSpec } from './markdown.ts';

const REQUIRED_FAMILIES = [
  'CRED-CHAIN',
  'CONN-PKG',
  'CONN-CEP',
  'CONN-TRUST',
  'CONN-RACE',
  'CONN-JOIN',
  'ALIAS-UNLINK',
  'CONN-PRIV',
  'FED-NAME',
  'FED-KEYS',
  'FED-AUTH',
  'FED-INVITE',
  'FED-JOIN',
  'IS-LOOKUP',
  'IS-FED',
  'IS-PUSH',
];

const fromRoot = (path: string) => new URL(`../../${path}`, import.meta.url);

describe('rule catalog', () => {
  test('covers every family the foundation requires, each with rules', () => {
    const ids = FAMILY_INFO.map((f) => f.id as string);
    expect(ids).toEqual(expect.arrayContaining(REQUIRED_FAMILIES));
    for (const family of FAMILY_INFO) expect(family.rules.length, family.id).toBeGreaterThan(0);
  });

  test('IDs have the form FAMILY-NN, carry their family prefix and are unique', () => {
    for (const rule of RULES) {
      expect(rule.id).toMatch(/^[A-Z]+(-[A-Z]+)*-\d{2}$/);
      expect(rule.id.startsWith(`${rule.family}-`), rule.id).toBe(true);
    }
    expect(new Set(RULES.map((r) => r.id)).size).toBe(RULES.length);
  });

  test.each(RULES.map((r) => [r.id, r] as const))('%s has every field', (_id, rule: Rule) => {
    expect(LEVELS).toContain(rule.level);
    expect(rule.roles.length).toBeGreaterThan(0);
    for (const role of rule.roles) expect(ROLES).toContain(role);
    expect(rule.profiles.length).toBeGreaterThan(0);
    for (const profile of rule.profiles) expect(PROFILES).toContain(profile);
    expect(new Set(rule.profiles).size).toBe(rule.profiles.length);
    expect(rule.sources.length).toBeGreaterThan(0);
    for (const source of rule.sources) {
      expect(Object.keys(SOURCES)).toContain(source.doc);
      expect(source.section.trim()).not.toBe('');
    }
    expect(rule.statement.trim().length).toBeGreaterThan(20);
    expect(rule.checkedBy.trim().length).toBeGreaterThan(20);
    if (rule.retired !== undefined) expect(rule.retired.trim()).not.toBe('');
  });

  test('no issued ID ever disappears, and every ID is recorded as issued', () => {
    const issued = readFileSync(fromRoot('suites/catalog/issued-ids.txt'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const catalog = RULES.map((r) => r.id as string);
    const missing = issued.filter((id) => !catalog.includes(id));
    const unrecorded = catalog.filter((id) => !issued.includes(id));
    expect(missing, 'IDs removed from the catalog: retire them instead').toEqual([]);
    expect(unrecorded, 'new IDs: append them to suites/catalog/issued-ids.txt').toEqual([]);
  });
});

describe('docs/spec.md', () => {
  test('its rule tables are exactly what the catalog generates', () => {
    const spec = readFileSync(fromRoot('docs/spec.md'), 'utf8');
    // A difference means someone edited one side only: run `npm run docs:rules`.
    expect(syncSpec(spec)).toBe(spec);
  });

  test('every rule ID appears in the spec', () => {
    const spec = readFileSync(fromRoot('docs/spec.md'), 'utf8');
    for (const rule of RULES) expect(spec, rule.id).toContain(`**${rule.id}**`);
  });
});

describe('rule coverage by conformance checks', () => {
  // A minimal rule for exercising coverage(); only id, planned and retired matter.
  const fake = (id: string, mark: { planned?: true; retired?: string } = {}): Rule => ({
    id: id as RuleId,
    family: 'CRED-CHAIN',
    level: 'MUST',
    roles: ['AS'],
    profiles: ['aliases'],
    sources: [{ doc: 'seed-aliases', section: 'test' }],
    statement: 'test rule',
    checkedBy: 'test',
    ...mark,
  });

  test('every rule in force has a check or is marked planned, and no planned mark is stale', () => {
    const result = coverage(RULES, CHECKS);
    expect(
      result.unchecked.map((r) => r.id),
      'rules without any check: add a check or mark them planned',
    ).toEqual([]);
    expect(
      result.stalePlanned.map((r) => r.id),
      'planned rules that have checks: remove the planned mark',
    ).toEqual([]);
    expect(result.retiredButChecked.map((r) => r.id)).toEqual([]);
  });

  test('flags a rule in force with no check and no planned mark', () => {
    const rules = [fake('X-01'), fake('X-02', { planned: true })];
    const result = coverage(rules, [{ rules: ['X-02' as RuleId] }]);
    expect(result.unchecked.map((r) => r.id)).toEqual(['X-01']);
    expect(result.stalePlanned.map((r) => r.id)).toEqual(['X-02']);
  });

  test('counts each check once per rule and ignores retired rules without checks', () => {
    const rules = [fake('X-01'), fake('X-02', { retired: 'gone' })];
    const result = coverage(rules, [
      { rules: ['X-01' as RuleId, 'X-01' as RuleId] },
      { rules: ['X-01' as RuleId] },
    ]);
    expect(result.unchecked).toEqual([]);
    expect(result.checksPerRule.get('X-01' as RuleId)).toBe(2);
  });
});
