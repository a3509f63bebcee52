// What a check runs against. Rules are written once against a Target and never
// know which kind it is: `sim` opens a fresh in-process federation for every
// check (full isolation, virtual time, server views), `http` talks to real
// servers named in a target config file (shared between checks, so checks use
// unique names; time cannot be moved and views are not available).
import { randomBytes } from 'node:crypto';
import { fork, seededRng } from '../../simulator/protocol/crypto/rng.ts';
import type { Clock } from '../../simulator/net/clock.ts';
import { Observer, observeWire, observed } from '../../simulator/net/observer.ts';
import {
  compose,
  giveUpOnSilent,
  type Handler,
  type Middleware,
  type Transport,
} from '../../simulator/net/transport.ts';
import { VirtualDns, type DnsQuery } from '../../simulator/net/dns.ts';
import type { SrvRecord } from '../../simulator/protocol/server-name/index.ts';
import { MATRIX_MUTANTS } from '../../simulator/federation/mutants.ts';
import { OffsetClock } from '../../simulator/net/clock.ts';
import type { MatrixProfile, PhoenixProfile } from '../../simulator/homeserver/context.ts';
import type { Service } from '../../simulator/homeserver/homeserver.ts';
import {
  createSimFederation,
  PROVISIONING_TOKEN,
  referenceTrust,
} from '../../simulator/homeserver/sim-federation.ts';
import type { ClientEnv } from '../../simulator/clients/phoenix/env.ts';
import type { StoreLatency } from '../../simulator/net/latent-store.ts';
import {
  phoenixProfilesOf,
  referenceRoles,
  type ServerRoles,
  type TargetConfig,
} from '../../simulator/serve/target-config.ts';
import { serverName } from '../../simulator/scenario.ts';
import { CheckSkipped, type Need } from './check.ts';
import { createDriver, type Driver } from './drivers/index.ts';
import { fedconnDriver, provisioningRequest } from './drivers/fedconn.ts';
import { CLOCK_PATH } from '../../simulator/serve/clock-api.ts';
import type { TargetRoles } from './roles.ts';
import { boundTransport, httpTransport, withLoopbackHttps } from '../../simulator/net/http.ts';
import { testNetworkDns } from './test-network.ts';
import { loopbackPeers, type LoopbackPeers } from '../../simulator/net/loopback-peers.ts';
import { recordReceived, recordSent, type Exchange } from '../../simulator/net/exchanges.ts';
import { describeMembers, startMembers, type Members } from './members.ts';
import type { ClientUnderTest } from './clients/index.ts';
import { drivenWorld } from './clients/phoenix-driven.ts';
import { referenceClient } from './clients/reference.ts';

export interface TargetServer {
  readonly serverName: string;
  readonly origin: string;
  /** fedconn's provisioning token; empty where the server's driver is not `fedconn`. */
  readonly provisioningToken: string;
  /** What the server declares it implements. */
  readonly roles: ServerRoles;
  /** How fedconn sets up test state on it. */
  readonly driver: Driver;
}

/** A request one of the target's servers sent into a TargetDns world. */
export interface Contact {
  /** The sending server, when the target says (the simulator stamps `x-fedconn-from`). */
  readonly from: string | undefined;
  readonly url: string;
  /** The Host header as sent (the URL's authority when none was set). */
  readonly host: string;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * The DNS and the network beyond the target's servers, controlled by fedconn: the
 * target's servers find every server that is not one of them (nor an attached
 * impostor) through these records, by the discovery algorithm of their profile.
 */
export interface TargetDns {
  /** Replaces the address (AAAA and A) records of `name`. */
  setAddress(name: string, addresses: readonly string[]): Promise<void>;
  /** Replaces the SRV records of `owner`, such as `_matrix-fed._tcp.example.org`. */
  setSrv(owner: string, records: readonly SrvRecord[]): Promise<void>;
  /** Answers requests to https://<authority>: an "ip:port", or a hostname (its port 443). */
  serve(authority: string, handler: Handler): Promise<void>;
  /** Every lookup the target's servers made, in order. */
  lookups(): Promise<readonly DnsQuery[]>;
  /** Every request the target's servers sent into this world, in order, answered or not. */
  contacts(): Promise<readonly Contact[]>;
}

