// Connections that no server can link (CONN-PRIV), queues that the QS cannot tie
// to users (CONN-PRIV-04) and establishment packages the servers see only as
// ciphertext (CONN-CEP-02): connections within one homeserver and across two,
// then oracles over every server's recorded view.
import type { PhoenixUserHandle } from '../../simulator/clients/phoenix/handle.ts';
import type { PhoenixProfile } from '../../simulator/homeserver/context.ts';
import { encodeUnpaddedBase64 } from '../../simulator/protocol/encoding/base64.ts';
import { defineCheck, expectThat, type CheckContext } from '../harness/check.ts';
import { rngFor } from './support.ts';
import {
  DS_PATH,
  anonymously,
  contains,
  describeEvent,
  identifiersOf,
  isAsEvent,
  isQsEvent,
  openWorld,
  searchable,
  userAt,
  type World,
} from './privacy-support.ts';

interface Connection {
  readonly initiator: PhoenixUserHandle;
  readonly responder: PhoenixUserHandle;
  readonly alias?: string;
  readonly groupId: string;
  readonly earKey: string;
  readonly credentialKey: string;
}

/**
 * Users 0 and 1 on the first server, 2 and 3 on the second. Connections: 0 -> 1
 * (one server), 2 -> 1 and 0 -> 3 (across two), and in the aliases profile 2 -> an
 * alias of 3 (across) and 3 -> an alias of 2 (one server). Everyone then settles.
 */
async function connectionWorld(
  ctx: CheckContext,
  label: string,
  profile: PhoenixProfile,
): Promise<{ world: World; connections: Connection[] }> {
  const world = await openWorld(ctx, `${ctx.seed}/${label}`, {
    profile,
    usersPerServer: 2,
    devicesPerUser: profile === 'multi-device' ? 2 : 1,
  });
  try {
    const connections = await anonymously(() => connectAll(ctx, world, label, profile));
    ctx.iterations(connections.length);
    return { world, connections };
  } catch (error) {
    await world.instance.close();
    throw error;
  }
}

async function connectAll(
  ctx: CheckContext,
  world: World,
  label: string,
  profile: PhoenixProfile,
): Promise<Connection[]> {
  const connections: Connection[] = [];
  const connect = async (i: number, r: number, alias?: string) => {
    const initiator = userAt(world, i);
    const responder = userAt(world, r);
    const groupId = await initiator.primary.connect(
      alias === undefined ? { userId: responder.userId } : { alias, server: responder.serverName },
    );
    const entry = initiator.primary.groups.get(groupId);
    if (entry === undefined) throw new Error(`the initiator holds no group ${groupId}`);
    connections.push({
      initiator,
      responder,
      ...(alias === undefined ? {} : { alias }),
      groupId,
      earKey: encodeUnpaddedBase64(entry.earKey),
      credentialKey: encodeUnpaddedBase64(entry.credentialKey),
    });
  };
  await connect(0, 1);
  await connect(2, 1);
  await connect(0, 3);
  if (profile === 'aliases') {
    const tag = Buffer.from(rngFor(ctx, `${label} aliases`).bytes(3)).toString('hex');
    await userAt(world, 3).primary.registerAlias(`${world.instance.namespace}priv-${tag}-3`, 1);
    await userAt(world, 2).primary.registerAlias(`${world.instance.namespace}priv-${tag}-2`, 1);
    await connect(2, 3, `${world.instance.namespace}priv-${tag}-3`);
    await connect(3, 2, `${world.instance.namespace}priv-${tag}-2`);
  }
  await world.population.settle();
  return connections;
}

/** Runs `oracle` over a connection world, closing it afterwards. */
async function withConnections(
  ctx: CheckContext,
  label: string,
  oracle: (world: World, connections: readonly Connection[]) => void,
): Promise<void> {
  if (ctx.profile !== 'multi-device' && ctx.profile !== 'aliases')
    throw new Error(`not a Phoenix profile: ${ctx.profile}`);
  const { world, connections } = await connectionWorld(ctx, label, ctx.profile);
  try {
    oracle(world, connections);
  } finally {
    await world.instance.close();
  }
}

