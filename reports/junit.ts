// junit.xml for CI: one <testsuite> per rule family, one <testcase> per check
// execution. A rule without a check execution (planned, or skipped before any
// check ran) still gets a testcase, so CI shows it as unchecked, never as passed.
import { curlOf } from '../simulator/net/exchanges.ts';
import type { CheckResult, Failure, RuleResult, RunReport } from '../suites/harness/report.ts';
import { checkFamily, checkLevel, groupByFamily, ruleIndex } from './model.ts';
import { escapeAttr, escapeText } from './text.ts';

export const PLANNED_MESSAGE = 'planned: no conformance check yet';

type Outcome =
  | { readonly kind: 'pass' }
  | {
      readonly kind: 'failure' | 'error';
      readonly message: string;
      readonly type: string;
      readonly body: string;
    }
  | { readonly kind: 'skipped'; readonly message: string };

interface Case {
  readonly name: string;
  readonly timeMs: number;
  readonly properties: readonly (readonly [string, string])[];
  readonly outcome: Outcome;
}

type Rules = ReadonlyMap<string, RuleResult>;

function seconds(ms: number): string {
  return Number.isFinite(ms) && ms > 0 ? (ms / 1000).toFixed(3) : '0.000';
}

function ruleLines(ids: readonly string[], rules: Rules): string[] {
  return ids.map((id) => {
    const rule = rules.get(id);
    return rule === undefined ? `Rule ${id}` : `Rule ${id} (${rule.level}): ${rule.statement}`;
  });
}

/** The failure text CI shows: the rules, then expected vs actual, counterexample and repro. */
function failureBody(ids: readonly string[], rules: Rules, failure: Failure | undefined): string {
  const lines = ruleLines(ids, rules);
  if (failure === undefined) return lines.join('\n');
  lines.push(`Message: ${failure.message}`);
  if (failure.expected !== undefined) lines.push(`Expected: ${failure.expected}`);
  if (failure.actual !== undefined) lines.push(`Actual: ${failure.actual}`);
  if (failure.counterexample !== undefined) {
    lines.push('Counterexample:', failure.counterexample);
  }
  lines.push(`Seed: ${failure.seed}${failure.path === undefined ? '' : `, path ${failure.path}`}`);
  lines.push(`Repro: ${failure.repro}`);
  if (failure.exchanges !== undefined && failure.exchanges.length > 0) {
    lines.push('On the wire:', ...failure.exchanges.map(curlOf));
  }
  return lines.join('\n');
}

/** Check statuses that mean the rule does not hold (or could not be shown to). */
const BAD: readonly string[] = ['fail', 'error', 'timeout'];

/**
 * The JUnit outcome of one check execution. A failed check whose rules the run
 * expected to fail (xfail) is reported as skipped, and a passing check of a rule
 * expected to fail (xpass) as a failure, as pytest does in strict mode: a known
 * failure must not turn CI red, and a stale expectation must.
 */
function checkOutcome(check: CheckResult, rules: Rules): Outcome {
  const statuses = check.rules.map((id) => rules.get(id)?.status ?? 'unknown');
  const message = check.failure?.message ?? `${check.status} (no details recorded)`;
  const known = !statuses.some((s) => BAD.includes(s)) && statuses.includes('xfail');
  switch (check.status) {
    case 'pass':
      return statuses.includes('xpass')
        ? {
            kind: 'failure',
            type: 'xpass',
            message: 'passed, but the rule is expected to fail (xpass): the expectation is stale',
            body: ruleLines(check.rules, rules).join('\n'),
          }
        : { kind: 'pass' };
    case 'fail':
    case 'error':
    case 'timeout':
      if (known) return { kind: 'skipped', message: `xfail (expected failure): ${message}` };
      return {
        kind: check.status === 'fail' ? 'failure' : 'error',
        type: check.status === 'fail' ? (checkLevel(check, rules) ?? 'fail') : check.status,
        message,
        body: failureBody(check.rules, rules, check.failure),
      };
    case 'skip':
      return { kind: 'skipped', message: `skipped: ${check.skipReason ?? 'no reason given'}` };
    case 'n/a':
      return { kind: 'skipped', message: `n/a (not applicable): ${check.skipReason ?? ''}` };
  }
}

function checkCase(check: CheckResult, rules: Rules, runSeed: number): Case {
  const level = checkLevel(check, rules);
  const failure = check.failure;
  return {
    name: `${check.check} [${check.profile}]`,
    timeMs: check.durationMs,
    properties: [
      ['rule', check.rules.join(',')],
      ...(level === undefined ? [] : [['level', level] as const]),
      ['seed', String(failure?.seed ?? runSeed)],
      ['profile', check.profile],
      ['iterations', String(check.iterations)],
      ...(failure?.path === undefined ? [] : [['path', failure.path] as const]),
      ...(failure === undefined ? [] : [['repro', failure.repro] as const]),
    ],
    outcome: checkOutcome(check, rules),
  };
}

