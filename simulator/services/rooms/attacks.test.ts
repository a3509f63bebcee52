// SPEC-30's attacks and today's checks, with the test playing the malicious server
// (evil.example: a key it controls, its own routes) against reference homeservers.
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { z } from 'zod';
import type { SignedObject } from '../../protocol/encoding/signed-json.ts';
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
import { invitePath, makeJoinPath, ROOM_VERSION, sendJoinPath, sendPath } from './index.ts';

const EVIL = 'evil.example';
const EVE = `@eve:${EVIL}`;
const ALICE = `@alice:${HS1}`;
const BOB = `@bob:${HS2}`;
const RUNS = { numRuns: 100 };

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
const fresh = (sigil: '$' | '!', server = EVIL) => `${sigil}t${counter++}:${server}`;

/** The evil server joins `room` on `resident` as `user`, honestly (make_join + send_join). */
async function evilJoins(
  evil: FakeServer,
  resident: string,
  room: string,
  user = EVE,
): Promise<SignedObject> {
  const made = await json(
    await evil.request(resident, 'GET', makeJoinPath(room, user, [ROOM_VERSION])),
  );
  expect(made.status).toBe(200);
  const template = jsonSchema.parse(z.object({ event: z.unknown() }).parse(made.body).event);
  const eventId = fresh('$');
  const join = await evil.sign({
    ...template,
    event_id: eventId,
    origin: EVIL,
    origin_server_ts: 1,
  });
  const sent = await evil.request(resident, 'PUT', sendJoinPath(room, eventId), join);
  expect(sent.status).toBe(200);
  return join;
}

function member(
  room: string,
  sender: string,
  target: string,
  membership: string,
  extra: Record<string, unknown> = {},
) {
  return {
    event_id: fresh('$'),
    room_id: room,
    type: 'm.room.member',
    state_key: target,
    sender,
    origin: EVIL,
    origin_server_ts: 1,
    content: { membership },
    prev_events: [],
    auth_events: [],
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
        await evil.request(HS1, 'PUT', sendPath(fresh('$')), {
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
    const unsigned = member(room, EVE, BOB, 'invite');
    // 1. Signed by the inviter only.
    const onlyInviter = await evil.sign(unsigned);
    // 2. An "hs2" signature made with the evil key under hs2's real key id.
    const hs2Key = currentSigningKey(m.fed.servers.get(HS2)?.ctx ?? expect.unreachable());
    const forged = await evil.sign(onlyInviter, { keyId: hs2Key.keyId, pair: evil.key.pair });
    const forgedUnderHs2 = {
      ...onlyInviter,
      signatures: { ...onlyInviter.signatures, [HS2]: forged.signatures[EVIL] ?? {} },
    };
    // 3. hs2's genuine signature, lifted from another invite it really signed.
    const genuine = member(room, EVE, BOB, 'invite');
    const cosigned = await json(
      await evil.request(HS2, 'PUT', invitePath(room, genuine.event_id), {
        room_version: ROOM_VERSION,
        event: await evil.sign(genuine),
      }),
    );
    expect(cosigned.status).toBe(200);
    const lifted = z
      .object({ event: z.object({ signatures: z.record(z.string(), z.unknown()) }) })
      .parse(cosigned.body).event.signatures[HS2];
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
      expect(outcome[unsigned.event_id]?.error, what).toMatch(/invitee|signature/);
      expect((await members(m, HS1, room))[BOB], what).toBeUndefined();
    }
    // Control: the invite hs2 really co-signed is accepted.
    const accepted = await send(
      jsonSchema.parse(z.object({ event: z.unknown() }).parse(cosigned.body).event),
    );
    expect(accepted[genuine.event_id]).toEqual({});
    expect((await members(m, HS1, room))[BOB]).toBe('invite');
  });

  test('mutant FED-INVITE-02 believes the inviter', async () => {
    const { m, evil, room, send } = await setup([
      MATRIX_MUTANTS.acceptInviteWithoutInviteeSignature,
    ]);
    const pdu = await evil.sign(member(room, EVE, BOB, 'invite'));
    expect(await send(pdu)).toEqual({ [String(pdu.event_id)]: {} });
    expect((await members(m, HS1, room))[BOB]).toBe('invite');
  });

  test('a transaction whose body names another origin is refused', async () => {
    const { evil, room } = await setup();
    const answer = await evil.request(HS1, 'PUT', sendPath('x'), {
      origin: HS2,
      origin_server_ts: 1,
      pdus: [await evil.sign(member(room, EVE, BOB, 'invite'))],
    });
    expect(answer.status).toBe(403);
  });
});

