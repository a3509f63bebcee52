// The authorization rules of room version 10 that invites, joins and leaves touch
// (room versions § "Authorization rules", v10 = v8's rules with integer-only power
// levels and knock_restricted). An event is judged against the room state before it;
// the rooms service keeps one linear state per room, so "the state before the event"
// and "the current state" are the same here (no state resolution).
//
// Not modelled, and refused rather than guessed at: third-party invites, knocking and
// restricted rooms (join_authorised_via_users_server). A power_levels change is checked
// for its shape (10a) and the sender's level for the event (8), not level by level
// (10c-e). Other events go through the generic rules (6, 8, 9).
import { fail, ok, type Failure, type Result } from '../../protocol/result.ts';
import { serverOf } from './ids.ts';

export const CREATE = 'm.room.create';
export const MEMBER = 'm.room.member';
export const JOIN_RULES = 'm.room.join_rules';
export const POWER_LEVELS = 'm.room.power_levels';

/** What the rules read of an event. */
export interface AuthEvent {
  readonly type: string;
  readonly sender: string;
  readonly state_key?: string | undefined;
  readonly content: Readonly<Record<string, unknown>>;
}

/** The room state an event is judged against: the state event for (type, state_key). */
export interface AuthState {
  get(type: string, stateKey: string): AuthEvent | undefined;
  /** True when the state holds only the create event (the creator's first join). */
  readonly onlyCreate: boolean;
}

export const AUTH_FAILURE_KINDS = [
  'create-not-allowed',
  'no-create',
  'not-federated',
  'bad-state-key',
  'bad-membership',
  'not-joined',
  'not-invited',
  'banned',
  'already-joined',
  'power-level',
  'bad-power-levels',
  'unsupported',
] as const;
export type AuthFailureKind = (typeof AUTH_FAILURE_KINDS)[number];
type Authorized = Result<void, Failure<AuthFailureKind>>;

const allowed: Authorized = ok(undefined);

const membership = (state: AuthState, user: string): unknown =>
  state.get(MEMBER, user)?.content.membership;

// Spec defaults: with a power_levels event, absent levels are 50 for state, ban, kick
// and redact and 0 for invite and events; without one, the creator has 100 and every
// level is 0 except ban, kick and redact.
function levels(state: AuthState) {
  const pl = state.get(POWER_LEVELS, '')?.content;
  const int = (value: unknown, fallback: number) =>
    typeof value === 'number' && Number.isInteger(value) ? value : fallback;
  const creator = state.get(CREATE, '')?.content.creator;
  return {
    user(userId: string): number {
      if (pl === undefined) return userId === creator ? 100 : 0;
      const users = pl.users as Readonly<Record<string, unknown>> | undefined;
      return int(users?.[userId], int(pl.users_default, 0));
    },
    invite: int(pl?.invite, 0),
    kick: int(pl?.kick, 50),
    ban: int(pl?.ban, 50),
    event(type: string, isState: boolean): number {
      const events = pl?.events as Readonly<Record<string, unknown>> | undefined;
      const fallback = isState
        ? int(pl?.state_default, pl === undefined ? 0 : 50)
        : int(pl?.events_default, 0);
      return int(events?.[type], fallback);
    },
  };
}

/** Rule 10a of v10: every level is an integer (strings such as "50" are refused). */
export function powerLevelsProblem(content: Readonly<Record<string, unknown>>): string | undefined {
  const isInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v);
  for (const key of [
    'users_default',
    'events_default',
    'state_default',
    'ban',
    'redact',
    'kick',
    'invite',
  ]) {
    if (key in content && !isInt(content[key])) return `${key} is not an integer`;
  }
  for (const key of ['events', 'users', 'notifications']) {
    const map = content[key];
    if (map === undefined) continue;
    if (typeof map !== 'object' || map === null || Array.isArray(map))
      return `${key} is not an object`;
    for (const [name, value] of Object.entries(map)) {
      if (!isInt(value)) return `${key}.${name} is not an integer`;
    }
  }
  return undefined;
}

