// Flat rows for the exports: one row per recorded event and per fact of the ground truth,
// every value a string, a number or null, so pandas, polars and DuckDB read the JSON lines
// as a table directly (nested bodies and stored values are kept as JSON text).
import type { World } from './world.ts';

export interface ViewRow {
  readonly point: number;
  readonly seed: number;
  /** The server that saw it; `network` for the network observer's flows. */
  readonly server: string;
  readonly seq: number;
  /** Virtual time in ms since the epoch. */
  readonly at: number;
  readonly kind: 'request' | 'row' | 'flow';
  readonly method: string | null;
  readonly path: string | null;
  readonly query: string | null;
  readonly authorization: string | null;
  readonly body: string | null;
  readonly table: string | null;
  readonly op: string | null;
  readonly key: string | null;
  readonly value: string | null;
  readonly from_server: string | null;
  readonly to_server: string | null;
  readonly bytes: number | null;
}

type Blank<Row> = { readonly [K in keyof Row]: null };

/** Every column a kind of row does not fill. */
const NO_VIEW: Blank<Omit<ViewRow, 'point' | 'seed' | 'server' | 'seq' | 'at' | 'kind'>> = {
  method: null,
  path: null,
  query: null,
  authorization: null,
  body: null,
  table: null,
  op: null,
  key: null,
  value: null,
  from_server: null,
  to_server: null,
  bytes: null,
};

const json = (value: unknown): string | null =>
  value === undefined || value === null ? null : JSON.stringify(value);

export function* viewRows(point: number, world: World): Generator<ViewRow> {
  const seed = world.seed;
  for (const [server, view] of world.views) {
    for (const e of view.events) {
      const base = { point, seed, server, seq: e.seq, at: e.at, kind: e.kind, ...NO_VIEW };
      yield e.kind === 'request'
        ? {
            ...base,
            method: e.method,
            path: e.path,
            query: e.query,
            authorization: e.headers.authorization ?? null,
            body: json(e.body),
          }
        : { ...base, table: e.table, op: e.op, key: e.key, value: json(e.value) };
    }
  }
  for (const f of world.flows)
    yield {
      point,
      seed,
      server: 'network',
      seq: f.seq,
      at: f.at,
      kind: 'flow',
      ...NO_VIEW,
      from_server: f.from,
      to_server: f.to,
      bytes: f.bytes,
    };
}

export interface TruthRow {
  readonly point: number;
  readonly seed: number;
  readonly fact: 'user' | 'alias' | 'connection' | 'message';
  /** The user, the alias's owner, the connection's initiator or the message's sender. */
  readonly user_id: string;
  readonly server: string | null;
  readonly alias: string | null;
  readonly responder: string | null;
  readonly by: string | null;
  /** A connection established again between the same users (churn). */
  readonly repeat: boolean | null;
  readonly group_id: string | null;
  readonly recipient: string | null;
  /** When a message was sent, virtual ms since the epoch. */
  readonly at: number | null;
  readonly error: string | null;
}

const NO_TRUTH: Blank<Omit<TruthRow, 'point' | 'seed' | 'fact' | 'user_id'>> = {
  server: null,
  alias: null,
  responder: null,
  by: null,
  repeat: null,
  group_id: null,
  recipient: null,
  at: null,
  error: null,
};

export function* truthRows(point: number, world: World): Generator<TruthRow> {
  const base = { point, seed: world.seed, ...NO_TRUTH };
  for (const u of world.truth.users)
    yield { ...base, fact: 'user', user_id: u.userId, server: u.server };
  for (const a of world.truth.aliases)
    yield { ...base, fact: 'alias', user_id: a.owner, server: a.server, alias: a.alias };
  for (const c of world.truth.connections)
    yield {
      ...base,
      fact: 'connection',
      user_id: c.initiator,
      responder: c.responder,
      by: c.by,
      repeat: c.repeat,
      alias: c.by === 'alias' ? c.target : null,
      group_id: 'groupId' in c.outcome ? c.outcome.groupId : null,
      error: 'error' in c.outcome ? c.outcome.error : null,
    };
  for (const m of world.truth.messages)
    yield {
      ...base,
      fact: 'message',
      user_id: m.sender,
      recipient: m.recipient,
      group_id: m.groupId,
      at: m.at,
      error: m.error ?? null,
    };
}
