// The join dance (FED-JOIN): fedconn plays a joining server, a lying resident and a
// server in the room, and checks what the target signs, accepts, answers and sends.
import fc from 'fast-check';
import { z } from 'zod';
import { checkEventSignature } from '../../simulator/protocol/events/signing.ts';
import {
  type CheckContext,
  checkProperty,
  defineCheck,
  eachOf,
  expectThat,
} from '../harness/check.ts';
import { eventually } from '../harness/eventually.ts';
import {
  answerOf,
  brief,
  canonical,
  idOf,
  publishedKeys,
  createRoom,
  impostor,
  impostorJoins,
  recordTransactions,
  joinRoom,
  jsonObject,
  makeJoinPath,
  memberEvent,
  membersOf,
  ROOM_VERSION,
  sendJoinPath,
  server,
  userOn,
  type Impostor,
  type Json,
  impostorRoom,
  eventAnswer,
  stateAnswer,
} from './support.ts';

interface Resident {
  readonly evil: Impostor;
  readonly roomId: string;
  /** What make_join answers and what send_join answers as state; change per case. */
  readonly script: {
    template: (t: Json) => Json;
    state: (s: Json[]) => unknown[] | Promise<unknown[]>;
  };
  sendJoins(): number;
  /** Every make_join template served and every send_join body received, in order. */
  readonly log: { readonly kind: 'make_join' | 'send_join'; readonly event: Json }[];
  readonly eve: string;
}

/** An impostor resident of its own public room (create, eve's join, join rules). */
async function lyingResident(ctx: CheckContext, preferredName: string): Promise<Resident> {
  // Its name (hence its room and user) is known once it is hosted; the routes read these.
  let name = preferredName;
  let roomId = '';
  let eve = '';
  const script: Resident['script'] = { template: (t) => t, state: (s) => s };
  let sendJoins = 0;
  const log: Resident['log'][number][] = [];
  let room: Json[] = [];
  const evil = await impostor(ctx, name, (app) => {
    app.get('/_matrix/federation/v1/make_join/:room/:user', (c) => {
      const user = c.req.param('user');
      const template = {
        room_id: roomId,
        type: 'm.room.member',
        state_key: user,
        sender: user,
        origin: name,
        origin_server_ts: ctx.instance.clock.now(),
        content: { membership: 'join' },
        prev_events: room.slice(-1).map(idOf),
        // Room version 10 refuses auth events beyond the selection for a join: create,
        // power levels, join rules and the joining user's own membership.
        auth_events: room.filter((e) => joinAuthSelection(e, user)).map(idOf),
        depth: 4,
      };
      const event = script.template(template);
      log.push({ kind: 'make_join', event });
      return c.json({ room_version: ROOM_VERSION, event });
    });
    app.put('/_matrix/federation/v2/send_join/:room/:event', async (c) => {
      sendJoins++;
      const event: unknown = await c.req.json();
      log.push({ kind: 'send_join', event: jsonObject.safeParse(event).data ?? {} });
      return c.json({ origin: name, state: await script.state(room), auth_chain: [], event });
    });
    app.put('/_matrix/federation/v1/send/:txn', (c) => c.json({ pdus: {} }));
  });
  name = evil.serverName;
  roomId = impostorRoom(ctx, name);
  eve = `@eve:${name}`;
  const create = await evil.signEvent({
    room_id: roomId,
    type: 'm.room.create',
    state_key: '',
    sender: eve,
    origin: name,
    origin_server_ts: 1,
    content: { creator: eve, room_version: ROOM_VERSION },
    prev_events: [],
    auth_events: [],
    depth: 1,
  });
  const eveJoin = await evil.signEvent({
    ...memberEvent(ctx, name, roomId, eve, eve, 'join'),
    depth: 2,
    prev_events: [idOf(create)],
    auth_events: [idOf(create)],
  });
  const rules = await evil.signEvent({
    ...memberEvent(ctx, name, roomId, eve, eve, 'join'),
    type: 'm.room.join_rules',
    state_key: '',
    content: { join_rule: 'public' },
    depth: 3,
    prev_events: [idOf(eveJoin)],
    auth_events: [idOf(create), idOf(eveJoin)],
  });
  room = [create, eveJoin, rules];
  return { evil, roomId, script, sendJoins: () => sendJoins, log, eve };
}

