// SPEC-30's attacks and today's checks, with the test playing the malicious server
// (evil.example: a key it controls, its own routes) against reference homeservers.
// Room version 10: events carry no event_id (it is their reference hash, idOf below),
// every event is hashed, and signatures cover the redacted event.
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { z } from 'zod';
import { MATRIX_MUTANTS } from '../../federation/mutants.ts';
import {
  createMatrixFederation,
  expectOk,
  HS1,
  HS2,
  HS3,
  type MatrixFederation,
} from '../../federation/test-support.ts';
import type { FakeServer } from '../../federation/testing.ts';
import { currentSigningKey } from '../../federation/signing-keys.ts';
import { eventIdOf } from '../../protocol/events/hashes.ts';
import { unwrap } from '../../protocol/result.ts';
import { invitePath, makeJoinPath, ROOM_VERSION, sendJoinPath, sendPath } from './index.ts';

const EVIL = 'evil.example';
const EVE = `@eve:${EVIL}`;
const ALICE = `@alice:${HS1}`;
const BOB = `@bob:${HS2}`;
const RUNS = { numRuns: 100 };

type Json = Record<string, unknown>;
const jsonSchema = z.record(z.string(), z.unknown());

async function json(response: Response): Promise<{ status: number; body: unknown }> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: response.status, body };
}

let counter = 0;
/** A fresh transaction id. */
const txn = () => `t${counter++}`;
/** A fresh timestamp: v10 ids hash the redacted event, so equal events would share an id. */
const ts = () => 1000 + counter++;

/** The room version 10 event ID: the reference hash of the redacted event. */
const idOf = (event: unknown): string => unwrap(eventIdOf(event));

const withoutSignatures = (event: Json): Json =>
  Object.fromEntries(Object.entries(event).filter(([k]) => k !== 'signatures'));

/** The evil server joins `room` on `resident` as `user`, honestly (make_join + send_join). */
async function evilJoins(evil: FakeServer, resident: string, room: string, user = EVE) {
  const made = await json(
    await evil.request(resident, 'GET', makeJoinPath(room, user, [ROOM_VERSION])),
  );
  expect(made.status).toBe(200);
  const template = jsonSchema.parse(z.object({ event: z.unknown() }).parse(made.body).event);
  const join = await evil.signEvent({ ...template, origin: EVIL, origin_server_ts: ts() });
  const sent = await evil.request(resident, 'PUT', sendJoinPath(room, idOf(join)), join);
  expect(sent.status).toBe(200);
  return join;
}

function member(
  room: string,
  sender: string,
  target: string,
  membership: string,
  extra: Json = {},
) {
  return {
    room_id: room,
    type: 'm.room.member',
    state_key: target,
    sender,
    origin: EVIL,
    origin_server_ts: ts(),
    content: { membership },
    prev_events: [] as string[],
    auth_events: [] as string[],
    depth: 5,
    ...extra,
  };
}

async function members(m: MatrixFederation, server: string, room: string) {
  return (await m.room(server, room))?.members ?? {};
}

