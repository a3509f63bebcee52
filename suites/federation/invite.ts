// The invite dance (FED-INVITE): fedconn plays a server in the room, a malicious
// inviter and an inviting server, and watches what the target signs and sends.
import { redactEvent } from '../../simulator/protocol/events/redaction.ts';
import {
  narrowed,
  narrowingsOf,
  without,
  type Narrowing,
} from '../../simulator/protocol/narrowing.ts';
import fc from 'fast-check';
import { z } from 'zod';
import { checkEventSignature } from '../../simulator/protocol/events/signing.ts';
import { eventually } from '../harness/eventually.ts';
import {
  type CheckContext,
  CheckFailure,
  checkProperty,
  defineCheck,
  eachOf,
  expectThat,
} from '../harness/check.ts';
import {
  answerOf,
  brief,
  canonical,
  createRoom,
  impostor,
  idOf,
  impostorJoins,
  recordTransactions,
  invitePath,
  inviteBody,
  impostorRoomSummary,
  impostorInvite,
  inviteUser,
  jsonObject,
  memberEvent,
  membersOf,
  publishedKeys,
  recordingPeer,
  ROOM_VERSION,
  sendPath,
  server,
  signaturesOf,
  userOn,
  withoutSignatures,
  signedPart,
  differingMembers,
  type Impostor,
  type Json,
  impostorRoom,
  eventAnswer,
  stateAnswer,
} from './support.ts';

/** The impostor joins a fresh public room of `resident`'s user; returns the room id. */
async function impostorInRoom(
  ctx: CheckContext,
  evil: Impostor,
  residentIndex: number,
): Promise<{ roomId: string; creator: string; join: Json; state: Json[] }> {
  const resident = server(ctx, residentIndex);
  const creator = userOn(ctx, resident, 'alice');
  const roomId = await createRoom(ctx, resident, creator, 'public');
  const { join, answer } = await impostorJoins(
    ctx,
    evil,
    resident.serverName,
    roomId,
    `@eve:${evil.serverName}`,
  );
  expectThat(
    answer.status === 200,
    `${resident.serverName}: an honest send_join into a public room failed`,
    200,
    brief(answer),
  );
  const state = stateAnswer.safeParse(answer.body).data?.state ?? [];
  return { roomId, creator, join, state };
}

/**
 * An invite by the impostor's member `sender` that a room version 10 resident accepts:
 * its prev event is the sender's join, its auth events the selection for an invite
 * (create, power levels, join rules, the sender's membership).
 */
function inviteInRoom(
  ctx: CheckContext,
  origin: string,
  room: { readonly roomId: string; readonly join: Json; readonly state: readonly Json[] },
  invitee: string,
): Json {
  const auth = room.state.filter(
    (e) =>
      e.type === 'm.room.create' ||
      e.type === 'm.room.power_levels' ||
      e.type === 'm.room.join_rules',
  );
  return memberEvent(ctx, origin, room.roomId, String(room.join.sender), invitee, 'invite', {
    prev_events: [idOf(room.join)],
    auth_events: [...auth.map(idOf), idOf(room.join)],
    depth: (typeof room.join.depth === 'number' ? room.join.depth : 1) + 1,
  });
}

