// The federation endpoints of the invite/join dance, as a receiving server runs them.
// Every request is authenticated with X-Matrix first; the origin it proves is the
// only server identity the checks below trust.
import type { Context } from 'hono';
import { isMutant, type HomeserverContext } from '../../homeserver/context.ts';
import { fail } from '../../homeserver/http.ts';
import { authenticateServer, readFederationRequest } from '../../federation/inbound.ts';
import { MATRIX_MUTANTS } from '../../federation/mutants.ts';
import { distribute } from './distribute.ts';
import { eventIdOf } from '../../protocol/events/hashes.ts';
import {
  checkEventSignature,
  coSign,
  CREATE,
  eventId,
  MEMBER,
  membershipOf,
  readPdu,
  receivePdu,
  ROOM_VERSION,
  senderServer,
  usableCopy,
  type Pdu,
} from './events.ts';
import { isUserId, serverOf } from './ids.ts';
import type { RoomRow, RoomStore } from './store.ts';
import { inviteRequestSchema, sendJoinRequestSchema, transactionSchema } from './wire.ts';

const incompatible = (version: string) =>
  fail('M_INCOMPATIBLE_ROOM_VERSION', `room version ${version} is not supported`, {
    room_version: version,
  });

/**
 * PUT /_matrix/federation/v2/invite/{roomId}/{eventId}. The invited server signs only a
 * genuine invite for one of its users, sent by the server of the sender, and returns it
 * otherwise untouched (FED-INVITE-03, -04). SPEC-30: "When a server receives a /invite it
 * signs the invite event and then returns it to prove it's been told about the invite."
 */
export async function handleInvite(
  ctx: HomeserverContext,
  store: RoomStore,
  c: Context,
): Promise<Response> {
  const request = await readFederationRequest(ctx, c, inviteRequestSchema);
  if (!request.ok) return request.response;
  const { origin, body } = request.value;
  if (body.room_version !== ROOM_VERSION) return incompatible(body.room_version);
  const roomId = c.req.param('roomId') ?? '';
  const pathEventId = c.req.param('eventId') ?? '';
  const read = readPdu(body.event);
  if (!read.ok) return fail('M_INVALID_PARAM', `event: ${read.error.detail}`);
  let event = read.value;
  if (!isMutant(ctx, MATRIX_MUTANTS.signAnyInvite)) {
    const problem = await inviteProblem(ctx, event, { origin, roomId, eventId: pathEventId });
    if (problem !== undefined) return fail('M_INVALID_PARAM', problem);
    if (body.invite_room_state !== undefined) {
      const stateProblem = await inviteRoomStateProblem(ctx, body.invite_room_state, roomId);
      if (stateProblem !== undefined) return fail('M_INVALID_PARAM', stateProblem);
    }
    // inviteProblem checked the signature. A content hash that fails leaves the redacted
    // copy, which is what gets co-signed (as Synapse does): the inviting server then
    // sees its invite come back changed.
    event = usableCopy(ctx, event);
  }
  if (isMutant(ctx, MATRIX_MUTANTS.rewriteInvite)) {
    event = { ...event, content: { ...event.content, displayname: 'rewritten by invitee' } };
  }
  const userId = event.state_key ?? '';
  const earlier = store.invites.get(store.inviteKey(roomId, userId));
  if (
    isMutant(ctx, MATRIX_MUTANTS.refuseReinvite) &&
    earlier !== undefined &&
    eventId(earlier.event) !== eventId(event)
  ) {
    return fail('M_FORBIDDEN', `${userId} already has an invite to ${roomId}`);
  }
  const signed = await coSign(ctx, event);
  // Idempotent: the same invite again overwrites the row with the same signed event.
  store.invites.put(store.inviteKey(roomId, userId), {
    room_id: roomId,
    user_id: userId,
    room_version: body.room_version,
    event: signed,
    ...(body.invite_room_state === undefined ? {} : { invite_room_state: body.invite_room_state }),
    via: origin,
  });
  return c.json({ event: signed });
}

async function inviteProblem(
  ctx: HomeserverContext,
  event: Pdu,
  expected: { origin: string; roomId: string; eventId: string },
): Promise<string | undefined> {
  if (event.room_id !== expected.roomId) return `room_id is not ${expected.roomId}`;
  if (eventId(event) !== expected.eventId) {
    return `the event's id (its reference hash) is ${eventId(event)}, not ${expected.eventId}`;
  }
  if (event.type !== MEMBER) return `type is ${event.type}, not ${MEMBER}`;
  if (membershipOf(event) !== 'invite') return 'membership is not invite';
  if (senderServer(event) !== expected.origin) {
    return `sender ${event.sender} is not on ${expected.origin}`;
  }
  if (event.state_key === undefined || !isUserId(event.state_key)) {
    return 'state_key is not a user id';
  }
  if (serverOf(event.state_key) !== ctx.config.serverName) {
    return `state_key ${event.state_key} is not on ${ctx.config.serverName}`;
  }
  const signature = await checkEventSignature(ctx, event, expected.origin);
  if (!signature.ok) return `signature of ${expected.origin}: ${signature.error.detail}`;
  return undefined;
}

