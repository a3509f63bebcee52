// What the FED-NAME checks share: a DNS world fedconn controls (address and SRV
// records, .well-known answers), a way to make the target's server contact a server
// name (a join through it), what the server looked up and where it connected
// meanwhile, and the resolution plan the spec prescribes for the same world
// (simulator/protocol/server-name), which is the expectation.
import { authority, type DnsQuery } from '../../simulator/net/dns.ts';
import { parseXMatrix } from '../../simulator/federation/x-matrix.ts';
import { TLS_SERVER_NAME_HEADER } from '../../simulator/federation/client.ts';
import {
  parseServerName,
  resolve,
  staticView,
  type DiscoveryTables,
  type Profile,
  type ResolvedEndpoint,
  type ResolveFailure,
  type WellKnownFetch,
} from '../../simulator/protocol/server-name/index.ts';
import type { Result } from '../../simulator/protocol/result.ts';
import { SRV_TARGETS, WORLD_HOSTS } from '../../simulator/protocol/server-name/arbitraries.ts';
import { WELL_KNOWN_PATH } from '../../simulator/services/well-known/index.ts';
import { expectThat, type CheckContext } from '../harness/check.ts';
import type { Contact, TargetDns, TargetServer } from '../harness/target.ts';
import { joinRoom, server, userOn, type Answer } from './support.ts';

/** The DNS fedconn controls for the target; checks that use it declare needs: ['dns']. */
export function controlledDns(ctx: CheckContext): TargetDns {
  const dns = ctx.instance.dns;
  if (dns === undefined) throw new Error('this target does not let fedconn control its DNS');
  return dns;
}

/** What the target's server did while it tried to reach one server name. */
export interface Attempt {
  readonly name: string;
  readonly answer: Answer;
  readonly lookups: readonly DnsQuery[];
  /** Fetches of https://<host>/.well-known/matrix/server. */
  readonly wellKnownFetches: readonly Contact[];
  /** Every other request, in order: the connections to where discovery led. */
  readonly connections: readonly Contact[];
}

let rooms = 0;

/**
 * Makes the target's first server contact `name`: a local user joins a room through
 * it (make_join goes to `name`). Nothing answers there unless the check serves it, so
 * the join fails; what matters is what the server looked up and contacted meanwhile.
 */
export async function contact(ctx: CheckContext, name: string): Promise<Attempt> {
  const dns = controlledDns(ctx);
  const sender: TargetServer = server(ctx, 0);
  const lookupsBefore = (await dns.lookups()).length;
  const contactsBefore = (await dns.contacts()).length;
  const answer = await joinRoom(
    ctx,
    sender,
    `!names${(rooms++).toString(36)}:room.names.test`,
    userOn(ctx, sender, 'namer'),
    name,
  );
  const contacts = (await dns.contacts()).slice(contactsBefore);
  const isWellKnown = (c: Contact) => new URL(c.url).pathname === WELL_KNOWN_PATH;
  return {
    name,
    answer,
    lookups: (await dns.lookups()).slice(lookupsBefore),
    wellKnownFetches: contacts.filter(isWellKnown),
    connections: contacts.filter((c) => !isWellKnown(c)),
  };
}

/**
 * A fresh label for one property run, so that no cache of the target spans two runs,
 * nor two runs of fedconn against a server that outlives them (the instance's namespace).
 */
export function freshTag(ctx: CheckContext): string {
  const ns = ctx.instance.namespace.toLowerCase().replace(/[^a-z0-9]/g, '');
  return `n${ns}${(tags++).toString(36)}`;
}
let tags = 0;

/** Moves every host of the generated worlds under `tag`, so each run has its own names. */
export function relabel(
  tables: DiscoveryTables,
  name: string,
  tag: string,
): { readonly tables: DiscoveryTables; readonly name: string } {
  const hosts = new Set<string>([...WORLD_HOSTS, ...SRV_TARGETS.filter((t) => t !== '.')]);
  const host = (h: string) => (hosts.has(h) ? `${tag}.${h}` : h);
  const serverName = (n: string) => {
    if (n.startsWith('[')) return n;
    const colon = n.indexOf(':');
    return colon === -1 ? host(n) : `${host(n.slice(0, colon))}${n.slice(colon)}`;
  };
  const owner = (o: string) => {
    const m = /^(_matrix(?:-fed)?\._tcp\.)(.*)$/.exec(o);
    return m === null ? host(o) : `${m[1] ?? ''}${host(m[2] ?? '')}`;
  };
  const keys = <V>(table: Readonly<Record<string, V>> | undefined, key: (k: string) => string) =>
    Object.fromEntries(Object.entries(table ?? {}).map(([k, v]) => [key(k), v]));
  const wellKnown = Object.fromEntries(
    Object.entries(tables.wellKnown ?? {}).map(([h, fetch]) => [host(h), delegating(fetch)]),
  );
  function delegating(fetch: WellKnownFetch): WellKnownFetch {
    if (fetch.kind !== 'response') return fetch;
    try {
      const body: unknown = JSON.parse(fetch.body);
      if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
        const delegate = (body as Record<string, unknown>)['m.server'];
        if (typeof delegate === 'string') {
          return { ...fetch, body: JSON.stringify({ ...body, 'm.server': serverName(delegate) }) };
        }
      }
    } catch {
      // not JSON: served as is
    }
    return fetch;
  }
  return {
    name: serverName(name),
    tables: {
      wellKnown,
      srv: Object.fromEntries(
        Object.entries(tables.srv ?? {}).map(([o, records]) => [
          owner(o),
          records.map((r) => ({ ...r, target: host(r.target) })),
        ]),
      ),
      address: keys(tables.address, host),
    },
  };
}

