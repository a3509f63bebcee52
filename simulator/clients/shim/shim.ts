// fedconn's reference client behind the client driver protocol (`fedconn client-shim`):
// the Phoenix client and the identity client of the simulator, in a process of their own,
// speaking real HTTP to whatever servers fedconn names. It is the proof that the protocol
// carries everything the CLIENT rules need: the suite judges it exactly as it judges any
// other client, and its mutants (`--mutant`) must be killed through it.
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { encodeUnpaddedBase64 } from '../../protocol/encoding/base64.ts';
import { seededRng } from '../../protocol/crypto/rng.ts';
import { epochOf, membersOf } from '../../protocol/mls/group.ts';
import type { Clock } from '../../net/clock.ts';
import { httpTransport } from '../../net/http.ts';
import { lookup } from '../identity-client.ts';
import type { PhoenixClient } from '../phoenix/client.ts';
import type { ClientEnv } from '../phoenix/env.ts';
import { PhoenixUser } from '../phoenix/user.ts';
import {
  CLIENT_PROTOCOL,
  CLIENT_VERBS,
  clientVerbArgs,
  userDecideResult,
  type ClientVerb,
  type ClientVerbResult,
  type DeviceState,
  type DeviceVerbArgs,
} from './protocol.ts';

/** A clock that shows the time fedconn last sent; sleeping moves it on. */
class FollowedClock implements Clock {
  #now = 0;
  set(now: number): void {
    this.#now = now;
  }
  now(): number {
    return this.#now;
  }
  sleep(ms: number): Promise<void> {
    this.#now += ms;
    return Promise.resolve();
  }
}

/** A failure the shim reports with a code of the protocol (docs/client-driver.md). */
class ShimError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function deviceState(client: PhoenixClient): DeviceState {
  return {
    client: client.clientId.client,
    credential: client.credential as unknown as Record<string, unknown>,
    queue: client.queue as unknown as Record<string, unknown>,
    aliases: [...client.aliases],
    events: [...client.events],
    groups: [...client.groups.values()].map((g) => ({
      group_id: g.id,
      ear_key: encodeUnpaddedBase64(g.earKey),
      credential_key: encodeUnpaddedBase64(g.credentialKey),
      ds_server: g.dsServer,
      member_users: [...g.memberUsers],
      epoch: Number(epochOf(g.group)),
      member_count: membersOf(g.group).length,
      own_signature_key: encodeUnpaddedBase64(g.member.signaturePublicKey),
    })),
  };
}

export interface ShimOptions {
  readonly input: Readable;
  readonly output: Writable;
  readonly mutants: ReadonlySet<string>;
  /** Per-request timeout of the shim's own HTTP requests. */
  readonly requestTimeoutMs?: number;
}

