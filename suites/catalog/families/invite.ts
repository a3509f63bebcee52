// Part 3: the invite/join dance (Matrix SPEC-30 and today's federation API).
import { defineFamily } from '../define.ts';

const MATRIX = ['matrix-2014', 'matrix-current'] as const;
const CURRENT = ['matrix-current'] as const;

export const FED_INVITE = defineFamily(
  'FED-INVITE',
  {
    title: 'Invites',
    part: 'invite',
    summary:
      'The invitee’s server signs the invite before the room sees it, and an invite without that signature is not believed.',
  },
  {
    'FED-INVITE-01': {
      level: 'MUST',
      roomVersions: ['10'],
      roles: ['FED'],
      profiles: MATRIX,
      sources: [
        { doc: 'seed-spec-30', section: 'Current suggestion; Model steps 1-3' },
        { doc: 'matrix-ss-api', section: 'Inviting to a room' },
      ],
      statement:
        'The inviting server sends the invite event to the invitee’s server first; the invitee’s server signs it and returns it, and only then is it sent to the other servers in the room.',
      checkedBy:
        'The transport order of /invite and the distribution to the room; the distributed event must carry the invitee server’s signature. Mutant: distribute before the invitee signs.',
    },
    'FED-INVITE-02': {
      level: 'MUST',
      roomVersions: ['10'],
      roles: ['FED'],
      profiles: MATRIX,
      sources: [{ doc: 'seed-spec-30', section: 'Problems/attacks (1)' }],
      statement:
        'A server that claims to have invited a user without the invitee server’s signature on the invite is not believed: the invite is refused.',
      checkedBy:
        'fedconn as a malicious inviting server presents an invite lacking or forging the invitee’s signature. Mutant: accept invites signed by the inviter only.',
    },
    'FED-INVITE-03': {
      level: 'MUST',
      roomVersions: ['10'],
      roles: ['FED'],
      profiles: CURRENT,
      sources: [{ doc: 'matrix-ss-api', section: 'Inviting to a room (invited server checks)' }],
      statement:
        'The invited server signs only genuine invites: an event that is not m.room.member, whose membership is not invite, whose sender is not on the origin server, whose state_key is not on the receiving server, or whose signature fails, is refused and not signed (the spec says the refusal SHOULD be 400 M_INVALID_PARAM).',
      checkedBy:
        'fedconn sends generated malformed invites; each must be refused and none may come back signed. A refusal other than 400 M_INVALID_PARAM (the SHOULD) is noted beside the verdict, as is a signed invite whose room or event id differs from the path (not among the spec’s checks). Among the defects: invites signed by the impostor’s key over the wrong fields of the redacted event (each of type, room_id, sender, state_key, origin, origin_server_ts, depth, content.membership, prev_events, auth_events and hashes left out or renamed, one extra field). Mutants: sign whatever arrives; also take an event signature that leaves the content hash out (FED-INVITE-03/verifies-event-without-hashes).',
    },
    'FED-INVITE-04': {
      level: 'MUST',
      roomVersions: ['10'],
      roles: ['FED'],
      profiles: CURRENT,
      sources: [{ doc: 'matrix-ss-api', section: 'Inviting to a room' }],
      statement:
        'The invited server returns the invite event with all other fields untouched, adding only its signature.',
      checkedBy:
        'Compare the returned event with the sent one, ignoring the added signature. Mutant: the invitee rewrites content.',
    },
    'FED-INVITE-05': {
      level: 'SHOULD',
      roomVersions: ['10'],
      roles: ['FED'],
      profiles: MATRIX,
      sources: [
        { doc: 'seed-spec-30', section: 'Problems/attacks (3)' },
        { doc: 'matrix-ss-api', section: 'Inviting to a room (idempotence)' },
      ],
      statement:
        'Re-invites are supported and a repeated invite is handled idempotently, so an invitee that forgot an invite can be invited again.',
      checkedBy:
        'As inviter, fedconn sends the target the same invite twice and then a fresh one for the same user: each is signed. As invitee’s server that forgot, it has the target invite its user twice: each invite is sent. Mutant: refuse a second invite (FED-INVITE-05/refuse-reinvite).',
    },
    'FED-INVITE-06': {
      level: 'MAY',
      roomVersions: ['10'],
      roles: ['FED'],
      profiles: MATRIX,
      sources: [
        { doc: 'seed-spec-30', section: 'Possible Answers (1)' },
        { doc: 'matrix-ss-api', section: 'Inviting to a room (invite_room_state)' },
      ],
      statement:
        'An invite may carry a summary of the room state so the invitee can show it; today, when present, it includes the m.room.create event.',
      checkedBy:
        'Invites from an impostor with and without room state must both be accepted; the invites the target sends, when they carry a summary, must include the room’s m.room.create event signed by its creator. Mutant: send a summary without the create event (FED-INVITE-06/summary-without-create).',
    },
  },
);