const joinAuthSelection = (event: Json, user: string) =>
  event.type === 'm.room.create' ||
  event.type === 'm.room.power_levels' ||
  event.type === 'm.room.join_rules' ||
  (event.type === 'm.room.member' && event.state_key === user);

const TEMPLATE_DEFECTS: Record<string, (t: Json, eve: string) => Json> = {
  'another room': (t) => ({ ...t, room_id: `!elsewhere:${String(t.origin)}` }),
  'another sender': (t, eve) => ({ ...t, sender: eve }),
  'another state_key': (t, eve) => ({ ...t, state_key: eve }),
  'both point at someone else': (t, eve) => ({ ...t, sender: eve, state_key: eve }),
  'not a member event': (t) => ({ ...t, type: 'm.room.message' }),
  'membership invite': (t) => ({ ...t, content: { membership: 'invite' } }),
  'membership leave': (t) => ({ ...t, content: { membership: 'leave' } }),
};

export const badTemplateDiscarded = defineCheck({
  name: 'the joining server discards a bad make_join template: nothing is signed or sent',
  rules: ['FED-JOIN-02'],
  profiles: ['matrix-current'],
  needs: ['impostor'],
  async run(ctx) {
    const joiner = server(ctx, 0);
    let run = 0;
    await checkProperty(
      ctx,
      [fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/)],
      async (local) => {
        // A fresh room each run (shrinking included): a server that got in joins locally.
        const resident = await lyingResident(ctx, `templates${run++}.join.example`);
        const user = userOn(ctx, joiner, `bob${local}`);
        for (const [defect, bad] of Object.entries(TEMPLATE_DEFECTS)) {
          resident.script.template = (t) => bad(t, resident.eve);
          const before = resident.sendJoins();
          const answer = await joinRoom(
            ctx,
            joiner,
            resident.roomId,
            user,
            resident.evil.serverName,
          );
          expectThat(
            answer.status !== 200 && resident.sendJoins() === before,
            `${joiner.serverName} signed and sent a make_join template with a defect: ${defect}`,
            'the join fails before any send_join',
            `${brief(answer)}; send_join requests: ${resident.sendJoins() - before}`,
          );
        }
        // Control: the honest template is used.
        resident.script.template = (t) => t;
        const answer = await joinRoom(ctx, joiner, resident.roomId, user, resident.evil.serverName);
        expectThat(
          answer.status === 200,
          `${joiner.serverName} could not join through a resident serving an honest template`,
          200,
          brief(answer),
        );
      },
      { numRuns: 1 },
    );
  },
});