describe('SPEC-30 attack 1: an invite the invitee never saw (FED-INVITE-02)', () => {
  async function setup(mutants: readonly string[] = []) {
    const m = await createMatrixFederation(`attack 1 ${mutants.join()}`, {
      servers: [{ serverName: HS1, mutants }, { serverName: HS2 }],
    });
    const evil = await m.fake(EVIL);
    const room = await m.createRoom(HS1, ALICE, 'public');
    await evilJoins(evil, HS1, room);
    const send = async (pdu: unknown) => {
      const answer = await json(
        await evil.request(HS1, 'PUT', sendPath(txn()), {
          origin: EVIL,
          origin_server_ts: 1,
          pdus: [pdu],
        }),
      );
      expect(answer.status).toBe(200);
      return z
        .object({ pdus: z.record(z.string(), z.object({ error: z.string().optional() })) })
        .parse(answer.body).pdus;
    };
    return { m, evil, room, send };
  }

  test('invites without a valid invitee signature are refused', async () => {
    const { m, evil, room, send } = await setup();
    // 1. Signed by the inviter only.
    const onlyInviter = await evil.signEvent(member(room, EVE, BOB, 'invite'));
    // 2. An "hs2" signature made with the evil key under hs2's real key id.
    const hs2Key = currentSigningKey(m.fed.servers.get(HS2)?.ctx ?? expect.unreachable());
    const forged = await evil.signEvent(withoutSignatures(onlyInviter), {
      keyId: hs2Key.keyId,
      pair: evil.key.pair,
    });
    const forgedUnderHs2 = {
      ...onlyInviter,
      signatures: { ...onlyInviter.signatures, [HS2]: forged.signatures[EVIL] ?? {} },
    };
    // 3. hs2's genuine signature, lifted from another invite it really signed.
    const genuine = await evil.signEvent(member(room, EVE, BOB, 'invite'));
    expect(idOf(genuine)).not.toBe(idOf(onlyInviter));
    const cosigned = await json(
      await evil.request(HS2, 'PUT', invitePath(room, idOf(genuine)), {
        room_version: ROOM_VERSION,
        event: genuine,
      }),
    );
    expect(cosigned.status).toBe(200);
    const lifted = z
      .object({ event: z.object({ signatures: z.record(z.string(), z.unknown()) }) })
      .parse(cosigned.body).event.signatures[HS2];
    expect(lifted).toBeDefined();
    const liftedSignature = {
      ...onlyInviter,
      signatures: { ...onlyInviter.signatures, [HS2]: lifted },
    };
    for (const [what, pdu] of [
      ['inviter only', onlyInviter],
      ['forged invitee signature', forgedUnderHs2],
      ['lifted invitee signature', liftedSignature],
    ] as const) {
      const outcome = await send(pdu);
      // Signatures are not hashed into the id: all three variants share onlyInviter's id.
      expect(outcome[idOf(onlyInviter)]?.error, what).toMatch(/invitee|signature/);
      expect(outcome[idOf(onlyInviter)]?.error, what).toContain(HS2);
      expect((await members(m, HS1, room))[BOB], what).toBeUndefined();
    }
    // Control: the invite hs2 really co-signed is accepted.
    const accepted = await send(
      jsonSchema.parse(z.object({ event: z.unknown() }).parse(cosigned.body).event),
    );
    expect(accepted[idOf(genuine)]).toEqual({});
    expect((await members(m, HS1, room))[BOB]).toBe('invite');
  });

  test('mutant FED-INVITE-02 believes the inviter', async () => {
    const { m, evil, room, send } = await setup([
      MATRIX_MUTANTS.acceptInviteWithoutInviteeSignature,
    ]);
    const pdu = await evil.signEvent(member(room, EVE, BOB, 'invite'));
    expect(await send(pdu)).toEqual({ [idOf(pdu)]: {} });
    expect((await members(m, HS1, room))[BOB]).toBe('invite');
  });

  test('a transaction whose body names another origin is refused', async () => {
    const { m, evil, room } = await setup();
    const answer = await evil.request(HS1, 'PUT', sendPath(txn()), {
      origin: HS2,
      origin_server_ts: 1,
      pdus: [await evil.signEvent(member(room, EVE, BOB, 'invite'))],
    });
    expect(answer.status).toBe(403);
    expect((await members(m, HS1, room))[BOB]).toBeUndefined();
  });
});

