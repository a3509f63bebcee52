// What a user and each of its devices (clients) offer whoever drives them: the checks, the
// scenario API, a researcher. Two kinds implement it: fedconn's reference client in this
// process (PhoenixUser, PhoenixClient), and a client under test in a process of its own,
// mirrored through the client driver protocol (suites/harness/clients/phoenix-driven.ts).
// Only what a user could do or see is here, so anything a check reads of a client under
// test, the protocol carries.
import type { ClientCredential, ClientId } from '../../protocol/credentials/credential.ts';
import type { QueueRef } from '../../services/qs/queues.ts';
import type { ClientEvent, Decide } from './client.ts';
import type { ClientEnv } from './env.ts';

/** A connection group as a device holds it: its id, keys and where it lives. */
export interface GroupView {
  readonly id: string;
  readonly earKey: Uint8Array;
  readonly credentialKey: Uint8Array;
  /** The homeserver whose DS hosts the group (the initiator's). */
  readonly dsServer: string;
  /** Verified user ids of the members, by the order their CredentialInfos arrived. */
  readonly memberUsers: readonly string[];
}

/** The device's MLS view of a group it is in. */
export interface GroupStatus {
  readonly epoch: bigint;
  readonly members: number;
  /** The device's own leaf signature key. */
  readonly ownSignatureKey: Uint8Array;
}

export interface PhoenixDevice {
  readonly clientId: ClientId;
  readonly credential: ClientCredential;
  readonly queue: QueueRef;
  /** What the device's user saw and what happened, in order. */
  readonly events: readonly ClientEvent[];
  readonly groups: ReadonlyMap<string, GroupView>;
  /** The aliases this device registered. */
  readonly aliases: readonly string[];
  groupStatus(groupId: string): GroupStatus | undefined;
  publishConnectionPackages(count: number): Promise<void>;
  registerAlias(alias: string, payloads: number): Promise<void>;
  /** Discovers the responder, creates the connection group, sends the package(s): the group id. */
  connect(
    target: { readonly userId: string } | { readonly alias: string; readonly server: string },
  ): Promise<string>;
  /** Its own AS queue, then its QS queue. */
  processQueues(): Promise<void>;
  /**
   * Its QS queue alone, as a device woken for that queue polls (the reference client; a
   * client under test need not offer it, and is polled with processQueues instead).
   */
  processQsQueue?(): Promise<void>;
  pollAliasQueue(alias: string): Promise<void>;
  send(groupId: string, text: string): Promise<void>;
  /** Messages it received in a group. */
  received(groupId: string): string[];
}

export interface PhoenixUserHandle {
  readonly userId: string;
  readonly serverName: string;
  readonly profile: 'multi-device' | 'aliases';
  readonly clients: readonly PhoenixDevice[];
  /** The first device, which the aliases profile treats as "the user's client". */
  readonly primary: PhoenixDevice;
  /** How the user answers an offer. */
  decide: Decide;
}

export interface UserOptions {
  readonly userId: string;
  readonly devices: number;
  readonly profile: 'multi-device' | 'aliases';
  /** Connection packages each client publishes under the user id. */
  readonly packagesPerClient?: number;
}

/** Creates a user with its devices, registered and with packages published. */
export type CreateUser = (env: ClientEnv, options: UserOptions) => Promise<PhoenixUserHandle>;
