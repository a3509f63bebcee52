// The rooms service: a minimal Matrix room model per server and the invite/join
// dance of SPEC-30 as today's federation API resolved it.
//   PUT /_matrix/federation/v2/invite/{roomId}/{eventId}      invitee co-signs
//   GET /_matrix/federation/v1/make_join/{roomId}/{userId}    join template
//   PUT /_matrix/federation/v2/send_join/{roomId}/{eventId}   join, then state
//   PUT /_matrix/federation/v1/send/{txnId}                   events of the room
// plus test-only provisioning under /_fedconn/v1/provision/rooms and .../invites.
// The HTTP binding is docs/binding-matrix.part.md; the room model is in events.ts.
import type { Hono } from 'hono';
import { fork } from '../../protocol/crypto/rng.ts';
import type { HomeserverContext } from '../../homeserver/context.ts';
import type { Service } from '../../homeserver/homeserver.ts';
import { fail, router } from '../../homeserver/http.ts';
import { handleInvite, handleMakeJoin, handleSend, handleSendJoin } from './inbound.ts';
import { addProvisioningRoutes } from './provisioning.ts';
import { RoomStore } from './store.ts';
import { FEDERATION_PREFIX } from './wire.ts';

export { DANCE_FAILURE_KINDS, type DanceFailure, type DanceFailureKind } from './dance.ts';
export { ROOM_VERSION, type Pdu } from './events.ts';
export {
  FEDERATION_PREFIX,
  INVITES_PROVISION_PATH,
  invitePath,
  makeJoinPath,
  ROOMS_PROVISION_PREFIX,
  sendJoinPath,
  sendPath,
} from './wire.ts';

export const roomsService: Service = (ctx: HomeserverContext): Hono => {
  const store = new RoomStore(ctx, fork(ctx.rng, 'rooms ids'));
  const app = router();
  const f = FEDERATION_PREFIX;
  app.put(`${f}/v2/invite/:roomId/:eventId`, (c) => handleInvite(ctx, store, c));
  app.get(`${f}/v1/make_join/:roomId/:userId`, (c) => handleMakeJoin(ctx, store, c));
  app.put(`${f}/v2/send_join/:roomId/:eventId`, (c) => handleSendJoin(ctx, store, c));
  app.put(`${f}/v1/send/:txnId`, (c) => handleSend(ctx, store, c));
  addProvisioningRoutes(app, ctx, store);
  // A known path with the wrong method is 405 M_UNRECOGNIZED (Matrix), not 404.
  for (const path of [
    `${f}/v2/invite/:roomId/:eventId`,
    `${f}/v1/make_join/:roomId/:userId`,
    `${f}/v2/send_join/:roomId/:eventId`,
    `${f}/v1/send/:txnId`,
  ]) {
    app.all(path, (c) =>
      fail('M_UNRECOGNIZED', `${c.req.method} is not allowed on ${c.req.path}`, {}, 405),
    );
  }
  return app;
};