export const FED_JOIN = defineFamily(
  'FED-JOIN',
  {
    title: 'Joins',
    part: 'invite',
    summary:
      'Joining is two steps, make_join then send_join, and the room state comes back only once the join was accepted.',
  },
  {
    'FED-JOIN-01': {
      level: 'MUST',
      roomVersions: ['10'],
      roles: ['FED'],
      profiles: MATRIX,
      sources: [
        { doc: 'seed-spec-30', section: 'Two step join process' },
        { doc: 'matrix-ss-api', section: 'Joining Rooms' },
      ],
      statement:
        'A join takes two steps: the resident server returns an unsigned join template, the joining server signs it and sends it back to the same resident server.',
      checkedBy:
        'The target joins through an impostor resident whose templates carry generated depth and prev_events: make_join then send_join must reach that resident, with the template sent back unchanged but for origin, origin_server_ts and the content hash, signed by the target (over the redacted event, as v10 signs); as resident, the target’s make_join answers an unsigned template that its send_join accepts. Mutant: build the join without a template (FED-JOIN-01/skip-make-join).',
    },
    'FED-JOIN-02': {
      level: 'MUST',
      roomVersions: ['10'],
      roles: ['FED'],
      profiles: CURRENT,
      sources: [{ doc: 'matrix-ss-api', section: 'Joining Rooms (template checks)' }],
      statement:
        'Before signing, the joining server checks the template: room_id equals the room asked for, sender and state_key equal the joining user, type is m.room.member and membership is join; otherwise it discards the template.',
      checkedBy:
        'fedconn as a malicious resident serves generated bad templates; the target must not sign or send any of them. Mutant: sign the template unchecked.',
    },
    'FED-JOIN-03': {
      level: 'MUST',
      roomVersions: ['10'],
      roles: ['FED'],
      profiles: MATRIX,
      sources: [
        { doc: 'seed-spec-30', section: 'Two step join process' },
        { doc: 'matrix-ss-api', section: 'Joining Rooms (send_join response)' },
      ],
      statement:
        'The resident server returns the room state in the send_join response only after it has accepted the join event, and the state is the state before the join.',
      checkedBy:
        'The observer records that the join was persisted before the response; a refused join returns no state. Mutant: return state before processing.',
    },
    'FED-JOIN-04': {
      level: 'MUST',
      roomVersions: ['10'],
      roles: ['FED'],
      profiles: CURRENT,
      sources: [{ doc: 'matrix-ss-api', section: 'Joining Rooms (resident checks)' }],
      statement:
        'The resident server validates the event sent to send_join (signature, type m.room.member, membership join, sender on the origin server, state_key equal to sender) and refuses it otherwise.',
      checkedBy:
        'fedconn as a joining server sends generated bad joins; none may be accepted. Mutant: accept non-join events.',
    },
    'FED-JOIN-05': {
      level: 'MUST',
      roomVersions: ['10'],
      roles: ['FED'],
      profiles: MATRIX,
      sources: [
        {
          doc: 'matrix-practice',
          section: 'sytest 30room-join "rejects remote attempts to join local users"',
        },
      ],
      statement: 'make_join for a user who is not on the requesting origin server is refused.',
      checkedBy:
        'Request a template for a user of another server. Mutant: serve any user’s template.',
    },
    'FED-JOIN-06': {
      level: 'MUST',
      roomVersions: ['10'],
      roles: ['FED'],
      profiles: MATRIX,
      sources: [
        { doc: 'seed-spec-30', section: 'Trust (attack 1)' },
        { doc: 'matrix-ss-api', section: 'Joining Rooms' },
      ],
      statement:
        'The resident server sends an accepted join event to the other servers in the room.',
      checkedBy:
        'Three-server rooms; the third server’s view must receive the join. Mutant: resident keeps the join to itself.',
    },
    'FED-JOIN-07': {
      level: 'MUST',
      roomVersions: ['10'],
      roles: ['FED'],
      profiles: MATRIX,
      sources: [
        { doc: 'seed-spec-30', section: 'Trust (attack 2)' },
        {
          doc: 'matrix-practice',
          section: 'sytest "rejects send_join responses with no m.room.create event"',
        },
      ],
      statement:
        'The joining server validates the state it is given (signatures, the create event present, auth chain consistent) and does not accept a state that fails validation.',
      checkedBy:
        'fedconn as a lying resident returns state without the create event or with forged events. Mutant: trust the returned state blindly.',
      note: 'A resident that omits state of other servers cannot be detected from the response alone (SPEC-30 trust attack 2); the suite checks only what is detectable.',
    },
    'FED-JOIN-08': {
      level: 'MAY',
      roomVersions: ['10'],
      roles: ['FED'],
      profiles: MATRIX,
      sources: [{ doc: 'seed-spec-30', section: 'Model (public rooms)' }],
      statement: 'A server may join a public room without having been invited.',
      checkedBy:
        'An impostor and another target server join a public room hosted by the target without an invite; both must succeed, and make_join for an invite-only room must not. Mutant: require invites for public rooms (FED-JOIN-08/invite-required-for-public-rooms).',
    },
  },
);