describe('the invited server signs only genuine invites (FED-INVITE-03, -04)', () => {
  const ROOM = `!invited:${EVIL}`;
  type Defect = (e: ReturnType<typeof member>) => {
    event: Json;
    room?: string;
    eventId?: string;
    sign?: boolean;
  };
  const defects: Record<string, Defect> = {
    'not a member event': (e) => ({ event: { ...e, type: 'm.room.message' } }),
    'membership join': (e) => ({ event: { ...e, content: { membership: 'join' } } }),
    'membership leave': (e) => ({ event: { ...e, content: { membership: 'leave' } } }),
    'no membership': (e) => ({ event: { ...e, content: {} } }),
    'sender on another server': (e) => ({ event: { ...e, sender: ALICE } }),
    'state_key on another server': (e) => ({ event: { ...e, state_key: `@bob:${HS3}` } }),
    'state_key not a user': (e) => ({ event: { ...e, state_key: 'bob' } }),
    'no state_key': (e) => ({
      event: Object.fromEntries(Object.entries(e).filter(([k]) => k !== 'state_key')),
    }),
    unsigned: (e) => ({ event: e, sign: false }),
    'signature broken after signing': (e) => ({ event: e, sign: true }),
    'room_id differs from the path': (e) => ({ event: e, room: `!other:${EVIL}` }),
    // A well-formed v10 id, of another event: only the mismatch is wrong.
    'event_id differs from the path': (e) => ({ event: e, eventId: idOf({ ...e, depth: 6 }) }),
    'not an event': () => ({ event: { hello: 'world' } }),
  };

  test.prop([fc.constantFrom(...Object.keys(defects)), fc.boolean()], RUNS)(
    'a defective invite gets 400 M_INVALID_PARAM and no signature',
    async (name, withState) => {
      const { m, evil } = await shared();
      const base = member(ROOM, EVE, BOB, 'invite');
      const defect = (defects[name] ?? expect.unreachable())(base);
      let event: Json = defect.event;
      // Unsigned, but hashed: only the signature is missing.
      event =
        defect.sign === false
          ? withoutSignatures(await evil.signEvent(event))
          : await evil.signEvent(event);
      if (name === 'signature broken after signing') {
        // v10 signs the redacted event: a content change only breaks the content hash
        // (the receiver goes on with the redacted copy), so change a field redaction keeps.
        event = { ...event, depth: 6 };
      }
      const before = m.fed.observer.view(HS2).events.length;
      const answer = await json(
        await evil.request(
          HS2,
          'PUT',
          invitePath(defect.room ?? ROOM, defect.eventId ?? idOf(event)),
          {
            room_version: ROOM_VERSION,
            event,
            ...(withState ? { invite_room_state: [] } : {}),
          },
        ),
      );
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ errcode: 'M_INVALID_PARAM' });
      expect(answer.body).not.toHaveProperty('event');
      // v10 events carry no event_id to look for: no invite row may be stored at all.
      const stored = m.fed.observer
        .view(HS2)
        .events.slice(before)
        .filter((e) => e.kind === 'row' && e.table === 'room_invites');
      expect(stored).toEqual([]);
    },
  );

  test('a genuine invite comes back untouched apart from the added signature', async () => {
    const { evil } = await shared();
    const event = await evil.signEvent(
      member(ROOM, EVE, BOB, 'invite', { unknown_member: [1, 'x'] }),
    );
    const answer = await json(
      await evil.request(HS2, 'PUT', invitePath(ROOM, idOf(event)), {
        room_version: ROOM_VERSION,
        event,
      }),
    );
    expect(answer.status).toBe(200);
    const returned = z.object({ event: jsonSchema }).parse(answer.body).event;
    const { signatures, ...rest } = returned;
    const { signatures: sent, ...sentRest } = event;
    expect(rest).toEqual(sentRest);
    expect(Object.keys(signatures ?? {}).sort()).toEqual([EVIL, HS2]);
    expect(signatures).toMatchObject(sent);
  });

  test('an unknown room version is 400 M_INCOMPATIBLE_ROOM_VERSION; bad invite_room_state is refused', async () => {
    const { evil } = await shared();
    const event = await evil.signEvent(member(ROOM, EVE, BOB, 'invite'));
    const path = invitePath(ROOM, idOf(event));
    // '10' is now the supported version; '11' is one the simulator does not speak.
    const wrongVersion = await json(
      await evil.request(HS2, 'PUT', path, { room_version: '11', event }),
    );
    expect(wrongVersion.body).toMatchObject({
      errcode: 'M_INCOMPATIBLE_ROOM_VERSION',
      room_version: '11',
    });
    const noCreate = await json(
      await evil.request(HS2, 'PUT', path, {
        room_version: ROOM_VERSION,
        event,
        invite_room_state: [{ type: 'm.room.name', state_key: '', content: { name: 'x' } }],
      }),
    );
    expect([noCreate.status, noCreate.body]).toMatchObject([400, { errcode: 'M_INVALID_PARAM' }]);
    // Refused for the state, not the invite (which is valid).
    expect(z.object({ error: z.string() }).parse(noCreate.body).error).toMatch(/invite_room_state/);
  });

  test('mutants FED-INVITE-03 and -04: sign anything, rewrite the invite', async () => {
    const m = await createMatrixFederation('invite mutants', {
      servers: [
        { serverName: HS1 },
        { serverName: HS2, mutants: [MATRIX_MUTANTS.signAnyInvite] },
        { serverName: HS3, mutants: [MATRIX_MUTANTS.rewriteInvite] },
      ],
    });
    const evil = await m.fake(EVIL);
    const bad = await evil.signEvent(member(ROOM, EVE, BOB, 'join'));
    const signedAnyway = await evil.request(HS2, 'PUT', invitePath(ROOM, idOf(bad)), {
      room_version: ROOM_VERSION,
      event: bad,
    });
    expect(signedAnyway.status).toBe(200);
    // hs1 invites a user of the rewriting hs3 and notices the tampering.
    const room = await m.createRoom(HS1, ALICE);
    const refused = await m.invite(HS1, room, ALICE, `@carol:${HS3}`);
    expect([refused.status, refused.body]).toMatchObject([
      502,
      { fedconn_failure: { kind: 'tampered' } },
    ]);
    expect((await members(m, HS1, room))[`@carol:${HS3}`]).toBeUndefined();
  });

  let cached: Promise<{ m: MatrixFederation; evil: FakeServer }> | undefined;
  function shared() {
    cached ??= (async () => {
      const m = await createMatrixFederation('invite checks');
      return { m, evil: await m.fake(EVIL) };
    })();
    return cached;
  }
});

