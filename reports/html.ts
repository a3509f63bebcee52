// report.html: one self-contained page (inline CSS, no external resources) an
// implementer can open or a CI system can archive. Everything is readable
// without JavaScript; the inline script only adds a status filter.
import { curlOf } from '../simulator/net/exchanges.ts';
import type { CheckResult, RuleResult, RuleStatus, RunReport } from '../suites/harness/report.ts';
import { RULE_STATUSES } from '../suites/harness/report.ts';

/** The CSS class of a status: `n/a` has no slash in its class (`s-na`). */
export const statusClass = (status: string): string => `s-${status.replace(/[^a-z]/g, '')}`;
import { countByStatus, formatDuration, groupByFamily, type FamilyGroup } from './model.ts';
import { escapeAttr, escapeText as esc } from './text.ts';

/** Statuses that make a run fail, for the verdict line. */
const FAILING: readonly RuleStatus[] = ['fail', 'xpass', 'error', 'timeout'];

const STYLE = `
:root { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; }
body { margin: 0 auto; padding: 1rem 1.5rem 3rem; max-width: 80rem; line-height: 1.4; }
h1 { margin: 0.5rem 0; font-size: 1.6rem; }
h2 { margin-top: 2rem; border-bottom: 1px solid #d0d7de; padding-bottom: 0.3rem; }
.verdict { font-size: 1.15rem; font-weight: 600; }
.verdict.bad { color: #cf222e; } .verdict.good { color: #1a7f37; }
.mutant { background: #fff8c5; border: 1px solid #d4a72c; padding: 0.5rem 0.8rem; border-radius: 6px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; margin: 1rem 0; }
dl.meta dt { font-weight: 600; color: #57606a; } dl.meta dd { margin: 0; }
ul.summary { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 0.5rem; }
ul.summary li { padding: 0.3rem 0.7rem; border-radius: 6px; font-weight: 600; }
ul.summary li.zero { background: transparent; color: #8c959f; outline: 1px solid #d0d7de; outline-offset: -1px; }
ul.summary li a { color: inherit; }
ul.failing { padding-left: 1.2rem; } ul.failing li { margin: 0.2rem 0; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #d0d7de; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
thead th { background: #f6f8fa; position: sticky; top: 0; }
tr.family th { background: #eaeef2; font-size: 1.05rem; }
.family-counts { font-weight: normal; color: #57606a; font-size: 0.9rem; margin-left: 0.5rem; }
td.id, td.level, td.status, td.num { white-space: nowrap; }
td.num { text-align: right; }
td.status { font-weight: 600; text-align: center; }
.note { color: #57606a; font-size: 0.9rem; margin-top: 0.2rem; }
.s-pass { background: #1a7f37; color: #fff; }
.s-fail { background: #cf222e; color: #fff; }
.s-xfail { background: #e3a008; color: #1f2328; }
.s-xpass { background: #8250df; color: #fff; }
.s-error, .s-timeout { background: #82071e; color: #fff; }
.s-skip { background: #8c959f; color: #fff; }
.s-na { background: transparent; color: #57606a; outline: 1px solid #8c959f; outline-offset: -4px; }
.s-planned { background: transparent; color: #57606a; outline: 2px dashed #8c959f; outline-offset: -4px; }
span.badge { display: inline-block; padding: 0.05rem 0.5rem; border-radius: 4px; font-size: 0.9rem; }
article.failure { border: 1px solid #d0d7de; border-radius: 6px; padding: 0.5rem 1rem; margin: 1rem 0; }
article.failure h3 { margin: 0.3rem 0; }
.occurrence { border-top: 1px dashed #d0d7de; margin-top: 0.6rem; padding-top: 0.4rem; }
.occurrence dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.1rem 1rem; margin: 0.3rem 0; }
.occurrence dt { font-weight: 600; color: #57606a; } .occurrence dd { margin: 0; }
table.diff th { width: 7rem; background: #f6f8fa; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; font-size: 0.9rem; }
pre.counterexample { background: #f6f8fa; padding: 0.5rem; border-radius: 4px; }
code { background: #f6f8fa; padding: 0.1rem 0.3rem; border-radius: 4px; word-break: break-all; }
details summary { cursor: pointer; font-weight: 600; }
#filter { margin: 0.5rem 0; }
footer { margin-top: 3rem; color: #57606a; font-size: 0.85rem; }
`;

// Without JavaScript the filter stays hidden and every row shows.
const SCRIPT = `
(() => {
  const box = document.getElementById('filter');
  const select = document.getElementById('status-filter');
  if (!box || !select) return;
  box.hidden = false;
  select.addEventListener('change', () => {
    for (const row of document.querySelectorAll('#rule-matrix tr[data-rule]')) {
      row.hidden = select.value !== '' && row.dataset.status !== select.value;
    }
  });
})();
`;

function anchor(ruleId: string): string {
  return `failures-${ruleId}`;
}

function statusCell(status: string): string {
  return `<td class="status ${statusClass(status)}">${esc(status)}</td>`;
}