export const sendJoinStateBeforeJoin = defineCheck({
  name: 'send_join answers, after accepting the join, with the state before it; a refused join gets no state',
  rules: ['FED-JOIN-03'],
  profiles: ['matrix-current'],
  needs: ['impostor'],
  async run(ctx) {
    const resident = server(ctx, 0);
    const evil = await impostor(ctx, 'joiner.join.example');
    await checkProperty(
      ctx,
      [fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/)],
      async (local) => {
        const roomId = await createRoom(ctx, resident, userOn(ctx, resident, 'alice'), 'public');
        const user = `@${local}:${evil.serverName}`;
        // A refused join (membership leave) gets no state.
        const leave = await evil.signEvent(
          memberEvent(ctx, evil.serverName, roomId, user, user, 'leave'),
        );
        const refused = await answerOf(
          await evil.request(resident.serverName, 'PUT', sendJoinPath(roomId, idOf(leave)), leave),
        );
        const refusedBody = jsonObject.safeParse(refused.body).data ?? {};
        expectThat(
          refused.status >= 400 && !('state' in refusedBody),
          `${resident.serverName} answered a refused join with room state`,
          'a 4xx error without state',
          brief(refused),
        );
        const { join, answer } = await impostorJoins(ctx, evil, resident.serverName, roomId, user);
        const parsed = stateAnswer.safeParse(answer.body);
        expectThat(
          answer.status === 200 && parsed.success,
          `${resident.serverName}: send_join of a valid join did not answer 200 with state`,
          '200 {"state": [...], "auth_chain", "event"}',
          brief(answer),
        );
        const ids = parsed.data.state.map(idOf);
        const joinedBefore = parsed.data.state.filter(
          (e) => e.type === 'm.room.member' && e.state_key === user,
        );
        expectThat(
          !ids.includes(idOf(join)) && joinedBefore.length === 0,
          `${resident.serverName} returned the state after the join instead of before it`,
          `state without ${idOf(join)} or any membership of ${user}`,
          ids,
        );
        expectThat(
          parsed.data.state.some((e) => e.type === 'm.room.create'),
          `${resident.serverName}: the returned state has no m.room.create event`,
          'the m.room.create event in state',
          ids,
        );
        const members = (await membersOf(ctx, resident, roomId)) ?? {};
        expectThat(
          members[user] === 'join',
          `${resident.serverName} answered send_join without having accepted the join`,
          `${user}: join`,
          members,
        );
      },
      { numRuns: 2 },
    );
  },
});

const JOIN_DEFECTS: Record<string, (e: Json, names: { other: string }) => Json> = {
  'membership leave': (e) => ({ ...e, content: { membership: 'leave' } }),
  'membership invite': (e) => ({ ...e, content: { membership: 'invite' } }),
  'not a member event': (e) => ({ ...e, type: 'm.room.message' }),
  'sender on another server': (e, n) => ({ ...e, sender: n.other, state_key: n.other }),
  'state_key is not the sender': (e) => ({ ...e, state_key: `@other:${String(e.origin)}` }),
};

export const badSendJoinRefused = defineCheck({
  name: 'the resident refuses send_join events that are not valid joins of the origin’s users',
  rules: ['FED-JOIN-04'],
  profiles: ['matrix-current'],
  needs: ['impostor'],
  async run(ctx) {
    const resident = server(ctx, 0);
    const evil = await impostor(ctx, 'badjoin.join.example');
    const otherServer = server(ctx, ctx.instance.servers.length > 1 ? 1 : 0);
    await checkProperty(
      ctx,
      [fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/)],
      async (local) => {
        // A fresh room each run (shrinking included): the control's join stays behind.
        const roomId = await createRoom(ctx, resident, userOn(ctx, resident, 'alice'), 'public');
        const user = `@${local}:${evil.serverName}`;
        const other = userOn(ctx, otherServer, `victim${local}`);
        // The resident's own template, so that each event is refused for its defect and not
        // for graph pointers it could not accept (a control below shows the template joins).
        const made = await answerOf(
          await evil.request(resident.serverName, 'GET', makeJoinPath(roomId, user)),
        );
        const template = eventAnswer.safeParse(made.body).data?.event;
        expectThat(
          made.status === 200 && template !== undefined,
          `${resident.serverName}: make_join for a public room failed`,
          '200 {"room_version", "event": <template>}',
          brief(made),
        );
        const fromTemplate = () => ({
          ...template,
          origin: evil.serverName,
          origin_server_ts: ctx.instance.clock.now(),
        });
        for (const [defect, bad] of Object.entries(JOIN_DEFECTS)) {
          const event = await evil.signEvent(bad(fromTemplate(), { other }));
          const answer = await answerOf(
            await evil.request(
              resident.serverName,
              'PUT',
              sendJoinPath(roomId, idOf(event)),
              event,
            ),
          );
          const members = (await membersOf(ctx, resident, roomId)) ?? {};
          expectThat(
            answer.status >= 400 && answer.status < 500 && members[other] !== 'join',
            `${resident.serverName} accepted a send_join with a defect: ${defect}`,
            '400 M_INVALID_PARAM (or 403), nothing accepted',
            `${brief(answer)}; members ${JSON.stringify(members)}`,
          );
        }
        // Control: the same template, unspoilt, is a join the resident accepts.
        const join = await evil.signEvent(fromTemplate());
        const accepted = await answerOf(
          await evil.request(resident.serverName, 'PUT', sendJoinPath(roomId, idOf(join)), join),
        );
        expectThat(
          accepted.status === 200,
          `${resident.serverName} refused the unspoilt join built from its own template`,
          200,
          brief(accepted),
        );
      },
      { numRuns: 2 },
    );
  },
});