/** Optional features the target declares; a check of an optional rule skips without one. */
export interface TargetCapabilities {
  /** matrix-2014 FED-AUTH-06: the servers check a presented TLS client certificate. */
  readonly clientCertificates: boolean;
}

export interface TargetInstance {
  readonly servers: readonly TargetServer[];
  readonly profile: PhoenixProfile;
  /** Transport for clients and for fedconn playing a remote server. */
  readonly transport: Transport;
  readonly clock: Clock;
  /**
   * Moves the servers' time (and fedconn's) forward: virtual time in the simulator, the
   * clock of servers that declare `capabilities.clock`; undefined where time is real only.
   */
  readonly advance: ((ms: number) => Promise<void>) | undefined;
  /** Every server's recorded view; undefined where servers are outside the process. */
  readonly observer: Observer | undefined;
  /**
   * Runs a peer (an impostor or a fake remote server) that the target's servers reach by
   * its server name, and returns that name: `preferredName` where fedconn owns the
   * network (the simulator), `localhost:PORT` over HTTPS on loopback where the servers
   * are real. `handlerFor` is given the name, since the peer signs as it. Undefined where
   * fedconn cannot (a container, which cannot reach the host's loopback).
   */
  readonly hostPeer:
    | ((
        preferredName: string,
        handlerFor: (serverName: string) => Promise<Handler>,
      ) => Promise<string>)
    | undefined;
  /** The DNS the servers resolve remote names through; undefined where fedconn has no say. */
  readonly dns: TargetDns | undefined;
  /** Mutants active on this instance (reference servers and reference clients). */
  readonly mutants: ReadonlySet<string>;
  readonly capabilities: TargetCapabilities;
  /** A client environment whose randomness derives from `seed`. */
  env(seed: string): ClientEnv;
  /** A prefix that makes user names, aliases and rooms unique on shared servers. */
  readonly namespace: string;
  /**
   * A transport whose requests leave from `localAddress` (a loopback address such as
   * 127.0.0.2), so fedconn can play a peer that a server trusts by address; undefined
   * where requests do not cross a real network.
   */
  readonly transportFrom: ((localAddress: string) => Transport) | undefined;
  /**
   * The requests fedconn and its peers exchanged with the servers, in order, where they
   * crossed a real wire (shown with a failure so it can be replayed); undefined elsewhere.
   */
  readonly exchanges?: () => readonly Exchange[];
  /**
   * Gives every store operation of the servers this latency (real time), so concurrent
   * requests overlap between a server's check and its write (net/latent-store.ts): the
   * simulator only. `fedconn serve --store-latency` sets it for served servers; a real
   * server's own store has latency of its own.
   */
  readonly setStoreLatency?: (ms: number) => void;
  close(): Promise<void>;
}

export interface Target {
  readonly kind: 'sim' | 'http' | 'container';
  /** What checks may need (Check.needs) that this target provides. */
  readonly provides: ReadonlySet<Need>;
  /** How reports name the target. */
  readonly label: string;
  /** Phoenix profiles the target's servers run (none for a target without Phoenix roles). */
  readonly phoenixProfiles: readonly PhoenixProfile[];
  /** The roles each server declares: a check none of whose roles the target has is `n/a`. */
  readonly roles: TargetRoles;
  open(options: {
    readonly seed: string;
    readonly profile: PhoenixProfile;
    /** The Matrix version the servers speak (sim only; real servers speak what they speak). */
    readonly matrixProfile?: MatrixProfile;
  }): Promise<TargetInstance>;
  /** Lets go of what the target holds for the run (driver processes). */
  close(): Promise<void>;
  /**
   * The Matrix profile whose discovery algorithm the servers resolve names by, where a
   * real target's servers declare a test network: `dns` checks of another profile skip.
   */
  readonly resolvesNamesBy?: MatrixProfile;
  /** How many requests to the target's servers have timed out so far (real targets). */
  readonly timedOutRequests?: () => number;
  /** The client under test, where one is (roles.client): the CLIENT checks judge it. */
  readonly client?: ClientUnderTest;
}

