import { describe, expect, test } from 'vitest';
import type { RunReport } from '../suites/harness/report.ts';
import { CONFORMANCE_JSON_FORMAT, toConformanceJson } from './json.ts';
import {
  CHAIN_FAILURE,
  NASTY,
  allPlannedReport,
  mixedReport,
  mutantReport,
} from './test-fixture.ts';

// The fixture's failure as conformance.json writes it: its exchanges as the transcript.
const { exchanges: chainExchanges = [], ...chainFailureRest } = CHAIN_FAILURE;
const chainFailureJson = {
  ...chainFailureRest,
  transcript: chainExchanges.map(({ answerType, ...e }) => ({
    ...e,
    ...(answerType === undefined ? {} : { answer_type: answerType }),
  })),
};

type Json = Record<string, unknown>;
const parse = (report: RunReport) => JSON.parse(toConformanceJson(report)) as Json;
const rulesOf = (doc: Json) => doc.rules as Json[];
const ruleOf = (doc: Json, id: string) => {
  const rule = rulesOf(doc).find((r) => r.id === id);
  if (rule === undefined) throw new Error(`no rule ${id}`);
  return rule;
};

describe('conformance.json', () => {
  test('has the documented top-level keys, in order', () => {
    expect(Object.keys(parse(mixedReport()))).toEqual([
      'format',
      'tool',
      'target',
      'profiles',
      'seed',
      'runs',
      'startedAt',
      'durationMs',
      'exitCode',
      'summary',
      'rules',
      'checks',
    ]);
    const mutant = parse(mutantReport());
    expect(Object.keys(mutant).slice(0, 8)).toEqual([
      'format',
      'tool',
      'target',
      'profiles',
      'seed',
      'runs',
      'mutant',
      'startedAt',
    ]);
    expect(mutant.mutant).toBe('skip-chain-check');
  });

  test('carries the run metadata', () => {
    const doc = parse(mixedReport());
    expect(doc).toMatchObject({
      format: CONFORMANCE_JSON_FORMAT,
      tool: { name: 'fedconn', version: '0.1.0' },
      target: 'http (reports/out/target.json) <acme & co>',
      profiles: ['multi-device', 'aliases', 'matrix-current'],
      seed: 1234,
      runs: 1,
      startedAt: '2026-08-01T10:00:00.000Z',
      durationMs: 8421,
      exitCode: 1,
    });
  });

  test('counts rules per status, every status present', () => {
    const report = mixedReport();
    const doc = parse(report);
    expect(doc.summary).toEqual(report.summary);
    expect(Object.keys(doc.summary as Json)).toEqual([
      'pass',
      'fail',
      'xfail',
      'xpass',
      'error',
      'timeout',
      'skip',
      'n/a',
      'planned',
    ]);
    const planned = allPlannedReport();
    expect(parse(planned).summary).toMatchObject({ pass: 0, planned: planned.rules.length });
  });

  test('has one entry per rule with its status and check count', () => {
    const report = mixedReport();
    const doc = parse(report);
    expect(rulesOf(doc).map((r) => [r.id, r.status, r.checks])).toEqual(
      report.rules.map((r) => [r.id, r.status, r.checks]),
    );
    expect(Object.keys(ruleOf(doc, 'CRED-CHAIN-01'))).toEqual([
      'id',
      'level',
      'family',
      'roles',
      'status',
      'checks',
      'statement',
      'failures',
    ]);
    expect(ruleOf(doc, 'CRED-CHAIN-09').note).toMatch(/^known failure/);
    expect(ruleOf(doc, 'IS-PUSH-01')).toMatchObject({
      status: 'planned',
      level: 'MUST',
      family: 'IS-PUSH',
      checks: 0,
      failures: [],
    });
  });

  test('keeps failures complete and their text byte for byte', () => {
    const failures = ruleOf(parse(mixedReport()), 'CRED-CHAIN-03').failures as Json[];
    expect(failures).toHaveLength(1);
    const failure = failures[0] ?? {};
    expect(Object.keys(failure)).toEqual([
      'check',
      'profile',
      'message',
      'expected',
      'actual',
      'counterexample',
      'seed',
      'path',
      'repro',
      'transcript',
    ]);
    expect(failure).toEqual({
      check: 'rejects an expired intermediate',
      profile: 'multi-device',
      ...chainFailureJson,
    });
    expect(failure.message).toContain(NASTY);
  });

  test('leaves absent optional fields out rather than writing null', () => {
    const text = toConformanceJson(mixedReport());
    expect(text).not.toContain('null');
    const error = (ruleOf(parse(mixedReport()), 'CONN-RACE-02').failures as Json[])[0] ?? {};
    expect(Object.keys(error)).toEqual(['check', 'profile', 'message', 'seed', 'repro']);
  });

  test('lists every check execution', () => {
    const report = mixedReport();
    const checks = parse(report).checks as Json[];
    expect(checks).toHaveLength(report.checks.length);
    expect(checks[2]).toEqual({
      check: 'rejects an expired intermediate',
      rules: ['CRED-CHAIN-03'],
      profile: 'multi-device',
      status: 'fail',
      durationMs: 250,
      iterations: 100,
      failure: chainFailureJson,
    });
    expect(checks[8]).toMatchObject({
      status: 'skip',
      skipReason: expect.stringContaining(NASTY) as string,
    });
  });

  test('is 2-space indented, ends with a newline and does not depend on input key order', () => {
    const report = mixedReport();
    const text = toConformanceJson(report);
    expect(text.startsWith('{\n  "format": ')).toBe(true);
    expect(text.endsWith('}\n')).toBe(true);
    // The same report with its keys assembled in reverse order gives the same bytes.
    const reversed = JSON.parse(
      JSON.stringify(report, (_key, value: unknown) =>
        value !== null && typeof value === 'object' && !Array.isArray(value)
          ? Object.fromEntries(Object.entries(value).reverse())
          : value,
      ),
    ) as RunReport;
    expect(Object.keys(reversed)[0]).toBe('exitCode');
    expect(toConformanceJson(reversed)).toBe(text);
  });
});
