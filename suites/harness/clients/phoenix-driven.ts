// Users and devices of a Phoenix client under test, mirrored in fedconn through the client
// driver protocol: each method is a verb, and each answer brings the device's state
// (events, groups, aliases), which the mirror holds, so checks read a client under test
// exactly as they read the reference in this process (simulator/clients/phoenix/handle.ts).
//
// Each device reaches the servers through loopback ports of its own (the gateway), and its
// requests run in the async context of the verb that caused them: a check that attributes
// requests to devices (the race checks' AsyncLocalStorage) sees a device under test's
// requests as its own.
import { AsyncLocalStorage } from 'node:async_hooks';
import type {
  ClientCredential,
  ClientId,
} from '../../../simulator/protocol/credentials/credential.ts';
import { decodeBase64 } from '../../../simulator/protocol/encoding/base64.ts';
import type { ClientEvent, Decide } from '../../../simulator/clients/phoenix/client.ts';
import type { ClientEnv } from '../../../simulator/clients/phoenix/env.ts';
import type {
  CreateUser,
  GroupStatus,
  GroupView,
  PhoenixDevice,
  PhoenixUserHandle,
} from '../../../simulator/clients/phoenix/handle.ts';
import { fork } from '../../../simulator/protocol/crypto/rng.ts';
import type { DeviceState } from '../../../simulator/clients/shim/protocol.ts';
import type { QueueRef } from '../../../simulator/services/qs/queues.ts';
import type { Transport } from '../../../simulator/net/transport.ts';
import { userDomain } from '../../../simulator/protocol/credentials/credential.ts';
import type { ClientDriver } from './driven.ts';
import { startGateway, type Gateway } from './gateway.ts';

const bytes = (b64: string): Uint8Array => {
  const decoded = decodeBase64(b64);
  if (!decoded.ok) throw new Error(`the client sent a key that is not base64: ${b64}`);
  return decoded.value;
};

type Runner = <T>(fn: () => T) => T;

class DrivenDevice implements PhoenixDevice {
  readonly events: ClientEvent[] = [];
  readonly groups = new Map<string, GroupView>();
  readonly #status = new Map<string, GroupStatus>();
  #aliases: readonly string[] = [];
  #credential!: ClientCredential;
  #queue!: QueueRef;
  /** The async context of the verb in flight, in which the device's requests run. */
  #context: Runner = (fn) => fn();
  /** The env's transport, run in that context: what this device's ports forward to. */
  readonly transport: Transport;

  constructor(
    private readonly world: DrivenWorld,
    private readonly env: ClientEnv,
    readonly clientId: ClientId,
  ) {
    this.transport = (request) => this.#context(() => env.transport(request));
  }

  get credential(): ClientCredential {
    return this.#credential;
  }
  get queue(): QueueRef {
    return this.#queue;
  }
  get aliases(): readonly string[] {
    return this.#aliases;
  }

  /** Where this device finds every server fedconn knows now, through its own ports. */
  async homeservers(): Promise<Record<string, string>> {
    const names = new Set(this.env.knownServers?.() ?? []);
    const own = userDomain(this.clientId.user_id);
    if (own !== undefined) names.add(own);
    const map: Record<string, string> = {};
    for (const name of names)
      map[name] = await this.world.gateway.expose(this.transport, this.env.originOf(name));
    return map;
  }

