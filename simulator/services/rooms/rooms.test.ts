// The invite/join dance end to end between reference homeservers, driven through
// provisioning as a test would.
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import type { RecordedRequest } from '../../net/observer.ts';
import { MATRIX_MUTANTS } from '../../federation/mutants.ts';
import {
  createMatrixFederation,
  expectOk,
  HS1,
  HS2,
  HS3,
  type MatrixFederation,
} from '../../federation/test-support.ts';
import { eventIdOf } from '../../protocol/events/hashes.ts';
import { INVITES_PROVISION_PATH, ROOM_VERSION, ROOMS_PROVISION_PREFIX } from './index.ts';

/** The ids of the PDUs in a recorded /send body (v10 events carry none: they are hashes). */
const pduIds = (body: unknown): string[] =>
  (z.object({ pdus: z.array(z.unknown()) }).safeParse(body).data?.pdus ?? []).flatMap((p) => {
    const id = eventIdOf(p);
    return id.ok ? [id.value] : [];
  });

const ALICE = `@alice:${HS1}`;
const BOB = `@bob:${HS2}`;
const CAROL = `@carol:${HS3}`;

const eventSchema = z.looseObject({
  type: z.string(),
  state_key: z.string().optional(),
  sender: z.string(),
  content: z.record(z.string(), z.unknown()),
  signatures: z.record(z.string(), z.record(z.string(), z.string())),
});

function requestsTo(m: MatrixFederation, server: string, pathPart: string): RecordedRequest[] {
  return m.fed.observer
    .view(server)
    .events.filter((e): e is RecordedRequest => e.kind === 'request' && e.path.includes(pathPart));
}

/** hs1 creates a room with alice, carol (hs3) is invited and joins, so three servers matter. */
async function roomWithCarol(m: MatrixFederation): Promise<string> {
  const room = await m.createRoom(HS1, ALICE);
  expectOk('invite carol', await m.invite(HS1, room, ALICE, CAROL));
  expectOk('carol joins', await m.join(HS3, room, CAROL, HS1));
  return room;
}

