import { describe, expect, test } from 'vitest';
import { RULE_STATUSES, type RunReport } from '../suites/harness/report.ts';
import { statusClass, toHtmlReport } from './html.ts';
import { CHAIN_FAILURE, allPlannedReport, mixedReport, mutantReport } from './test-fixture.ts';

const html = (report: RunReport = mixedReport()) => toHtmlReport(report);
/** The HTML of one element, found by an opening-tag fragment, up to its closing tag. */
const section = (text: string, open: string, close: string) => {
  const start = text.indexOf(open);
  if (start < 0) throw new Error(`${open} not found`);
  return text.slice(start, text.indexOf(close, start) + close.length);
};

describe('report.html', () => {
  test('is one self-contained document', () => {
    const text = html();
    expect(text.startsWith('<!doctype html>\n<html lang="en">')).toBe(true);
    expect(text).toContain('<meta charset="utf-8">');
    expect(text.trimEnd().endsWith('</html>')).toBe(true);
    // No external resources of any kind.
    expect(text).not.toMatch(/\s(src|href)="(?!#)/);
    expect(text).not.toMatch(/<link|@import|url\(/);
  });

  test('shows the run metadata', () => {
    const meta = section(html(), '<dl class="meta"', '</dl>');
    for (const [k, v] of [
      ['Target', 'http (reports/out/target.json) &lt;acme &amp; co&gt;'],
      ['Profiles', 'multi-device, aliases, matrix-current'],
      [
        'Seed',
        '1234: each check runs under its own seed, derived from this one, its name and its profile (a failure shows it); the repro lines take this run seed',
      ],
      ['Runs', '1'],
      ['Started', '2026-08-01T10:00:00.000Z'],
      ['Duration', '8.4 s'],
      ['Exit code', '1 (rule failures)'],
    ]) {
      expect(meta).toContain(`<dt>${k}</dt><dd>${v}</dd>`);
    }
    expect(meta).not.toContain('Mutant');
    expect(html()).toContain(
      '<p class="verdict bad">4 of 11 rules failed (4 rules unchecked: planned or skipped)</p>',
    );
  });

  test('shows a mutant run as such', () => {
    const text = html(mutantReport());
    expect(text).toContain('<dt>Mutant</dt><dd>skip-chain-check</dd>');
    expect(text).toContain('<p class="mutant">Mutant run: <strong>skip-chain-check</strong>');
    expect(text).toContain('<title>fedconn conformance: sim (mutant skip-chain-check)</title>');
  });

  test('counts every status, with a colour class each, neutral at zero; failing counts lead to the failures', () => {
    const summary = section(html(), '<ul class="summary"', '</ul>');
    const report = mixedReport();
    const failing = new Set(['fail', 'xpass', 'error', 'timeout']);
    for (const status of RULE_STATUSES) {
      const n = report.summary[status];
      const text = `<span class="count">${n}</span> ${status}`;
      expect(summary).toContain(
        `<li class="${n === 0 ? 'zero' : statusClass(status)}" data-status="${status}">${n > 0 && failing.has(status) ? `<a href="#failures">${text}</a>` : text}</li>`,
      );
    }
    const planned = section(html(allPlannedReport()), '<ul class="summary"', '</ul>');
    expect(planned).toContain('<li class="zero" data-status="fail">');
  });

  test('lists the failing rules above the matrix, each leading to its card', () => {
    const text = html();
    const failing = section(text, '<section id="failing-rules">', '</section>');
    expect(text.indexOf('<section id="failing-rules">')).toBeLessThan(
      text.indexOf('<section id="matrix">'),
    );
    const links = [...failing.matchAll(/<a href="#failures-([^"]+)">/g)].map((m) => m[1]);
    expect(links).toContain('CRED-CHAIN-03');
    for (const id of links)
      expect(text).toContain(`<article class="failure" id="failures-${id ?? ''}"`);
    expect(html(allPlannedReport())).not.toContain('id="failing-rules"');
  });

  test('has one matrix row per rule, by family in catalog order, with its status', () => {
    const report = mixedReport();
    const matrix = section(html(report), '<table id="rule-matrix">', '</table>');
    const rows = [...matrix.matchAll(/<tr data-rule="([^"]+)" data-status="([^"]+)"/g)];
    expect(rows.map((m) => [m[1], m[2]])).toEqual(report.rules.map((r) => [r.id, r.status]));
    expect([...matrix.matchAll(/<tbody data-family="([^"]+)"/g)].map((m) => m[1])).toEqual([
      'CRED-CHAIN',
      'CONN-RACE',
      'FED-NAME',
      'FED-KEYS',
      'IS-PUSH',
    ]);
    expect(matrix).toContain(
      '<tr data-rule="CRED-CHAIN-03" data-status="fail" data-level="MUST"><td class="id"><a href="#failures-CRED-CHAIN-03">CRED-CHAIN-03</a></td><td class="level">MUST</td><td class="status s-fail">fail</td>',
    );
    expect(matrix).toContain('<td class="status s-planned">planned</td>');
    expect(matrix).toContain(
      'CRED-CHAIN: Credentials and the signature chain<span class="family-counts">2 pass · 1 fail · 1 xfail</span>',
    );
    const all = allPlannedReport();
    const allRows = html(all).match(/<tr data-rule=/g) ?? [];
    expect(allRows).toHaveLength(all.rules.length);
  });

  test('escapes statements, notes and failure text', () => {
    const text = html();
    expect(text).toContain(
      `An intermediate credential &lt;must&gt; be signed by the AS credential &amp; "nothing" else's`,
    );
    // The only script is the page's own filter.
    expect(text.match(/<script>/g)).toHaveLength(1);
    expect(text).not.toContain('alert("x")</script>');
    expect(text).toContain(
      '&lt;script&gt;alert("x")&lt;/script&gt; &amp; \'quoted\' ]]&gt; \\u0000',
    );
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\uFFFE\uFFFF]/);
  });

  test('details each failure with check, profile, expected vs actual, counterexample and repro', () => {
    const failures = section(html(), '<section id="failures">', '</section>');
    expect(failures).toContain('<h2>Failures (5)</h2>');
    expect(
      [...failures.matchAll(/<article class="failure" id="failures-([^"]+)"/g)].map((m) => m[1]),
    ).toEqual(['CRED-CHAIN-03', 'CRED-CHAIN-09', 'CONN-RACE-02', 'FED-KEYS-04']);
    const chain = section(failures, 'id="failures-CRED-CHAIN-03"', '</article>');
    expect(chain).toContain(
      '<h3><span class="badge s-fail">fail</span> CRED-CHAIN-03 <span class="level">MUST</span></h3>',
    );
    expect(chain).toContain('<dt>Check</dt><dd class="check">rejects an expired intermediate</dd>');
    expect(chain).toContain('<dt>Profile</dt><dd class="profile">multi-device</dd>');
    expect(chain).toContain('<dt>Check seed</dt><dd class="seed">1234, path 3:1:0</dd>');
    expect(chain).toContain(
      '<tr><th scope="row">Expected</th><td><pre>status 403 and errcode "M_FORBIDDEN"</pre></td></tr>',
    );
    expect(chain).toContain(
      '<tr><th scope="row">Actual</th><td><pre>status 200 &lt;ok&gt; &amp; body {"joined":true}\\u0001</pre></td></tr>',
    );
    expect(chain).toContain(
      `<pre class="counterexample">{\n  "not_after": 0,\n  "label": "&lt;AS&gt; &amp; 'co'"\n}</pre>`,
    );
    expect(chain).toContain(`<p class="repro">Repro: <code>${CHAIN_FAILURE.repro}</code></p>`);
    const known = section(failures, 'id="failures-CRED-CHAIN-09"', '</article>');
    expect(known).toContain('<span class="badge s-xfail">xfail</span>');
    expect(known).toContain('<p class="note">known failure (expectations/acme.json)');
    expect(known.match(/<div class="occurrence">/g)).toHaveLength(2);
    expect(html(allPlannedReport())).toContain('<h2>Failures (0)</h2>\n<p>No failures.</p>');
  });

  test('lists check executions', () => {
    const checks = section(html(), '<section id="checks">', '</section>');
    expect(checks).toContain('<summary>Check executions (10)</summary>');
    expect(checks.match(/<tr data-check-status=/g)).toHaveLength(10);
    expect(checks).toContain('<td class="status s-timeout">timeout</td>');
  });
});
