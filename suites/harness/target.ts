// What a check runs against. Rules are written once against a Target and never
// know which kind it is: `sim` opens a fresh in-process federation for every
// check (full isolation, virtual time, server views), `http` talks to real
// servers named in a target config file (shared between checks, so checks use
// unique names; time cannot be moved and views are not available).
import { fork, seededRng } from '../../simulator/protocol/crypto/rng.ts';
import type { Clock } from '../../simulator/net/clock.ts';
import type { Observer } from '../../simulator/net/observer.ts';
import { httpTransport, type Handler, type Transport } from '../../simulator/net/transport.ts';
import { systemClock } from '../../simulator/net/clock.ts';
import type { MatrixProfile, PhoenixProfile } from '../../simulator/homeserver/context.ts';
import type { Service } from '../../simulator/homeserver/homeserver.ts';
import {
  createSimFederation,
  PROVISIONING_TOKEN,
  referenceTrust,
} from '../../simulator/homeserver/sim-federation.ts';
import type { ClientEnv } from '../../simulator/clients/phoenix/env.ts';
import type { TargetConfig } from '../../simulator/serve/target-config.ts';
import { serverName } from '../../simulator/scenario.ts';

export interface TargetServer {
  readonly serverName: string;
  readonly origin: string;
  readonly provisioningToken: string;
}

export interface TargetInstance {
  readonly servers: readonly TargetServer[];
  readonly profile: PhoenixProfile;
  /** Transport for clients and for fedconn playing a remote server. */
  readonly transport: Transport;
  readonly clock: Clock;
  /** Moves virtual time forward; undefined where time is real. */
  readonly advance: ((ms: number) => void) | undefined;
  /** Every server's recorded view; undefined where servers are outside the process. */
  readonly observer: Observer | undefined;
  /**
   * Puts a handler (an impostor or fake remote server) on the target's network at
   * `origin`, reachable from the target's servers; undefined where fedconn cannot.
   */
  readonly attach: ((origin: string, handler: Handler) => void) | undefined;
  /** Mutants active on this instance (reference servers and reference clients). */
  readonly mutants: ReadonlySet<string>;
  /** A client environment whose randomness derives from `seed`. */
  env(seed: string): ClientEnv;
  /** A prefix that makes user names, aliases and rooms unique on shared servers. */
  readonly namespace: string;
  close(): Promise<void>;
}

export interface Target {
  readonly kind: 'sim' | 'http' | 'container';
  /** How reports name the target. */
  readonly label: string;
  /** Phoenix profiles the target can run; Matrix rules run on every target. */
  readonly phoenixProfiles: readonly PhoenixProfile[];
  open(options: {
    readonly seed: string;
    readonly profile: PhoenixProfile;
    /** The Matrix version the servers speak (sim only; real servers speak what they speak). */
    readonly matrixProfile?: MatrixProfile;
  }): Promise<TargetInstance>;
}

const DEFAULT_SERVERS = 3;

export function simTarget(options: {
  readonly services: readonly Service[];
  readonly mutants?: readonly string[];
  readonly servers?: number;
}): Target {
  return {
    kind: 'sim',
    label:
      options.mutants === undefined || options.mutants.length === 0
        ? 'sim'
        : `sim (mutant ${options.mutants.join(', ')})`,
    phoenixProfiles: ['multi-device', 'aliases'],
    async open({ seed, profile, matrixProfile }) {
      const names = Array.from({ length: options.servers ?? DEFAULT_SERVERS }, (_, i) =>
        serverName(i),
      );
      const federation = await createSimFederation({
        seed,
        servers: names.map((n) => ({
          serverName: n,
          mutants: options.mutants ?? [],
          trustedIdentityServers: referenceTrust(names, n),
        })),
        profile,
        services: options.services,
        ...(matrixProfile === undefined ? {} : { matrixProfile }),
      });
      const clientRng = fork(seededRng(seed), 'clients');
      return {
        servers: names.map((n) => ({
          serverName: n,
          origin: federation.originOf(n),
          provisioningToken: PROVISIONING_TOKEN,
        })),
        profile,
        transport: federation.transport,
        clock: federation.clock,
        advance: (ms) => {
          federation.clock.advance(ms);
        },
        observer: federation.observer,
        attach: (origin, handler) => {
          federation.network.register(origin, handler);
        },
        mutants: new Set(options.mutants ?? []),
        namespace: '',
        env: (label) => ({
          transport: federation.transport,
          clock: federation.clock,
          rng: fork(clientRng, label),
          originOf: federation.originOf,
          provisioningTokenOf: () => PROVISIONING_TOKEN,
          mutants: new Set(options.mutants ?? []),
        }),
        close: () => Promise.resolve(),
      };
    },
  };
}

export function httpTarget(
  config: TargetConfig,
  options: { readonly timeoutMs: number; readonly label: string },
): Target {
  const transport = httpTransport({ timeoutMs: options.timeoutMs });
  const byName = new Map(config.servers.map((s) => [s.server_name, s]));
  const server = (name: string) => {
    const found = byName.get(name);
    if (found === undefined) throw new Error(`the target config names no server ${name}`);
    return found;
  };
  let opened = 0;
  return {
    kind: 'http',
    label: options.label,
    phoenixProfiles: [config.profile],
    open({ seed }) {
      // Servers outlive checks: a per-open namespace keeps users and aliases apart.
      const namespace = `c${(opened++).toString(36)}${Buffer.from(seededRng(seed).bytes(3)).toString('hex')}-`;
      const clientRng = fork(seededRng(seed), 'clients');
      return Promise.resolve({
        servers: config.servers.map((s) => ({
          serverName: s.server_name,
          origin: s.base_url.replace(/\/$/, ''),
          provisioningToken: s.provisioning_token,
        })),
        profile: config.profile,
        transport,
        clock: systemClock,
        advance: undefined,
        observer: undefined,
        attach: undefined,
        mutants: new Set<string>(),
        namespace,
        env: (label) => ({
          transport,
          clock: systemClock,
          rng: fork(clientRng, label),
          originOf: (name) => server(name).base_url.replace(/\/$/, ''),
          provisioningTokenOf: (name) => server(name).provisioning_token,
        }),
        close: () => Promise.resolve(),
      });
    },
  };
}