function badge(status: string): string {
  return `<span class="badge ${statusClass(status)}">${esc(status)}</span>`;
}

function verdict(report: RunReport): string {
  const counts = countByStatus(report.rules);
  const failing = FAILING.reduce((sum, s) => sum + counts[s], 0);
  const unchecked = counts.planned + counts.skip;
  const caveat = unchecked > 0 ? ` (${unchecked} rules unchecked: planned or skipped)` : '';
  return failing > 0
    ? `<p class="verdict bad">${failing} of ${report.rules.length} rules failed${esc(caveat)}</p>`
    : `<p class="verdict good">No rule failed${esc(caveat)}</p>`;
}

function metadata(report: RunReport): string {
  const rows: [string, string][] = [
    ['Target', report.target],
    ['Profiles', report.profiles.join(', ')],
    [
      'Seed',
      `${report.seed}: each check runs under its own seed, derived from this one, its name and its profile (a failure shows it); the repro lines take this run seed`,
    ],
    ['Runs', String(report.runs)],
    ...(report.mutant === undefined ? [] : [['Mutant', report.mutant] as [string, string]]),
    ['Started', report.startedAt],
    ['Duration', formatDuration(report.durationMs)],
    ['Exit code', `${report.exitCode} (${report.exitCode === 0 ? 'success' : 'rule failures'})`],
  ];
  const items = rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('\n');
  return `<dl class="meta" id="run-metadata">\n${items}\n</dl>`;
}

function summary(report: RunReport): string {
  const counts = countByStatus(report.rules);
  const items = RULE_STATUSES.map((s) => {
    // A status no rule has stays neutral; the failing ones lead to their cards.
    const cls = counts[s] === 0 ? 'zero' : statusClass(s);
    const text = `<span class="count">${counts[s]}</span> ${s}`;
    const linked = counts[s] > 0 && FAILING.includes(s) ? `<a href="#failures">${text}</a>` : text;
    return `<li class="${cls}" data-status="${s}">${linked}</li>`;
  });
  return `<ul class="summary" id="summary">\n${items.join('\n')}\n</ul>`;
}

/** The failing rules first, each leading to its failure card. */
function failingRules(report: RunReport): string {
  const failing = groupByFamily(report.rules).flatMap((f) =>
    f.rules.filter((r) => FAILING.includes(r.status) && r.failures.length > 0),
  );
  if (failing.length === 0) return '';
  const items = failing.map(
    (r) =>
      `<li>${badge(r.status)} <a href="#${escapeAttr(anchor(r.id))}">${esc(r.id)}</a> <span class="level">${esc(r.level)}</span> ${esc(r.failures[0]?.message ?? '')}</li>`,
  );
  return [
    '<section id="failing-rules">',
    `<h2>Failing rules (${failing.length})</h2>`,
    `<ul class="failing">\n${items.join('\n')}\n</ul>`,
    '</section>',
  ].join('\n');
}

function familyCounts(family: FamilyGroup): string {
  const counts = countByStatus(family.rules);
  return RULE_STATUSES.filter((s) => counts[s] > 0)
    .map((s) => `${counts[s]} ${s}`)
    .join(' · ');
}

function matrixRow(rule: RuleResult): string {
  const id =
    rule.failures.length > 0
      ? `<a href="#${escapeAttr(anchor(rule.id))}">${esc(rule.id)}</a>`
      : esc(rule.id);
  const note = rule.note === undefined ? '' : `<div class="note">${esc(rule.note)}</div>`;
  return [
    `<tr data-rule="${escapeAttr(rule.id)}" data-status="${escapeAttr(rule.status)}" data-level="${escapeAttr(rule.level)}">`,
    `<td class="id">${id}</td>`,
    `<td class="level">${esc(rule.level)}</td>`,
    statusCell(rule.status),
    `<td class="statement">${esc(rule.statement)}${note}</td>`,
    `<td class="num">${rule.checks}</td>`,
    '</tr>',
  ].join('');
}

function matrix(report: RunReport): string {
  const bodies = groupByFamily(report.rules).map((family) =>
    [
      `<tbody data-family="${escapeAttr(family.id)}">`,
      `<tr class="family"><th colspan="5" scope="colgroup" id="family-${escapeAttr(family.id)}">${esc(family.id)}: ${esc(family.title)}<span class="family-counts">${esc(familyCounts(family))}</span></th></tr>`,
      ...family.rules.map(matrixRow),
      '</tbody>',
    ].join('\n'),
  );
  const options = RULE_STATUSES.map((s) => `<option value="${s}">${s}</option>`).join('');
  return [
    '<section id="matrix">',
    '<h2>Rule matrix</h2>',
    `<p id="filter" hidden><label>Show status <select id="status-filter"><option value="">all</option>${options}</select></label></p>`,
    '<table id="rule-matrix">',
    '<thead><tr><th scope="col">Rule</th><th scope="col">Level</th><th scope="col">Status</th><th scope="col">Statement</th><th scope="col">Checks</th></tr></thead>',
    ...bodies,
    '</table>',
    '</section>',
  ].join('\n');
}