/** Puts the world into the target's DNS and serves its .well-known answers. */
export async function install(ctx: CheckContext, tables: DiscoveryTables): Promise<void> {
  const dns = controlledDns(ctx);
  for (const [name, addresses] of Object.entries(tables.address ?? {})) {
    await dns.setAddress(name, addresses);
  }
  for (const [owner, records] of Object.entries(tables.srv ?? {})) await dns.setSrv(owner, records);
  for (const [host, fetch] of Object.entries(tables.wellKnown ?? {})) {
    // Only answers are served; any fetch error is modelled as nothing listening.
    if (fetch.kind === 'response') await dns.serve(host, () => Promise.resolve(responseOf(fetch)));
  }
}

export function responseOf(fetch: WellKnownFetch & { readonly kind: 'response' }): Response {
  // 204, 205 and 304 cannot carry a body.
  const body = [204, 205, 304].includes(fetch.status) ? null : fetch.body;
  return new Response(body, { status: fetch.status, headers: { ...fetch.headers } });
}

export type Plan = Result<ResolvedEndpoint, ResolveFailure>;

/** The resolution the spec prescribes for `name` in this world; undefined for a non-name. */
export function planFor(name: string, tables: DiscoveryTables, profile: Profile): Plan | undefined {
  const parsed = parseServerName(name, profile);
  return parsed.ok ? resolve(parsed.value, staticView(tables), profile) : undefined;
}

/** The URL authority of https://<ip>:<port> as a URL parser normalises it. */
export function endpointHost(ip: string, port: number): string {
  return new URL(`https://${authority(ip, port)}`).host;
}

const srvLookups = (attempt: Attempt) =>
  attempt.lookups.filter((q) => q.type === 'srv').map((q) => q.name.toLowerCase());

const show = (contacts: readonly Contact[]) =>
  contacts.length === 0 ? 'no connection' : contacts.map((c) => new URL(c.url).host).join(', ');

/** The server looked up exactly the SRV records the plan consults, in its order. */
export function expectSrvOrder(attempt: Attempt, plan: Plan, message: string): void {
  const steps = plan.ok ? plan.value.steps : plan.error.steps;
  const expected = steps.flatMap((s) => (s.lookup === 'srv' ? [s.name.toLowerCase()] : []));
  const actual = srvLookups(attempt);
  expectThat(
    JSON.stringify(actual) === JSON.stringify(expected),
    `${message}: the SRV lookups for ${attempt.name} are not the spec's`,
    expected.length === 0 ? 'no SRV lookup' : expected.join(' then '),
    actual.length === 0 ? 'no SRV lookup' : actual.join(' then '),
  );
}

/** The first connection went where the plan leads, or none was made when it fails. */
export function expectConnection(attempt: Attempt, plan: Plan, message: string): void {
  const first = attempt.connections[0];
  if (!plan.ok) {
    expectThat(
      first === undefined,
      `${message}: ${attempt.name} does not resolve (${plan.error.kind}), yet the server connected`,
      `no connection (${plan.error.detail})`,
      show(attempt.connections),
    );
    return;
  }
  const expected = endpointHost(plan.value.ip, plan.value.port);
  expectThat(
    first !== undefined && new URL(first.url).host === expected,
    `${message}: the server did not connect to ${attempt.name} where discovery leads (${plan.value.rule})`,
    `first connection to ${expected}`,
    show(attempt.connections),
  );
}

/** Neither a lookup nor a connection: what a server does with a string that is no name. */
export function expectNoContact(attempt: Attempt, message: string): void {
  const contacts = [...attempt.wellKnownFetches, ...attempt.connections];
  expectThat(
    attempt.lookups.length === 0 && contacts.length === 0,
    `${message}: the server tried to reach ${JSON.stringify(attempt.name)}, which is not a server name`,
    'no DNS lookup and no connection',
    `${attempt.lookups.length} lookups (${attempt.lookups
      .slice(0, 3)
      .map((q) => `${q.type} ${q.name}`)
      .join(', ')}), connections: ${show(contacts)}`,
  );
}

/** The X-Matrix destination a connection was signed for. */
export function destinationOf(contact: Contact): string | undefined {
  const auth = parseXMatrix(contact.headers.authorization ?? null);
  return auth.ok ? auth.value.destination : undefined;
}

/** The TLS server name (SNI) a connection asked for. */
export const tlsServerNameOf = (contact: Contact): string | undefined =>
  contact.headers[TLS_SERVER_NAME_HEADER];
