// Shared helpers of the FED-* checks: JSON answers, provisioning calls, impostor
// servers attached to the target's network, and the room events an impostor forges.
import type { Hono } from 'hono';
import { z } from 'zod';
import { SimNetwork } from '../../simulator/net/transport.ts';
import { decodeBase64 } from '../../simulator/protocol/encoding/base64.ts';
import { eventIdOf } from '../../simulator/protocol/events/hashes.ts';
import { createFakeServer, type FakeServer } from '../../simulator/federation/testing.ts';
import { CheckFailure, CheckSkipped, expectThat, type CheckContext } from '../harness/check.ts';
import type { TargetServer } from '../harness/target.ts';
import { readAnswer, type Answer } from '../harness/answer.ts';

/** The room version of every FED-INVITE and FED-JOIN check. */
export const ROOM_VERSION = '10';
const enc = encodeURIComponent;
export const invitePath = (roomId: string, eventId: string) =>
  `/_matrix/federation/v2/invite/${enc(roomId)}/${enc(eventId)}`;
export const makeJoinPath = (roomId: string, userId: string) =>
  `/_matrix/federation/v1/make_join/${enc(roomId)}/${enc(userId)}?ver=${enc(ROOM_VERSION)}`;
export const sendJoinPath = (roomId: string, eventId: string) =>
  `/_matrix/federation/v2/send_join/${enc(roomId)}/${enc(eventId)}`;
/**
 * The body of PUT /v2/invite, with a room summary holding the room's m.room.create
 * event (spec v1.16: when sent, it MUST hold it). Whether a server accepts an invite
 * without a summary at all is FED-INVITE-06's question; every other check sends one,
 * so a server that insists on it (Synapse 1.67) is judged on the rule at hand.
 */
export const inviteBody = (event: Json, summary: readonly Json[]) => ({
  room_version: ROOM_VERSION,
  event,
  invite_room_state: summary,
});

/** The summary of a room the impostor invites to as if it held it: its create event. */
export async function impostorRoomSummary(
  evil: Impostor,
  roomId: string,
  sender: string,
): Promise<Json[]> {
  return [
    await evil.signEvent({
      room_id: roomId,
      type: 'm.room.create',
      state_key: '',
      sender,
      origin: evil.serverName,
      origin_server_ts: 1,
      content: { creator: sender, room_version: ROOM_VERSION },
      prev_events: [],
      auth_events: [],
      depth: 1,
    }),
  ];
}

export const sendPath = (txnId: string) => `/_matrix/federation/v1/send/${enc(txnId)}`;

export type Json = Record<string, unknown>;
export const jsonObject = z.record(z.string(), z.unknown());

// Answer shapes the checks read, built once: zod compiles a schema on its first parse.
/** `{ event }`: make_join, make_leave, invite and send_join answers carrying one event. */
export const eventAnswer = z.object({ event: jsonObject });
/** `{ state }`: a room's state in send_join and invite answers. */
export const stateAnswer = z.object({ state: z.array(jsonObject) });
/** `{ pdus }`: the events of a transaction. */
export const pdusBody = z.object({ pdus: z.array(jsonObject) });

export type { Answer } from '../harness/answer.ts';
export const answerOf = readAnswer;

export const brief = (answer: Answer): string =>
  `${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`;

