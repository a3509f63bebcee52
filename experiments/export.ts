// Flat rows for the exports: one row per recorded event and per fact of the ground truth,
// every value a string, a number or null, so pandas, polars and DuckDB read the JSON lines
// as a table directly (nested bodies and stored values are kept as JSON text).
import type { World } from './world.ts';

export interface ViewRow {
  readonly point: number;
  readonly seed: number;
  readonly server: string;
  readonly seq: number;
  /** Virtual time in ms since the epoch. */
  readonly at: number;
  readonly kind: 'request' | 'row';
  readonly method: string | null;
  readonly path: string | null;
  readonly query: string | null;
  readonly authorization: string | null;
  readonly body: string | null;
  readonly table: string | null;
  readonly op: string | null;
  readonly key: string | null;
  readonly value: string | null;
}

const json = (value: unknown): string | null =>
  value === undefined || value === null ? null : JSON.stringify(value);

export function* viewRows(point: number, world: World): Generator<ViewRow> {
  for (const [server, view] of world.views) {
    for (const e of view.events) {
      const base = { point, seed: world.seed, server, seq: e.seq, at: e.at, kind: e.kind };
      yield e.kind === 'request'
        ? {
            ...base,
            method: e.method,
            path: e.path,
            query: e.query,
            authorization: e.headers.authorization ?? null,
            body: json(e.body),
            table: null,
            op: null,
            key: null,
            value: null,
          }
        : {
            ...base,
            method: null,
            path: null,
            query: null,
            authorization: null,
            body: null,
            table: e.table,
            op: e.op,
            key: e.key,
            value: json(e.value),
          };
    }
  }
}

export interface TruthRow {
  readonly point: number;
  readonly seed: number;
  readonly fact: 'user' | 'alias' | 'connection';
  readonly user_id: string;
  readonly server: string | null;
  readonly alias: string | null;
  readonly responder: string | null;
  readonly by: string | null;
  readonly group_id: string | null;
  readonly error: string | null;
}

export function* truthRows(point: number, world: World): Generator<TruthRow> {
  const none = { alias: null, responder: null, by: null, group_id: null, error: null };
  const seed = world.seed;
  for (const u of world.truth.users)
    yield { point, seed, fact: 'user', ...none, user_id: u.userId, server: u.server };
  for (const a of world.truth.aliases)
    yield {
      point,
      seed,
      fact: 'alias',
      ...none,
      user_id: a.owner,
      server: a.server,
      alias: a.alias,
    };
  for (const c of world.truth.connections)
    yield {
      point,
      seed,
      fact: 'connection',
      ...none,
      user_id: c.initiator,
      server: null,
      responder: c.responder,
      by: c.by,
      alias: c.by === 'alias' ? c.target : null,
      group_id: 'groupId' in c.outcome ? c.outcome.groupId : null,
      error: 'error' in c.outcome ? c.outcome.error : null,
    };
}
