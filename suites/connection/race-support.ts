// What the race checks share (CONN-RACE): an initiator who has sent an
// establishment package to every device of a responder, on a transport that
// attributes each request to the device it was made for (AsyncLocalStorage), so
// a check can read one device's request order and hold, fail or duplicate its
// requests; and what the servers hold afterwards: the group's members on the
// DS, and the groups created on every DS (the observer).
import { AsyncLocalStorage } from 'node:async_hooks';
import type fc from 'fast-check';
import type { PhoenixDevice, PhoenixUserHandle } from '../../simulator/clients/phoenix/handle.ts';
import type { Observer } from '../../simulator/net/observer.ts';
import { compose, type Middleware, type Transport } from '../../simulator/net/transport.ts';
import { decodeBase64, encodeUnpaddedBase64 } from '../../simulator/protocol/encoding/base64.ts';
import { decodeRatchetTree } from '../../simulator/protocol/mls/wire.ts';
import { populate } from '../../simulator/scenario.ts';
import { expectThat, type CheckContext } from '../harness/check.ts';
import { DS } from './race-mls.ts';
import { expectOk, send } from './support.ts';

/** What a device's request is for, read from its method and path (docs/binding.md). */
export type RequestKind =
  | 'as-queue'
  | 'qs-fetch'
  | 'credentials'
  | 'commit-info'
  | 'join'
  | 'commit'
  | 'create-group'
  | 'claim'
  | 'other';

export function kindOf(request: Request): RequestKind {
  const path = new URL(request.url).pathname;
  if (/^\/_fedconn\/v1\/as\/(queue|aliases\/[^/]+\/queue)$/.test(path)) return 'as-queue';
  if (/^\/_fedconn\/v1\/qs\/queues\/[^/]+\/messages$/.test(path)) return 'qs-fetch';
  if (path === '/_fedconn/v1/as/credentials') return 'credentials';
  if (path === '/_fedconn/v1/qs/key_packages/claim') return 'claim';
  if (path === `${DS}/groups` && request.method === 'POST') return 'create-group';
  const ds =
    /^\/_fedconn\/v1\/ds\/groups\/[^/]+\/(external_commit_info|join_connection_group|commit)$/.exec(
      path,
    );
  if (ds?.[1] === 'external_commit_info') return 'commit-info';
  if (ds?.[1] === 'join_connection_group') return 'join';
  if (ds?.[1] === 'commit') return 'commit';
  return 'other';
}

/** One request a device made, in the order the devices made them. */
export interface Sent {
  readonly device: PhoenixDevice;
  readonly kind: RequestKind;
  /** The status the device saw, 'network error', or undefined while unanswered. */
  result?: number | 'network error';
}

// One store for every Traffic, enabled only while some device works inside `as`. Each
// enabled AsyncLocalStorage makes every promise the process creates pay for propagating
// it, and a store stays enabled until disabled: one per check piled up to 16% of the
// suite's CPU.
const working = new AsyncLocalStorage<{
  readonly traffic: Traffic;
  readonly device: PhoenixDevice;
}>();
let inside = 0;

/** The requests of devices working inside `as`, and the check's middleware for them. */
export class Traffic {
  readonly sent: Sent[] = [];
  /** Applied to every request (attributed or not) while set: holds, faults, a scheduler. */
  intercept: Middleware | undefined;

  transport(base: Transport): Transport {
    return async (request) => {
      const device = this.current();
      const entry: Sent | undefined =
        device === undefined ? undefined : { device, kind: kindOf(request) };
      if (entry !== undefined) this.sent.push(entry);
      const through = this.intercept === undefined ? base : compose(base, this.intercept);
      try {
        const response = await through(request);
        if (entry !== undefined) entry.result = response.status;
        return response;
      } catch (error) {
        if (entry !== undefined) entry.result = 'network error';
        throw error;
      }
    };
  }

  /** The device on whose behalf the current request is made, if any. */
  current(): PhoenixDevice | undefined {
    const store = working.getStore();
    return store?.traffic === this ? store.device : undefined;
  }