/** A provisioning call (docs/binding.md, Provisioning) with the server's bearer token. */
export async function provision(
  ctx: CheckContext,
  server: TargetServer,
  method: string,
  path: string,
  body?: unknown,
): Promise<Answer> {
  if (server.driver.kind !== 'fedconn') {
    throw new CheckSkipped(
      `needs fedconn's provisioning API on ${server.serverName} (driver fedconn) for ${method} ${path.split('?')[0] ?? path}; the ${server.driver.kind} driver cannot do this`,
    );
  }
  const headers = new Headers({ authorization: `Bearer ${server.provisioningToken}` });
  if (body !== undefined) headers.set('content-type', 'application/json');
  return answerOf(
    await ctx.instance.transport(
      new Request(`${server.origin}${path}`, {
        method,
        headers,
        signal: ctx.signal,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    ),
  );
}

const roomsPrefix = '/_fedconn/v1/provision/rooms';

/** Creates a room on `server` with `creator` and returns its id. */
export async function createRoom(
  ctx: CheckContext,
  server: TargetServer,
  creator: string,
  joinRule: 'public' | 'invite',
): Promise<string> {
  const rooms = server.driver.rooms;
  if (rooms !== undefined) return rooms.createRoom(creator, joinRule);
  const answer = await provision(ctx, server, 'POST', roomsPrefix, {
    creator,
    join_rule: joinRule,
  });
  const parsed = z.object({ room_id: z.string() }).safeParse(answer.body);
  if (answer.status !== 200 || !parsed.success) {
    throw new CheckFailure(`${server.serverName}: provisioning could not create a room`, {
      expected: '200 {"room_id", ...}',
      actual: brief(answer),
    });
  }
  return parsed.data.room_id;
}

/** `userId` (of `server`) joins `roomId`, through the resident `via` where it is remote. */
export const joinRoom = (
  ctx: CheckContext,
  server: TargetServer,
  roomId: string,
  userId: string,
  via?: string,
): Promise<Answer> =>
  server.driver.rooms?.join(roomId, userId, via) ??
  provision(ctx, server, 'POST', `${roomsPrefix}/${enc(roomId)}/join`, {
    user_id: userId,
    ...(via === undefined ? {} : { via }),
  });

/** `sender` (of `server`) invites `userId`, of any server. */
export const inviteUser = (
  ctx: CheckContext,
  server: TargetServer,
  roomId: string,
  sender: string,
  userId: string,
): Promise<Answer> =>
  server.driver.rooms?.invite(roomId, sender, userId) ??
  provision(ctx, server, 'POST', `${roomsPrefix}/${enc(roomId)}/invite`, {
    sender,
    user_id: userId,
  });

/** The room's members as `server` sees them; undefined when it is not in the room. */
export async function membersOf(
  ctx: CheckContext,
  server: TargetServer,
  roomId: string,
): Promise<Record<string, string> | undefined> {
  const rooms = server.driver.rooms;
  if (rooms !== undefined) return rooms.members(roomId);
  const answer = await provision(ctx, server, 'GET', `${roomsPrefix}/${enc(roomId)}`);
  if (answer.status === 404) return undefined;
  const parsed = z.object({ members: z.record(z.string(), z.string()) }).safeParse(answer.body);
  if (answer.status !== 200 || !parsed.success) {
    throw new CheckFailure(`${server.serverName}: provisioning could not show room ${roomId}`, {
      expected: '200 {"members": {...}} or 404',
      actual: brief(answer),
    });
  }
  return parsed.data.members;
}

export function server(ctx: CheckContext, index: number): TargetServer {
  const found = ctx.instance.servers[index];
  if (found === undefined) {
    // A precondition of the check, not a fault of the target.
    throw new CheckSkipped(
      `needs at least ${index + 1} federating servers and the target declares ${ctx.instance.servers.length}: declare more (for the reference, fedconn serve --servers ${index + 1})`,
    );
  }
  return found;
}

/** A user id on `server`, unique on shared servers. */
export const userOn = (ctx: CheckContext, server: TargetServer, local: string) =>
  `@${ctx.instance.namespace}${local}:${server.serverName}`.toLowerCase();

let counter = 0;
// Per check, so an event's time (and so its id) is the same whatever ran before it in
// the process: a shard and an unsharded run show the same events.
const checkCounters = new WeakMap<CheckContext, number>();
const nextOfCheck = (ctx: CheckContext): number => {
  const n = checkCounters.get(ctx) ?? 0;
  checkCounters.set(ctx, n + 1);
  return n;
};

export type Impostor = FakeServer;

/**
 * A fake federation peer the target's servers can reach (checks that use one declare
 * needs: ['impostor']): named `name` in the simulator, `localhost:PORT` on loopback for
 * real servers, so checks use its `serverName`. `setup` installs routes before the key
 * routes.
 */
export async function impostor(
  ctx: CheckContext,
  name: string,
  setup?: (app: Hono) => void,
): Promise<Impostor> {
  const hostPeer = ctx.instance.hostPeer;
  if (hostPeer === undefined) throw new Error('this target cannot host impostor servers');
  let made: Impostor | undefined;
  await hostPeer(name, async (serverName) => {
    const fake = await createFakeServer({
      serverName,
      network: new SimNetwork(),
      register: false,
      transport: ctx.instance.transport,
      seed: `${ctx.seed} impostor ${name}`,
      now: () => ctx.instance.clock.now(),
      ...(setup === undefined ? {} : { setup }),
    });
    made = fake;
    return fake.fetch;
  });
  if (made === undefined) throw new Error(`the peer ${name} was not started`);
  return made;
}

/** Records the PDUs the target sends to the impostor with /send. */
export function recordTransactions(received: Json[]): (app: Hono) => void {
  return (app) => {
    app.put('/_matrix/federation/v1/send/:txn', async (c) => {
      const body = pdusBody.safeParse(await c.req.json());
      const pdus = body.success ? body.data.pdus : [];
      received.push(...pdus);
      return c.json({
        pdus: Object.fromEntries(pdus.map((p) => [idOf(p), {}])),
      });
    });
  };
}

/** The impostor invites with PUT /v2/invite to `destination`, as the room's holder would. */
export async function impostorInvite(
  evil: Impostor,
  destination: string,
  event: Json,
): Promise<Answer> {
  const roomId = String(event.room_id);
  return answerOf(
    await evil.request(
      destination,
      'PUT',
      invitePath(roomId, idOf(event)),
      inviteBody(event, await impostorRoomSummary(evil, roomId, String(event.sender))),
    ),
  );
}

/** A PUT /send with no PDUs: 200 when the request authenticates, 401 when not. */
export async function probe(
  ctx: CheckContext,
  from: Impostor,
  destination: string,
  forge?: Parameters<Impostor['request']>[4],
): Promise<Answer> {
  // The open's namespace too: a served server remembers transactions past this check, and
  // a later impostor may get this one's port (and so its server_name).
  const txn = `probe${ctx.instance.namespace}${ctx.seed.toString(36)}x${(counter++).toString(36)}`;
  return answerOf(
    await from.request(
      destination,
      'PUT',
      sendPath(txn),
      { origin: from.serverName, origin_server_ts: ctx.instance.clock.now(), pdus: [] },
      forge,
    ),
  );
}

/** Expects a request to be refused with 401, the answer for unauthenticated requests. */
export function expectUnauthorized(answer: Answer, message: string): void {
  expectThat(answer.status === 401, message, '401 M_UNAUTHORIZED', brief(answer));
}

export function expectAuthenticated(answer: Answer, message: string): void {
  expectThat(
    answer.status !== 401 && answer.status !== 400,
    message,
    'the request authenticated (not 400/401)',
    brief(answer),
  );
}

/**
 * The event ID of a room version 10 event: its reference hash. An event that cannot be
 * hashed (not canonical JSON) gets a placeholder that names no event.
 */
export function idOf(event: Json): string {
  const id = eventIdOf(event);
  return id.ok ? id.value : '$not-an-event';
}

/**
 * A room an impostor or peer resides in (`local` names it within the check). Served
 * homeservers outlive checks, and over HTTP an impostor's server_name is
 * `localhost:<port>`, which the OS may hand a later check again: the open's namespace
 * keeps that later room apart from one the server holds.
 */
export const impostorRoom = (ctx: CheckContext, serverName: string, local = 'room') =>
  `!${ctx.instance.namespace}${local}:${serverName}`;

export function memberEvent(
  ctx: CheckContext,
  origin: string,
  room: string,
  sender: string,
  target: string,
  membership: string,
  extra: Json = {},
): Json {
  return {
    room_id: room,
    type: 'm.room.member',
    state_key: target,
    sender,
    origin,
    // Event ids are hashes of the redacted event: a few milliseconds apart keeps two
    // otherwise equal events of one check apart (content is redacted away).
    origin_server_ts: ctx.instance.clock.now() + (nextOfCheck(ctx) % 1000),
    content: { membership },
    prev_events: [],
    auth_events: [],
    depth: 5,
    ...extra,
  };
}

/** The impostor joins `roomId` on `resident` as `user`, honestly; returns the send_join answer. */
export async function impostorJoins(
  ctx: CheckContext,
  evil: Impostor,
  resident: string,
  roomId: string,
  user: string,
): Promise<{ join: Json; answer: Answer }> {
  const made = await answerOf(await evil.request(resident, 'GET', makeJoinPath(roomId, user)));
  const template = eventAnswer.safeParse(made.body);
  if (made.status !== 200 || !template.success) {
    throw new CheckFailure(`${resident}: make_join for a public room failed`, {
      expected: '200 {"room_version", "event": <template>}',
      actual: brief(made),
    });
  }
  const join = await evil.signEvent({
    ...template.data.event,
    origin: evil.serverName,
    origin_server_ts: ctx.instance.clock.now(),
  });
  const answer = await answerOf(
    await evil.request(resident, 'PUT', sendJoinPath(roomId, idOf(join)), join),
  );
  return { join, answer };
}

/** The verify_keys a server publishes at /_matrix/key/v2/server. */
export async function publishedKeys(
  ctx: CheckContext,
  target: TargetServer,
): Promise<Map<string, Uint8Array>> {
  const answer = await answerOf(
    await ctx.instance.transport(
      new Request(`${target.origin}/_matrix/key/v2/server`, { signal: ctx.signal }),
    ),
  );
  const parsed = z
    .object({ verify_keys: z.record(z.string(), z.object({ key: z.string() })) })
    .safeParse(answer.body);
  if (answer.status !== 200 || !parsed.success) {
    throw new CheckFailure(`${target.serverName}: no usable key document`, {
      expected: '200 with verify_keys',
      actual: brief(answer),
    });
  }
  const keys = new Map<string, Uint8Array>();
  for (const [id, { key }] of Object.entries(parsed.data.verify_keys)) {
    const bytes = decodeBase64(key);
    if (bytes.ok) keys.set(id, bytes.value);
  }
  return keys;
}

/** JSON with object keys sorted, for comparing events member by member. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Json).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export const withoutSignatures = (event: Json): Json =>
  Object.fromEntries(Object.entries(event).filter(([k]) => k !== 'signatures'));

/**
 * The event as its signatures and hashes fix it: without `signatures` and `unsigned`.
 * `unsigned` is outside both by definition, and servers add to it in transit (Synapse
 * 1.67 puts the invite's room summary there), so "untouched" is judged on the rest.
 */
export const signedPart = (event: Json): Json =>
  Object.fromEntries(Object.entries(event).filter(([k]) => k !== 'signatures' && k !== 'unsigned'));

/** The top-level members in which two events differ, side by side, for a failure report. */
export function differingMembers(expected: Json, actual: Json): { expected: Json; actual: Json } {
  const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].filter(
    (k) => canonical(expected[k]) !== canonical(actual[k]),
  );
  const pick = (e: Json) => Object.fromEntries(keys.filter((k) => k in e).map((k) => [k, e[k]]));
  return { expected: pick(expected), actual: pick(actual) };
}

export const signaturesOf = (event: Json): Record<string, unknown> =>
  jsonObject.safeParse(event.signatures).data ?? {};

/** A federation request the target sent to an impostor, as the impostor received it. */
export interface Received {
  readonly method: string;
  /** Path and query, as X-Matrix signs them. */
  readonly uri: string;
  readonly authorization: string | null;
  /** The parsed JSON body, or undefined when there was none. */
  readonly content: unknown;
}

/**
 * An impostor that records every federation request it receives (key fetches are not
 * federation requests) and co-signs the invites sent to it, as an invitee's server does.
 */
export async function recordingPeer(
  ctx: CheckContext,
  name: string,
  setup?: (app: Hono) => void,
): Promise<{ peer: Impostor; received: Received[] }> {
  const received: Received[] = [];
  const peer: Impostor = await impostor(ctx, name, (app) => {
    setup?.(app);
    app.use('/_matrix/federation/*', async (c, next) => {
      const text = await c.req.raw.clone().text();
      let content: unknown = undefined;
      try {
        content = text === '' ? undefined : JSON.parse(text);
      } catch {
        content = text;
      }
      const url = new URL(c.req.url);
      received.push({
        method: c.req.method,
        uri: url.pathname + url.search,
        authorization: c.req.header('authorization') ?? null,
        content,
      });
      await next();
    });
    app.put('/_matrix/federation/v2/invite/:room/:event', async (c) => {
      const body = eventAnswer.safeParse(await c.req.json());
      if (!body.success) return c.json({ errcode: 'M_INVALID_PARAM', error: 'no event' }, 400);
      return c.json({ event: await peer.coSignEvent(body.data.event) });
    });
  });
  return { peer, received };
}