/** The outcome of a rule that no check execution covered. */
function ruleOutcome(rule: RuleResult): Outcome {
  const first = rule.failures[0];
  const message = first?.message ?? rule.note ?? `${rule.status} (no details recorded)`;
  const body = () => failureBody([rule.id], new Map([[rule.id, rule]]), first);
  switch (rule.status) {
    case 'planned':
      return { kind: 'skipped', message: PLANNED_MESSAGE };
    case 'skip':
      return { kind: 'skipped', message: `skipped: ${rule.note ?? 'no reason given'}` };
    case 'n/a':
      return { kind: 'skipped', message: `n/a (not applicable): ${rule.note ?? ''}` };
    case 'xfail':
      return { kind: 'skipped', message: `xfail (expected failure): ${message}` };
    case 'fail':
      return { kind: 'failure', type: rule.level, message, body: body() };
    case 'error':
    case 'timeout':
      return { kind: 'error', type: rule.status, message, body: body() };
    case 'pass':
    case 'xpass':
      // A verdict without any check behind it cannot be trusted as a pass.
      return {
        kind: 'error',
        type: 'no-check',
        message: `rule reported ${rule.status} but no check execution was recorded`,
        body: body(),
      };
  }
}

function ruleCase(rule: RuleResult, seed: number): Case {
  return {
    name: `${rule.id} (${rule.status})`,
    timeMs: 0,
    properties: [
      ['rule', rule.id],
      ['level', rule.level],
      ['seed', String(rule.failures[0]?.seed ?? seed)],
    ],
    outcome: ruleOutcome(rule),
  };
}

function renderCase(classname: string, c: Case): string {
  const props = c.properties
    .map(
      ([name, value]) =>
        `        <property name="${escapeAttr(name)}" value="${escapeAttr(value)}"/>`,
    )
    .join('\n');
  const head = `    <testcase classname="${escapeAttr(classname)}" name="${escapeAttr(c.name)}" time="${seconds(c.timeMs)}">`;
  const o = c.outcome;
  const result =
    o.kind === 'pass'
      ? []
      : o.kind === 'skipped'
        ? [`      <skipped message="${escapeAttr(o.message)}"/>`]
        : [
            `      <${o.kind} message="${escapeAttr(o.message)}" type="${escapeAttr(o.type)}">${escapeText(o.body)}</${o.kind}>`,
          ];
  return [
    head,
    '      <properties>',
    props,
    '      </properties>',
    ...result,
    '    </testcase>',
  ].join('\n');
}

interface Counts {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  timeMs: number;
}

function count(cases: readonly Case[]): Counts {
  const kinds = cases.map((c) => c.outcome.kind);
  return {
    tests: cases.length,
    failures: kinds.filter((k) => k === 'failure').length,
    errors: kinds.filter((k) => k === 'error').length,
    skipped: kinds.filter((k) => k === 'skipped').length,
    timeMs: cases.reduce((sum, c) => sum + (Number.isFinite(c.timeMs) ? c.timeMs : 0), 0),
  };
}

function countAttrs(c: Counts, timeMs = c.timeMs): string {
  return `tests="${c.tests}" failures="${c.failures}" errors="${c.errors}" skipped="${c.skipped}" time="${seconds(timeMs)}"`;
}

/** Each family's cases: its check executions, then its rules that no execution covered. */
function familyCases(report: RunReport): { id: string; title: string; cases: Case[] }[] {
  const rules = ruleIndex(report);
  const families = groupByFamily(report.rules).map((f) => ({ ...f, cases: [] as Case[] }));
  const familyFor = (id: string) => {
    let family = families.find((f) => f.id === id);
    if (family === undefined) {
      family = { id, title: id, rules: [], cases: [] };
      families.push(family);
    }
    return family;
  };
  const covered = new Set<string>();
  for (const check of report.checks) {
    familyFor(checkFamily(check, rules)).cases.push(checkCase(check, rules, report.seed));
    for (const id of check.rules) covered.add(id);
  }
  for (const family of families) {
    for (const rule of family.rules) {
      // Planned rules always show as planned, even if a stale check names them.
      if (rule.status === 'planned' || !covered.has(rule.id)) {
        family.cases.push(ruleCase(rule, report.seed));
      }
    }
  }
  return families;
}

export function toJunitXml(report: RunReport): string {
  const families = familyCases(report);
  const runProps: [string, string][] = [
    ['target', report.target],
    ['profiles', report.profiles.join(',')],
    ['seed', String(report.seed)],
    ['runs', String(report.runs)],
    ...(report.mutant === undefined ? [] : [['mutant', report.mutant] as [string, string]]),
    ['tool', `${report.tool.name} ${report.tool.version}`],
  ];
  const suites = families.map((family) => {
    const props = [['title', family.title] as [string, string], ...runProps]
      .map(
        ([name, value]) =>
          `      <property name="${escapeAttr(name)}" value="${escapeAttr(value)}"/>`,
      )
      .join('\n');
    return [
      `  <testsuite name="${escapeAttr(family.id)}" ${countAttrs(count(family.cases))} timestamp="${escapeAttr(report.startedAt)}">`,
      '    <properties>',
      props,
      '    </properties>',
      ...family.cases.map((c) => renderCase(family.id, c)),
      '  </testsuite>',
    ].join('\n');
  });
  const total = count(families.flatMap((f) => f.cases));
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${escapeAttr(`fedconn ${report.target}`)}" ${countAttrs(total, report.durationMs)}>`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
