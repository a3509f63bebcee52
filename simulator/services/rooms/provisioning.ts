// Test-only provisioning of the rooms service, behind the provisioning token: what a
// client-server API would let users do, reduced to what the dance needs. A test (or
// the suite) drives a federation with these as a user would through its homeserver.
import type { Context, Hono } from 'hono';
import type { HomeserverContext } from '../../homeserver/context.ts';
import { fail, readJson } from '../../homeserver/http.ts';
import { provisioningDenied } from '../../federation/provisioning.ts';
import { inviteUser, joinRoom, type DanceFailure } from './dance.ts';
import {
  CREATE,
  eventId,
  JOIN_RULES,
  MEMBER,
  POWER_LEVELS,
  ROOM_VERSION,
  signEvent,
  type Pdu,
} from './events.ts';
import { isUserId, serverOf } from './ids.ts';
import type { RoomRow, RoomStore } from './store.ts';
import {
  createRoomRequestSchema,
  INVITES_PROVISION_PATH,
  inviteUserRequestSchema,
  joinRoomRequestSchema,
  ROOMS_PROVISION_PREFIX,
} from './wire.ts';

function danceError(error: DanceFailure): Response {
  const extra = { fedconn_failure: error };
  switch (error.kind) {
    case 'unknown-room':
      return fail('M_NOT_FOUND', error.detail, extra);
    case 'bad-user':
      return fail('M_INVALID_PARAM', error.detail, extra);
    case 'forbidden':
      return fail('M_FORBIDDEN', error.detail, extra);
    case 'unreachable':
    case 'refused':
    case 'bad-response':
    case 'tampered':
    case 'not-signed-by-invitee':
    case 'bad-template':
    case 'incompatible-room-version':
    case 'bad-state':
      // The remote side failed, not the provisioning request: 502, with the reason.
      return fail('M_UNKNOWN', error.detail, extra, 502);
  }
}

/**
 * Power levels of a new room, as Synapse's presets set them: the creator at 100,
 * everyone else at 0, invites open to members, state and moderation at 50.
 */
const initialPowerLevels = (creator: string) => ({
  users: { [creator]: 100 },
  users_default: 0,
  events: {},
  events_default: 0,
  state_default: 50,
  ban: 50,
  kick: 50,
  redact: 50,
  invite: 0,
});

/**
 * Creates a room on this server: the create event, the creator's join, the power
 * levels and the join rules, in the order the v10 auth rules need them.
 */
async function createRoom(
  ctx: HomeserverContext,
  store: RoomStore,
  creator: string,
  joinRule: 'public' | 'invite',
): Promise<{ room: RoomRow; events: Pdu[] }> {
  const roomId = store.newRoomId();
  const create = await signEvent(ctx, {
    room_id: roomId,
    type: CREATE,
    state_key: '',
    sender: creator,
    origin: ctx.config.serverName,
    origin_server_ts: ctx.clock.now(),
    content: { creator, room_version: ROOM_VERSION },
    prev_events: [],
    auth_events: [],
    depth: 1,
  });
  let room = store.start(create);
  const events: Pdu[] = [create];
  for (const next of [
    { type: MEMBER, sender: creator, state_key: creator, content: { membership: 'join' } },
    { type: POWER_LEVELS, sender: creator, state_key: '', content: initialPowerLevels(creator) },
    { type: JOIN_RULES, sender: creator, state_key: '', content: { join_rule: joinRule } },
  ]) {
    const event = await signEvent(ctx, store.build(room, next));
    room = store.apply(room, event);
    events.push(event);
  }
  return { room, events };
}

export function addProvisioningRoutes(app: Hono, ctx: HomeserverContext, store: RoomStore): void {
  const guarded =
    (handler: (c: Context) => Response | Promise<Response>) =>
    async (c: Context): Promise<Response> =>
      provisioningDenied(ctx, c) ?? handler(c);

  app.post(
    ROOMS_PROVISION_PREFIX,
    guarded(async (c) => {
      const body = await readJson(c, createRoomRequestSchema);
      if (!body.ok) return body.error;
      const { creator } = body.value;
      if (!isUserId(creator) || serverOf(creator) !== ctx.config.serverName) {
        return fail('M_INVALID_PARAM', `${creator} is not a user of ${ctx.config.serverName}`);
      }
      const { room, events } = await createRoom(
        ctx,
        store,
        creator,
        body.value.join_rule ?? 'invite',
      );
      return c.json({
        room_id: room.room_id,
        room_version: room.room_version,
        event_ids: events.map(eventId),
      });
    }),
  );

  app.post(
    `${ROOMS_PROVISION_PREFIX}/:roomId/invite`,
    guarded(async (c) => {
      const body = await readJson(c, inviteUserRequestSchema);
      if (!body.ok) return body.error;
      const roomId = c.req.param('roomId') ?? '';
      const invited = await inviteUser(ctx, store, roomId, body.value.sender, body.value.user_id);
      if (!invited.ok) return danceError(invited.error);
      return c.json({ event_id: eventId(invited.value), event: invited.value });
    }),
  );

  app.post(
    `${ROOMS_PROVISION_PREFIX}/:roomId/join`,
    guarded(async (c) => {
      const body = await readJson(c, joinRoomRequestSchema);
      if (!body.ok) return body.error;
      const roomId = c.req.param('roomId') ?? '';
      const { via } = body.value;
      const residents = via === undefined ? [] : typeof via === 'string' ? [via] : via;
      const joined = await joinRoom(ctx, store, roomId, body.value.user_id, residents);
      if (!joined.ok) return danceError(joined.error);
      return c.json({
        event_id: eventId(joined.value.event),
        event: joined.value.event,
        state_event_ids: joined.value.state.map(eventId),
      });
    }),
  );

  app.get(
    `${ROOMS_PROVISION_PREFIX}/:roomId`,
    guarded((c) => {
      const roomId = c.req.param('roomId') ?? '';
      const room = store.room(roomId);
      if (room === undefined)
        return fail('M_NOT_FOUND', `${ctx.config.serverName} is not in ${roomId}`);
      return c.json({
        room_id: room.room_id,
        room_version: room.room_version,
        state: store.stateEvents(room),
        members: store.members(room),
        servers: store.serversInRoom(room),
      });
    }),
  );

  app.get(
    INVITES_PROVISION_PATH,
    guarded((c) => {
      const userId = c.req.query('user_id');
      const invites = store.invites
        .values()
        .filter((i) => userId === undefined || i.user_id === userId);
      return c.json({ invites });
    }),
  );
}