describe('the invited server signs only genuine invites (FED-INVITE-03, -04)', () => {
  const ROOM = `!invited:${EVIL}`;
  type Defect = (e: ReturnType<typeof member>) => {
    event: Record<string, unknown>;
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
    'event_id differs from the path': (e) => ({ event: e, eventId: `$other:${EVIL}` }),
    'not an event': () => ({ event: { hello: 'world' } }),
  };

  test.prop([fc.constantFrom(...Object.keys(defects)), fc.boolean()], RUNS)(
    'a defective invite gets 400 M_INVALID_PARAM and no signature',
    async (name, withState) => {
      const { m, evil } = await shared();
      const base = member(ROOM, EVE, BOB, 'invite');
      const defect = (defects[name] ?? expect.unreachable())(base);
      let event: Record<string, unknown> = defect.event;
      if (defect.sign !== false) event = await evil.sign(event);
      if (name === 'signature broken after signing') {
        event = { ...event, content: { membership: 'invite', displayname: 'changed' } };
      }
      const answer = await json(
        await evil.request(
          HS2,
          'PUT',
          invitePath(defect.room ?? ROOM, defect.eventId ?? base.event_id),
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
      const stored = m.fed.observer
        .view(HS2)
        .events.filter(
          (e) =>
            e.kind === 'row' &&
            e.table === 'room_invites' &&
            JSON.stringify(e.value).includes(base.event_id),
        );
      expect(stored).toEqual([]);
    },
  );

  test('a genuine invite comes back untouched apart from the added signature', async () => {
    const { evil } = await shared();
    const event = await evil.sign(member(ROOM, EVE, BOB, 'invite', { unknown_member: [1, 'x'] }));
    const answer = await json(
      await evil.request(HS2, 'PUT', invitePath(ROOM, String(event.event_id)), {
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
    const event = await evil.sign(member(ROOM, EVE, BOB, 'invite'));
    const path = invitePath(ROOM, String(event.event_id));
    const wrongVersion = await json(
      await evil.request(HS2, 'PUT', path, { room_version: '10', event }),
    );
    expect(wrongVersion.body).toMatchObject({
      errcode: 'M_INCOMPATIBLE_ROOM_VERSION',
      room_version: '10',
    });
    const noCreate = await json(
      await evil.request(HS2, 'PUT', path, {
        room_version: ROOM_VERSION,
        event,
        invite_room_state: [{ type: 'm.room.name', state_key: '', content: { name: 'x' } }],
      }),
    );
    expect([noCreate.status, noCreate.body]).toMatchObject([400, { errcode: 'M_INVALID_PARAM' }]);
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
    const bad = await evil.sign(member(ROOM, EVE, BOB, 'join'));
    const signedAnyway = await evil.request(HS2, 'PUT', invitePath(ROOM, String(bad.event_id)), {
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
    let answer: (event: SignedObject) => Promise<unknown> = async (event) => ({ event });
    const evil = await m.fake(EVIL, {
      setup: (app) => {
        app.put('/_matrix/federation/v2/invite/:room/:event', async (c) => {
          const body = z.object({ event: jsonSchema }).parse(await c.req.json());
          return c.json(await answer(body.event as SignedObject));
        });
      },
    });
    const room = await m.createRoom(HS1, ALICE);
    expectOk('invite carol', await m.invite(HS1, room, ALICE, `@carol:${HS3}`));
    expectOk('carol joins', await m.join(HS3, room, `@carol:${HS3}`, HS1));
    const victim = `@x:${EVIL}`;
    const cases: [string, (e: SignedObject) => Promise<unknown>, string][] = [
      ['returned without a signature', async (e) => ({ event: e }), 'not-signed-by-invitee'],
      [
        'signed by another server name',
        async (e) => ({
          event: {
            ...e,
            signatures: { ...e.signatures, [HS3]: (await evil.sign(e)).signatures[EVIL] },
          },
        }),
        'not-signed-by-invitee',
      ],
      [
        'content changed',
        async (e) => ({ event: await evil.sign({ ...e, content: { membership: 'join' } }) }),
        'tampered',
      ],
      [
        'inviter signature dropped',
        async (e) => ({ event: await evil.sign({ ...e, signatures: {} }) }),
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
    answer = async (e) => ({ event: await evil.sign(e) });
    expectOk('honest invitee', await m.invite(HS1, room, ALICE, victim));
    expect((await members(m, HS3, room))[victim]).toBe('invite');
  });
});

describe('the evil resident (FED-JOIN-02, -07)', () => {
  const ROOM = `!resident:${EVIL}`;
  interface Script {
    template: (t: Record<string, unknown>) => Record<string, unknown>;
    state: (s: SignedObject[]) => Promise<unknown[]>;
  }
  const honest: Script = { template: (t) => t, state: async (s) => s };

  async function residentSetup(seed: string, mutants: readonly string[] = []) {
    const m = await createMatrixFederation(seed, {
      servers: [{ serverName: HS1 }, { serverName: HS2, mutants }, { serverName: HS3 }],
    });
    const script: { current: Script } = { current: honest };
    let sendJoins = 0;
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
            prev_events: [],
            auth_events: [create.event_id],
            depth: 3,
          };
          return c.json({ room_version: ROOM_VERSION, event: script.current.template(template) });
        });
        app.put('/_matrix/federation/v2/send_join/:room/:event', async (c) => {
          sendJoins++;
          const event: unknown = await c.req.json();
          return c.json({
            origin: EVIL,
            state: await script.current.state([create, eveJoin, rules]),
            auth_chain: [],
            event,
          });
        });
      },
    });
    const create = await evil.sign({
      event_id: `$create:${EVIL}`,
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
    const eveJoin = await evil.sign({
      ...member(ROOM, EVE, EVE, 'join'),
      event_id: `$evejoin:${EVIL}`,
      auth_events: [create.event_id],
    });
    const rules = await evil.sign({
      ...member(ROOM, EVE, EVE, 'join'),
      type: 'm.room.join_rules',
      state_key: '',
      content: { join_rule: 'public' },
      event_id: `$rules:${EVIL}`,
      auth_events: [create.event_id],
    });
    return { m, evil, script, sendJoins: () => sendJoins, create, eveJoin, rules };
  }

  const templateDefects: Record<string, (t: Record<string, unknown>) => Record<string, unknown>> = {
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
        async (s) => s.map((e) => (e.type === 'm.room.create' ? { ...e, depth: 9 } : e)),
      ],
      [
        'create event of another room',
        async (s) => [
          ...s.filter((e) => e.type !== 'm.room.create'),
          await evil.sign({ ...s[0], room_id: `!other:${EVIL}`, signatures: {} }),
        ],
      ],
      [
        'create event signed by a server other than the one that named the room',
        async (s) => [
          ...s.filter((e) => e.type !== 'm.room.create'),
          await accomplice.sign({ ...s[0], sender: `@x:${ACCOMPLICE}`, signatures: {} }),
        ],
      ],
      [
        'two create events',
        async (s) => [...s, await evil.sign({ ...s[0], event_id: `$c2:${EVIL}`, signatures: {} })],
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
    const forged = await evil.sign(
      { ...member(ROOM, mallory, mallory, 'join'), origin: HS3 },
      { keyId: 'ed25519:1', pair: evil.key.pair },
    );
    const forgedAsHs3 = { ...forged, signatures: { [HS3]: forged.signatures[EVIL] } };
    // Properly signed, but its auth event is nowhere in state or auth_chain.
    const dangling = await evil.sign({
      ...member(ROOM, `@zed:${EVIL}`, `@zed:${EVIL}`, 'join'),
      auth_events: [`$missing:${EVIL}`],
    });
    const otherRoom = await evil.sign(member(`!other:${EVIL}`, `@y:${EVIL}`, `@y:${EVIL}`, 'join'));
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
    const forged = await evil.sign({ ...member(ROOM, mallory, mallory, 'join'), origin: HS3 });
    script.current = {
      ...honest,
      state: async (s) => [...s.filter((e) => e.type !== 'm.room.create'), forged],
    };
    expectOk('join', await m.join(HS2, ROOM, BOB, EVIL));
    expect((await members(m, HS2, ROOM))[mallory]).toBe('join');
  });
});

describe('the resident checks send_join and make_join (FED-JOIN-04, -05)', () => {
  type JoinDefect = (e: Record<string, unknown>) => {
    event: Record<string, unknown>;
    resign?: boolean;
    pathEventId?: string;
  };
  const joinDefects: Record<string, JoinDefect> = {
    'membership leave': (e) => ({ event: { ...e, content: { membership: 'leave' } } }),
    'membership invite': (e) => ({ event: { ...e, content: { membership: 'invite' } } }),
    'not a member event': (e) => ({ event: { ...e, type: 'm.room.message' } }),
    'sender on another server': (e) => ({ event: { ...e, sender: BOB, state_key: BOB } }),
    'state_key is not the sender': (e) => ({ event: { ...e, state_key: `@other:${EVIL}` } }),
    'signature broken': (e) => ({ event: { ...e, depth: 99 }, resign: false }),
    unsigned: (e) => ({
      event: Object.fromEntries(Object.entries(e).filter(([k]) => k !== 'signatures')),
      resign: false,
    }),
    'event_id differs from the path': (e) => ({ event: e, pathEventId: `$elsewhere:${EVIL}` }),
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
      const eventId = fresh('$');
      const good = await evil.sign({
        ...template,
        event_id: eventId,
        origin: EVIL,
        origin_server_ts: 3,
      });
      const defect = (joinDefects[name] ?? expect.unreachable())(good);
      const event =
        defect.resign === false
          ? defect.event
          : await evil.sign({ ...defect.event, signatures: {} });
      const answer = await json(
        await evil.request(HS1, 'PUT', sendJoinPath(room, defect.pathEventId ?? eventId), event),
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
    const invite = await evil.sign(member(room, EVE, zed, 'invite'));
    const answer = await evil.request(
      HS1,
      'PUT',
      sendJoinPath(room, String(invite.event_id)),
      invite,
    );
    expect(answer.status).toBe(200);
    expect((await members(m, HS1, room))[zed]).toBe('invite');
  });
});