/** Serves the protocol until the input ends. */
export async function runClientShim(options: ShimOptions): Promise<void> {
  const clock = new FollowedClock();
  const transport = httpTransport({ timeoutMs: options.requestTimeoutMs ?? 10_000 });
  const users = new Map<string, PhoenixUser>();
  let asked = 0;
  const waiting = new Map<number, (answer: unknown) => void>();
  const say = (message: unknown) => options.output.write(`${JSON.stringify(message)}\n`);

  /** Asks fedconn what the user decides on an offer from `sender`. */
  const askUser = (world: string, userId: string, sender: string) =>
    new Promise<boolean>((resolve, reject) => {
      const id = ++asked;
      waiting.set(id, (answer) => {
        const parsed = userDecideResult.safeParse(answer);
        if (parsed.success) resolve(parsed.data.accept);
        else reject(new Error(`fedconn's answer to user.decide: ${JSON.stringify(answer)}`));
      });
      say({
        id,
        verb: 'user.decide',
        args: { world, user_id: userId, sender_user_id: sender },
      });
    });

  /** Each device's view of discovery, replaced by the map each verb brings. */
  const servers = new Map<string, Map<string, string>>();
  const originIn = (map: ReadonlyMap<string, string>) => (name: string) => {
    const url = map.get(name);
    if (url === undefined) throw new Error(`fedconn named no server ${name}`);
    return url.replace(/\/$/, '');
  };

  const deviceOf = (a: DeviceVerbArgs): PhoenixClient => {
    const key = `${a.world}\n${a.user_id}`;
    const device = users.get(key)?.clients.find((c) => c.clientId.client === a.client);
    const map = servers.get(`${key}\n${a.client}`);
    if (device === undefined || map === undefined)
      throw new ShimError('unknown_client', `no ${a.client} of ${a.user_id}`);
    map.clear();
    for (const [name, url] of Object.entries(a.homeservers)) map.set(name, url);
    return device;
  };

  /**
   * A verb of one device: the clock set to fedconn's, the device found (its servers as
   * fedconn names them now), the act done; the answer carries the device's state after.
   */
  const onDevice = async <A extends DeviceVerbArgs>(
    a: A,
    act: (device: PhoenixClient, a: A) => Promise<unknown>,
  ): Promise<{ device: DeviceState }> => {
    clock.set(a.now);
    const device = deviceOf(a);
    await act(device, a);
    return { device: deviceState(device) };
  };

  /** Parses the verb's arguments and does what the user asked; the answer is the result. */
  async function handle(verb: ClientVerb, raw: unknown): Promise<ClientVerbResult<ClientVerb>> {
    switch (verb) {
      case 'identity.lookup': {
        const a = clientVerbArgs[verb].parse(raw);
        clock.set(a.now);
        const access = (s: { base_url: string; access_token: string }) => ({
          baseUrl: s.base_url,
          token: s.access_token,
        });
        const found = await lookup(
          {
            transport,
            mutants: options.mutants,
            resolve: (name) => {
              const r = a.referrals[name];
              return r === undefined ? undefined : access(r);
            },
          },
          access(a.identity_server),
          a.address,
          a.medium,
        );
        if (!found.ok)
          return { outcome: 'gave-up', reason: `${found.error.kind}: ${found.error.detail}` };
        return found.value.userId === undefined
          ? { outcome: 'not-found' }
          : { outcome: 'found', user_id: found.value.userId };
      }
      case 'phoenix.create_user': {
        const a = clientVerbArgs[verb].parse(raw);
        clock.set(a.now);
        const key = `${a.world}\n${a.user_id}`;
        if (users.has(key))
          throw new ShimError('exists', `${a.user_id} exists already in world ${a.world}`);
        const base: ClientEnv = {
          transport,
          clock,
          rng: seededRng(a.seed),
          originOf: () => {
            throw new Error('a device reaches servers through its own env');
          },
          provisioningTokenOf: () => a.provisioning_token,
          mutants: options.mutants,
        };
        const devices = a.devices.map((d) => {
          const map = new Map(Object.entries(d.homeservers));
          servers.set(`${key}\n${d.client}`, map);
          return { client: d.client, env: { ...base, originOf: originIn(map) } };
        });
        const first = devices[0];
        if (first === undefined) throw new ShimError('failed', 'no devices');
        const user = await PhoenixUser.create(
          first.env,
          {
            userId: a.user_id,
            devices: a.devices.length,
            profile: a.profile,
            packagesPerClient: a.packages_per_client,
          },
          devices,
        );
        user.decide = (sender) => askUser(a.world, a.user_id, sender);
        users.set(key, user);
        return { devices: user.clients.map(deviceState) };
      }
      case 'phoenix.publish_connection_packages':
        return onDevice(clientVerbArgs[verb].parse(raw), (d, a) =>
          d.publishConnectionPackages(a.count),
        );
      case 'phoenix.register_alias':
        return onDevice(clientVerbArgs[verb].parse(raw), (d, a) =>
          d.registerAlias(a.alias, a.payloads),
        );
      case 'phoenix.connect': {
        let groupId = '';
        const answer = await onDevice(clientVerbArgs[verb].parse(raw), async (d, a) => {
          groupId = await d.connect(
            'user_id' in a.to
              ? { userId: a.to.user_id }
              : { alias: a.to.alias, server: a.to.server_name },
          );
        });
        return { group_id: groupId, ...answer };
      }
      case 'phoenix.process_queues':
        return onDevice(clientVerbArgs[verb].parse(raw), (d) => d.processQueues());
      case 'phoenix.poll_alias_queue':
        return onDevice(clientVerbArgs[verb].parse(raw), (d, a) => d.pollAliasQueue(a.alias));
      case 'phoenix.end_world': {
        const a = clientVerbArgs[verb].parse(raw);
        for (const key of [...users.keys()]) if (key.startsWith(`${a.world}\n`)) users.delete(key);
        for (const key of [...servers.keys()])
          if (key.startsWith(`${a.world}\n`)) servers.delete(key);
        return {};
      }
      case 'phoenix.send':
        return onDevice(clientVerbArgs[verb].parse(raw), (d, a) => d.send(a.group_id, a.text));
    }
  }

  const answer = async (id: number, verb: string, args: unknown) => {
    try {
      if (verb === 'hello') {
        say({
          id,
          ok: true,
          result: {
            protocol: CLIENT_PROTOCOL,
            name: 'fedconn reference client (shim)',
            verbs: CLIENT_VERBS,
          },
        });
        return;
      }
      if (!(CLIENT_VERBS as readonly string[]).includes(verb))
        throw new ShimError('unknown_verb', `this shim does not know ${verb}`);
      say({ id, ok: true, result: await handle(verb as ClientVerb, args) });
    } catch (error) {
      const code = error instanceof ShimError ? error.code : 'failed';
      const message = error instanceof Error ? error.message : String(error);
      say({ id, ok: false, error: { code, message } });
    }
  };

  const lines = createInterface({ input: options.input });
  // Requests are served concurrently, as a client's user may act on two devices at once.
  const inFlight = new Set<Promise<void>>();
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const message = JSON.parse(line) as {
      id: number;
      verb?: string;
      args?: unknown;
      ok?: boolean;
      result?: unknown;
    };
    if (message.verb === undefined) {
      // fedconn's answer to one of the shim's own questions.
      waiting.get(message.id)?.(message.ok === true ? message.result : undefined);
      waiting.delete(message.id);
      continue;
    }
    const served = answer(message.id, message.verb, message.args);
    inFlight.add(served);
    void served.finally(() => inFlight.delete(served));
  }
  await Promise.all(inFlight);
}