describe('invite and join across homeservers (FED-INVITE-01, FED-JOIN-01, -03, -06)', () => {
  test('bob is invited and joins; hs3 hears of both', async () => {
    const m = await createMatrixFederation('rooms end to end');
    const room = await roomWithCarol(m);

    const invited = eventSchema.parse(
      z
        .object({ event: z.unknown() })
        .parse(expectOk('invite', await m.invite(HS1, room, ALICE, BOB))).event,
    );
    // The invite carries both servers' signatures and was returned untouched otherwise.
    expect(Object.keys(invited.signatures).sort()).toEqual([HS1, HS2]);
    expect(invited.content).toEqual({ membership: 'invite' });

    // hs2 recorded the invite for bob; hs3 got it through /send, after hs2 signed it.
    const invites = expectOk('invites', await m.provision(HS2, 'GET', INVITES_PROVISION_PATH));
    expect(invites).toMatchObject({ invites: [{ room_id: room, user_id: BOB, via: HS1 }] });
    expect((await m.room(HS3, room))?.members[BOB]).toBe('invite');
    const inviteSeq = requestsTo(m, HS2, '/v2/invite/')[0]?.seq ?? Infinity;
    const sendToHs3 = requestsTo(m, HS3, '/v1/send/').map((r) => r.seq);
    expect(sendToHs3.length).toBeGreaterThan(0);
    expect(sendToHs3.every((seq) => seq > inviteSeq)).toBe(true);

    // Bob joins through the inviting server: make_join, then send_join to the same server.
    const joined = expectOk('join', await m.join(HS2, room, BOB));
    const joinEventId = z.object({ event_id: z.string() }).parse(joined).event_id;
    const makeJoin = requestsTo(m, HS1, '/v1/make_join/');
    const sendJoin = requestsTo(m, HS1, '/v2/send_join/');
    expect(makeJoin.at(-1)?.headers['x-fedconn-from']).toBe(HS2);
    expect(sendJoin.at(-1)?.headers['x-fedconn-from']).toBe(HS2);
    expect((makeJoin.at(-1)?.seq ?? 0) < (sendJoin.at(-1)?.seq ?? 0)).toBe(true);

    for (const server of [HS1, HS2, HS3]) {
      const view = await m.room(server, room);
      expect(view?.members, server).toEqual({ [ALICE]: 'join', [BOB]: 'join', [CAROL]: 'join' });
      expect(view?.servers, server).toEqual([HS1, HS2, HS3]);
      expect(view?.room_version).toBe(ROOM_VERSION);
    }
    // The third server received the join from the resident.
    const sends = requestsTo(m, HS3, '/v1/send/');
    expect(
      sends.some(
        (r) => r.headers['x-fedconn-from'] === HS1 && pduIds(r.body).includes(joinEventId),
      ),
    ).toBe(true);
    // The invite is consumed once joined.
    expect(expectOk('invites', await m.provision(HS2, 'GET', INVITES_PROVISION_PATH))).toEqual({
      invites: [],
    });
  });

  test('the resident persists the join before answering, with the state before it', async () => {
    const m = await createMatrixFederation('rooms state before join');
    const room = await m.createRoom(HS1, ALICE, 'public');
    const joined = z
      .object({ event_id: z.string(), state_event_ids: z.array(z.string()) })
      .parse(expectOk('join', await m.join(HS2, room, BOB, HS1)));
    // State before the join: create, alice's join, power levels, join rules; not bob's join.
    expect(joined.state_event_ids).toHaveLength(4);
    expect(joined.state_event_ids).not.toContain(joined.event_id);
    // The resident stored the join (a row) while handling send_join, before any answer.
    const view = m.fed.observer.view(HS1).events;
    const sendJoin = view.findIndex((e) => e.kind === 'request' && e.path.includes('send_join'));
    const stored = view.findIndex(
      (e) => e.kind === 'row' && e.table === 'room_events' && e.key === joined.event_id,
    );
    expect(sendJoin).toBeGreaterThanOrEqual(0);
    expect(stored).toBeGreaterThan(sendJoin);
  });

  test('a public room can be joined without an invite, a private one cannot (FED-JOIN-08)', async () => {
    const m = await createMatrixFederation('rooms join rules');
    const open = await m.createRoom(HS1, ALICE, 'public');
    const closed = await m.createRoom(HS1, ALICE, 'invite');
    expectOk('join public', await m.join(HS2, open, BOB, HS1));
    const refused = await m.join(HS2, closed, BOB, HS1);
    expect(refused.status).toBe(502);
    expect(refused.body).toMatchObject({
      fedconn_failure: {
        kind: 'refused',
        remote: { status: 403, body: { errcode: 'M_FORBIDDEN' } },
      },
    });
    expect(await m.room(HS2, closed)).toBeUndefined();
  });

  test('re-invites are idempotent (FED-INVITE-05)', async () => {
    const m = await createMatrixFederation('rooms reinvite');
    const room = await m.createRoom(HS1, ALICE);
    const first = expectOk('invite', await m.invite(HS1, room, ALICE, BOB));
    const second = expectOk('re-invite', await m.invite(HS1, room, ALICE, BOB));
    expect(first).not.toEqual(second);
    const invites = z
      .object({ invites: z.array(z.unknown()) })
      .parse(expectOk('invites', await m.provision(HS2, 'GET', INVITES_PROVISION_PATH)));
    expect(invites.invites).toHaveLength(1);
    expectOk('join', await m.join(HS2, room, BOB));
  });

  test('a local join and local invite need no federation', async () => {
    const m = await createMatrixFederation('rooms local');
    const room = await m.createRoom(HS1, ALICE);
    expectOk('invite', await m.invite(HS1, room, ALICE, `@dave:${HS1}`));
    expectOk('join', await m.join(HS1, room, `@dave:${HS1}`));
    expect((await m.room(HS1, room))?.members).toEqual({
      [ALICE]: 'join',
      [`@dave:${HS1}`]: 'join',
    });
    expect(requestsTo(m, HS2, '/_matrix/federation')).toHaveLength(0);
  });

  test('events signed before a key rotation still verify through old_verify_keys', async () => {
    const m = await createMatrixFederation('rooms rotation');
    const room = await m.createRoom(HS1, ALICE, 'public');
    m.fed.clock.advance(1000);
    expectOk('rotate', await m.provision(HS1, 'POST', '/_fedconn/v1/provision/keys/rotate'));
    const joined = z
      .object({ state_event_ids: z.array(z.string()) })
      .parse(expectOk('join', await m.join(HS2, room, BOB, HS1)));
    expect(joined.state_event_ids).toHaveLength(4);
  });

  test('provisioning errors: unknown room, not a local user, no token', async () => {
    const m = await createMatrixFederation('rooms provisioning errors');
    const room = await m.createRoom(HS1, ALICE);
    const unknown = await m.invite(HS1, '!nope:hs1.example', ALICE, BOB);
    expect([unknown.status, unknown.body]).toMatchObject([404, { errcode: 'M_NOT_FOUND' }]);
    const foreign = await m.invite(HS1, room, BOB, CAROL);
    expect([foreign.status, foreign.body]).toMatchObject([400, { errcode: 'M_INVALID_PARAM' }]);
    const notCreator = await m.provision(HS1, 'POST', ROOMS_PROVISION_PREFIX, { creator: BOB });
    expect(notCreator.status).toBe(400);
    const noToken = await m.call(HS1, ROOMS_PROVISION_PREFIX, { body: { creator: ALICE } });
    expect([noToken.status, noToken.body]).toMatchObject([401, { errcode: 'M_MISSING_TOKEN' }]);
    const notInRoom = await m.join(HS2, room, BOB);
    expect([notInRoom.status, notInRoom.body]).toMatchObject([
      404,
      { fedconn_failure: { kind: 'unknown-room' } },
    ]);
  });
});

