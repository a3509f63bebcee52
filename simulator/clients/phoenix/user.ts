// A user with several clients (devices). The clients share the user's
// friendship token and key (to claim each other's KeyPackages) and its decision
// policy; each keeps its own credential, queue and groups.
import { encodeUnpaddedBase64Url } from '../../protocol/encoding/base64.ts';
import { fork } from '../../protocol/crypto/rng.ts';
import { userDomain } from '../../protocol/credentials/credential.ts';
import { PhoenixClient, type Decide, type UserShared } from './client.ts';
import { call, type ClientEnv } from './env.ts';
import type { PhoenixUserHandle, UserOptions } from './handle.ts';

export type { UserOptions };

export class PhoenixUser implements UserShared, PhoenixUserHandle {
  readonly clients: PhoenixClient[] = [];
  decide: Decide = () => true;

  private constructor(
    readonly env: ClientEnv,
    readonly userId: string,
    readonly serverName: string,
    readonly profile: 'multi-device' | 'aliases',
    readonly friendshipToken: string,
    readonly friendshipKey: Uint8Array,
  ) {}

  /**
   * `devices` names each device and gives it an env of its own (the client driver shim,
   * whose devices reach the servers at addresses of their own); by default the devices
   * are device-1, device-2, ... on the user's env.
   */
  static async create(
    env: ClientEnv,
    options: UserOptions,
    devices?: readonly { readonly client: string; readonly env: ClientEnv }[],
  ): Promise<PhoenixUser> {
    const serverName = userDomain(options.userId);
    if (serverName === undefined) throw new Error(`not a user id: ${options.userId}`);
    const rng = fork(env.rng, `user ${options.userId}`);
    const user = new PhoenixUser(
      env,
      options.userId,
      serverName,
      options.profile,
      encodeUnpaddedBase64Url(rng.bytes(24)),
      fork(rng, 'friendship key').bytes(32),
    );
    await call(env, `${env.originOf(serverName)}/_fedconn/v1/provision/users`, {
      body: { user_id: options.userId },
      bearer: env.provisioningTokenOf(serverName),
    });
    const named =
      devices ??
      Array.from({ length: options.devices }, (_, i) => ({ client: `device-${i + 1}`, env }));
    for (const device of named) {
      const client = new PhoenixClient(device.env, user, {
        user_id: options.userId,
        client: device.client,
      });
      await client.register();
      await client.publishConnectionPackages(options.packagesPerClient ?? 2);
      user.clients.push(client);
    }
    return user;
  }

  siblingsOf(client: PhoenixClient): readonly PhoenixClient[] {
    return this.clients.filter((c) => c !== client);
  }

  /** The first client, which the aliases profile treats as "the user's client". */
  get primary(): PhoenixClient {
    const first = this.clients[0];
    if (first === undefined) throw new Error(`${this.userId} has no clients`);
    return first;
  }
}
