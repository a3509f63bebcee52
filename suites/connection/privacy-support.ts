// What the privacy checks share: opening a world (a fresh federation with a
// populated set of reference users), the views of one service, renaming fresh
// random values so that two worlds can be compared, and the text an oracle
// searches in an event (including what base64 strings decode to).
import type { PhoenixProfile } from '../../simulator/homeserver/context.ts';
import type {
  Observer,
  RecordedEvent,
  RecordedRequest,
  ServerView,
} from '../../simulator/net/observer.ts';
import { decodeBase64, decodeBase64Url } from '../../simulator/protocol/encoding/base64.ts';
import { populate, type Population } from '../../simulator/scenario.ts';
import type { PhoenixUserHandle } from '../../simulator/clients/phoenix/handle.ts';
import { RequestFailed } from '../../simulator/clients/phoenix/env.ts';
import { CheckFailure, type CheckContext } from '../harness/check.ts';
import type { TargetInstance } from '../harness/target.ts';

export interface World {
  readonly instance: TargetInstance;
  readonly observer: Observer;
  /** The two homeservers the world uses. */
  readonly servers: readonly [string, string];
  readonly population: Population;
  /** Users by server: users[0..n) on servers[0], then users on servers[1]. */
  readonly users: readonly PhoenixUserHandle[];
}

/** A fresh federation from `seed` with `usersPerServer` reference users on each of two servers. */
export async function openWorld(
  ctx: CheckContext,
  seed: string,
  options: {
    readonly profile: PhoenixProfile;
    readonly usersPerServer: number;
    readonly devicesPerUser: number;
  },
): Promise<World> {
  const instance = await ctx.target.open({ seed, profile: options.profile });
  const observer = instance.observer;
  const [a, b] = instance.servers;
  if (observer === undefined || a === undefined || b === undefined)
    throw new Error('the privacy checks need server views and two servers');
  const servers = [a.serverName, b.serverName] as const;
  try {
    const population = await anonymously(() =>
      populate(instance.env(`privacy ${seed}`), {
        servers,
        usersPerServer: options.usersPerServer,
        devicesPerUser: options.devicesPerUser,
        profile: options.profile,
        // Servers outlive worlds on a real target: each world's users are its own.
        userPrefix: `${instance.namespace}user`,
        namespace: instance.namespace,
      }),
    );
    return { instance, observer, servers, population, users: population.users };
  } catch (error) {
    await instance.close();
    throw error;
  }
}

/**
 * Runs a step of a world. A server that refuses (401 or 403) a request the reference
 * client sent without naming its user (unsigned, or signed with an alias or queue key
 * only) fails the privacy rule: a client is served there only by identifying itself,
 * which gives the server the link the rule keeps from it.
 */
export async function anonymously<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw identityDemanded(error) ?? error;
  }
}

function identityDemanded(error: unknown): CheckFailure | undefined {
  if (!(error instanceof RequestFailed) || (error.status !== 401 && error.status !== 403))
    return undefined;
  const auth = error.authenticatedAs;
  if (auth === 'bearer' || (auth !== 'nothing' && auth.keyRef.startsWith('client:')))
    return undefined;
  const path = new URL(error.url).pathname;
  const sent = auth === 'nothing' ? 'unsigned' : `signed with ${auth.keyRef} only`;
  return new CheckFailure(
    `the server refuses a request that names no user: a client is served there only by identifying itself`,
    {
      expected: `${error.method} ${path} (${sent}, as the protocol sends it) served`,
      actual: error.message,
    },
  );
}

export function userAt(world: World, index: number): PhoenixUserHandle {
  const user = world.users[index];
  if (user === undefined) throw new Error(`the world has no user ${index}`);
  return user;
}

export const AS_PATH = '/_fedconn/v1/as/';
export const DS_PATH = '/_fedconn/v1/ds/';

/** Events of the AS (its requests, provisioning included, and its rows). */
export const isAsEvent = (e: RecordedEvent): boolean =>
  e.kind === 'request'
    ? e.path.startsWith(AS_PATH) || e.path === '/_fedconn/v1/provision/users'
    : e.table.startsWith('as_');

export const QS_PATH = '/_fedconn/v1/qs/';

/** Events of the QS (its requests, federated enqueues included, and its rows). */
export const isQsEvent = (e: RecordedEvent): boolean =>
  e.kind === 'request' ? e.path.startsWith(QS_PATH) : e.table.startsWith('qs_');

export const asView = (view: ServerView): readonly RecordedEvent[] => view.events.filter(isAsEvent);