function optionalRow(label: string, value: string | undefined): string {
  return value === undefined
    ? ''
    : `<tr><th scope="row">${label}</th><td><pre>${esc(value)}</pre></td></tr>`;
}

function occurrence(failure: RuleResult['failures'][number]): string {
  const diff =
    failure.expected === undefined && failure.actual === undefined
      ? ''
      : `<table class="diff">${optionalRow('Expected', failure.expected)}${optionalRow('Actual', failure.actual)}</table>`;
  const counterexample =
    failure.counterexample === undefined
      ? ''
      : `<h4>Counterexample</h4><pre class="counterexample">${esc(failure.counterexample)}</pre>`;
  const seed =
    failure.path === undefined ? String(failure.seed) : `${failure.seed}, path ${failure.path}`;
  return [
    '<div class="occurrence">',
    '<dl>',
    `<dt>Check</dt><dd class="check">${esc(failure.check)}</dd>`,
    `<dt>Profile</dt><dd class="profile">${esc(failure.profile)}</dd>`,
    `<dt>Message</dt><dd class="message">${esc(failure.message)}</dd>`,
    `<dt>Check seed</dt><dd class="seed">${esc(seed)}</dd>`,
    '</dl>',
    diff,
    counterexample,
    `<p class="repro">Repro: <code>${esc(failure.repro)}</code></p>`,
    failure.exchanges === undefined || failure.exchanges.length === 0
      ? ''
      : `<details class="transcript" open><summary>Transcript: the last ${failure.exchanges.length} requests and answers before the verdict, as curl lines (secrets redacted)</summary><pre class="counterexample">${esc(failure.exchanges.map(curlOf).join('\n'))}</pre></details>`,
    '</div>',
  ].join('\n');
}

function failureDetails(report: RunReport): string {
  const failing = groupByFamily(report.rules).flatMap((f) =>
    f.rules.filter((r) => r.failures.length > 0),
  );
  const total = failing.reduce((sum, r) => sum + r.failures.length, 0);
  const articles = failing.map((rule) =>
    [
      `<article class="failure" id="${escapeAttr(anchor(rule.id))}" data-rule="${escapeAttr(rule.id)}">`,
      `<h3>${badge(rule.status)} ${esc(rule.id)} <span class="level">${esc(rule.level)}</span></h3>`,
      `<p class="statement">${esc(rule.statement)}</p>`,
      rule.note === undefined ? '' : `<p class="note">${esc(rule.note)}</p>`,
      ...rule.failures.map(occurrence),
      '</article>',
    ].join('\n'),
  );
  return [
    '<section id="failures">',
    `<h2>Failures (${total})</h2>`,
    ...(articles.length === 0 ? ['<p>No failures.</p>'] : articles),
    '</section>',
  ].join('\n');
}

function checkRow(check: CheckResult): string {
  const detail = check.failure?.message ?? check.skipReason ?? '';
  return [
    `<tr data-check-status="${escapeAttr(check.status)}">`,
    `<td>${esc(check.check)}</td>`,
    `<td>${esc(check.rules.join(', '))}</td>`,
    `<td>${esc(check.profile)}</td>`,
    statusCell(check.status),
    `<td class="num">${check.iterations}</td>`,
    `<td class="num">${esc(formatDuration(check.durationMs))}</td>`,
    `<td>${esc(detail)}</td>`,
    '</tr>',
  ].join('');
}

function checkTable(report: RunReport): string {
  return [
    '<section id="checks">',
    '<details>',
    `<summary>Check executions (${report.checks.length})</summary>`,
    '<table>',
    '<thead><tr><th scope="col">Check</th><th scope="col">Rules</th><th scope="col">Profile</th><th scope="col">Status</th><th scope="col">Iterations</th><th scope="col">Duration</th><th scope="col">Detail</th></tr></thead>',
    '<tbody>',
    ...report.checks.map(checkRow),
    '</tbody>',
    '</table>',
    '</details>',
    '</section>',
  ].join('\n');
}

export function toHtmlReport(report: RunReport): string {
  const title = `fedconn conformance: ${report.target}${report.mutant === undefined ? '' : ` (mutant ${report.mutant})`}`;
  const mutant =
    report.mutant === undefined
      ? ''
      : `<p class="mutant">Mutant run: <strong>${esc(report.mutant)}</strong>, a deliberately broken reference. The suite is expected to fail the rule this mutant violates.</p>`;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta name="generator" content="${escapeAttr(`${report.tool.name} ${report.tool.version}`)}">`,
    `<title>${esc(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<header>',
    '<h1>fedconn conformance report</h1>',
    verdict(report),
    mutant,
    metadata(report),
    summary(report),
    '</header>',
    '<main>',
    failingRules(report),
    matrix(report),
    failureDetails(report),
    checkTable(report),
    '</main>',
    `<footer>Generated by ${esc(report.tool.name)} ${esc(report.tool.version)}.</footer>`,
    `<script>${SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
