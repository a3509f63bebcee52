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

const label = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

/**
 * Each attack's advantage with its 95% interval: against the first swept parameter (a
 * band for a numeric one, error bars otherwise), one colour per attack (and per value of
 * a second swept parameter); one bar per attack without a sweep.
 */
export function advantageSpec(e: Experiment, results: readonly PointResult[]): TopLevelSpec {
  const [x, series] = Object.keys(e.sweep);
  const rows = results.flatMap((point) =>
    point.attacks.map(({ attack, measures: m }) => ({
      attack:
        series === undefined ? attack : `${attack}, ${series}=${label(point.parameters[series])}`,
      x: x === undefined ? attack : point.parameters[x],
      xLabel: x === undefined ? attack : label(point.parameters[x]),
      advantage: m.advantage.value,
      low: m.advantage.low,
      high: m.advantage.high,
    })),
  );
  const numeric = x !== undefined && rows.every((r) => typeof r.x === 'number');
  const xField = numeric
    ? { field: 'x', type: 'quantitative' as const, title: x }
    : { field: 'xLabel', type: 'nominal' as const, title: x ?? 'attack', sort: null };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Advantage over chance (95% confidence interval)',
    width: 480,
    height: 260,
    data: { values: rows },
    encoding: { x: xField, color: { field: 'attack', type: 'nominal', title: 'attack' } },
    layer: [
      {
        mark: numeric ? { type: 'errorband', opacity: 0.25 } : { type: 'errorbar', ticks: true },
        encoding: {
          y: { field: 'low', type: 'quantitative', title: 'advantage' },
          y2: { field: 'high' },
        },
      },
      {
        mark: { type: numeric ? 'line' : 'point', point: numeric, filled: true },
        encoding: { y: { field: 'advantage', type: 'quantitative' } },
      },
      { mark: { type: 'rule', strokeDash: [4, 4], color: '#888' }, encoding: { y: { datum: 0 } } },
    ],
  };
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
    title: `Requests the adversary's services received per virtual second (${world})`,
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
