// conformance.json: the machine-readable verdict. Objects are built field by
// field so the key order is fixed whatever order the report was assembled in.
import type { CheckResult, Failure, RuleResult, RunReport } from '../suites/harness/report.ts';
import { countByStatus } from './model.ts';

/** Bumped when a field changes meaning or disappears; new fields do not bump it. */
export const CONFORMANCE_JSON_FORMAT = 'fedconn-conformance/1';

/** Optional fields are left out rather than written as null. */
function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

function failureJson(failure: Failure) {
  return {
    message: failure.message,
    ...optional('expected', failure.expected),
    ...optional('actual', failure.actual),
    ...optional('counterexample', failure.counterexample),
    seed: failure.seed,
    ...optional('path', failure.path),
    repro: failure.repro,
    // The requests and answers the verdict rests on, in order (secrets redacted).
    ...(failure.exchanges === undefined || failure.exchanges.length === 0
      ? {}
      : {
          transcript: failure.exchanges.map((e) => ({
            direction: e.direction,
            method: e.method,
            url: e.url,
            headers: e.headers,
            ...optional('body', e.body),
            ...(e.status === undefined ? {} : { status: e.status }),
            ...optional('answer_type', e.answerType),
            ...optional('answer', e.answer),
            ...optional('error', e.error),
          })),
        }),
  };
}

function ruleJson(rule: RuleResult) {
  return {
    id: rule.id,
    level: rule.level,
    family: rule.family,
    roles: rule.roles,
    status: rule.status,
    checks: rule.checks,
    statement: rule.statement,
    ...optional('note', rule.note),
    failures: rule.failures.map((f) => ({
      check: f.check,
      profile: f.profile,
      ...failureJson(f),
    })),
  };
}

function checkJson(check: CheckResult) {
  return {
    check: check.check,
    rules: check.rules,
    profile: check.profile,
    status: check.status,
    durationMs: check.durationMs,
    iterations: check.iterations,
    ...optional('skipReason', check.skipReason),
    ...(check.notes === undefined ? {} : { notes: check.notes }),
    ...(check.failure === undefined ? {} : { failure: failureJson(check.failure) }),
    ...(check.untried === undefined ? {} : { untried: check.untried }),
    ...(check.position === undefined ? {} : { position: check.position }),
  };
}

export function toConformanceJson(report: RunReport): string {
  const doc = {
    format: CONFORMANCE_JSON_FORMAT,
    tool: { name: report.tool.name, version: report.tool.version },
    target: report.target,
    profiles: report.profiles,
    seed: report.seed,
    runs: report.runs,
    ...optional('mutant', report.mutant),
    ...(report.shard === undefined ? {} : { shard: report.shard }),
    ...(report.strict === undefined ? {} : { strict: report.strict }),
    ...(report.expectedToFail === undefined ? {} : { expectedToFail: report.expectedToFail }),
    startedAt: report.startedAt,
    durationMs: report.durationMs,
    exitCode: report.exitCode,
    summary: countByStatus(report.rules),
    rules: report.rules.map(ruleJson),
    checks: report.checks.map(checkJson),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
