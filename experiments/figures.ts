// The report's figures, rendered to SVG in Node by Vega-Lite (compiled to Vega, drawn by
// Vega's headless SVG renderer): the report stays one self-contained file that needs no
// script and no network to show them.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { PointResult } from './run.ts';
import type { Experiment } from './schema.ts';

/** Renders a Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A parameter's value as a legend or axis shows it: a list of names as the names. */
const label = (value: unknown): string =>
  typeof value === 'string'
    ? value
    : Array.isArray(value) && value.every((v) => typeof v === 'string')
      ? `[${value.join(', ')}]`
      : JSON.stringify(value);

interface IntervalRow {
  readonly series: string;
  readonly x: unknown;
  readonly xLabel: string;
  readonly value: number;
  readonly low: number;
  readonly high: number;
}

/**
 * One measure per sweep point with its 95% interval: against the first swept parameter
 * (a band for a numeric one, error bars otherwise), one colour per series; one mark per
 * series without a sweep.
 */
function intervalSpec(
  title: string,
  measure: string,
  x: string | undefined,
  rows: readonly IntervalRow[],
): TopLevelSpec {
  const numeric = x !== undefined && rows.every((r) => typeof r.x === 'number');
  const xField = numeric
    ? { field: 'x', type: 'quantitative' as const, title: x }
    : { field: 'xLabel', type: 'nominal' as const, title: x ?? 'attack', sort: null };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 480,
    height: 260,
    data: { values: [...rows] },
    encoding: {
      x: xField,
      // Series names carry the second swept parameter's value: long, so whole, below.
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        legend: { orient: 'bottom', direction: 'vertical', labelLimit: 1000 },
      },
    },
    layer: [
      {
        mark: numeric ? { type: 'errorband', opacity: 0.25 } : { type: 'errorbar', ticks: true },
        encoding: {
          y: { field: 'low', type: 'quantitative', title: measure },
          y2: { field: 'high' },
        },
      },
      {
        // A filled line would be drawn as an area: only the points are filled.
        mark: numeric ? { type: 'line', point: { filled: true } } : { type: 'point', filled: true },
        encoding: { y: { field: 'value', type: 'quantitative' } },
      },
      { mark: { type: 'rule', strokeDash: [4, 4], color: '#888' }, encoding: { y: { datum: 0 } } },
    ],
  };
}

/** Where a point sits: its value of the first swept parameter, its series name with the second's. */
function placed(e: Experiment, point: PointResult, series: string) {
  const [x, second] = Object.keys(e.sweep);
  return {
    series:
      second === undefined ? series : `${series}, ${second}=${label(point.parameters[second])}`,
    x: x === undefined ? series : point.parameters[x],
    xLabel: x === undefined ? series : label(point.parameters[x]),
  };
}

/** Each guessing attack's advantage with its 95% interval; undefined without one. */
export function advantageSpec(
  e: Experiment,
  results: readonly PointResult[],
): TopLevelSpec | undefined {
  const rows = results.flatMap((point) =>
    point.attacks
      .filter(({ measures: m }) => m.trials > 0)
      .map(({ attack, measures: m }) => ({
        ...placed(e, point, attack),
        value: m.advantage.value,
        low: m.advantage.low,
        high: m.advantage.high,
      })),
  );
  if (rows.length === 0) return undefined;
  return intervalSpec(
    'Advantage over chance (95% confidence interval)',
    'advantage',
    Object.keys(e.sweep)[0],
    rows,
  );
}

/** The precision and recall of each attack that infers links, with their 95% intervals; undefined without one. */
export function linksSpec(
  e: Experiment,
  results: readonly PointResult[],
): TopLevelSpec | undefined {
  const rows = results.flatMap((point) =>
    point.attacks.flatMap(({ attack, measures: { links } }) =>
      links === undefined
        ? []
        : (['precision', 'recall'] as const)
            // No links inferred: no precision to draw.
            .filter((measure) => !Number.isNaN(links[measure].value))
            .map((measure) => ({
              ...placed(e, point, `${attack}: ${measure}`),
              value: links[measure].value,
              low: links[measure].low,
              high: links[measure].high,
            })),
    ),
  );
  if (rows.length === 0) return undefined;
  return intervalSpec(
    'Inferred connections: precision and recall (95% confidence interval)',
    'share',
    Object.keys(e.sweep)[0],
    rows,
  );
}

/** Requests each observed server received per virtual second, over one world. */
export function activitySpec(
  activity: readonly {
    readonly server: string;
    readonly second: number;
    readonly requests: number;
  }[],
  world: string,
): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `Requests the adversary saw per virtual second (${world})`,
    width: 480,
    height: 200,
    data: { values: [...activity] },
    mark: { type: 'bar', size: 6 },
    encoding: {
      x: {
        field: 'second',
        type: 'quantitative',
        title: 'virtual time (s from the first request)',
      },
      y: { field: 'requests', type: 'quantitative', title: 'requests' },
      color: { field: 'server', type: 'nominal' },
    },
  };
}
