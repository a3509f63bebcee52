// The invite/join dance as the inviting and the joining server run it.
//
// Invite (SPEC-30 "Model", FED-INVITE-01): A signs the invite, calls /invite on X,
// checks that X returned the same event with X's signature added, and only then stores
// it and sends it to the rest of the room.
//
// Join (SPEC-30 two-step join, FED-JOIN-01/02/07): X asks the resident for a template
// (make_join), checks it, fills in origin and origin_server_ts, hashes and signs it
// (its event ID follows from that) and sends it back to the same resident (send_join);
// the answer's state is validated before X adopts the room.
import { fail, ok, type Failure, type Result } from '../../protocol/result.ts';
import { isMutant, type HomeserverContext } from '../../homeserver/context.ts';
import { federationRequest } from '../../federation/client.ts';
import { MATRIX_MUTANTS } from '../../federation/mutants.ts';
import { distribute } from './distribute.ts';
import {
  checkEventSignature,
  CREATE,
  eventId,
  JOIN_RULES,
  keepsSignatures,
  MEMBER,
  readPdu,
  receivePdu,
  ROOM_VERSION,
  sameEventIgnoringSignatures,
  senderServer,
  signEvent,
  templateSchema,
  type Pdu,
} from './events.ts';
import { isUserId, serverOf } from './ids.ts';
import type { RoomRow, RoomStore } from './store.ts';
import {
  invitePath,
  inviteResponseSchema,
  makeJoinPath,
  makeJoinResponseSchema,
  sendJoinPath,
  sendJoinResponseSchema,
} from './wire.ts';

export const DANCE_FAILURE_KINDS = [
  /** The room is not known here (invite) or the request names no usable resident (join). */
  'unknown-room',
  /** The acting user is not a user of this server, or an id is malformed. */
  'bad-user',
  /** The room's rules forbid it (not joined, not invited, already joined...). */
  'forbidden',
  /** The remote server could not be resolved or reached. */
  'unreachable',
  /** The remote server answered with an error. */
  'refused',
  /** The remote answer is not the expected JSON. */
  'bad-response',
  /** /invite: the returned event differs from the sent one beyond signatures. */
  'tampered',
  /** /invite: the returned event lacks a valid signature of the invitee's server. */
  'not-signed-by-invitee',
  /** make_join: the template is not a join of this user to this room. */
  'bad-template',
  /** make_join: the room version is not one this server supports. */
  'incompatible-room-version',
  /** send_join: the state fails validation (no valid m.room.create, for one). */
  'bad-state',
] as const;
export type DanceFailureKind = (typeof DANCE_FAILURE_KINDS)[number];

export interface DanceFailure extends Failure<DanceFailureKind> {
  /** The remote's HTTP status and body, for 'refused'. */
  readonly remote?: { readonly status: number; readonly body: unknown };
}

type Dance<T> = Result<T, DanceFailure>;

const failure = (kind: DanceFailureKind, detail: string): { ok: false; error: DanceFailure } =>
  fail(kind, detail);