describe('the inviting server checks the answer to /invite', () => {
  test('a missing, foreign or tampered invitee signature is refused and nothing is sent', async () => {
    const m = await createMatrixFederation('inviter checks');
    let answer: (event: Json) => Promise<unknown> = async (event) => ({ event });
    const evil = await m.fake(EVIL, {
      setup: (app) => {
        app.put('/_matrix/federation/v2/invite/:room/:event', async (c) => {
          const body = z.object({ event: jsonSchema }).parse(await c.req.json());
          return c.json(await answer(body.event));
        });
      },
    });
    const room = await m.createRoom(HS1, ALICE);
    expectOk('invite carol', await m.invite(HS1, room, ALICE, `@carol:${HS3}`));
    expectOk('carol joins', await m.join(HS3, room, `@carol:${HS3}`, HS1));
    const victim = `@x:${EVIL}`;
    const signaturesOf = (e: Json) => jsonSchema.parse(e.signatures ?? {});
    const cases: [string, (e: Json) => Promise<unknown>, string][] = [
      ['returned without a signature', async (e) => ({ event: e }), 'not-signed-by-invitee'],
      [
        'signed by another server name',
        async (e) => ({
          event: {
            ...e,
            signatures: { ...signaturesOf(e), [HS3]: (await evil.coSignEvent(e)).signatures[EVIL] },
          },
        }),
        'not-signed-by-invitee',
      ],
      [
        'content changed',
        async (e) => ({ event: await evil.coSignEvent({ ...e, content: { membership: 'join' } }) }),
        'tampered',
      ],
      [
        'inviter signature dropped',
        async (e) => ({ event: await evil.coSignEvent({ ...e, signatures: {} }) }),
        'tampered',
      ],
      ['not an event', async () => ({ event: 'nope' }), 'bad-response'],
    ];
    for (const [what, respond, kind] of cases) {
      answer = respond;
      const before = m.fed.observer.view(HS3).events.length;
      const refused = await m.invite(HS1, room, ALICE, victim);
      expect([refused.status, refused.body], what).toMatchObject([
        502,
        { fedconn_failure: { kind } },
      ]);
      expect((await members(m, HS1, room))[victim], what).toBeUndefined();
      const told = m.fed.observer
        .view(HS3)
        .events.slice(before)
        .filter((e) => e.kind === 'request');
      expect(told, what).toEqual([]);
    }
    answer = async (e) => ({ event: await evil.coSignEvent(e) });
    expectOk('honest invitee', await m.invite(HS1, room, ALICE, victim));
    expect((await members(m, HS3, room))[victim]).toBe('invite');
  });
});