/**
 * invite_room_state, when present, must hold this room's create event, validly signed
 * (spec v1.16). Servers MAY validate this in room versions 1 to 11, and servers of an
 * earlier spec (Synapse 1.67) send stripped state events there ({type, state_key,
 * content, sender}): a create event in that older form is taken as it is.
 */
async function inviteRoomStateProblem(
  ctx: HomeserverContext,
  state: readonly Record<string, unknown>[],
  roomId: string,
): Promise<string | undefined> {
  const create = state.find((e) => e.type === CREATE);
  if (create === undefined) return 'invite_room_state has no m.room.create event';
  if (isStrippedState(create)) return undefined;
  const received = await receivePdu(ctx, create);
  if (!received.ok) return `invite_room_state m.room.create: ${received.error.detail}`;
  if (received.value.room_id !== roomId) {
    return 'invite_room_state m.room.create is for another room';
  }
  return undefined;
}

/** A stripped state event: no room, hashes or signatures, as summaries were before v1.16. */
const isStrippedState = (event: Record<string, unknown>) =>
  event.room_id === undefined && event.hashes === undefined && event.signatures === undefined;

/**
 * GET /_matrix/federation/v1/make_join/{roomId}/{userId}?ver=... : an unsigned join
 * template for a user of the requesting server (FED-JOIN-05).
 */
export async function handleMakeJoin(
  ctx: HomeserverContext,
  store: RoomStore,
  c: Context,
): Promise<Response> {
  const auth = await authenticateServer(ctx, c, undefined);
  if (!auth.ok) return auth.response;
  const roomId = c.req.param('roomId') ?? '';
  const userId = c.req.param('userId') ?? '';
  if (!isUserId(userId)) return fail('M_INVALID_PARAM', `${userId} is not a user id`);
  if (serverOf(userId) !== auth.origin && !isMutant(ctx, MATRIX_MUTANTS.templateForAnyUser)) {
    return fail('M_FORBIDDEN', `${userId} is not a user of ${auth.origin}`);
  }
  const room = store.room(roomId);
  if (room === undefined) return fail('M_NOT_FOUND', `unknown room ${roomId}`);
  // "ver" defaults to ["1"], which does not include our version.
  const versions = c.req.queries('ver') ?? ['1'];
  if (!versions.includes(room.room_version)) return incompatible(room.room_version);
  const template = store.build(room, {
    type: MEMBER,
    sender: userId,
    state_key: userId,
    content: { membership: 'join' },
  });
  const allowed = store.authorize(room, template);
  if (!allowed.ok) return fail('M_FORBIDDEN', allowed.error.detail);
  if (uninvitedJoinRefused(ctx, store, room, userId)) {
    return fail('M_FORBIDDEN', `${userId} is not invited to ${roomId}`);
  }
  // The joining server sets origin and timestamp, hashes and signs: the id follows.
  return c.json({ room_version: room.room_version, event: template });
}

/**
 * PUT /_matrix/federation/v2/send_join/{roomId}/{eventId}: the resident validates the
 * join (FED-JOIN-04), persists it, sends it to the other servers in the room (FED-JOIN-06)
 * and only then answers with the state before the join (FED-JOIN-03).
 */