async function call(
  ctx: HomeserverContext,
  destination: string,
  method: string,
  uri: string,
  content?: unknown,
): Promise<Dance<unknown>> {
  let response: Response;
  let text: string;
  try {
    response = await federationRequest(ctx, destination, method, uri, content);
    text = await response.text();
  } catch (error) {
    return failure('unreachable', `${destination}: ${String(error)}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  if (response.status !== 200) {
    return {
      ok: false,
      error: {
        kind: 'refused',
        detail: `${destination} answered ${response.status} to ${method} ${uri}`,
        remote: { status: response.status, body },
      },
    };
  }
  return ok(body);
}

const isLocal = (ctx: HomeserverContext, userId: string) =>
  isUserId(userId) && serverOf(userId) === ctx.config.serverName;

/** `sender` (a local user) invites `invitee` to `roomId`. */
export async function inviteUser(
  ctx: HomeserverContext,
  store: RoomStore,
  roomId: string,
  sender: string,
  invitee: string,
): Promise<Dance<Pdu>> {
  const room = store.room(roomId);
  if (room === undefined) return failure('unknown-room', `unknown room ${roomId}`);
  if (!isLocal(ctx, sender)) return failure('bad-user', `${sender} is not a local user`);
  if (!isUserId(invitee)) return failure('bad-user', `${invitee} is not a user id`);
  // Re-invites are supported (FED-INVITE-05): an invitee may have forgotten the first one.
  if (
    isMutant(ctx, MATRIX_MUTANTS.refuseReinvite) &&
    store.membership(room, invitee) === 'invite'
  ) {
    return failure('forbidden', `${invitee} is already invited`);
  }
  const unsigned = store.build(room, {
    type: MEMBER,
    sender,
    state_key: invitee,
    content: { membership: 'invite' },
  });
  const allowed = store.authorize(room, unsigned);
  if (!allowed.ok) return failure('forbidden', allowed.error.detail);
  const event = await signEvent(ctx, unsigned);
  const inviteeServer = serverOf(invitee) ?? '';
  if (inviteeServer === ctx.config.serverName) {
    // A local invitee: this server is the invitee's server and signed already.
    const after = store.apply(room, event);
    await distribute(ctx, store, after, [event]);
    return ok(event);
  }
  if (isMutant(ctx, MATRIX_MUTANTS.distributeUnsignedInvite)) {
    await distribute(ctx, store, room, [event]);
  }
  const answer = await call(ctx, inviteeServer, 'PUT', invitePath(roomId, eventId(event)), {
    room_version: room.room_version,
    event,
    invite_room_state: strippedState(ctx, store, room),
  });
  if (!answer.ok) return answer;
  const parsed = inviteResponseSchema.safeParse(answer.value);
  if (!parsed.success) return failure('bad-response', 'the /invite answer has no event');
  const returned = readPdu(parsed.data.event);
  if (!returned.ok) return failure('bad-response', `returned event: ${returned.error.detail}`);
  if (
    !sameEventIgnoringSignatures(event, returned.value) ||
    !keepsSignatures(event, returned.value)
  ) {
    return failure('tampered', `${inviteeServer} changed the invite beyond adding a signature`);
  }
  const cosigned = await checkEventSignature(ctx, returned.value, inviteeServer);
  if (!cosigned.ok) {
    return failure('not-signed-by-invitee', `${inviteeServer}: ${cosigned.error.detail}`);
  }
  // Only now does the rest of the room hear of it, with both signatures.
  const current = store.room(roomId) ?? room;
  const after = store.apply(current, returned.value);
  // The invitee's server gets it too if it is in the room already (receivers are idempotent).
  await distribute(ctx, store, after, [returned.value]);
  return ok(returned.value);
}

/**
 * invite_room_state: the full create event (today's spec requires it) and the join rules
 * as stripped state, so the invitee can show something about the room.
 */
function strippedState(ctx: HomeserverContext, store: RoomStore, room: RoomRow): unknown[] {
  const out: unknown[] = [];
  const create = store.stateEvent(room, CREATE, '');
  if (create !== undefined && !isMutant(ctx, MATRIX_MUTANTS.summaryWithoutCreate)) out.push(create);
  const rules = store.stateEvent(room, JOIN_RULES, '');
  if (rules !== undefined) {
    const { type, state_key, content, sender } = rules;
    out.push({ type, state_key, content, sender });
  }
  return out;
}

export interface Joined {
  readonly event: Pdu;
  /** The state this server adopted from the resident (empty for a local join). */
  readonly state: readonly Pdu[];
}

/** Local user `userId` joins `roomId`, locally when this server is in it, else via residents. */
export async function joinRoom(
  ctx: HomeserverContext,
  store: RoomStore,
  roomId: string,
  userId: string,
  via: readonly string[],
): Promise<Dance<Joined>> {
  if (!isLocal(ctx, userId)) return failure('bad-user', `${userId} is not a local user`);
  const room = store.room(roomId);
  if (room !== undefined && store.serversInRoom(room).includes(ctx.config.serverName)) {
    const unsigned = store.build(room, {
      type: MEMBER,
      sender: userId,
      state_key: userId,
      content: { membership: 'join' },
    });
    const allowed = store.authorize(room, unsigned);
    if (!allowed.ok) return failure('forbidden', allowed.error.detail);
    const event = await signEvent(ctx, unsigned);
    const after = store.apply(room, event);
    await distribute(ctx, store, after, [event]);
    return ok({ event, state: [] });
  }
  const residents = via.length > 0 ? via : inviters(store, roomId, userId);
  if (residents.length === 0) return failure('unknown-room', `no server to join ${roomId} via`);
  // Like Synapse, try the residents in order; the first definite answer wins.
  let last: DanceFailure = { kind: 'unreachable', detail: 'no resident tried' };
  for (const resident of residents) {
    const joined = await joinVia(ctx, store, roomId, userId, resident);
    if (joined.ok) return joined;
    last = joined.error;
  }
  return { ok: false, error: last };
}

function inviters(store: RoomStore, roomId: string, userId: string): string[] {
  const invite = store.invites.get(store.inviteKey(roomId, userId));
  return invite === undefined ? [] : [invite.via];
}

async function joinVia(
  ctx: HomeserverContext,
  store: RoomStore,
  roomId: string,
  userId: string,
  resident: string,
): Promise<Dance<Joined>> {
  const made = isMutant(ctx, MATRIX_MUTANTS.skipMakeJoin)
    ? ok(ownTemplate(roomId, userId))
    : await call(ctx, resident, 'GET', makeJoinPath(roomId, userId, [ROOM_VERSION]));
  if (!made.ok) return made;
  const parsed = makeJoinResponseSchema.safeParse(made.value);
  if (!parsed.success) return failure('bad-response', 'the make_join answer has no event');
  // A missing room_version means "1" or "2" (make_join), which we do not support.
  const roomVersion = parsed.data.room_version ?? '1';
  if (roomVersion !== ROOM_VERSION) {
    return failure('incompatible-room-version', `room version ${roomVersion}`);
  }
  const template = parsed.data.event;
  if (!isMutant(ctx, MATRIX_MUTANTS.signTemplateUnchecked)) {
    const problem = templateProblem(template, roomId, userId);
    if (problem !== undefined) return failure('bad-template', problem);
  }
  // "adds or replaces origin, origin_server_ts" (and drops what it computes itself),
  // then hashes and signs; the event ID follows.
  const unsigned = Object.fromEntries(
    Object.entries(template).filter(
      ([k]) => k !== 'signatures' && k !== 'hashes' && k !== 'event_id' && k !== 'unsigned',
    ),
  );
  const candidate = templateSchema.safeParse({
    ...unsigned,
    origin: ctx.config.serverName,
    origin_server_ts: ctx.clock.now(),
  });
  if (!candidate.success) {
    return failure('bad-template', `template: ${candidate.error.issues[0]?.message ?? 'invalid'}`);
  }
  const read = readPdu(await signEvent(ctx, candidate.data));
  if (!read.ok) return failure('bad-template', `template: ${read.error.detail}`);
  const event = read.value;
  const sent = await call(ctx, resident, 'PUT', sendJoinPath(roomId, eventId(event)), event);
  if (!sent.ok) return sent;
  const answer = sendJoinResponseSchema.safeParse(sent.value);
  if (!answer.success) return failure('bad-response', 'the send_join answer is malformed');
  const state = await validateState(ctx, roomId, answer.data.state, answer.data.auth_chain);
  if (!state.ok) return state;
  const room = store.adopt(roomId, roomVersion, state.value.state, state.value.authChain);
  store.apply(room, event);
  store.invites.delete(store.inviteKey(roomId, userId));
  return ok({ event, state: state.value.state });
}

/** Mutant FED-JOIN-01: a join built without the resident's template (no graph pointers). */
function ownTemplate(roomId: string, userId: string): unknown {
  return {
    room_version: ROOM_VERSION,
    event: {
      room_id: roomId,
      type: MEMBER,
      sender: userId,
      state_key: userId,
      content: { membership: 'join' },
      prev_events: [],
      auth_events: [],
      depth: 1,
    },
  };
}

/** FED-JOIN-02: room_id, sender == state_key == user, type m.room.member, membership join. */
function templateProblem(
  template: Readonly<Record<string, unknown>>,
  roomId: string,
  userId: string,
): string | undefined {
  if (template.room_id !== roomId) return `room_id is not ${roomId}`;
  if (template.sender !== userId) return `sender is not ${userId}`;
  if (template.state_key !== userId) return `state_key is not ${userId}`;
  if (template.type !== MEMBER) return `type is not ${MEMBER}`;
  const content = template.content;
  if (typeof content !== 'object' || content === null || Array.isArray(content)) {
    return 'content is not an object';
  }
  if ((content as Record<string, unknown>).membership !== 'join') return 'membership is not join';
  return undefined;
}

interface ValidState {
  readonly state: readonly Pdu[];
  readonly authChain: readonly Pdu[];
}

/**
 * FED-JOIN-07: events that are not PDUs of this room, whose sender's server signature
 * fails, or whose auth_events are missing from state and auth_chain are dropped (a bad
 * event does not fail the join, as sytest and Complement expect); a state without a valid
 * m.room.create, created by the server that named the room, fails the join.
 */
async function validateState(
  ctx: HomeserverContext,
  roomId: string,
  rawState: readonly unknown[],
  rawChain: readonly unknown[],
): Promise<Dance<ValidState>> {
  const trustBlindly = isMutant(ctx, MATRIX_MUTANTS.trustSendJoinState);
  const keep = async (raw: unknown): Promise<Pdu | undefined> => {
    if (trustBlindly) {
      const read = readPdu(raw);
      return read.ok ? read.value : undefined;
    }
    // Signature, then content hash: a bad hash leaves the redacted copy, still usable.
    const received = await receivePdu(ctx, raw);
    if (!received.ok || received.value.room_id !== roomId) return undefined;
    return received.value;
  };
  const state: Pdu[] = [];
  for (const raw of rawState) {
    const event = await keep(raw);
    if (event !== undefined) state.push(event);
  }
  const authChain: Pdu[] = [];
  for (const raw of rawChain) {
    const event = await keep(raw);
    if (event !== undefined) authChain.push(event);
  }
  if (trustBlindly) return ok({ state, authChain });
  const known = new Set([...state, ...authChain].map(eventId));
  const consistent = (e: Pdu) => e.auth_events.every((id) => known.has(id));
  const creates = state.filter((e) => e.type === CREATE && e.state_key === '');
  const create = creates[0];
  if (create === undefined || creates.length > 1) {
    return failure('bad-state', 'the state has no single valid m.room.create event');
  }
  if (senderServer(create) !== serverOf(roomId)) {
    return failure('bad-state', `m.room.create is not from the server that named ${roomId}`);
  }
  return ok({
    state: state.filter((e) => e.state_key !== undefined && consistent(e)),
    authChain: authChain.filter(consistent),
  });
}