/**
 * `target` with `client` as the client under test and only the client judged: its
 * servers are what the client is judged against (the reference by default). Whoever
 * started the client closes it.
 */
export function withClientUnderTest(target: Target, client: ClientUnderTest): Target {
  const driver = client.phoenix ? client.driver : undefined;
  return {
    ...target,
    // A Phoenix client in a process of its own: the checks' users are created on it, and
    // each check's loopback ports are closed with the check.
    ...(driver === undefined
      ? {}
      : {
          open: async (options) => {
            const instance = await target.open(options);
            const world = drivenWorld(driver);
            return {
              ...instance,
              env: (label) => ({ ...instance.env(label), createUser: world.createUser }),
              close: async () => {
                try {
                  await instance.close();
                } finally {
                  await world.end();
                }
              },
            };
          },
        }),
    label: `${client.name} (client under test) against ${target.label}`,
    client,
    roles: {
      servers: target.roles.servers,
      client: true,
      clientKinds: [
        ...(client.identity === undefined ? [] : (['identity'] as const)),
        ...(client.phoenix ? (['phoenix'] as const) : []),
      ],
      serversUnderTest: false,
    },
  };
}

const DEFAULT_SERVERS = 3;

export function simTarget(options: {
  readonly services: readonly Service[];
  readonly mutants?: readonly string[];
  readonly servers?: number;
}): Target {
  return {
    kind: 'sim',
    provides: new Set<Need>([
      'virtual-time',
      'observer',
      'stored-rows',
      'impostor',
      'reference-client',
      'dns',
      'modelled-tls',
    ]),
    label:
      options.mutants === undefined || options.mutants.length === 0
        ? 'sim'
        : `sim (mutant ${options.mutants.join(', ')})`,
    client: referenceClient(new Set(options.mutants ?? [])),
    phoenixProfiles: ['multi-device', 'aliases'],
    // The reference implements every role, in both Phoenix profiles, and is the client.
    roles: {
      servers: simNames(options).flatMap((n) =>
        (['multi-device', 'aliases'] as const).map((profile) => ({
          serverName: n,
          roles: referenceRoles(simNames(options), n, profile),
        })),
      ),
      client: true,
    },
    async open({ seed, profile, matrixProfile }) {
      const mutants = options.mutants ?? [];
      const names = simNames(options);
      // Names that resolve statically: the federation's servers and attached impostors.
      // Every other name goes through the DNS below, by the servers' real algorithm.
      const fixed = new Set<string>(names);
      const fixedOrigins = new Set(names.map((n) => new URL(`https://${n}`).origin));
      const dns = new VirtualDns();
      const contacts: Contact[] = [];
      const recordContacts: Middleware = (next) => (request) => {
        const from = request.headers.get('x-fedconn-from');
        const url = new URL(request.url);
        if (from !== null && !fixedOrigins.has(url.origin)) {
          const headers: Record<string, string> = {};
          request.headers.forEach((value, name) => {
            headers[name] = value;
          });
          contacts.push({ from, url: request.url, host: headers.host ?? url.host, headers });
        }
        return next(request);
      };
      const storeLatency: StoreLatency = { ms: 0 };
      const federation = await createSimFederation({
        seed,
        storeLatency,
        servers: names.map((n) => ({
          serverName: n,
          mutants,
          trustedIdentityServers: referenceTrust(names, n),
        })),
        profile,
        services: options.services,
        faults: [recordContacts],
        dns: { resolver: dns, scope: (name) => !fixed.has(name) },
        ...(matrixProfile === undefined ? {} : { matrixProfile }),
      });
      const clientRng = fork(seededRng(seed), 'clients');
      // What fedconn sent and its peers received, for the transcript of a failure.
      const exchanges: Exchange[] = [];
      const transport = compose(federation.transport, recordSent(exchanges));
      return {
        servers: names.map((n) => ({
          serverName: n,
          origin: federation.originOf(n),
          provisioningToken: PROVISIONING_TOKEN,
          roles: referenceRoles(names, n, profile),
          driver: fedconnDriver({
            origin: federation.originOf(n),
            provisioningToken: PROVISIONING_TOKEN,
            transport: federation.transport,
          }),
        })),
        profile,
        transport,
        exchanges: () => exchanges,
        clock: federation.clock,
        advance: (ms) => {
          federation.clock.advance(ms);
          return Promise.resolve();
        },
        observer: federation.observer,
        hostPeer: async (preferredName, handlerFor) => {
          const origin = `https://${preferredName}`;
          federation.network.register(
            origin,
            recordReceived(exchanges, await handlerFor(preferredName)),
          );
          const url = new URL(origin);
          fixed.add(url.host);
          fixedOrigins.add(url.origin);
          return preferredName;
        },
        dns: {
          setAddress: (name, addresses) => {
            dns.setAddress(name, addresses);
            return Promise.resolve();
          },
          setSrv: (owner, records) => {
            dns.setSrv(owner, records);
            return Promise.resolve();
          },
          serve: (authority, handler) => {
            federation.network.register(`https://${authority}`, handler);
            return Promise.resolve();
          },
          lookups: () => Promise.resolve(dns.queries),
          contacts: () => Promise.resolve([...contacts]),
        },
        mutants: new Set(options.mutants ?? []),
        // The reference checks client certificates (its mutant FED-AUTH-06 only pretends to).
        capabilities: { clientCertificates: true },
        namespace: '',
        transportFrom: undefined,
        setStoreLatency: (ms) => {
          storeLatency.ms = ms;
        },
        env: (label) => ({
          transport,
          clock: federation.clock,
          rng: fork(clientRng, label),
          originOf: federation.originOf,
          provisioningTokenOf: () => PROVISIONING_TOKEN,
          mutants: new Set(options.mutants ?? []),
          knownServers: () => federation.network.origins.map((o) => new URL(o).host),
        }),
        close: () => Promise.resolve(),
      };
    },
    close: () => Promise.resolve(),
  };
}

