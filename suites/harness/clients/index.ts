// The client under test. A conformance run judges servers, or a client: fedconn's own
// reference client (the simulator's default), or a third-party client fedconn drives
// in-process (matrix-js-sdk, whose fetch msw routes into the servers fedconn plays).
// A client offers the kinds of client it is; CLIENT rules of the other kinds are `n/a`.
import type { IdentityServerAccess } from '../../../simulator/clients/identity-client.ts';
import type { Transport } from '../../../simulator/net/transport.ts';
import type { ClientDriver } from './driven.ts';

/** What an identity client is asked to do for the IS CLIENT rules. */
export interface IdentityLookupRequest {
  /** Reaches the identity servers (the check records what crosses it). */
  readonly transport: Transport;
  /** The identity server the client's user has configured, with an access token there. */
  readonly first: IdentityServerAccess;
  /** Other servers a third_party_mappings answer may name, by server name. */
  readonly referrals: ReadonlyMap<string, IdentityServerAccess>;
  /** The time the client must take as now (the servers' clock). */
  readonly now: number;
  readonly address: string;
  readonly medium: string;
}

/** Whom the client found for the address (undefined: nobody), or why it gave up. */
export type IdentityLookupResult =
  | { readonly ok: true; readonly userId: string | undefined }
  | { readonly ok: false; readonly error: string };

export interface IdentityClientUnderTest {
  lookup(request: IdentityLookupRequest): Promise<IdentityLookupResult>;
}

export interface ClientUnderTest {
  /** How reports name it: `fedconn reference client`, `matrix-js-sdk 43.0.0`. */
  readonly name: string;
  /** Its identity lookups, where it is an identity client (the IS CLIENT rules). */
  readonly identity?: IdentityClientUnderTest;
  /** Whether it is a Phoenix client fedconn can drive. */
  readonly phoenix: boolean;
  /**
   * The client driver protocol, for a client in a process of its own: its Phoenix users are
   * created through it (suites/harness/clients/phoenix-driven.ts). In-process otherwise.
   */
  readonly driver?: ClientDriver;
  /** Lets go of what it holds (interceptors). */
  close(): Promise<void>;
}

/** The kind of client a CLIENT rule of `family` binds. */
export const clientKindOf = (family: string): 'identity' | 'phoenix' =>
  family.startsWith('IS-') ? 'identity' : 'phoenix';

/**
 * The clients `fedconn run --client` knows by name; any other is a client driver config
 * file (docs/client-driver.md). `reference-shim` is fedconn's own client behind the client
 * driver protocol, in a process of its own (`fedconn client-shim`).
 */
export const CLIENT_NAMES = ['reference', 'reference-shim', 'matrix-js-sdk'] as const;
export type ClientName = (typeof CLIENT_NAMES)[number];

export const isClientName = (name: string): name is ClientName =>
  (CLIENT_NAMES as readonly string[]).includes(name);
