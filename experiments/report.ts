// The measures as CSV (one row per sweep point and attack) and a self-contained
// report.html: what was run, how to reproduce it, and the measures per point.
import type { Attack } from './attacks/index.ts';
import type { World } from './world.ts';
import type { PointResult } from './run.ts';
import type { AttackMeasures, Interval } from './measures.ts';
import type { Experiment } from './schema.ts';

const COLUMNS = [
  'attack',
  'trials',
  'success',
  'success_low',
  'success_high',
  'baseline',
  'advantage',
  'advantage_low',
  'advantage_high',
  'anonymity_set',
  'entropy_bits',
  'links_inferred',
  'links_correct',
  'connections',
  'precision',
  'precision_low',
  'precision_high',
  'recall',
  'recall_low',
  'recall_high',
  'precision_chance',
] as const;

/** An attack without links leaves their columns empty. */
const linkCells = (l: AttackMeasures['links']): unknown[] =>
  l === undefined
    ? Array.from({ length: 10 }, () => '')
    : [
        l.inferred,
        l.correct,
        l.truth,
        l.precision.value,
        l.precision.low,
        l.precision.high,
        l.recall.value,
        l.recall.low,
        l.recall.high,
        l.chance,
      ];

const csvCell = (value: unknown): string => {
  // NaN (no guesses, no links) is an empty cell, which every CSV reader takes as missing.
  if (typeof value === 'number' && Number.isNaN(value)) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
};

export function measuresCsv(e: Experiment, results: readonly PointResult[]): string {
  const swept = Object.keys(e.sweep);
  const lines = [[...swept, ...COLUMNS].join(',')];
  for (const point of results) {
    for (const { attack, measures: m } of point.attacks) {
      const row = [
        ...swept.map((k) => point.parameters[k]),
        attack,
        m.trials,
        m.success.value,
        m.success.low,
        m.success.high,
        m.baseline,
        m.advantage.value,
        m.advantage.low,
        m.advantage.high,
        m.anonymitySet,
        m.entropyBits,
        ...linkCells(m.links),
      ];
      lines.push(row.map(csvCell).join(','));
    }
  }
  return `${lines.join('\n')}\n`;
}

const escape = (text: string) =>
  text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');

const num = (x: number) => (Number.isNaN(x) ? '–' : x.toFixed(3));

const withInterval = (i: Interval, bold = false) =>
  `${bold ? `<b>${num(i.value)}</b>` : num(i.value)} [${num(i.low)}, ${num(i.high)}]`;

/** The guess columns; empty for an attack that made no guesses (one that only links). */
const guessCells = (m: AttackMeasures) =>
  m.trials === 0
    ? '<td>0</td>' + '<td></td>'.repeat(5)
    : [
        String(m.trials),
        withInterval(m.success),
        num(m.baseline),
        withInterval(m.advantage, true),
        num(m.anonymitySet),
        num(m.entropyBits),
      ]
        .map((cell) => `<td>${cell}</td>`)
        .join('');

/** The link columns; empty for an attack that inferred none by design (one that only guesses). */
const linkCellsHtml = ({ links: l }: AttackMeasures) =>
  l === undefined
    ? '<td></td><td></td>'
    : `<td>${l.inferred === 0 ? 'none inferred' : `${withInterval(l.precision)} of ${l.inferred}`} (chance ${num(l.chance)})</td><td>${withInterval(l.recall)} of ${l.truth}</td>`;

export function reportHtml(
  e: Experiment,
  results: readonly PointResult[],
  command: string,
  attacks: readonly Attack[],
  /** Rendered SVG figures, inlined as they are. */
  figures: readonly string[] = [],
): string {
  const swept = Object.keys(e.sweep);
  const rows = results.flatMap((point) =>
    point.attacks.map(
      ({ attack, measures: m }) =>
        `<tr>${swept.map((k) => `<td>${escape(JSON.stringify(point.parameters[k]))}</td>`).join('')}<td>${escape(attack)}</td>${guessCells(m)}${linkCellsHtml(m)}</tr>`,
    ),
  );
  const described = attacks
    .map((a) => `<dt>${escape(a.name)}</dt><dd>${escape(a.description)}</dd>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fedconn experiment ${escape(e.name)}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}code{background:#f4f4f4;padding:.1em .3em}</style>
</head><body>
<h1>Experiment ${escape(e.name)}</h1>
${e.description === undefined ? '' : `<p>${escape(e.description)}</p>`}
<p>Reproduce: <code>${escape(command)}</code></p>
<p>Adversary: ${e.adversary.services.map(escape).join(', ')}. Population: ${e.population.homeservers} homeservers × ${e.population.users_per_server} users × ${e.population.devices_per_user} devices, ${e.population.aliases_per_user} aliases each (${e.population.profile}). Workload: ${e.workload.connections} connections by ${e.workload.by} (${e.workload.pairs === 'any' ? 'any two users' : 'users of different homeservers'}), ${e.workload.messages_per_connection} messages each, ${e.workload.rounds} rounds.${e.adversary.network ? ' A network observer sees the traffic between homeservers.' : ''}</p>
${
  swept.length === 0
    ? ''
    : `<p>Swept: ${Object.entries(e.sweep)
        .map(([k, v]) => `${escape(k)} over ${v.map((x) => escape(JSON.stringify(x))).join(', ')}`)
        .join('; ')} (the values above are the file's own).</p>`
}
<h2>Attacks</h2><dl>${described}</dl>
<h2>Figures</h2>
${figures.map((svg) => `<figure>${svg}</figure>`).join('\n')}
<h2>Measures (95% confidence intervals)</h2>
<table><thead><tr>${swept.map((k) => `<th>${escape(k)}</th>`).join('')}<th>attack</th><th>guesses</th><th>success</th><th>chance</th><th>advantage</th><th>anonymity set</th><th>entropy (bits)</th><th>links: precision</th><th>links: recall</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>
</body></html>
`;
}

/**
 * Requests per observed server per virtual second of a world, from its first request;
 * the network observer's flows as the server `network`.
 */
export function activityOf(world: World): { server: string; second: number; requests: number }[] {
  const requests = [
    ...[...world.views.values()].flatMap((v) =>
      v.events.filter((e) => e.kind === 'request').map((e) => ({ server: v.server, at: e.at })),
    ),
    ...world.flows.map((f) => ({ server: 'network', at: f.at })),
  ];
  // A loop, not Math.min(...): a large world has more requests than arguments fit.
  let start = Number.POSITIVE_INFINITY;
  for (const r of requests) if (r.at < start) start = r.at;
  const counts = new Map<string, number>();
  for (const r of requests) {
    const key = `${r.server}\n${Math.floor((r.at - start) / 1000)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, requests]) => {
    const [server = '', second = '0'] = key.split('\n');
    return { server, second: Number(second), requests };
  });
}