  /** Runs `work` as `device`: every request it makes is attributed to the device. */
  async as<T>(device: PhoenixDevice, work: () => Promise<T>): Promise<T> {
    inside++;
    try {
      return await working.run({ traffic: this, device }, work);
    } finally {
      if (--inside === 0) working.disable();
    }
  }

  /** A device's requests so far (from `from` on, an index into `sent`). */
  of(device: PhoenixDevice, from = 0): readonly Sent[] {
    return this.sent.slice(from).filter((s) => s.device === device);
  }
}

export const nameOf = (c: PhoenixDevice) => `${c.clientId.client} of ${c.clientId.user_id}`;

/** Processes a device's queues, again while it fails (offline), as a device that comes back. */
export async function processUntilDone(
  traffic: Traffic,
  device: PhoenixDevice,
  attempts = 8,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await traffic.as(device, () => device.processQueues());
      return;
    } catch (error) {
      if (attempt >= attempts) throw error;
    }
  }
}

export interface RaceWorld {
  readonly initiator: PhoenixUserHandle;
  readonly responder: PhoenixUserHandle;
  /** Every client of both users, the initiator's first. */
  readonly everyone: readonly PhoenixDevice[];
  readonly groupId: string;
  readonly traffic: Traffic;
  /** The last observer event before the run began (-1 when there is none yet). */
  readonly mark: number;
  /** Runs every client (attributed) until a round changes nothing. */
  settle(): Promise<void>;
  /** The shape of the run, for failure messages. */
  readonly describe: string;
}

export interface RaceShape {
  readonly responderDevices: number;
  readonly initiatorDevices: number;
  /** Initiator and responder on the same homeserver, or on two. */
  readonly sameServer: boolean;
  /** Middleware for the initiator's connect (e.g. delivering a package twice). */
  readonly whileConnecting?: Middleware;
}

const lastSeq = (observer: Observer | undefined) =>
  Math.max(-1, ...(observer?.views() ?? []).flatMap((v) => v.events.map((e) => e.seq)));

/** Creates both users, and the initiator's group with a package in every responder device's queue. */
export async function raceWorld(
  ctx: CheckContext,
  label: string,
  shape: RaceShape,
): Promise<RaceWorld> {
  const traffic = new Traffic();
  const base = ctx.instance.env(label);
  const env = { ...base, transport: traffic.transport(base.transport) };
  const [first, second] = ctx.instance.servers.map((x) => x.serverName);
  if (first === undefined) throw new Error('the target has no servers');
  const prefix = `${ctx.instance.namespace}${label.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}-`;
  const mark = lastSeq(ctx.instance.observer);
  const [initiators, responders] = [
    await populate(env, {
      servers: [first],
      usersPerServer: 1,
      devicesPerUser: shape.initiatorDevices,
      profile: ctx.instance.profile,
      userPrefix: `${prefix}i`,
    }),
    await populate(env, {
      servers: [shape.sameServer ? first : (second ?? first)],
      usersPerServer: 1,
      devicesPerUser: shape.responderDevices,
      profile: ctx.instance.profile,
      userPrefix: `${prefix}r`,
    }),
  ];
  const [initiator] = initiators.users;
  const [responder] = responders.users;
  if (initiator === undefined || responder === undefined) throw new Error('no users');
  traffic.intercept = shape.whileConnecting;
  const groupId = await initiator.primary.connect({ userId: responder.userId });
  traffic.intercept = undefined;
  const everyone = [...initiator.clients, ...responder.clients];
  const fingerprint = () =>
    everyone.map((c) => `${c.events.length}:${[...c.groups.keys()].join(',')}`).join('|');
  return {
    initiator,
    responder,
    everyone,
    groupId,
    traffic,
    mark,
    describe: `${shape.initiatorDevices} initiator and ${shape.responderDevices} responder devices${shape.sameServer ? ' on one homeserver' : ' on two homeservers'}`,
    async settle() {
      for (let round = 0; round < 10; round++) {
        const before = fingerprint();
        for (const c of everyone) await traffic.as(c, () => c.processQueues());
        if (fingerprint() === before) return;
      }
    },
  };
}