export interface HttpTargetOptions {
  readonly timeoutMs: number;
  readonly label: string;
  /** fedconn's own homeservers among the config's servers (`startMembers`). */
  readonly members?: Pick<Members, 'names' | 'recording'>;
}

/**
 * The http target of `config`, with fedconn's own homeservers beside the target's where
 * a Phoenix profile has a single one (suites/harness/members.ts); closing it stops them.
 */
export async function openHttpTarget(
  config: TargetConfig,
  options: HttpTargetOptions & {
    readonly services: readonly Service[];
    /** Told which servers fedconn plays, once they listen. */
    readonly log?: (line: string) => void;
  },
): Promise<Target> {
  const members = await startMembers(config, { services: options.services });
  if (members === undefined) return httpTarget(config, options);
  const played = describeMembers(members.config, members.names);
  options.log?.(`fedconn plays the other homeserver of each federation: ${played}\n`);
  let target: Target;
  try {
    target = httpTarget(members.config, {
      ...options,
      label: `${options.label} with fedconn's ${played}`,
      members,
    });
  } catch (error) {
    await members.close();
    throw error;
  }
  return {
    ...target,
    close: async () => {
      try {
        await target.close();
      } finally {
        await members.close();
      }
    },
  };
}

export function httpTarget(config: TargetConfig, options: HttpTargetOptions): Target {
  const silent = giveUpOnSilent();
  const byName = new Map(config.servers.map((s) => [s.server_name, s]));
  const wire = withLoopbackHttps(
    httpTransport({ timeoutMs: options.timeoutMs }),
    options.timeoutMs,
  );
  // fedconn's peers address the target's servers as servers address each other
  // (https://<server_name>); the config says where each one really listens.
  const toBaseUrl = atBaseUrl(
    new Map(config.servers.map((s) => [s.server_name.toLowerCase(), s.base_url])),
  );
  const transport = compose(wire, toBaseUrl, silent);
  const server = (name: string) => {
    const found = byName.get(name);
    if (found === undefined) throw new Error(`the target config names no server ${name}`);
    return found;
  };
  const originOf = (name: string) => server(name).base_url.replace(/\/$/, '');
  // The target's servers by the origin of their base_url, for views from the wire;
  // fedconn's own servers record their full views themselves.
  const serverAt = new Map(
    config.servers
      .filter((s) => options.members?.names.has(s.server_name) !== true)
      .map((s) => [new URL(s.base_url).origin, s.server_name] as const),
  );
  // fedconn's clients reach a server the config does not name (a peer fedconn hosts) at
  // https://<server_name>, as servers do.
  const clientOriginOf = (name: string) => (byName.has(name) ? originOf(name) : `https://${name}`);
  const tokenOf = (name: string) => {
    const driver = server(name).driver;
    if (driver.kind === 'fedconn') return driver.provisioning_token;
    throw new CheckSkipped(
      `needs fedconn's provisioning API on ${name} (driver fedconn); the ${driver.kind} driver has no verbs for Phoenix test state yet`,
    );
  };
  // Drivers outlive checks (a command driver is one process per server for the run).
  const servers: TargetServer[] = config.servers.map((s) => ({
    serverName: s.server_name,
    origin: originOf(s.server_name),
    provisioningToken: s.driver.kind === 'fedconn' ? s.driver.provisioning_token : '',
    roles: s.roles,
    driver: createDriver(
      s.driver,
      { serverName: s.server_name, origin: originOf(s.server_name) },
      transport,
    ),
  }));
  const profiles = phoenixProfilesOf(config);
  // A FED-AUTH-06 capability is the target's when every server that federates declares it.
  const federating = config.servers.filter((s) => s.roles.federation !== undefined);
  const clientCertificates =
    federating.length > 0 && federating.every((s) => s.capabilities.client_certificates === true);
  // FED-NAME: fedconn provisions the servers' name resolution where every federating
  // server declares a test network (and the verbs of the fedconn driver), all alike.
  const networks = new Set(federating.map((s) => s.capabilities.test_network));
  // The servers fedconn provisions through its own API, by name.
  const provisioned = config.servers.flatMap((s) =>
    s.driver.kind === 'fedconn'
      ? [
          {
            serverName: s.server_name,
            origin: originOf(s.server_name),
            provisioningToken: s.driver.provisioning_token,
          },
        ]
      : [],
  );
  const networked = provisioned.filter((p) =>
    federating.some((s) => s.server_name === p.serverName),
  );
  // Time: moved where every server declares a clock fedconn may set (fedconn driver);
  // fedconn's own clients keep the same time through a mirror of the servers' offset.
  const movable =
    config.servers.length > 0 &&
    config.servers.every((s) => s.capabilities.clock === true && s.driver.kind === 'fedconn');
  const clock = new OffsetClock();
  // Whether the servers may be off real time: at the first open (a run killed before it
  // put them back), and after any move, even one that failed part-way.
  let clockDirty = movable;
  const setOffset = async (ms: number) => {
    clockDirty = true;
    for (const s of provisioned) {
      const answer = await transport(
        provisioningRequest({ ...s, method: 'PUT', path: CLOCK_PATH, body: { offset_ms: ms } }),
      );
      if (!answer.ok) {
        throw new Error(
          `moving the clock of ${s.serverName} answered ${answer.status}: ${(await answer.text()).slice(0, 200)}`,
        );
      }
    }
    clock.setOffset(ms);
    clockDirty = ms !== 0;
  };
  const [resolvesNamesBy] = [...networks];
  const testNetwork =
    federating.length > 0 &&
    networks.size === 1 &&
    resolvesNamesBy !== undefined &&
    networked.length === federating.length
      ? resolvesNamesBy
      : undefined;
  let opened = 0;
  // Servers outlive runs too: a run of the same seed again must not meet its own users.
  // Names only: what a check does is the seed's, whatever the run's prefix.
  const run = randomBytes(3).toString('hex');
  return {
    kind: 'http',
    // fedconn's peers listen on loopback, where a server on this machine reaches them.
    provides: new Set<Need>([
      'impostor',
      'reference-client',
      // Views from the wire: what each server received from fedconn (no stored rows).
      'observer',
      ...(testNetwork === undefined ? [] : (['dns'] as const)),
      ...(movable ? (['virtual-time'] as const) : []),
    ]),
    ...(testNetwork === undefined ? {} : { resolvesNamesBy: testNetwork }),
    label: options.label,
    phoenixProfiles: profiles,
    timedOutRequests: silent.timeouts,
    roles: {
      servers: config.servers.map((s) => ({ serverName: s.server_name, roles: s.roles })),
      client: false,
    },
    async open({ seed, profile }) {
      // Unreachable servers are the checks' (and the probe's) to report, not the clock's.
      if (clockDirty) await setOffset(0).catch(() => undefined);
      // Servers outlive checks: a per-open namespace keeps users and aliases apart.
      const namespace = `c${run}${(opened++).toString(36)}${Buffer.from(seededRng(seed).bytes(2)).toString('hex')}-`;
      const clientRng = fork(seededRng(seed), 'clients');
      // The check's peers, started on demand and stopped with it.
      let peers: LoopbackPeers | undefined;
      // The names of the check's peers, which a client under test must reach too.
      const hostedNames: string[] = [];
      const exchanges: Exchange[] = [];
      // Each server's view from the wire: what fedconn's clients and peers sent it, and
      // what it sent fedconn's peers (under the peer's name), in order (docs/binding.md).
      const observer = new Observer(clock);
      options.members?.recording.switchTo(observer);
      const observe = observeWire(observer, (url) => serverAt.get(url.origin));
      // Recorded as sent, at the base_url: what a curl of it would reach.
      const recorded = compose(wire, toBaseUrl, silent, recordSent(exchanges), observe);
      const clientTransport = compose(wire, toBaseUrl, silent, observe);
      return {
        servers,
        profile,
        transport: recorded,
        exchanges: () => exchanges,
        clock,
        advance: movable ? (ms) => setOffset(clock.offset + ms) : undefined,
        observer,
        hostPeer: async (_preferredName, handlerFor) => {
          peers ??= loopbackPeers();
          const hosted = await peers.host(async (name) =>
            observed(observer.recorder(name), recordReceived(exchanges, await handlerFor(name))),
          );
          hostedNames.push(hosted.serverName);
          return hosted.serverName;
        },
        // Real servers resolve through the real DNS, which fedconn does not control,
        // unless they declare a test network.
        dns:
          testNetwork === undefined
            ? undefined
            : testNetworkDns({
                servers: networked,
                transport,
                host: async (handler) => {
                  peers ??= loopbackPeers();
                  const hosted = await peers.host(() =>
                    Promise.resolve(recordReceived(exchanges, handler)),
                  );
                  return hosted.origin;
                },
              }),
        mutants: new Set<string>(),
        capabilities: { clientCertificates },
        namespace,
        transportFrom: (localAddress) =>
          boundTransport({ localAddress, timeoutMs: options.timeoutMs }),
        env: (label) => ({
          transport: clientTransport,
          clock,
          rng: fork(clientRng, label),
          originOf: clientOriginOf,
          provisioningTokenOf: tokenOf,
          knownServers: () => [...byName.keys(), ...hostedNames],
        }),
        close: async () => {
          options.members?.recording.switchTo(undefined);
          try {
            await peers?.close();
          } finally {
            // Each check starts at real time: what one check moved on, the next does not see.
            if (clockDirty) await setOffset(0);
          }
        },
      };
    },
    close: async () => {
      await Promise.all(servers.map((s) => s.driver.close()));
    },
  };
}

/** Rewrites requests to https://<server_name> of a configured server to its base_url. */
function atBaseUrl(baseUrls: ReadonlyMap<string, string>): Middleware {
  return (next) => async (request) => {
    const url = new URL(request.url);
    const base = url.protocol === 'https:' ? baseUrls.get(url.host) : undefined;
    if (base === undefined) return next(request);
    const body = request.body === null ? undefined : await request.arrayBuffer();
    return next(
      new Request(new URL(url.pathname + url.search, base), {
        method: request.method,
        headers: request.headers,
        signal: request.signal,
        ...(body === undefined ? {} : { body }),
      }),
    );
  };
}

function simNames(options: { readonly mutants?: readonly string[]; readonly servers?: number }) {
  const mutants = options.mutants ?? [];
  const count = options.servers ?? DEFAULT_SERVERS;
  return Array.from({ length: count }, (_, i) =>
    // A configuration mutant: the last server runs under an upper-case name.
    i === count - 1 && mutants.includes(MATRIX_MUTANTS.upperCaseServerName)
      ? serverName(i).toUpperCase()
      : serverName(i),
  );
}