/** Whether `event` is allowed by the v10 rules against `state` (the room state before it). */
export function authorize(state: AuthState, event: AuthEvent): Authorized {
  const create = state.get(CREATE, '');
  if (event.type === CREATE) return fail('create-not-allowed', 'the room already exists');
  if (create === undefined) return fail('no-create', 'the room has no m.room.create event');
  // Rule 4: m.federate false keeps other servers out.
  if (
    create.content['m.federate'] === false &&
    serverOf(event.sender) !== serverOf(create.sender)
  ) {
    return fail('not-federated', 'the room does not federate');
  }
  if (event.type === MEMBER) return authorizeMember(state, event, create);
  // Rule 6: everything else needs a joined sender.
  if (membership(state, event.sender) !== 'join') {
    return fail('not-joined', `${event.sender} is not joined`);
  }
  const pl = levels(state);
  const sender = pl.user(event.sender);
  // Rule 8: the event's own level.
  const needed = pl.event(event.type, event.state_key !== undefined);
  if (sender < needed) {
    return fail(
      'power-level',
      `${event.type} needs power level ${needed}, ${event.sender} has ${sender}`,
    );
  }
  // Rule 9: a state key that is a user id belongs to that user.
  if (event.state_key?.startsWith('@') === true && event.state_key !== event.sender) {
    return fail('bad-state-key', `only ${event.state_key} may send state under its own id`);
  }
  if (event.type === POWER_LEVELS) {
    const problem = powerLevelsProblem(event.content);
    if (problem !== undefined) return fail('bad-power-levels', problem);
  }
  return allowed;
}

function authorizeMember(state: AuthState, event: AuthEvent, create: AuthEvent): Authorized {
  const target = event.state_key;
  if (target === undefined || serverOf(target) === undefined) {
    return fail('bad-state-key', 'a member event needs a user id as state_key');
  }
  if ('third_party_invite' in event.content) {
    return fail('unsupported', 'third-party invites are not modelled');
  }
  const current = membership(state, target);
  const senderMembership = membership(state, event.sender);
  const pl = levels(state);
  const joinRule = state.get(JOIN_RULES, '')?.content.join_rule;
  switch (event.content.membership) {
    case 'join': {
      // 5.c.i: the creator's own first join, straight after the create event.
      if (state.onlyCreate && target === create.content.creator) return allowed;
      if (event.sender !== target) return fail('bad-state-key', 'a user joins only itself');
      if (current === 'ban') return fail('banned', `${target} is banned`);
      if (joinRule === 'public') return allowed;
      if (joinRule === 'invite' || joinRule === 'knock') {
        if (current === 'invite' || current === 'join') return allowed;
        return fail('not-invited', `${target} is not invited`);
      }
      return fail(
        'not-invited',
        `join rule ${JSON.stringify(joinRule ?? null)} does not admit ${target}`,
      );
    }
    case 'invite': {
      if (senderMembership !== 'join') return fail('not-joined', `${event.sender} is not joined`);
      if (current === 'join') return fail('already-joined', `${target} is already joined`);
      if (current === 'ban') return fail('banned', `${target} is banned`);
      if (pl.user(event.sender) < pl.invite) {
        return fail('power-level', `inviting needs power level ${pl.invite}`);
      }
      return allowed;
    }
    case 'leave': {
      if (event.sender === target) {
        if (current === 'invite' || current === 'join' || current === 'knock') return allowed;
        return fail('not-joined', `${target} is not in the room`);
      }
      if (senderMembership !== 'join') return fail('not-joined', `${event.sender} is not joined`);
      const sender = pl.user(event.sender);
      if (current === 'ban' && sender < pl.ban)
        return fail('power-level', 'unbanning needs the ban level');
      if (sender >= pl.kick && pl.user(target) < sender) return allowed;
      return fail(
        'power-level',
        `kicking ${target} needs power level ${pl.kick} and more than theirs`,
      );
    }
    case 'ban': {
      if (senderMembership !== 'join') return fail('not-joined', `${event.sender} is not joined`);
      const sender = pl.user(event.sender);
      if (sender >= pl.ban && pl.user(target) < sender) return allowed;
      return fail(
        'power-level',
        `banning ${target} needs power level ${pl.ban} and more than theirs`,
      );
    }
    case 'knock':
      return fail('unsupported', 'knocking is not modelled');
    default:
      return fail(
        'bad-membership',
        `membership ${JSON.stringify(event.content.membership ?? null)}`,
      );
  }
}