export const inviteSignedBeforeDistribution = defineCheck({
  name: 'an invite reaches the room only after, and with, the invitee server’s signature',
  rules: ['FED-INVITE-01'],
  profiles: ['matrix-current'],
  needs: ['impostor'],
  async run(ctx) {
    const inviter = server(ctx, 0);
    const inviteeServer = server(ctx, 1);
    const received: Json[] = [];
    const evil = await impostor(ctx, 'member.invite.example', recordTransactions(received));
    const { roomId, creator } = await impostorInRoom(ctx, evil, 0);
    const inviteeKeys = await publishedKeys(ctx, inviteeServer);
    await checkProperty(
      ctx,
      [fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/)],
      async (local) => {
        const invitee = userOn(ctx, inviteeServer, `bob${local}`);
        const answer = await inviteUser(ctx, inviter, roomId, creator, invitee);
        expectThat(
          answer.status === 200,
          `${inviter.serverName}: inviting ${invitee} failed`,
          200,
          brief(answer),
        );
        const invites = () =>
          received.filter(
            (e) =>
              e.type === 'm.room.member' &&
              e.state_key === invitee &&
              jsonObject.safeParse(e.content).data?.membership === 'invite',
          );
        // A real server sends the room's transaction in the background.
        await eventually(ctx, () => invites().length > 0);
        const copies = invites();
        expectThat(
          copies.length > 0,
          `${inviter.serverName} did not send the invite of ${invitee} to the other server in the room`,
          'the co-signed invite in a /send to the room',
          `${received.length} PDUs, none the invite`,
        );
        for (const copy of copies) {
          const signed = await checkEventSignature(copy, inviteeServer.serverName, inviteeKeys);
          if (!signed.ok) {
            throw new CheckFailure(
              `${inviter.serverName} sent the invite to the room without a valid signature of the invitee's server`,
              {
                expected: `signatures["${inviteeServer.serverName}"] valid under its verify_keys`,
                actual: `${JSON.stringify(signaturesOf(copy))}: ${signed.error.detail}`,
              },
            );
          }
        }
      },
      { numRuns: 2 },
    );
  },
});

export const inviteWithoutInviteeSignatureRefused = defineCheck({
  name: 'an invite lacking a valid signature of the invitee’s server is not believed',
  rules: ['FED-INVITE-02'],
  profiles: ['matrix-current'],
  needs: ['impostor'],
  async run(ctx) {
    const resident = server(ctx, 0);
    const inviteeServer = server(ctx, 1);
    const evil = await impostor(ctx, 'inviter.invite.example', recordTransactions([]));
    const room = await impostorInRoom(ctx, evil, 0);
    const [inviteeKeyId] = [...(await publishedKeys(ctx, inviteeServer)).keys()];
    const send = async (pdu: Json) => {
      const answer = await answerOf(
        await evil.request(resident.serverName, 'PUT', sendPath(`inv${idOf(pdu).slice(1, 20)}`), {
          origin: evil.serverName,
          origin_server_ts: ctx.instance.clock.now(),
          pdus: [pdu],
        }),
      );
      const parsed = z
        .object({ pdus: z.record(z.string(), z.object({ error: z.string().optional() })) })
        .safeParse(answer.body);
      expectThat(
        answer.status === 200 && parsed.success,
        `${resident.serverName}: /send did not answer 200 {"pdus": {...}}`,
        '200 {"pdus": {...}}',
        brief(answer),
      );
      return parsed.data.pdus[idOf(pdu)];
    };
    /** The invitee server's co-signature of `event`, asked for honestly with /invite. */
    const coSigned = async (event: Json): Promise<Json> => {
      const answer = await answerOf(
        await evil.request(
          inviteeServer.serverName,
          'PUT',
          invitePath(room.roomId, idOf(event)),
          inviteBody(
            event,
            room.state.filter((e) => e.type === 'm.room.create'),
          ),
        ),
      );
      const returned = eventAnswer.safeParse(answer.body).data?.event;
      expectThat(
        answer.status === 200 && returned !== undefined,
        `${inviteeServer.serverName} did not co-sign a genuine invite of its user`,
        '200 {"event": <co-signed>}',
        brief(answer),
      );
      return returned;
    };
    // Control: an invite with both signatures is believed, so a refusal below is about
    // the missing signature and not about the event.
    const control = userOn(ctx, inviteeServer, 'control');
    const genuine = await coSigned(
      await evil.signEvent(inviteInRoom(ctx, evil.serverName, room, control)),
    );
    await send(genuine);
    let members: Record<string, string> = {};
    const believed = await eventually(ctx, async () => {
      members = (await membersOf(ctx, resident, room.roomId)) ?? {};
      return members[control] === 'invite';
    });
    expectThat(
      believed,
      `${resident.serverName} did not take a genuine invite, signed by the inviting and the invited server, into the room`,
      `${control}: invite`,
      members,
    );
    type Forgery = 'inviter only' | 'forged invitee signature' | 'lifted invitee signature';
    await checkProperty(
      ctx,
      [
        eachOf<Forgery>('inviter only', 'forged invitee signature', 'lifted invitee signature'),
        fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/),
      ],
      async (forgery, local) => {
        const invitee = userOn(ctx, inviteeServer, `bob${local}`);
        const onlyInviter = await evil.signEvent(inviteInRoom(ctx, evil.serverName, room, invitee));
        let pdu: Json = onlyInviter;
        if (forgery === 'forged invitee signature') {
          // Signed with the impostor's key under the invitee server's name and key id.
          const forged = await evil.signEvent(withoutSignatures(onlyInviter), {
            keyId: inviteeKeyId ?? 'ed25519:1',
            pair: evil.key.pair,
          });
          pdu = {
            ...onlyInviter,
            signatures: {
              ...onlyInviter.signatures,
              [inviteeServer.serverName]: forged.signatures[evil.serverName] ?? {},
            },
          };
        } else if (forgery === 'lifted invitee signature') {
          // A genuine signature of the invitee's server, over another invite.
          const other = await coSigned(
            await evil.signEvent(inviteInRoom(ctx, evil.serverName, room, invitee)),
          );
          const lifted = signaturesOf(other)[inviteeServer.serverName];
          pdu = {
            ...onlyInviter,
            signatures: { ...onlyInviter.signatures, [inviteeServer.serverName]: lifted ?? {} },
          };
        }
        const outcome = await send(pdu);
        const after = (await membersOf(ctx, resident, room.roomId)) ?? {};
        // Not believed is what the rule asks; saying why in the /send answer is courtesy.
        expectThat(
          after[invitee] === undefined,
          `${resident.serverName} believed an invite of ${invitee} without a valid signature of ${inviteeServer.serverName} (${forgery})`,
          'no invite recorded',
          { outcome, membership: after[invitee] },
        );
        if (outcome?.error === undefined) {
          ctx.note('a refused invite PDU was answered without an error in the /send result');
        }
      },
      { numRuns: 4 },
    );
  },
});

