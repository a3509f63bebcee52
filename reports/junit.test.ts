import { describe, expect, test } from 'vitest';
import type { RunReport } from '../suites/harness/report.ts';
import { PLANNED_MESSAGE, toJunitXml } from './junit.ts';
import { cleanText } from './text.ts';
import { CHAIN_FAILURE, allPlannedReport, mixedReport, mutantReport } from './test-fixture.ts';
import {
  descendants,
  elements,
  parseXml,
  properties,
  textOf,
  type XmlElement,
} from './test-xml.ts';
import { curlOf } from '../simulator/net/exchanges.ts';

const parse = (report: RunReport) => parseXml(toJunitXml(report));
const suites = (root: XmlElement) => elements(root, 'testsuite');
const cases = (root: XmlElement) => descendants(root, 'testcase');
const named = (root: XmlElement, name: string) => {
  const found = cases(root).filter((c) => c.attrs.name === name);
  if (found.length !== 1) throw new Error(`${found.length} testcases named ${name}`);
  return found[0] as XmlElement;
};
const only = (node: XmlElement, name: string) => {
  const found = elements(node, name);
  if (found.length !== 1) throw new Error(`${found.length} <${name}> in ${node.attrs.name ?? ''}`);
  return found[0] as XmlElement;
};
const outcome = (c: XmlElement) =>
  elements(c).find((e) => ['failure', 'error', 'skipped'].includes(e.name))?.name ?? 'pass';
const counts = (e: XmlElement) => ({
  tests: e.attrs.tests,
  failures: e.attrs.failures,
  errors: e.attrs.errors,
  skipped: e.attrs.skipped,
});