export const noViewLinksTheUsers = defineCheck({
  name: 'no server view holds a record naming both the initiator and the responder',
  rules: ['CONN-PRIV-01'],
  profiles: ['multi-device', 'aliases'],
  needs: ['observer', 'reference-client'],
  run: (ctx) =>
    withConnections(ctx, 'conn-priv-01', (world, connections) => {
      for (const view of world.observer.views()) {
        for (const e of view.events) {
          const text = searchable(e);
          for (const c of connections) {
            const initiator = contains(text, identifiersOf(c.initiator));
            if (initiator === undefined) continue;
            const responder = contains(text, [
              ...identifiersOf(c.responder),
              ...(c.alias === undefined ? [] : [c.alias]),
            ]);
            expectThat(
              responder === undefined,
              `${view.server} holds a record linking ${c.initiator.userId} to ${c.responder.userId}`,
              'no record with identifiers of both users',
              `${initiator} and ${responder ?? ''} in ${describeEvent(view.server, e)}`,
            );
          }
        }
      }
    }),
});

const DISCOVERY =
  /^\/_fedconn\/v1\/as\/(users\/[^/]+\/connection_packages|aliases\/[^/]+\/connection_package)$/;
const DELIVERY = /^\/_fedconn\/v1\/as\/(clients\/[^/]+\/[^/]+|aliases\/[^/]+)\/queue$/;

export const discoveryIsAnonymous = defineCheck({
  name: 'discovery and delivery requests carry no identifier of the initiator',
  rules: ['CONN-PRIV-03'],
  profiles: ['multi-device', 'aliases'],
  needs: ['observer', 'reference-client'],
  run: (ctx) =>
    withConnections(ctx, 'conn-priv-03', (world, connections) => {
      const initiators = [...new Set(connections.map((c) => c.initiator))];
      const needles = initiators.flatMap(identifiersOf);
      let seen = 0;
      for (const view of world.observer.views()) {
        for (const e of view.events) {
          if (e.kind !== 'request') continue;
          const discovery = e.method === 'GET' && DISCOVERY.test(e.path);
          const delivery = e.method === 'POST' && DELIVERY.test(e.path);
          if (!discovery && !delivery) continue;
          seen++;
          const found = contains(searchable(e, 'no-path'), needles);
          expectThat(
            found === undefined && e.headers.authorization === undefined,
            `a ${discovery ? 'discovery' : 'delivery'} request identifies its sender`,
            'no authorization and no user id, client id or client key of the initiator',
            `${found ?? 'an authorization header'} in ${describeEvent(view.server, e)}`,
          );
        }
      }
      expectThat(
        seen >= connections.length * 2,
        'the views lack discovery or delivery requests',
        `at least ${connections.length * 2}`,
        seen,
      );
    }),
});

export const queuesUnlinkedFromUsers = defineCheck({
  name: 'no QS request or row holds a user id, client id or client key; queues are reached with their own keys only',
  rules: ['CONN-PRIV-04'],
  profiles: ['multi-device', 'aliases'],
  needs: ['observer', 'reference-client'],
  run: (ctx) =>
    withConnections(ctx, 'conn-priv-04', (world) => {
      // Everything that names a user at the AS: user ids and client credentials' keys.
      const needles = world.users.flatMap(identifiersOf);
      let seen = 0;
      for (const view of world.observer.views()) {
        for (const e of view.events) {
          if (!isQsEvent(e)) continue;
          seen++;
          const found = contains(searchable(e), needles);
          const keyRef =
            e.kind === 'request'
              ? /Fedconn-Sig key="([^"]*)"/.exec(e.headers.authorization ?? '')?.[1]
              : undefined;
          expectThat(
            found === undefined && (keyRef === undefined || keyRef.startsWith('queue:')),
            `${view.server}'s QS can link a queue record to a user of the AS`,
            'no user id, client id or client key; requests signed with queue keys only',
            `${found ?? `key ${keyRef ?? ''}`} in ${describeEvent(view.server, e)}`,
          );
        }
      }
      expectThat(seen > 0, 'the views hold no QS requests or rows', 'QS events', seen);
    }),
});

/** Fields of DS requests that are group state: stored only sealed under the EAR key. */
const CLEAR_FIELDS = new Set(['group_id', 'queue_id', 'server', 'queue', 'sender_queue']);

function stateStrings(v: unknown, out: Set<string>, key = ''): Set<string> {
  if (CLEAR_FIELDS.has(key)) return out;
  if (typeof v === 'string' && v.length >= 24) out.add(v);
  else if (Array.isArray(v)) for (const x of v) stateStrings(x, out, key);
  else if (v !== null && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) stateStrings(x, out, k);
  return out;
}

