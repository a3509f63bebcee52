// Paths and bodies of the Matrix federation endpoints the rooms service speaks
// (today's paths: v2 invite and send_join, v1 make_join and send) and of its
// provisioning endpoints.
//
// 2014 differences (SPEC-30 and the 2014 draft): the ticket speaks of "/invite" and
// "/join" APIs, later split into make_join/send_join; the v1 invite took the bare
// event as body and answered [200, {"event": ...}], and v1 send_join answered
// [200, {state, auth_chain}] (removed in v1.18). The simulator serves the current
// shapes in both profiles; the dance itself (invitee signs first, state only after
// the join is accepted) is the same.
import { z } from 'zod';

export const FEDERATION_PREFIX = '/_matrix/federation';
export const ROOMS_PROVISION_PREFIX = '/_fedconn/v1/provision/rooms';
export const INVITES_PROVISION_PATH = '/_fedconn/v1/provision/invites';

const enc = encodeURIComponent;
export const invitePath = (roomId: string, eventId: string) =>
  `${FEDERATION_PREFIX}/v2/invite/${enc(roomId)}/${enc(eventId)}`;
export const makeJoinPath = (roomId: string, userId: string, versions: readonly string[]) =>
  `${FEDERATION_PREFIX}/v1/make_join/${enc(roomId)}/${enc(userId)}?${versions
    .map((v) => `ver=${enc(v)}`)
    .join('&')}`;
export const sendJoinPath = (roomId: string, eventId: string) =>
  `${FEDERATION_PREFIX}/v2/send_join/${enc(roomId)}/${enc(eventId)}`;
export const sendPath = (txnId: string) => `${FEDERATION_PREFIX}/v1/send/${enc(txnId)}`;

const jsonObject = z.record(z.string(), z.unknown());

/** PUT /v2/invite body. `event` is checked as a PDU by the handler (M_INVALID_PARAM). */
export const inviteRequestSchema = z.object({
  room_version: z.string().max(255),
  event: jsonObject,
  invite_room_state: z.array(jsonObject).max(50).optional(),
});

export const inviteResponseSchema = z.object({ event: jsonObject });

export const makeJoinResponseSchema = z.object({
  room_version: z.string().optional(),
  event: jsonObject,
});

/** PUT /v2/send_join body: the signed join event. */
export const sendJoinRequestSchema = jsonObject;

/** Bounds on what a joining server reads back; a huge room is out of scope. */
export const MAX_STATE_EVENTS = 10_000;

export const sendJoinResponseSchema = z.object({
  origin: z.string().optional(),
  state: z.array(z.unknown()).max(MAX_STATE_EVENTS),
  auth_chain: z.array(z.unknown()).max(MAX_STATE_EVENTS),
  event: jsonObject.optional(),
});

/** PUT /v1/send body: a transaction. Matrix limits it to 50 PDUs and 100 EDUs. */
export const transactionSchema = z.object({
  origin: z.string().max(255),
  origin_server_ts: z.int(),
  pdus: z.array(z.unknown()).max(50),
  edus: z.array(z.unknown()).max(100).optional(),
});

export const createRoomRequestSchema = z.strictObject({
  creator: z.string(),
  join_rule: z.enum(['public', 'invite']).optional(),
});

export const inviteUserRequestSchema = z.strictObject({
  sender: z.string(),
  user_id: z.string(),
});

export const joinRoomRequestSchema = z.strictObject({
  user_id: z.string(),
  /** Resident server(s) to join through; default: the server that invited the user. */
  via: z.union([z.string(), z.array(z.string()).min(1).max(10)]).optional(),
});