export const makeJoinForeignUserRefused = defineCheck({
  name: 'make_join for a user who is not on the requesting server is refused',
  rules: ['FED-JOIN-05'],
  profiles: ['matrix-current'],
  needs: ['impostor'],
  async run(ctx) {
    const resident = server(ctx, 0);
    const evil = await impostor(ctx, 'asker.join.example');
    const roomId = await createRoom(ctx, resident, userOn(ctx, resident, 'alice'), 'public');
    const servers = ctx.instance.servers;
    await checkProperty(
      ctx,
      [
        eachOf(...servers.map((s) => s.serverName), 'bystander.example'),
        fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/),
      ],
      async (home, local) => {
        const victim = `@${ctx.instance.namespace}${local}:${home}`;
        const answer = await answerOf(
          await evil.request(resident.serverName, 'GET', makeJoinPath(roomId, victim)),
        );
        expectThat(
          answer.status === 403,
          `${resident.serverName} served a join template for ${victim} to ${evil.serverName}`,
          '403 M_FORBIDDEN',
          brief(answer),
        );
      },
      { numRuns: 4 },
    );
    // Control: the requester's own user gets a template.
    const own = await answerOf(
      await evil.request(
        resident.serverName,
        'GET',
        makeJoinPath(roomId, `@eve:${evil.serverName}`),
      ),
    );
    expectThat(
      own.status === 200,
      `${resident.serverName}: make_join for the origin's own user failed`,
      200,
      brief(own),
    );
  },
});

export const joinSentToRoom = defineCheck({
  name: 'the resident sends an accepted join to the other servers in the room',
  rules: ['FED-JOIN-06'],
  profiles: ['matrix-current'],
  async run(ctx) {
    // Three servers of the target's, or two and fedconn as the one already in the room.
    if (ctx.instance.servers.length < 3 && ctx.instance.hostPeer !== undefined) {
      return joinSentToPeer(ctx);
    }
    const [hs1, hs2, hs3] = [server(ctx, 0), server(ctx, 1), server(ctx, 2)];
    await checkProperty(
      ctx,
      [fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/)],
      async (local) => {
        const roomId = await createRoom(ctx, hs1, userOn(ctx, hs1, `alice${local}`), 'public');
        const bob = userOn(ctx, hs2, `bob${local}`);
        const carol = userOn(ctx, hs3, `carol${local}`);
        for (const [who, on] of [
          [bob, hs2],
          [carol, hs3],
        ] as const) {
          const answer = await joinRoom(ctx, on, roomId, who, hs1.serverName);
          expectThat(
            answer.status === 200,
            `${who} could not join through ${hs1.serverName}`,
            200,
            brief(answer),
          );
        }
        let seen: Record<string, string> | undefined;
        const told = await eventually(ctx, async () => {
          seen = await membersOf(ctx, hs2, roomId);
          return seen?.[carol] === 'join';
        });
        expectThat(
          told,
          `${hs1.serverName} did not send ${carol}'s join to ${hs2.serverName}, which is in the room`,
          `${hs2.serverName} sees ${carol}: join`,
          seen ?? 'not in the room',
        );
      },
      { numRuns: 1 },
    );
  },
});