const YEAR_MS = 366 * 86_400_000;

/**
 * A clear value of a stored row that dates an event finer than its month (DS-ACT-01 of
 * phnx-ds: "A timestamp consists only of the month and the year of last activity"): a
 * calendar date with its day, or a millisecond or second count within a year of `now`.
 */
function finerThanMonth(value: unknown, now: number): string | number | undefined {
  if (typeof value === 'string') return /\d{4}-\d{2}-\d{2}/.test(value) ? value : undefined;
  if (typeof value === 'number') {
    const near = (ms: number) => Math.abs(ms - now) < YEAR_MS;
    return near(value) || near(value * 1000) ? value : undefined;
  }
  if (Array.isArray(value))
    return value.map((v) => finerThanMonth(v, now)).find((v) => v !== undefined);
  if (value !== null && typeof value === 'object')
    return Object.values(value)
      .map((v) => finerThanMonth(v, now))
      .find((v) => v !== undefined);
  return undefined;
}

export const dsStoresStateSealed = defineCheck({
  name: 'the DS stores no credential, user id or key material in clear, and activity by month only',
  rules: ['CONN-PRIV-02'],
  profiles: ['multi-device', 'aliases'],
  // What the DS stores is not on the wire.
  needs: ['observer', 'stored-rows', 'reference-client'],
  run: (ctx) =>
    withConnections(ctx, 'conn-priv-02', (world, connections) => {
      const needles = [
        ...world.users.flatMap(identifiersOf),
        ...connections.flatMap((c) => [c.earKey, c.credentialKey]),
      ];
      let rows = 0;
      for (const view of world.observer.views()) {
        const state = new Set<string>();
        for (const e of view.events)
          if (e.kind === 'request' && e.path.startsWith(DS_PATH)) stateStrings(e.body, state);
        for (const e of view.events) {
          if (e.kind !== 'row' || !e.table.startsWith('ds_')) continue;
          rows++;
          const value = searchable({ ...e, key: '' });
          const found = contains(value, [...needles, ...state]);
          expectThat(
            found === undefined,
            `${view.server}'s DS stores group state in clear`,
            'only the group id, last activity and sealed state',
            `${found?.slice(0, 60) ?? ''} in ${describeEvent(view.server, e)}`,
          );
          const fine = finerThanMonth(e.value, e.at);
          expectThat(
            fine === undefined,
            `${view.server}'s DS stores a time finer than month and year`,
            'the time of last activity as month and year only',
            `${String(fine)} in ${describeEvent(view.server, e)}`,
          );
        }
      }
      expectThat(rows > 0, 'the views hold no DS rows', 'DS rows', rows);
    }),
});

export const packageSealedEndToEnd = defineCheck({
  name: 'no server sees the establishment package or its EAR keys',
  rules: ['CONN-CEP-02'],
  profiles: ['multi-device', 'aliases'],
  needs: ['observer', 'reference-client'],
  run: (ctx) =>
    withConnections(ctx, 'conn-cep-02', (world, connections) => {
      for (const view of world.observer.views()) {
        for (const e of view.events) {
          const text = searchable(e);
          const atDs = e.kind === 'request' && e.path.startsWith(DS_PATH);
          for (const c of connections) {
            const secrets = [c.credentialKey, ...(atDs ? [] : [c.earKey])];
            let sender: string | undefined;
            // The AS carries the package: nothing of its contents may show there.
            if (isAsEvent(e)) {
              const urlId = c.groupId;
              secrets.push(urlId, encodeUnpaddedBase64(Buffer.from(urlId, 'base64url')));
              const delivery =
                (e.kind === 'request' && e.method === 'POST' && DELIVERY.test(e.path)) ||
                (e.kind === 'row' && e.table === 'as_queues');
              // The sender's identity, in what the delivery carries (not whom it is for).
              const carried =
                e.kind === 'row' ? searchable({ ...e, key: '' }) : searchable(e, 'no-path');
              if (delivery) sender = contains(carried, identifiersOf(c.initiator));
            }
            const found = contains(text, secrets) ?? sender;
            expectThat(
              found === undefined,
              `${view.server} sees part of the establishment package of ${c.initiator.userId} -> ${c.responder.userId}`,
              'ciphertext only: no EAR key, group id or sender credential',
              `${found ?? ''} in ${describeEvent(view.server, e)}`,
            );
          }
        }
      }
    }),
});