describe('mutants change what the reference does', () => {
  test('FED-JOIN-06: a resident that keeps the join to itself', async () => {
    const m = await createMatrixFederation('rooms mutant keep join', {
      servers: [
        { serverName: HS1, mutants: [MATRIX_MUTANTS.keepJoinToItself] },
        { serverName: HS2 },
        { serverName: HS3 },
      ],
    });
    const room = await roomWithCarol(m);
    expectOk('invite', await m.invite(HS1, room, ALICE, BOB));
    expectOk('join', await m.join(HS2, room, BOB));
    expect((await m.room(HS3, room))?.members[BOB]).toBe('invite');
  });

  test('FED-JOIN-03: a resident that answers with the state after the join', async () => {
    const m = await createMatrixFederation('rooms mutant state after', {
      servers: [{ serverName: HS1, mutants: [MATRIX_MUTANTS.stateAfterJoin] }, { serverName: HS2 }],
    });
    const room = await m.createRoom(HS1, ALICE, 'public');
    const joined = z
      .object({ event_id: z.string(), state_event_ids: z.array(z.string()) })
      .parse(expectOk('join', await m.join(HS2, room, BOB, HS1)));
    expect(joined.state_event_ids).toContain(joined.event_id);
  });

  test('FED-INVITE-01: an inviter that distributes before the invitee signs', async () => {
    const m = await createMatrixFederation('rooms mutant early invite', {
      servers: [
        { serverName: HS1, mutants: [MATRIX_MUTANTS.distributeUnsignedInvite] },
        { serverName: HS2 },
        { serverName: HS3 },
      ],
    });
    const room = await roomWithCarol(m);
    expectOk('invite', await m.invite(HS1, room, ALICE, BOB));
    const inviteSeq = requestsTo(m, HS2, '/v2/invite/')[0]?.seq ?? -1;
    const sendToHs3 = requestsTo(m, HS3, '/v1/send/').map((r) => r.seq);
    expect(sendToHs3.some((seq) => seq < inviteSeq && seq > 0)).toBe(true);
  });
});