describe('the evil resident (FED-JOIN-02, -07)', () => {
  const ROOM = `!resident:${EVIL}`;
  interface Script {
    template: (t: Json) => Json;
    state: (s: Json[]) => Promise<unknown[]>;
  }
  const honest: Script = { template: (t) => t, state: async (s) => s };

  async function residentSetup(seed: string, mutants: readonly string[] = []) {
    const m = await createMatrixFederation(seed, {
      servers: [{ serverName: HS1 }, { serverName: HS2, mutants }, { serverName: HS3 }],
    });
    const script: { current: Script } = { current: honest };
    let sendJoins = 0;
    // A valid v10 room: create -> eve's join -> join rules, linked by their real ids.
    let room: Json[] = [];
    const evil: FakeServer = await m.fake(EVIL, {
      setup: (app) => {
        app.get('/_matrix/federation/v1/make_join/:room/:user', (c) => {
          const user = c.req.param('user');
          const template = {
            room_id: ROOM,
            type: 'm.room.member',
            state_key: user,
            sender: user,
            origin: EVIL,
            origin_server_ts: 2,
            content: { membership: 'join' },
            prev_events: room.slice(-1).map(idOf),
            auth_events: room.map(idOf),
            depth: 4,
          };
          return c.json({ room_version: ROOM_VERSION, event: script.current.template(template) });
        });
        app.put('/_matrix/federation/v2/send_join/:room/:event', async (c) => {
          sendJoins++;
          const event: unknown = await c.req.json();
          return c.json({
            origin: EVIL,
            state: await script.current.state(room),
            auth_chain: [],
            event,
          });
        });
      },
    });
    const create = await evil.signEvent({
      room_id: ROOM,
      type: 'm.room.create',
      state_key: '',
      sender: EVE,
      origin: EVIL,
      origin_server_ts: 1,
      content: { creator: EVE, room_version: ROOM_VERSION },
      prev_events: [],
      auth_events: [],
      depth: 1,
    });
    const eveJoin = await evil.signEvent({
      ...member(ROOM, EVE, EVE, 'join'),
      depth: 2,
      prev_events: [idOf(create)],
      auth_events: [idOf(create)],
    });
    const rules = await evil.signEvent({
      ...member(ROOM, EVE, EVE, 'join'),
      type: 'm.room.join_rules',
      state_key: '',
      content: { join_rule: 'public' },
      depth: 3,
      prev_events: [idOf(eveJoin)],
      auth_events: [idOf(create), idOf(eveJoin)],
    });
    room = [create, eveJoin, rules];
    return { m, evil, script, sendJoins: () => sendJoins, create, eveJoin, rules };
  }

  const templateDefects: Record<string, (t: Json) => Json> = {
    'another room': (t) => ({ ...t, room_id: `!elsewhere:${EVIL}` }),
    'another sender': (t) => ({ ...t, sender: EVE }),
    'another state_key': (t) => ({ ...t, state_key: EVE }),
    'both point at someone else': (t) => ({ ...t, sender: EVE, state_key: EVE }),
    'not a member event': (t) => ({ ...t, type: 'm.room.message' }),
    'membership invite': (t) => ({ ...t, content: { membership: 'invite' } }),
    'membership leave': (t) => ({ ...t, content: { membership: 'leave' } }),
    'no content': (t) => ({ ...t, content: 'join' }),
  };

  let shared: ReturnType<typeof residentSetup> | undefined;
  test.prop([fc.constantFrom(...Object.keys(templateDefects))], RUNS)(
    'a bad make_join template is discarded: nothing is signed or sent',
    async (name) => {
      shared ??= residentSetup('evil resident templates');
      const { m, script, sendJoins } = await shared;
      script.current = { ...honest, template: templateDefects[name] ?? expect.unreachable() };
      const before = sendJoins();
      const answer = await m.join(HS2, ROOM, BOB, EVIL);
      expect([answer.status, answer.body]).toMatchObject([
        502,
        { fedconn_failure: { kind: 'bad-template' } },
      ]);
      expect(sendJoins()).toBe(before);
      expect(await m.room(HS2, ROOM)).toBeUndefined();
    },
  );

  test('mutant FED-JOIN-02 signs the bad template and sends it', async () => {
    const { m, script, sendJoins } = await residentSetup('evil resident mutant 02', [
      MATRIX_MUTANTS.signTemplateUnchecked,
    ]);
    script.current = { ...honest, template: (t) => ({ ...t, sender: EVE, state_key: EVE }) };
    await m.join(HS2, ROOM, BOB, EVIL);
    expect(sendJoins()).toBe(1);
  });

  test('an honest resident: the join succeeds', async () => {
    const { m } = await residentSetup('evil resident honest');
    expectOk('join', await m.join(HS2, ROOM, BOB, EVIL));
    expect(await members(m, HS2, ROOM)).toEqual({ [EVE]: 'join', [BOB]: 'join' });
  });

  test('a state without m.room.create, or with a foreign one, fails the join', async () => {
    const { m, evil, script } = await residentSetup('evil resident no create');
    const ACCOMPLICE = 'accomplice.example';
    const accomplice = await m.fake(ACCOMPLICE);
    const cases: [string, Script['state']][] = [
      ['no create event', async (s) => s.filter((e) => e.type !== 'm.room.create')],
      [
        'create event with a broken signature',
        // depth survives redaction, so the signature over the redacted event breaks.
        async (s) => s.map((e) => (e.type === 'm.room.create' ? { ...e, depth: 9 } : e)),
      ],
      [
        'create event of another room',
        async (s) => [
          ...s.filter((e) => e.type !== 'm.room.create'),
          await evil.signEvent({ ...s[0], room_id: `!other:${EVIL}`, signatures: {} }),
        ],
      ],
      [
        'create event signed by a server other than the one that named the room',
        async (s) => [
          ...s.filter((e) => e.type !== 'm.room.create'),
          await accomplice.signEvent({ ...s[0], sender: `@x:${ACCOMPLICE}`, signatures: {} }),
        ],
      ],
      [
        'two create events',
        // A second, distinct create event (another timestamp, so another id).
        async (s) => [...s, await evil.signEvent({ ...s[0], origin_server_ts: 7, signatures: {} })],
      ],
    ];
    for (const [what, state] of cases) {
      script.current = { ...honest, state };
      const answer = await m.join(HS2, ROOM, BOB, EVIL);
      expect([answer.status, answer.body], what).toMatchObject([
        502,
        { fedconn_failure: { kind: 'bad-state' } },
      ]);
      expect(await m.room(HS2, ROOM), what).toBeUndefined();
    }
  });

  test('forged or inconsistent state events are dropped, the join proceeds', async () => {
    const { m, evil, script } = await residentSetup('evil resident forged');
    const mallory = `@mallory:${HS3}`;
    // Claims hs3's user joined, but only evil signed it (under hs3's name).
    const forged = await evil.signEvent(
      { ...member(ROOM, mallory, mallory, 'join'), origin: HS3 },
      { keyId: 'ed25519:1', pair: evil.key.pair },
    );
    const forgedAsHs3 = { ...forged, signatures: { [HS3]: forged.signatures[EVIL] } };
    // Properly signed, but its auth event is nowhere in state or auth_chain (a well-formed
    // v10 id of an event never sent: v10 ids have no server part to make one up with).
    const dangling = await evil.signEvent({
      ...member(ROOM, `@zed:${EVIL}`, `@zed:${EVIL}`, 'join'),
      auth_events: [idOf(member(ROOM, EVE, EVE, 'leave'))],
    });
    const otherRoom = await evil.signEvent(
      member(`!other:${EVIL}`, `@y:${EVIL}`, `@y:${EVIL}`, 'join'),
    );
    script.current = {
      ...honest,
      state: async (s) => [...s, forgedAsHs3, dangling, otherRoom, 42, 'x'],
    };
    expectOk('join', await m.join(HS2, ROOM, BOB, EVIL));
    expect(await members(m, HS2, ROOM)).toEqual({ [EVE]: 'join', [BOB]: 'join' });
  });

  test('mutant FED-JOIN-07 trusts the forged state', async () => {
    const { m, evil, script } = await residentSetup('evil resident mutant 07', [
      MATRIX_MUTANTS.trustSendJoinState,
    ]);
    const mallory = `@mallory:${HS3}`;
    const forged = await evil.signEvent({ ...member(ROOM, mallory, mallory, 'join'), origin: HS3 });
    script.current = {
      ...honest,
      state: async (s) => [...s.filter((e) => e.type !== 'm.room.create'), forged],
    };
    expectOk('join', await m.join(HS2, ROOM, BOB, EVIL));
    expect((await members(m, HS2, ROOM))[mallory]).toBe('join');
  });
});