/** FED-JOIN-06 with two servers: fedconn's peer joins first and must hear of the second join. */
async function joinSentToPeer(ctx: CheckContext): Promise<void> {
  const [hs1, hs2] = [server(ctx, 0), server(ctx, 1)];
  const received: Json[] = [];
  const member = await impostor(ctx, 'member.join.example', recordTransactions(received));
  await checkProperty(
    ctx,
    [fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/)],
    async (local) => {
      const roomId = await createRoom(ctx, hs1, userOn(ctx, hs1, `alice${local}`), 'public');
      const { answer: joined } = await impostorJoins(
        ctx,
        member,
        hs1.serverName,
        roomId,
        `@eve${local}:${member.serverName}`,
      );
      expectThat(
        joined.status === 200,
        `${hs1.serverName}: an honest send_join into a public room failed`,
        200,
        brief(joined),
      );
      const bob = userOn(ctx, hs2, `bob${local}`);
      const answer = await joinRoom(ctx, hs2, roomId, bob, hs1.serverName);
      expectThat(
        answer.status === 200,
        `${bob} could not join through ${hs1.serverName}`,
        200,
        brief(answer),
      );
      const joinOfBob = () =>
        received.some(
          (e) =>
            e.type === 'm.room.member' &&
            e.room_id === roomId &&
            e.state_key === bob &&
            jsonObject.safeParse(e.content).data?.membership === 'join',
        );
      expectThat(
        await eventually(ctx, joinOfBob),
        `${hs1.serverName} did not send ${bob}'s join to ${member.serverName}, which is in the room`,
        `a /send to ${member.serverName} with ${bob}'s join`,
        `${received.length} PDUs received, none that join`,
      );
    },
    { numRuns: 1 },
  );
}

export const lyingStateRefused = defineCheck({
  name: 'the joining server validates the send_join state and refuses a state without a valid create event',
  rules: ['FED-JOIN-07'],
  profiles: ['matrix-current'],
  needs: ['impostor'],
  async run(ctx) {
    const joiner = server(ctx, 0);
    const resident = await lyingResident(ctx, 'liar.join.example');
    const accomplice = await impostor(ctx, 'accomplice.join.example');
    const lies: Record<string, (s: Json[]) => unknown[] | Promise<unknown[]>> = {
      'no create event': (s) => s.filter((e) => e.type !== 'm.room.create'),
      'create event with a broken signature': (s) =>
        s.map((e) => (e.type === 'm.room.create' ? { ...e, depth: 9 } : e)),
      'create event of another server': async (s) => [
        ...s.filter((e) => e.type !== 'm.room.create'),
        await accomplice.signEvent({
          ...(s[0] ?? {}),
          sender: `@x:${accomplice.serverName}`,
          signatures: {},
        }),
      ],
    };
    let n = 0;
    await checkProperty(
      ctx,
      [eachOf(...Object.keys(lies))],
      async (lie) => {
        resident.script.state = lies[lie] ?? ((s) => s);
        const user = userOn(ctx, joiner, `bob${n++}`);
        const answer = await joinRoom(ctx, joiner, resident.roomId, user, resident.evil.serverName);
        const members = await membersOf(ctx, joiner, resident.roomId);
        expectThat(
          answer.status !== 200 && members === undefined,
          `${joiner.serverName} adopted a send_join state with a defect: ${lie}`,
          'the join fails and the server is not in the room',
          `${brief(answer)}; members ${JSON.stringify(members ?? null)}`,
        );
      },
      { numRuns: 3 },
    );
    // A forged member event (signed by the impostor under another server's name) is dropped.
    const mallory = userOn(ctx, server(ctx, ctx.instance.servers.length > 1 ? 1 : 0), 'mallory');
    const forged = await resident.evil.signEvent(
      memberEvent(ctx, resident.evil.serverName, resident.roomId, mallory, mallory, 'join'),
    );
    const malloryServer = mallory.slice(mallory.indexOf(':') + 1);
    resident.script.state = (s) => [
      ...s,
      {
        ...forged,
        origin: malloryServer,
        signatures: { [malloryServer]: forged.signatures[resident.evil.serverName] },
      },
    ];
    const user = userOn(ctx, joiner, `bob${n++}`);
    const answer = await joinRoom(ctx, joiner, resident.roomId, user, resident.evil.serverName);
    const members = (await membersOf(ctx, joiner, resident.roomId)) ?? {};
    expectThat(
      answer.status === 200 && members[mallory] === undefined,
      `${joiner.serverName} adopted a forged state event (${mallory} joined, signed by ${resident.evil.serverName})`,
      `the join succeeds without ${mallory} in the room`,
      `${brief(answer)}; members ${JSON.stringify(members)}`,
    );
  },
});

