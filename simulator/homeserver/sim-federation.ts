// An in-process federation: H homeservers on a SimNetwork, sharing one virtual
// clock and one observer, each reachable at https://<server_name>. This is the
// embedded default target and the base of the scenario API.
//
// Directories: by default a server_name resolves statically to https://<server_name>
// (for the federation's servers and anything else registered on the network, such
// as a test's impostor). With the `dns` option each server resolves names by the
// real algorithm of its Matrix profile (simulator/federation/discovery.ts) against
// the given virtual DNS, and also listens on the authorities `dns.listen` names.
// Every server presents its modelled TLS certificate (simulator/net/tls.ts).
import { fork, seededRng } from '../protocol/crypto/rng.ts';
import { VirtualClock } from '../net/clock.ts';
import type { DnsResolver } from '../net/dns.ts';
import { Observer } from '../net/observer.ts';
import { presentCertificate } from '../net/tls.ts';
import type { StoreLatency } from '../net/latent-store.ts';
import { compose, SimNetwork, type Middleware, type Transport } from '../net/transport.ts';
import { resolvingDirectory, scopedDirectory } from '../federation/discovery.ts';
import { serverCertificate } from '../federation/tls-certificate.ts';
import type { Directory, HomeserverConfig, MatrixProfile, PhoenixProfile } from './context.ts';
import { createHomeserver, type Homeserver, type Service } from './homeserver.ts';

export interface SimFederationOptions {
  readonly seed: string | number;
  readonly servers: readonly {
    readonly serverName: string;
    readonly trustedIdentityServers?: readonly string[];
    readonly mutants?: readonly string[];
  }[];
  readonly profile: PhoenixProfile;
  readonly services: readonly Service[];
  /** Faults applied to every request on the network (servers and clients alike). */
  readonly faults?: readonly Middleware[];
  readonly start?: number;
  /** Matrix federation profile of every server; 'matrix-current' when absent. */
  readonly matrixProfile?: MatrixProfile;
  /**
   * The servers' store latency, which a check may set while it runs (races at the
   * server, net/latent-store.ts); none when absent.
   */
  readonly storeLatency?: StoreLatency;
  /** The servers whose views the observer records; all of them when undefined. */
  readonly observe?: readonly string[];
  /** Resolve server names through this DNS instead of the static directory. */
  readonly dns?: {
    readonly resolver: DnsResolver;
    /** Extra authorities ("ip:port", IPv6 in brackets) each server listens on. */
    readonly listen?: Readonly<Record<string, readonly string[]>>;
    /** Only names it accepts resolve through the DNS; the others statically. */
    readonly scope?: (serverName: string) => boolean;
  };
}

export interface SimFederation {
  readonly clock: VirtualClock;
  readonly observer: Observer;
  readonly network: SimNetwork;
  /** The transport clients use: the network with the configured faults. */
  readonly transport: Transport;
  readonly servers: ReadonlyMap<string, Homeserver>;
  readonly originOf: (serverName: string) => string;
}

export const PROVISIONING_TOKEN = 'fedconn-provisioning-token';

export async function createSimFederation(options: SimFederationOptions): Promise<SimFederation> {
  const root = seededRng(options.seed);
  const clock = new VirtualClock(options.start);
  const observer = new Observer(
    clock,
    options.observe === undefined ? undefined : new Set(options.observe),
  );
  const network = new SimNetwork();
  const transport = compose(network.transport, ...(options.faults ?? []));
  const originOf = (serverName: string) => `https://${serverName}`;
  const known = new Set(options.servers.map((s) => s.serverName));
  const registered = (serverName: string) => {
    try {
      return network.origins.includes(new URL(originOf(serverName)).origin);
    } catch {
      return false; // not even a URL host
    }
  };
  const staticDirectory: Directory = {
    originOf: (serverName: string) =>
      Promise.resolve(
        known.has(serverName) || registered(serverName) ? originOf(serverName) : undefined,
      ),
  };
  const { dns } = options;
  const directoryFor = (serverName: string, mutants: ReadonlySet<string>): Directory => {
    if (dns === undefined) return staticDirectory;
    const resolving = resolvingDirectory({
      dns: dns.resolver,
      // .well-known fetches leave the server like its other requests, stamped.
      transport: (request) => {
        const stamped = new Request(request);
        stamped.headers.set('x-fedconn-from', serverName);
        return transport(stamped);
      },
      clock,
      profile: options.matrixProfile ?? 'matrix-current',
      mutants,
    });
    return dns.scope === undefined
      ? resolving
      : scopedDirectory(resolving, staticDirectory, dns.scope);
  };
  const servers = new Map<string, Homeserver>();
  for (const server of options.servers) {
    const config: HomeserverConfig = {
      serverName: server.serverName,
      profile: options.profile,
      provisioningToken: PROVISIONING_TOKEN,
      trustedIdentityServers: server.trustedIdentityServers ?? [],
      mutants: new Set(server.mutants ?? []),
      ...(options.matrixProfile === undefined ? {} : { matrixProfile: options.matrixProfile }),
    };
    const homeserver = await createHomeserver({
      config,
      clock,
      rng: fork(root, `server ${server.serverName}`),
      transport,
      observer,
      directory: directoryFor(server.serverName, config.mutants),
      services: options.services,
      ...(options.storeLatency === undefined ? {} : { storeLatency: options.storeLatency }),
    });
    const handler = presentCertificate(serverCertificate(homeserver.ctx), homeserver.fetch);
    network.register(originOf(server.serverName), handler);
    for (const listen of dns?.listen?.[server.serverName] ?? []) {
      network.register(`https://${listen}`, handler);
    }
    servers.set(server.serverName, homeserver);
  }
  return { clock, observer, network, transport, servers, originOf };
}

/**
 * The reference trust topology for identity hash pushes (IS-PUSH): the first two
 * servers trust each other; every other server is trusted by nobody, so checks
 * always have both a trusted and an untrusted pusher. Used by the simulator target
 * and by `fedconn serve` alike.
 */
export function referenceTrust(
  serverNames: readonly string[],
  serverName: string,
): readonly string[] {
  const trusted = serverNames.slice(0, 2);
  return trusted.includes(serverName) ? trusted.filter((n) => n !== serverName) : [];
}