/** Numbers above this (2001-09-09 in ms) are read as times when times are not compared. */
const EPOCH_MS_FROM = 1e12;
/** The same times written out in text (a request signature's ts="..."). */
const EPOCH_MS_TEXT = /(?<![0-9A-Za-z+/_-])[1-9][0-9]{12}(?![0-9A-Za-z+/_-])/g;
const TOKEN = /[A-Za-z0-9+/=_-]{16,}/g;
// A key in base64 lacks a digit now and then (32 bytes: about once in 1,400): at 32
// characters or more, mixed case alone marks it.
const looksRandom = (t: string) =>
  (/[A-Z]/.test(t) && /[a-z]/.test(t) && (/[0-9]/.test(t) || t.length >= 32)) ||
  /^[0-9a-f]{16,}$/.test(t);

/**
 * Each event as JSON with every random-looking token (base64, base64url, hex of 16
 * characters or more) replaced by `#n`, n its index in order of first appearance;
 * global sequence numbers are dropped (the order of the list is kept).
 */
export function canonicalise(
  events: readonly RecordedEvent[],
  options: {
    /** The world's name prefix on shared servers (TargetInstance.namespace), renamed `<ns>`. */
    readonly namespace?: string;
    /**
     * Whether times are kept: virtual times compare across worlds, real ones do not (then
     * `at` is dropped and every time in a body reads `<time>`).
     */
    readonly times?: boolean;
  } = {},
): string[] {
  const names = new Map<string, string>();
  const rename = (t: string) => {
    if (!looksRandom(t)) return t;
    let name = names.get(t);
    if (name === undefined) {
      name = `#${names.size}`;
      names.set(t, name);
    }
    return name;
  };
  const ns = options.namespace ?? '';
  const times = (s: string) => (options.times === false ? s.replace(EPOCH_MS_TEXT, '<time>') : s);
  const text = (s: string) =>
    times(ns === '' ? s : s.split(ns).join('<ns>')).replace(TOKEN, rename);
  // A path is renamed segment by segment, so that its fixed parts stay readable.
  const path = (s: string) =>
    s
      .split('/')
      .map((seg) => text(seg))
      .join('/');
  const walk = (v: unknown, key = ''): unknown => {
    if (typeof v === 'string') return key === 'path' ? path(v) : text(v);
    // Real clocks differ between two worlds: a time (ms since the epoch) is only a time.
    if (options.times === false && typeof v === 'number' && v > EPOCH_MS_FROM) return '<time>';
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v !== null && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [text(k), walk(x, k)]));
    return v;
  };
  return events.map((e) => {
    const rest: Record<string, unknown> = { ...e };
    delete rest.seq;
    if (options.times === false) delete rest.at;
    return JSON.stringify(walk(rest));
  });
}

/** Fails with the first difference between two canonical views. */
export function expectSameView(
  actual: readonly string[],
  expected: readonly string[],
  message: string,
): void {
  const n = Math.max(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    if (actual[i] !== expected[i]) {
      throw new CheckFailure(`${message}: the views differ at event ${i} (of ${n})`, {
        expected: expected[i] ?? '(no event)',
        actual: actual[i] ?? '(no event)',
      });
    }
  }
}

function strings(v: unknown, out: string[]): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) strings(x, out);
  return out;
}

const BASE64ISH = /^[A-Za-z0-9+/_-]{24,}={0,2}$/;
const utf8 = new TextDecoder('utf-8');

/** Every base64 string among `values`, decoded as text (one level). */
function decoded(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const s of values) {
    if (!BASE64ISH.test(s)) continue;
    const bytes = /[-_]/.test(s) ? decodeBase64Url(s) : decodeBase64(s);
    if (bytes.ok) out.push(utf8.decode(bytes.value));
  }
  return out;
}

/** The text an oracle searches: the parts of the event, URL-decoded paths, decoded base64. */
export function searchable(e: RecordedEvent, parts?: 'no-path'): string {
  const content =
    e.kind === 'request'
      ? { headers: e.headers, query: e.query, body: e.body }
      : { key: e.key, value: e.value };
  const leaves = strings(content, []);
  const out = [JSON.stringify(content), ...decoded(leaves)];
  if (e.kind === 'request' && parts !== 'no-path') {
    out.push(e.path);
    try {
      out.push(decodeURIComponent(e.path));
    } catch {
      // keep the raw path only
    }
  }
  return out.join('\n');
}

export const describeEvent = (server: string, e: RecordedEvent): string =>
  e.kind === 'request'
    ? `${server}: ${e.method} ${e.path}${e.query} ${JSON.stringify({ headers: e.headers, body: e.body }).slice(0, 600)}`
    : `${server}: row ${e.table} ${e.op} ${e.key} ${JSON.stringify(e.value ?? null).slice(0, 600)}`;

/** What identifies a user to a server: its user id and its clients' verifying keys. */
export function identifiersOf(user: PhoenixUserHandle): string[] {
  return [
    user.userId,
    encodeURIComponent(user.userId),
    ...user.clients.map((c) => c.credential.payload.verifying_key),
  ];
}

export const contains = (text: string, needles: readonly string[]): string | undefined =>
  needles.find((n) => text.includes(n));

export const isRequest = (e: RecordedEvent): e is RecordedRequest => e.kind === 'request';