  /** Takes the state the client reported; the arrays and maps are updated in place. */
  update(state: DeviceState): void {
    this.#credential = state.credential as unknown as ClientCredential;
    this.#queue = state.queue as unknown as QueueRef;
    this.#aliases = [...state.aliases];
    this.events.splice(0, this.events.length, ...state.events);
    this.groups.clear();
    this.#status.clear();
    for (const g of state.groups) {
      this.groups.set(g.group_id, {
        id: g.group_id,
        earKey: bytes(g.ear_key),
        credentialKey: bytes(g.credential_key),
        dsServer: g.ds_server,
        memberUsers: g.member_users,
      });
      this.#status.set(g.group_id, {
        epoch: BigInt(g.epoch),
        members: g.member_count,
        ownSignatureKey: bytes(g.own_signature_key),
      });
    }
  }

  /** Runs a device verb: its requests in the caller's async context, then the new state. */
  async #verb<
    V extends
      | 'phoenix.publish_connection_packages'
      | 'phoenix.register_alias'
      | 'phoenix.connect'
      | 'phoenix.process_queues'
      | 'phoenix.poll_alias_queue'
      | 'phoenix.send',
  >(verb: V, extra: Record<string, unknown>) {
    this.#context = AsyncLocalStorage.snapshot();
    const result = await this.world.driver.call(verb, {
      now: this.env.clock.now(),
      world: this.world.name,
      user_id: this.clientId.user_id,
      client: this.clientId.client,
      homeservers: await this.homeservers(),
      ...extra,
    } as never);
    this.update(result.device);
    return result;
  }

  groupStatus(groupId: string): GroupStatus | undefined {
    return this.#status.get(groupId);
  }
  async publishConnectionPackages(count: number): Promise<void> {
    await this.#verb('phoenix.publish_connection_packages', { count });
  }
  async registerAlias(alias: string, payloads: number): Promise<void> {
    await this.#verb('phoenix.register_alias', { alias, payloads });
  }
  async connect(
    target: { readonly userId: string } | { readonly alias: string; readonly server: string },
  ): Promise<string> {
    const to =
      'userId' in target
        ? { user_id: target.userId }
        : { alias: target.alias, server_name: target.server };
    const result = await this.#verb('phoenix.connect', { to });
    return (result as { group_id: string }).group_id;
  }
  async processQueues(): Promise<void> {
    await this.#verb('phoenix.process_queues', {});
  }
  async pollAliasQueue(alias: string): Promise<void> {
    await this.#verb('phoenix.poll_alias_queue', { alias });
  }
  async send(groupId: string, text: string): Promise<void> {
    await this.#verb('phoenix.send', { group_id: groupId, text });
  }
  received(groupId: string): string[] {
    return this.events.flatMap((e) =>
      e.type === 'message' && e.groupId === groupId ? [e.text] : [],
    );
  }
}

class DrivenUser implements PhoenixUserHandle {
  decide: Decide = () => true;
  constructor(
    readonly userId: string,
    readonly serverName: string,
    readonly profile: 'multi-device' | 'aliases',
    readonly clients: readonly DrivenDevice[],
  ) {}
  get primary(): PhoenixDevice {
    const first = this.clients[0];
    if (first === undefined) throw new Error(`${this.userId} has no clients`);
    return first;
  }
}

interface DrivenWorld {
  readonly name: string;
  readonly driver: ClientDriver;
  readonly gateway: Gateway;
}

let worlds = 0;

/**
 * One world (a check's federation) on the client under test: users are created in it, and
 * `end` has the client forget them and closes the world's loopback ports.
 */
export function drivenWorld(driver: ClientDriver): {
  readonly createUser: CreateUser;
  end(): Promise<void>;
} {
  const world: DrivenWorld = { name: `w${++worlds}`, driver, gateway: startGateway() };
  const users: string[] = [];
  return {
    createUser: async (env, options) => {
      const serverName = userDomain(options.userId);
      if (serverName === undefined) throw new Error(`not a user id: ${options.userId}`);
      const devices = Array.from(
        { length: options.devices },
        (_, i) =>
          new DrivenDevice(world, env, { user_id: options.userId, client: `device-${i + 1}` }),
      );
      const user = new DrivenUser(options.userId, serverName, options.profile, devices);
      driver.onDecide(world.name, options.userId, (sender) => user.decide(sender));
      users.push(options.userId);
      const result = await driver.call('phoenix.create_user', {
        now: env.clock.now(),
        world: world.name,
        user_id: options.userId,
        profile: options.profile,
        devices: await Promise.all(
          devices.map(async (d) => ({
            client: d.clientId.client,
            homeservers: await d.homeservers(),
          })),
        ),
        packages_per_client: options.packagesPerClient ?? 2,
        provisioning_token: env.provisioningTokenOf(serverName),
        // The same seed for the same user in the same world, as the reference in-process.
        seed: Buffer.from(fork(env.rng, `user ${options.userId}`).bytes(16)).toString('hex'),
      });
      for (const state of result.devices) {
        const device = devices.find((d) => d.clientId.client === state.client);
        if (device === undefined)
          throw new Error(`the client reported a device fedconn did not name: ${state.client}`);
        device.update(state);
      }
      return user;
    },
    async end() {
      for (const userId of users) driver.onDecide(world.name, userId, undefined);
      // Best effort: a client that cannot forget a world (it lacks the verb, or it died,
      // which the check has already reported) costs only its own memory.
      if (users.length > 0 && driver.knows('phoenix.end_world'))
        await driver.call('phoenix.end_world', { world: world.name }).catch(() => undefined);
      await world.gateway.close();
    },
  };
}