export async function handleSendJoin(
  ctx: HomeserverContext,
  store: RoomStore,
  c: Context,
): Promise<Response> {
  const request = await readFederationRequest(ctx, c, sendJoinRequestSchema);
  if (!request.ok) return request.response;
  const { origin, body } = request.value;
  const roomId = c.req.param('roomId') ?? '';
  const pathEventId = c.req.param('eventId') ?? '';
  const room = store.room(roomId);
  if (room === undefined) return fail('M_NOT_FOUND', `unknown room ${roomId}`);
  const read = readPdu(body);
  if (!read.ok) return fail('M_INVALID_PARAM', `event: ${read.error.detail}`);
  let event = read.value;
  if (event.room_id !== roomId) return fail('M_INVALID_PARAM', `room_id is not ${roomId}`);
  if (eventId(event) !== pathEventId) {
    return fail('M_INVALID_PARAM', `the event's id is ${eventId(event)}, not ${pathEventId}`);
  }
  if (!isMutant(ctx, MATRIX_MUTANTS.acceptAnySendJoin)) {
    if (event.type !== MEMBER) return fail('M_INVALID_PARAM', `type is not ${MEMBER}`);
    if (membershipOf(event) !== 'join') return fail('M_INVALID_PARAM', 'membership is not join');
    if (senderServer(event) !== origin) {
      return fail('M_INVALID_PARAM', `sender ${event.sender} is not on ${origin}`);
    }
    if (event.state_key !== event.sender) {
      return fail('M_INVALID_PARAM', 'state_key differs from sender');
    }
  }
  const signature = await checkEventSignature(ctx, event, origin);
  if (!signature.ok) {
    return fail('M_INVALID_PARAM', `signature of ${origin}: ${signature.error.detail}`);
  }
  event = usableCopy(ctx, event);
  if (store.events.has(eventId(event))) {
    return fail('M_INVALID_PARAM', `${eventId(event)} was already accepted`);
  }
  const allowed = store.authorize(room, event);
  if (!allowed.ok) return fail('M_FORBIDDEN', allowed.error.detail);
  if (uninvitedJoinRefused(ctx, store, room, event.sender)) {
    return fail('M_FORBIDDEN', `${event.sender} is not invited to ${roomId}`);
  }
  const stateBefore = store.stateEvents(room);
  const after = store.apply(room, event);
  if (!isMutant(ctx, MATRIX_MUTANTS.keepJoinToItself)) {
    await distribute(ctx, store, after, [event], new Set([origin]));
  }
  const state = isMutant(ctx, MATRIX_MUTANTS.stateAfterJoin)
    ? store.stateEvents(after)
    : stateBefore;
  return c.json({
    origin: ctx.config.serverName,
    state,
    auth_chain: store.authChain([...state, event]),
    event,
  });
}

/** Mutant FED-JOIN-08: a public room still wants an invite. */
function uninvitedJoinRefused(
  ctx: HomeserverContext,
  store: RoomStore,
  room: RoomRow,
  userId: string,
): boolean {
  return (
    isMutant(ctx, MATRIX_MUTANTS.inviteRequiredForPublicRooms) &&
    store.membership(room, userId) !== 'invite' &&
    store.membership(room, userId) !== 'join'
  );
}

export type PduOutcome = Record<string, never> | { readonly error: string };

/**
 * PUT /_matrix/federation/v1/send/{txnId}: PDUs from a server in the room. Each PDU is
 * accepted or refused on its own (the answer maps event ids to {} or {error}). An invite
 * must carry the invitee server's signature (FED-INVITE-02, SPEC-30 attack 1).
 */
export async function handleSend(
  ctx: HomeserverContext,
  store: RoomStore,
  c: Context,
): Promise<Response> {
  const request = await readFederationRequest(ctx, c, transactionSchema);
  if (!request.ok) return request.response;
  const { origin, body } = request.value;
  if (body.origin !== origin) {
    return fail('M_FORBIDDEN', `transaction origin ${body.origin} is not ${origin}`);
  }
  const pdus: Record<string, PduOutcome> = {};
  for (const [index, raw] of body.pdus.entries()) {
    // The answer is keyed by event id, which the receiver computes (v4+ events carry none).
    const id = eventIdOf(raw);
    const key = id.ok ? id.value : `(pdu ${index})`;
    const problem = await acceptPdu(ctx, store, origin, raw);
    pdus[key] = problem === undefined ? {} : { error: problem };
  }
  return c.json({ pdus });
}

async function acceptPdu(
  ctx: HomeserverContext,
  store: RoomStore,
  origin: string,
  raw: unknown,
): Promise<string | undefined> {
  const read = readPdu(raw);
  if (!read.ok) return read.error.detail;
  const room = store.room(read.value.room_id);
  if (room === undefined) return `not in room ${read.value.room_id}`;
  if (!store.serversInRoom(room).includes(origin)) return `${origin} is not in the room`;
  if (store.events.has(eventId(read.value))) return undefined;
  const sender = senderServer(read.value);
  const signature = await checkEventSignature(ctx, read.value, sender);
  if (!signature.ok) return `signature of ${sender}: ${signature.error.detail}`;
  const event = usableCopy(ctx, read.value);
  if (
    event.type === MEMBER &&
    membershipOf(event) === 'invite' &&
    !isMutant(ctx, MATRIX_MUTANTS.acceptInviteWithoutInviteeSignature)
  ) {
    const invitee = serverOf(event.state_key ?? '') ?? '';
    const cosigned = await checkEventSignature(ctx, event, invitee);
    if (!cosigned.ok)
      return `invite lacks a valid signature of ${invitee}: ${cosigned.error.detail}`;
  }
  const allowed = store.authorize(room, event);
  if (!allowed.ok) return allowed.error.detail;
  store.apply(room, event);
  return undefined;
}
