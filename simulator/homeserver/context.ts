// What every service of a homeserver is given: its configuration and the
// injected world (clock, randomness, outbound transport, observer, directory of
// other servers). Nothing reaches for globals, so a seed reproduces a run.
import type { Ed25519KeyPair } from '../protocol/crypto/ed25519.ts';
import type { Rng } from '../protocol/crypto/rng.ts';
import type { Clock } from '../net/clock.ts';
import type { ServerRecorder } from '../net/observer.ts';
import type { StoreLatency } from '../net/latent-store.ts';
import type { Transport } from '../net/transport.ts';

export type PhoenixProfile = 'multi-device' | 'aliases';

/** Which Matrix federation text the server follows for discovery and keys. */
export type MatrixProfile = 'matrix-2014' | 'matrix-current';

export interface HomeserverConfig {
  /** The server_name: the domain part of its users' ids and the name others resolve. */
  readonly serverName: string;
  /** Which Phoenix seed profile the AS, QS, DS and clients follow. */
  readonly profile: PhoenixProfile;
  /** Bearer token guarding the test-only provisioning endpoints. */
  readonly provisioningToken: string;
  /** server_names whose identity services may push hashes to this one (IS-PUSH). */
  readonly trustedIdentityServers: readonly string[];
  /** Names of mutants active on this server (deliberate rule violations, see suites). */
  readonly mutants: ReadonlySet<string>;
  /** Matrix federation profile (resolution, key endpoint); 'matrix-current' when absent. */
  readonly matrixProfile?: MatrixProfile;
}

/** The server's Ed25519 signing key for federation (key id `ed25519:<version>`). */
export interface ServerSigningKey {
  readonly keyId: string;
  readonly pair: Ed25519KeyPair;
  /** Until when the published key may be trusted (valid_until_ts). */
  readonly validUntil: number;
}

/** Finds the base URL (origin) of another server by its server_name. */
export interface Directory {
  originOf(serverName: string): Promise<string | undefined>;
}

export interface HomeserverContext {
  readonly config: HomeserverConfig;
  readonly clock: Clock;
  readonly rng: Rng;
  /** Outbound calls to other servers; requests carry `x-fedconn-from: <serverName>`. */
  readonly transport: Transport;
  readonly recorder: ServerRecorder;
  readonly signingKey: ServerSigningKey;
  readonly directory: Directory;
  /** Latency of the store rows that races turn on (net/latent-store.ts); none when absent. */
  readonly storeLatency?: StoreLatency;
}

export const isMutant = (ctx: HomeserverContext, name: string): boolean =>
  ctx.config.mutants.has(name);
