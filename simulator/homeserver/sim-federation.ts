// An in-process federation: H homeservers on a SimNetwork, sharing one virtual
// clock and one observer, each reachable at https://<server_name>. This is the
// embedded default target and the base of the scenario API.
import { fork, seededRng } from '../protocol/crypto/rng.ts';
import { VirtualClock } from '../net/clock.ts';
import { Observer } from '../net/observer.ts';
import { compose, SimNetwork, type Middleware, type Transport } from '../net/transport.ts';
import type { HomeserverConfig, PhoenixProfile } from './context.ts';
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
  const observer = new Observer(clock);
  const network = new SimNetwork();
  const transport = compose(network.transport, ...(options.faults ?? []));
  const originOf = (serverName: string) => `https://${serverName}`;
  const known = new Set(options.servers.map((s) => s.serverName));
  const directory = {
    originOf: (serverName: string) =>
      Promise.resolve(known.has(serverName) ? originOf(serverName) : undefined),
  };
  const servers = new Map<string, Homeserver>();
  for (const server of options.servers) {
    const config: HomeserverConfig = {
      serverName: server.serverName,
      profile: options.profile,
      provisioningToken: PROVISIONING_TOKEN,
      trustedIdentityServers: server.trustedIdentityServers ?? [],
      mutants: new Set(server.mutants ?? []),
    };
    const homeserver = await createHomeserver({
      config,
      clock,
      rng: fork(root, `server ${server.serverName}`),
      transport,
      observer,
      directory,
      services: options.services,
    });
    network.register(originOf(server.serverName), homeserver.fetch);
    servers.set(server.serverName, homeserver);
  }
  return { clock, observer, network, transport, servers, originOf };
}