describe('the resident checks send_join and make_join (FED-JOIN-04, -05)', () => {
  type JoinDefect = (e: Json) => {
    event: Json;
    resign?: boolean;
    pathEventId?: string;
  };
  const joinDefects: Record<string, JoinDefect> = {
    'membership leave': (e) => ({ event: { ...e, content: { membership: 'leave' } } }),
    'membership invite': (e) => ({ event: { ...e, content: { membership: 'invite' } } }),
    'not a member event': (e) => ({ event: { ...e, type: 'm.room.message' } }),
    'sender on another server': (e) => ({ event: { ...e, sender: BOB, state_key: BOB } }),
    'state_key is not the sender': (e) => ({ event: { ...e, state_key: `@other:${EVIL}` } }),
    // depth survives redaction: the signature over the redacted event no longer holds.
    'signature broken': (e) => ({ event: { ...e, depth: 99 }, resign: false }),
    unsigned: (e) => ({ event: withoutSignatures(e), resign: false }),
    // A well-formed v10 id, of another event: only the mismatch is wrong.
    'event_id differs from the path': (e) => ({
      event: e,
      pathEventId: idOf({ ...e, depth: 100 }),
    }),
    'another room': (e) => ({ event: { ...e, room_id: `!other:${HS1}` } }),
  };

  let shared: Promise<{ m: MatrixFederation; evil: FakeServer; room: string }> | undefined;
  const setup = () =>
    (shared ??= (async () => {
      const m = await createMatrixFederation('resident checks');
      const evil = await m.fake(EVIL);
      const room = await m.createRoom(HS1, ALICE, 'public');
      return { m, evil, room };
    })());

  test.prop([fc.constantFrom(...Object.keys(joinDefects))], RUNS)(
    'a bad join is refused and changes nothing',
    async (name) => {
      const { m, evil, room } = await setup();
      const made = await json(
        await evil.request(HS1, 'GET', makeJoinPath(room, EVE, [ROOM_VERSION])),
      );
      const template = jsonSchema.parse(z.object({ event: z.unknown() }).parse(made.body).event);
      const good = await evil.signEvent({ ...template, origin: EVIL, origin_server_ts: ts() });
      const defect = (joinDefects[name] ?? expect.unreachable())(good);
      const event =
        defect.resign === false
          ? defect.event
          : await evil.signEvent({ ...defect.event, signatures: {} });
      const answer = await json(
        await evil.request(
          HS1,
          'PUT',
          sendJoinPath(room, defect.pathEventId ?? idOf(event)),
          event,
        ),
      );
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
      expect(answer.body).not.toHaveProperty('state');
      expect(await members(m, HS1, room)).toEqual({ [ALICE]: 'join' });
    },
  );

  test('make_join for a user of another server is 403; unknown rooms 404; versions checked', async () => {
    const { evil, room } = await setup();
    const forBob = await json(
      await evil.request(HS1, 'GET', makeJoinPath(room, BOB, [ROOM_VERSION])),
    );
    expect([forBob.status, forBob.body]).toMatchObject([403, { errcode: 'M_FORBIDDEN' }]);
    const unknown = await json(
      await evil.request(HS1, 'GET', makeJoinPath(`!none:${HS1}`, EVE, [ROOM_VERSION])),
    );
    expect([unknown.status, unknown.body]).toMatchObject([404, { errcode: 'M_NOT_FOUND' }]);
    const oldVersions = await json(
      await evil.request(HS1, 'GET', makeJoinPath(room, EVE, ['1', '2'])),
    );
    expect([oldVersions.status, oldVersions.body]).toMatchObject([
      400,
      { errcode: 'M_INCOMPATIBLE_ROOM_VERSION', room_version: ROOM_VERSION },
    ]);
    const noVersion = await json(
      await evil.request(HS1, 'GET', makeJoinPath(room, EVE, []).replace(/\?$/, '')),
    );
    expect(noVersion.status).toBe(400);
  });

  test('mutants FED-JOIN-04 and -05', async () => {
    const m = await createMatrixFederation('resident mutants', {
      servers: [
        {
          serverName: HS1,
          mutants: [MATRIX_MUTANTS.acceptAnySendJoin, MATRIX_MUTANTS.templateForAnyUser],
        },
      ],
    });
    const evil = await m.fake(EVIL);
    const room = await m.createRoom(HS1, ALICE, 'public');
    const forBob = await evil.request(HS1, 'GET', makeJoinPath(room, BOB, [ROOM_VERSION]));
    expect(forBob.status).toBe(200);
    await evilJoins(evil, HS1, room);
    // An invite presented as a join: the mutant takes it, the auth rules allow it.
    const zed = `@zed:${EVIL}`;
    const invite = await evil.signEvent(member(room, EVE, zed, 'invite'));
    const answer = await evil.request(HS1, 'PUT', sendJoinPath(room, idOf(invite)), invite);
    expect(answer.status).toBe(200);
    expect((await members(m, HS1, room))[zed]).toBe('invite');
  });
});