/** Members the joining server adds or replaces in the template, and the signing envelope. */
const FILLED_IN = new Set([
  'event_id',
  'origin',
  'origin_server_ts',
  'signatures',
  'hashes',
  'unsigned',
]);
const templatePart = (event: Json): Json =>
  Object.fromEntries(Object.entries(event).filter(([k]) => !FILLED_IN.has(k)));

/**
 * Whether `sent` keeps every member of the template `made` (the resident's graph
 * pointers, room, user, depth) and every key of its content. A joiner may add to
 * the content (its user's displayname and avatar_url, as Synapse does) and add
 * members the template lacks (Synapse 1.67 adds a legacy prev_state: []).
 */
function keepsTemplate(made: Json, sent: Json): boolean {
  const template = templatePart(made);
  return Object.entries(template).every(([key, value]) => {
    if (key !== 'content') return canonical(sent[key]) === canonical(value);
    const ours = jsonObject.safeParse(value).data ?? {};
    const theirs = jsonObject.safeParse(sent.content).data ?? {};
    return Object.entries(ours).every(([k, v]) => canonical(theirs[k]) === canonical(v));
  });
}

export const joinIsTwoSteps = defineCheck({
  name: 'a join takes two steps: the template from make_join is signed and sent back to the same resident',
  rules: ['FED-JOIN-01'],
  profiles: ['matrix-current'],
  needs: ['impostor'],
  async run(ctx) {
    const joiner = server(ctx, 0);
    const keys = await publishedKeys(ctx, joiner);
    let n = 0;
    await checkProperty(
      ctx,
      [fc.integer({ min: 2, max: 1_000_000 }), fc.stringMatching(/^[a-zA-Z0-9]{4,12}$/)],
      async (depth, marker) => {
        // A fresh room each time: a server already in the room joins locally.
        const resident = await lyingResident(ctx, `twostep${n}.join.example`);
        // The template's graph pointers are the resident's to choose: they must come back.
        resident.script.template = (t) => ({
          ...t,
          depth,
          // An event id of the v4+ shape the joiner cannot have made up itself.
          prev_events: [`$${marker.padEnd(43, '_')}`],
        });
        const user = userOn(ctx, joiner, `twostep${n++}`);
        const from = resident.log.length;
        const answer = await joinRoom(ctx, joiner, resident.roomId, user, resident.evil.serverName);
        const steps = resident.log.slice(from);
        expectThat(
          answer.status === 200 && steps.map((s) => s.kind).join(',') === 'make_join,send_join',
          `${joiner.serverName} did not join in two steps, make_join then send_join to the same resident`,
          'make_join, then send_join, at the resident named as via',
          `${steps.map((s) => s.kind).join(', ') || 'no request'}; ${brief(answer)}`,
        );
        const [made, sent] = steps.map((s) => s.event);
        expectThat(
          made !== undefined &&
            sent !== undefined &&
            keepsTemplate(made, sent) &&
            sent.origin === joiner.serverName,
          `${joiner.serverName} did not send back the template it was given (every template member and content key kept)`,
          canonical(templatePart(made ?? {})),
          canonical(templatePart(sent ?? {})),
        );
        const signed = await checkEventSignature(sent, joiner.serverName, keys);
        expectThat(
          signed.ok,
          `${joiner.serverName} sent the join without a valid signature of its own`,
          `signatures["${joiner.serverName}"] valid under its verify_keys`,
          signed.ok ? 'valid' : signed.error.detail,
        );
      },
      { numRuns: 3 },
    );
    // As resident: make_join answers an unsigned template, which send_join then accepts.
    const resident0 = server(ctx, 0);
    const evil = await impostor(ctx, 'joiner.twostep.example');
    const roomId = await createRoom(ctx, resident0, userOn(ctx, resident0, 'alice'), 'public');
    const made = await answerOf(
      await evil.request(
        resident0.serverName,
        'GET',
        makeJoinPath(roomId, `@eve:${evil.serverName}`),
      ),
    );
    const template = z.object({ room_version: z.string(), event: jsonObject }).safeParse(made.body);
    expectThat(
      made.status === 200 &&
        template.success &&
        Object.keys(jsonObject.safeParse(template.data.event.signatures).data ?? {}).length === 0,
      `${resident0.serverName}: make_join did not answer an unsigned template with its room_version`,
      '200 {"room_version", "event": <template without signatures>}',
      brief(made),
    );
    const { answer } = await impostorJoins(
      ctx,
      evil,
      resident0.serverName,
      roomId,
      `@eve:${evil.serverName}`,
    );
    expectThat(
      answer.status === 200,
      `${resident0.serverName} refused the signed template sent back with send_join`,
      200,
      brief(answer),
    );
  },
});