/**
 * Defects the spec does not list among the invited server's checks: a server that signs
 * these is noted, not failed (fedconn's reference refuses them too).
 */
const PATH_DEFECTS: Record<string, Defect> = {
  'room_id differs from the path': (e) => ({ event: e, room: `!other:${String(e.origin)}` }),
  'event id differs from the path': (e) => ({
    event: e,
    eventId: '$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  }),
};

type Defect = (
  e: Json,
  names: { readonly other: string; readonly invitee: string },
) => {
  event: Json;
  room?: string;
  eventId?: string;
  sign?: boolean;
  breakAfter?: boolean;
  /** Signed by the impostor's key over the wrong fields of the redacted event. */
  narrowing?: Narrowing;
};

/** What a room version 10 member event's signature covers: its redacted form. */
const SIGNED_EVENT_FIELDS = [
  'type',
  'room_id',
  'sender',
  'state_key',
  'origin',
  'origin_server_ts',
  'depth',
  'content.membership',
  'prev_events',
  'auth_events',
  'hashes',
];

const INVITE_DEFECTS: Record<string, Defect> = {
  'not a member event': (e) => ({ event: { ...e, type: 'm.room.message' } }),
  'membership join': (e) => ({ event: { ...e, content: { membership: 'join' } } }),
  'membership leave': (e) => ({ event: { ...e, content: { membership: 'leave' } } }),
  'no membership': (e) => ({ event: { ...e, content: {} } }),
  'sender on another server': (e, n) => ({ event: { ...e, sender: n.other } }),
  'state_key on another server': (e, n) => ({ event: { ...e, state_key: n.other } }),
  'state_key not a user': (e) => ({ event: { ...e, state_key: 'bob' } }),
  unsigned: (e) => ({ event: e, sign: false }),
  'depth changed after signing': (e) => ({ event: e, breakAfter: true }),

  'not an event': () => ({ event: { hello: 'world' } }),
  // The right key over the wrong fields (simulator/protocol/narrowing.ts).
  ...Object.fromEntries(
    narrowingsOf(SIGNED_EVENT_FIELDS).map((n): [string, Defect] => [
      `signed over the wrong fields (${n})`,
      (e) => ({ event: e, narrowing: n }),
    ]),
  ),
};

export const onlyGenuineInvitesSigned = defineCheck({
  name: 'the invited server refuses malformed invites (400 M_INVALID_PARAM) and signs none',
  rules: ['FED-INVITE-03'],
  profiles: ['matrix-current'],
  needs: ['impostor'],
  async run(ctx) {
    const invited = server(ctx, 0);
    const evil = await impostor(ctx, 'malformed.invite.example');
    const eve = `@eve:${evil.serverName}`;
    const room = impostorRoom(ctx, evil.serverName);
    const other = userOn(ctx, server(ctx, ctx.instance.servers.length > 1 ? 1 : 0), 'carol');
    await checkProperty(
      ctx,
      [eachOf(...Object.keys(INVITE_DEFECTS), ...Object.keys(PATH_DEFECTS))],
      async (name) => {
        const invitee = userOn(ctx, invited, 'bob');
        const base = memberEvent(ctx, evil.serverName, room, eve, invitee, 'invite');
        const fallback: Defect = () => ({ event: base });
        const judged = name in INVITE_DEFECTS;
        const defect = (INVITE_DEFECTS[name] ?? PATH_DEFECTS[name] ?? fallback)(base, {
          other: other === invitee ? `@carol:elsewhere.example` : other,
          invitee,
        });
        let event: Json = defect.event;
        if (defect.sign !== false) event = await evil.signEvent(event);
        if (defect.narrowing !== undefined) {
          const hashed = without(event, 'signatures') as Json;
          const partial = await evil.sign(narrowed(redactEvent(hashed), defect.narrowing));
          event = { ...hashed, signatures: partial.signatures };
        }
        // depth is kept by redaction, so the signature no longer verifies.
        if (defect.breakAfter === true) event = { ...event, depth: 6 };
        const answer = await answerOf(
          await evil.request(
            invited.serverName,
            'PUT',
            invitePath(defect.room ?? room, defect.eventId ?? idOf(event)),
            inviteBody(event, await impostorRoomSummary(evil, room, eve)),
          ),
        );
        const body = jsonObject.safeParse(answer.body).data ?? {};
        if (!judged) {
          if (answer.status === 200) ctx.note(`signed an invite whose ${name}`);
          return;
        }
        // MUST NOT sign it; SHOULD say so with 400 M_INVALID_PARAM, which is noted.
        expectThat(
          (answer.status < 200 || answer.status >= 300) && !('event' in body),
          `${invited.serverName} did not refuse an invite with a defect: ${name}`,
          'refused (400 M_INVALID_PARAM), no signed event',
          brief(answer),
        );
        if (answer.status !== 400 || body.errcode !== 'M_INVALID_PARAM') {
          ctx.note(
            `refused with ${answer.status} ${String(body.errcode)} where the spec says it SHOULD be 400 M_INVALID_PARAM (${name})`,
          );
        }
      },
      { numRuns: 6 },
    );
  },
});

const extraMembers = fc.record({
  displayname: fc.string({ maxLength: 12 }),
  reason: fc.string({ maxLength: 12 }),
  extra: fc.oneof(fc.integer(), fc.boolean(), fc.array(fc.integer(), { maxLength: 3 })),
});

export const inviteReturnedUntouched = defineCheck({
  name: 'the invited server returns the invite untouched apart from its added signature',
  rules: ['FED-INVITE-04'],
  profiles: ['matrix-current'],
  needs: ['impostor'],
  async run(ctx) {
    const invited = server(ctx, 0);
    const evil = await impostor(ctx, 'genuine.invite.example');
    const eve = `@eve:${evil.serverName}`;
    const room = impostorRoom(ctx, evil.serverName);
    const keys = await publishedKeys(ctx, invited);
    await checkProperty(
      ctx,
      [extraMembers],
      async ({ displayname, reason, extra }) => {
        const invitee = userOn(ctx, invited, 'bob');
        const event = await evil.signEvent(
          memberEvent(ctx, evil.serverName, room, eve, invitee, 'invite', {
            content: { membership: 'invite', displayname, reason },
            unknown_member: extra,
          }),
        );
        const answer = await impostorInvite(evil, invited.serverName, event);
        const returned = eventAnswer.safeParse(answer.body);
        expectThat(
          answer.status === 200 && returned.success,
          `${invited.serverName} refused a genuine invite`,
          '200 {"event": ...}',
          brief(answer),
        );
        const changed = differingMembers(signedPart(event), signedPart(returned.data.event));
        expectThat(
          Object.keys(changed.expected).length + Object.keys(changed.actual).length === 0,
          `${invited.serverName} changed the invite beyond adding a signature (the members that differ)`,
          changed.expected,
          changed.actual,
        );
        const signatures = signaturesOf(returned.data.event);
        expectThat(
          canonical(signatures[evil.serverName]) === canonical(event.signatures[evil.serverName]),
          `${invited.serverName} dropped or changed the inviter's signature`,
          event.signatures,
          signatures,
        );
        const own = await checkEventSignature(returned.data.event, invited.serverName, keys);
        expectThat(
          own.ok,
          `${invited.serverName} returned the invite without a valid signature of its own`,
          `a valid signature under signatures["${invited.serverName}"]`,
          own.ok ? 'valid' : own.error.detail,
        );
      },
      { numRuns: 3 },
    );
  },
});

export const reinviteSupported = defineCheck({
  name: 'an invite can be repeated and renewed: the invited server signs again, the inviting server sends again',
  rules: ['FED-INVITE-05'],
  profiles: ['matrix-current'],
  needs: ['impostor'],
  async run(ctx) {
    const target = server(ctx, 0);
    const evil = await impostor(ctx, 'again.invite.example');
    const { peer, received } = await recordingPeer(ctx, 'forgetful.invite.example');
    const eve = `@eve:${evil.serverName}`;
    const keys = await publishedKeys(ctx, target);
    await checkProperty(
      ctx,
      [fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/)],
      async (local) => {
        // As the invited server: the same invite twice, then a new one for the same user.
        const room = impostorRoom(ctx, evil.serverName, local);
        const invitee = userOn(ctx, target, `bob${local}`);
        const send = (event: Json) => impostorInvite(evil, target.serverName, event);
        const first = await evil.signEvent(
          memberEvent(ctx, evil.serverName, room, eve, invitee, 'invite'),
        );
        const renewed = await evil.signEvent(
          memberEvent(ctx, evil.serverName, room, eve, invitee, 'invite'),
        );
        for (const [what, event] of [
          ['the invite', first],
          ['the same invite again', first],
          ['a new invite of the same user', renewed],
        ] as const) {
          const answer = await send(event);
          const returned = eventAnswer.safeParse(answer.body).data?.event;
          const signed =
            returned === undefined
              ? undefined
              : await checkEventSignature(returned, target.serverName, keys);
          expectThat(
            answer.status === 200 && signed?.ok === true,
            `${target.serverName} did not sign ${what} (${invitee})`,
            '200 {"event": <signed by the invited server>}',
            brief(answer),
          );
        }
        // As the inviting server: the invitee's server forgot, so the user is invited again.
        const alice = userOn(ctx, target, `alice${local}`);
        const roomId = await createRoom(ctx, target, alice, 'invite');
        const bob = `@${local}:${peer.serverName}`;
        for (const attempt of ['first', 'second']) {
          const before = received.length;
          const answer = await inviteUser(ctx, target, roomId, alice, bob);
          const sent = received
            .slice(before)
            .filter((r) => r.method === 'PUT' && r.uri.includes('/invite/'));
          expectThat(
            answer.status === 200 && sent.length === 1,
            `${target.serverName} did not send the ${attempt} invite of ${bob} to ${peer.serverName}`,
            'the invite answered 200, one PUT /invite to the invitee’s server',
            `${brief(answer)}; ${sent.length} PUT /invite`,
          );
        }
      },
      { numRuns: 2 },
    );
  },
});

export const inviteSummaryHasCreate = defineCheck({
  name: 'an invite’s room summary, when sent, includes the room’s m.room.create event',
  rules: ['FED-INVITE-06'],
  profiles: ['matrix-current'],
  needs: ['impostor'],
  async run(ctx) {
    const target = server(ctx, 0);
    const { peer, received } = await recordingPeer(ctx, 'summary.invite.example');
    const evil = await impostor(ctx, 'summarised.invite.example');
    const keys = await publishedKeys(ctx, target);
    await checkProperty(
      ctx,
      [eachOf('public' as const, 'invite' as const), fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/)],
      async (joinRule, local) => {
        const alice = userOn(ctx, target, `alice${local}`);
        const roomId = await createRoom(ctx, target, alice, joinRule);
        const before = received.length;
        const answer = await inviteUser(ctx, target, roomId, alice, `@${local}:${peer.serverName}`);
        const invites = received
          .slice(before)
          .filter((r) => r.method === 'PUT' && r.uri.includes('/invite/'));
        expectThat(
          answer.status === 200 && invites.length > 0,
          `${target.serverName} did not send the invite to ${peer.serverName}`,
          'a PUT /invite',
          brief(answer),
        );
        // As the invited server: an invite is accepted with a summary and without one.
        const eve = `@eve:${evil.serverName}`;
        const room = impostorRoom(ctx, evil.serverName, local);
        const create = await evil.signEvent({
          ...memberEvent(ctx, evil.serverName, room, eve, eve, 'join'),
          type: 'm.room.create',
          state_key: '',
          content: { creator: eve, room_version: ROOM_VERSION },
        });
        for (const withSummary of [true, false]) {
          const event = await evil.signEvent(
            memberEvent(
              ctx,
              evil.serverName,
              room,
              eve,
              userOn(ctx, target, `bob${local}`),
              'invite',
            ),
          );
          const got = await answerOf(
            await evil.request(target.serverName, 'PUT', invitePath(room, idOf(event)), {
              room_version: ROOM_VERSION,
              event,
              ...(withSummary ? { invite_room_state: [create] } : {}),
            }),
          );
          expectThat(
            got.status === 200,
            `${target.serverName} refused a genuine invite ${withSummary ? 'with' : 'without'} a room summary`,
            200,
            brief(got),
          );
        }
        for (const invite of invites) {
          const summary = jsonObject.safeParse(invite.content).data?.invite_room_state;
          // The summary is optional (MAY); only a summary that is sent is judged.
          if (summary === undefined) continue;
          const entries = z.array(jsonObject).safeParse(summary).data ?? [];
          const create = entries.find((e) => e.type === 'm.room.create');
          const valid =
            create !== undefined &&
            create.room_id === roomId &&
            (await checkEventSignature(create, target.serverName, keys)).ok;
          expectThat(
            valid,
            `${target.serverName} sent invite_room_state without this room's m.room.create event`,
            `the m.room.create event of ${roomId}, signed by ${target.serverName}`,
            summary,
          );
        }
      },
      { numRuns: 3 },
    );
  },
});