describe('junit.xml', () => {
  test('is well-formed for every kind of run', () => {
    for (const report of [mixedReport(), mutantReport(), allPlannedReport()]) {
      const text = toJunitXml(report);
      expect(text.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')).toBe(true);
      expect(parseXml(text).name).toBe('testsuites');
    }
  });

  test('never writes a raw control character or an unescaped markup character', () => {
    const text = toJunitXml(mixedReport());
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\uFFFE\uFFFF]/);
    expect(text).not.toContain('<script>');
    expect(text).not.toContain('<ok>');
    expect(text).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
  });

  test('has one testsuite per family, in catalog order, with counts', () => {
    const root = parse(mixedReport());
    expect(suites(root).map((s) => [s.attrs.name, counts(s)])).toEqual([
      ['CRED-CHAIN', { tests: '6', failures: '1', errors: '0', skipped: '2' }],
      ['CONN-RACE', { tests: '2', failures: '1', errors: '1', skipped: '0' }],
      ['FED-NAME', { tests: '1', failures: '0', errors: '0', skipped: '1' }],
      ['FED-KEYS', { tests: '2', failures: '0', errors: '1', skipped: '1' }],
      ['IS-PUSH', { tests: '2', failures: '0', errors: '0', skipped: '2' }],
    ]);
    expect(counts(root)).toEqual({ tests: '13', failures: '2', errors: '2', skipped: '6' });
    // Suite time is the sum of its check executions; the root's is the run's duration.
    expect(suites(root)[0]?.attrs.time).toBe('5.300');
    expect(root.attrs.time).toBe('8.421');
    expect(root.attrs.name).toBe('fedconn http (reports/out/target.json) <acme & co>');
  });

  test('puts the run on each suite as properties', () => {
    const first = suites(parse(mixedReport()))[0] as XmlElement;
    expect(properties(first)).toEqual({
      title: expect.any(String) as string,
      target: 'http (reports/out/target.json) <acme & co>',
      profiles: 'multi-device,aliases,matrix-current',
      seed: '1234',
      runs: '1',
      tool: 'fedconn 0.1.0',
    });
    const mutant = suites(parse(mutantReport()))[0] as XmlElement;
    expect(properties(mutant).mutant).toBe('skip-chain-check');
  });

  test('has one testcase per check execution, named by check and profile', () => {
    const report = mixedReport();
    const root = parse(report);
    for (const check of report.checks) {
      const c = named(root, `${check.check} [${check.profile}]`);
      expect(properties(c)).toMatchObject({
        rule: check.rules.join(','),
        profile: check.profile,
        iterations: '100',
      });
    }
    const pass = named(root, 'verifies an honest chain [multi-device]');
    expect(pass.attrs).toEqual({
      classname: 'CRED-CHAIN',
      name: 'verifies an honest chain [multi-device]',
      time: '0.013',
    });
    expect(outcome(pass)).toBe('pass');
    expect(properties(pass)).toEqual({
      rule: 'CRED-CHAIN-01',
      level: 'MUST',
      seed: '1234',
      profile: 'multi-device',
      iterations: '100',
    });
  });

  test('files a multi-rule check under its first rule and gives it the strongest level', () => {
    const c = named(parse(mixedReport()), 'rejects small-order keys [aliases]');
    expect(c.attrs.classname).toBe('CRED-CHAIN');
    expect(properties(c)).toMatchObject({ rule: 'CRED-CHAIN-11,CRED-CHAIN-01', level: 'MUST' });
  });

  test('reports a failure with expected, actual, counterexample and repro', () => {
    const c = named(parse(mixedReport()), 'rejects an expired intermediate [multi-device]');
    expect(c.attrs.time).toBe('0.250');
    expect(properties(c)).toEqual({
      rule: 'CRED-CHAIN-03',
      level: 'MUST',
      seed: '1234',
      profile: 'multi-device',
      iterations: '100',
      path: '3:1:0',
      repro: CHAIN_FAILURE.repro,
    });
    const failure = only(c, 'failure');
    expect(failure.attrs).toEqual({ message: cleanText(CHAIN_FAILURE.message), type: 'MUST' });
    expect(failure.attrs.message).toContain('<script>alert("x")</script> & \'quoted\' ]]> \\u0000');
    expect(textOf(failure)).toBe(
      [
        `Rule CRED-CHAIN-03 (MUST): An intermediate credential <must> be signed by the AS credential & "nothing" else's`,
        `Message: ${cleanText(CHAIN_FAILURE.message)}`,
        'Expected: status 403 and errcode "M_FORBIDDEN"',
        'Actual: status 200 <ok> & body {"joined":true}\\u0001',
        'Counterexample:',
        `{\n  "not_after": 0,\n  "label": "<AS> & 'co'"\n}`,
        'Seed: 1234, path 3:1:0',
        `Repro: ${CHAIN_FAILURE.repro}`,
        'On the wire:',
        ...(CHAIN_FAILURE.exchanges ?? []).map(curlOf),
      ].join('\n'),
    );
  });

  test('reports errors and timeouts as <error>', () => {
    const root = parse(mixedReport());
    const error = only(named(root, 'WelcomeBundle wins the race [multi-device]'), 'error');
    expect(error.attrs).toEqual({
      message: "TypeError: Cannot read properties of undefined (reading 'queue')",
      type: 'error',
    });
    const timeout = only(named(root, 'key response is self-signed [matrix-current]'), 'error');
    expect(timeout.attrs.type).toBe('timeout');
    expect(textOf(timeout)).toContain('Expected: a key response\nActual: Timeout');
  });

  test('reports skips, known failures (xfail) as skipped and stale expectations (xpass) as failures', () => {
    const root = parse(mixedReport());
    const skip = only(named(root, 'decodes padded base64 [matrix-current]'), 'skipped');
    expect(skip.attrs.message).toMatch(/^skipped: target does not decode base64 input </);
    const xfail = only(named(root, 'rejects a revoked credential [multi-device]'), 'skipped');
    expect(xfail.attrs.message).toBe('xfail (expected failure): revoked credential still accepted');
    const knownTimeout = only(named(root, 'serves the revocation list [aliases]'), 'skipped');
    expect(knownTimeout.attrs.message).toBe(
      'xfail (expected failure): step deadline of 5000 ms passed',
    );
    const xpass = only(named(root, 'checks the queue first [multi-device]'), 'failure');
    expect(xpass.attrs.type).toBe('xpass');
  });

  test('shows a rule skipped before any check ran as skipped, with its reason', () => {
    const c = named(parse(mixedReport()), 'FED-NAME-01 (skip)');
    expect(c.attrs.classname).toBe('FED-NAME');
    expect(only(c, 'skipped').attrs.message).toBe('skipped: profile matrix-2014 not selected');
  });

  test('shows planned rules as skipped testcases, never as passes', () => {
    const root = parse(mixedReport());
    for (const id of ['IS-PUSH-01', 'IS-PUSH-02']) {
      const c = named(root, `${id} (planned)`);
      expect(c.attrs.classname).toBe('IS-PUSH');
      expect(elements(c).map((e) => e.name)).toEqual(['properties', 'skipped']);
      expect(only(c, 'skipped').attrs).toEqual({ message: PLANNED_MESSAGE });
      expect(properties(c)).toEqual({ rule: id, level: 'MUST', seed: '1234' });
    }
    const planned = allPlannedReport();
    const all = parse(planned);
    expect(counts(all)).toEqual({
      tests: String(planned.rules.length),
      failures: '0',
      errors: '0',
      skipped: String(planned.rules.length),
    });
    expect(cases(all).every((c) => outcome(c) === 'skipped')).toBe(true);
    expect(suites(all)).toHaveLength(new Set(planned.rules.map((r) => r.family)).size);
  });

  test('never shows a pass that no check execution backs', () => {
    const report = mutantReport();
    const unbacked: RunReport = { ...report, checks: report.checks.slice(1) };
    const c = named(parse(unbacked), 'CRED-CHAIN-01 (pass)');
    expect(only(c, 'error').attrs.type).toBe('no-check');
  });

  test('keeps line breaks in attribute values through attribute normalisation', () => {
    const report = mutantReport();
    const [first, second] = report.checks;
    if (first === undefined || second?.failure === undefined) throw new Error('fixture changed');
    const multiline: RunReport = {
      ...report,
      checks: [
        first,
        { ...second, failure: { ...second.failure, message: 'line 1\nline 2\ttab' } },
      ],
    };
    const c = named(parse(multiline), 'rejects a foreign client credential [multi-device]');
    expect(only(c, 'failure').attrs.message).toBe('line 1\nline 2\ttab');
  });
});

describe('the test XML parser', () => {
  test('rejects what is not well-formed', () => {
    for (const bad of [
      '<a><b></a>',
      '<a x="1" x="2"/>',
      '<a x="<"/>',
      '<a>&</a>',
      '<a>&bogus;</a>',
      '<a>\u0001</a>',
      '<a>&#1;</a>',
      '<a>]]></a>',
      '<a/><b/>',
      '<a>',
    ]) {
      expect(() => parseXml(bad), bad).toThrow(/not well-formed/);
    }
  });

  test('decodes references', () => {
    const root = parseXml(`<a v="&lt;&#10;&#x41;">&amp;&quot;&apos;&gt;</a>`);
    expect(root.attrs.v).toBe('<\nA');
    expect(textOf(root)).toBe(`&"'>`);
  });
});