/**
 * The connection group `groupId` of `initiator` as its DS serves it: one leaf key per
 * member, and the CredentialInfos.
 */
export async function connectionGroupOnDs(
  ctx: CheckContext,
  initiator: PhoenixDevice,
  groupId: string,
): Promise<{ readonly leaves: readonly string[]; readonly credentialInfos: number }> {
  const entry = initiator.groups.get(groupId);
  if (entry === undefined) throw new Error(`the initiator has no group ${groupId}`);
  const ds = ctx.instance.servers.find((x) => x.serverName === entry.dsServer);
  if (ds === undefined) throw new Error(`no server ${entry.dsServer}`);
  const info = await send(ctx, `${ds.origin}${DS}/groups/${groupId}/external_commit_info`, {
    body: { ear_key: encodeUnpaddedBase64(entry.earKey) },
  });
  expectOk(info, `fetching external commit info of ${groupId}`);
  const body = info.body as { ratchet_tree: string; credential_infos: string[] };
  const treeBytes = decodeBase64(body.ratchet_tree);
  const tree = treeBytes.ok ? decodeRatchetTree(treeBytes.value) : treeBytes;
  if (!tree.ok) throw new Error('the DS serves an undecodable ratchet tree');
  const leaves = tree.value.flatMap((node) =>
    node?.nodeType === 'leaf' ? [hex(node.leaf.signaturePublicKey)] : [],
  );
  return { leaves, credentialInfos: body.credential_infos.length };
}

/** The race's connection group as its DS serves it. */
export const groupOnDs = (ctx: CheckContext, world: RaceWorld) =>
  connectionGroupOnDs(ctx, world.initiator.primary, world.groupId);

export const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** A client's own leaf key in the connection group ('' when it is not a member). */
export const leafOf = (c: PhoenixDevice, groupId: string): string => {
  const own = c.groupStatus(groupId);
  return own === undefined ? '' : hex(own.ownSignatureKey);
};

/** Fails unless every group any DS created since the run began is the connection group. */
export function expectNoOrphanedGroup(ctx: CheckContext, world: RaceWorld): void {
  const observer = ctx.instance.observer;
  if (observer === undefined) throw new Error('the target shows no server views');
  // The DS's stored groups where its rows are seen; from the wire, the group creations
  // it accepted.
  const rows = ctx.target.provides.has('stored-rows');
  const created = observer.views().flatMap((v) =>
    v.events.flatMap((e) => {
      if (e.seq <= world.mark) return [];
      if (rows)
        return e.kind === 'row' && e.table === 'ds_groups' && e.op === 'put'
          ? [`${e.key} on ${v.server}`]
          : [];
      const accepted =
        e.kind === 'request' &&
        e.method === 'POST' &&
        e.path === `${DS}/groups` &&
        e.status !== undefined &&
        e.status < 300;
      const id = accepted ? (e.body as { group_id?: unknown } | null)?.group_id : undefined;
      return typeof id === 'string' ? [`${id} on ${v.server}`] : [];
    }),
  );
  const orphans = [...new Set(created)].filter((g) => !g.startsWith(`${world.groupId} on `));
  expectThat(
    orphans.length === 0,
    `groups on the DSs besides the connection group ${world.groupId} (${world.describe})`,
    'none: every group created is the connection group',
    orphans,
  );
}

/** Every request waits for the scheduler before it is sent and again before its answer is seen. */
export const scheduled =
  (s: fc.Scheduler, traffic: Traffic): Middleware =>
  (next) =>
  async (request) => {
    const what = `${traffic.current()?.clientId.client ?? 'initiator'} ${kindOf(request)}`;
    await s.schedule(Promise.resolve(), `${what} sent`);
    const response = await next(request);
    return s.schedule(Promise.resolve(response), `${what} answered`);
  };

/** A promise with its resolve function, for holding a request until the check lets it go. */
export function gate(): { readonly opened: Promise<void>; open(): void } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}
