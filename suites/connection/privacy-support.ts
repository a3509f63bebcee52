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
export { canonicalise } from '../../simulator/net/canonical.ts';
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