export const publicRoomWithoutInvite = defineCheck({
  name: 'a server joins a public room without having been invited',
  rules: ['FED-JOIN-08'],
  profiles: ['matrix-current'],
  needs: ['impostor'],
  async run(ctx) {
    const [hs1, hs2] = [server(ctx, 0), server(ctx, 1)];
    const evil = await impostor(ctx, 'uninvited.join.example');
    await checkProperty(
      ctx,
      [fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/)],
      async (local) => {
        const roomId = await createRoom(ctx, hs1, userOn(ctx, hs1, `alice${local}`), 'public');
        // A remote server fedconn plays.
        const eve = `@${local}:${evil.serverName}`;
        const { answer } = await impostorJoins(ctx, evil, hs1.serverName, roomId, eve);
        expectThat(
          answer.status === 200,
          `${hs1.serverName} refused an uninvited join of ${eve} to a public room`,
          200,
          brief(answer),
        );
        // Control: the public join rule is what let it in.
        const closed = await createRoom(ctx, hs1, userOn(ctx, hs1, `carol${local}`), 'invite');
        const refused = await answerOf(
          await evil.request(hs1.serverName, 'GET', makeJoinPath(closed, eve)),
        );
        expectThat(
          refused.status === 403,
          `${hs1.serverName} offered an uninvited join to an invite-only room`,
          '403 M_FORBIDDEN',
          brief(refused),
        );
        // Another server of the target, through provisioning.
        const bob = userOn(ctx, hs2, `bob${local}`);
        const joined = await joinRoom(ctx, hs2, roomId, bob, hs1.serverName);
        const members = (await membersOf(ctx, hs1, roomId)) ?? {};
        expectThat(
          joined.status === 200 && members[bob] === 'join' && members[eve] === 'join',
          `${bob} could not join a public room of ${hs1.serverName} without an invite`,
          `${bob}: join and ${eve}: join`,
          `${brief(joined)}; members ${JSON.stringify(members)}`,
        );
      },
      { numRuns: 2 },
    );
  },
});
