// A server's rooms: the events it holds, the current state of each room it is in,
// and the invites its users received for rooms it is not in. All of it lives in
// Tables, so the observer sees every event a server stored.
//
// State is "last accepted event wins" per (type, state_key): there is no state
// resolution, which is enough for the invite/join dance and says nothing about
// concurrent state changes (out of scope).
import type { Rng } from '../../protocol/crypto/rng.ts';
import { fail, ok, type Failure, type Result } from '../../protocol/result.ts';
import type { HomeserverContext } from '../../homeserver/context.ts';
import { Table } from '../../net/store.ts';
import {
  CREATE,
  JOIN_RULES,
  MEMBER,
  membershipOf,
  ROOM_VERSION,
  type JoinRule,
  type Membership,
  type Pdu,
} from './events.ts';
import { newId, serverOf } from './ids.ts';

export interface RoomRow {
  readonly room_id: string;
  readonly room_version: string;
  /** JSON [type, state_key] -> event_id */
  readonly state: Readonly<Record<string, string>>;
  /** The latest event(s): the prev_events of the next event this server creates. */
  readonly extremities: readonly string[];
  readonly depth: number;
}

export interface InviteRow {
  readonly room_id: string;
  readonly user_id: string;
  readonly room_version: string;
  /** The invite as this server signed and returned it. */
  readonly event: Pdu;
  readonly invite_room_state?: readonly unknown[];
  /** The server that sent the invite, a resident to join through. */
  readonly via: string;
}

const stateKey = (type: string, key: string): string => JSON.stringify([type, key]);

export type AuthFailureKind =
  | 'create-not-allowed'
  | 'not-joined'
  | 'not-invited'
  | 'already-joined'
  | 'bad-state-key'
  | 'bad-membership'
  | 'not-creator';

export interface NewEvent {
  readonly type: string;
  readonly sender: string;
  readonly state_key?: string;
  readonly content: Readonly<Record<string, unknown>>;
}

export class RoomStore {
  readonly rooms: Table<RoomRow>;
  readonly events: Table<Pdu>;
  readonly invites: Table<InviteRow>;

  constructor(
    private readonly ctx: HomeserverContext,
    private readonly ids: Rng,
  ) {
    this.rooms = new Table('rooms', ctx.recorder);
    this.events = new Table('room_events', ctx.recorder);
    this.invites = new Table('room_invites', ctx.recorder);
  }

  get serverName(): string {
    return this.ctx.config.serverName;
  }

  newEventId(): string {
    return newId('$', this.ids, this.serverName);
  }

  newRoomId(): string {
    return newId('!', this.ids, this.serverName);
  }

  room(roomId: string): RoomRow | undefined {
    return this.rooms.get(roomId);
  }

  stateEvent(room: RoomRow, type: string, key: string): Pdu | undefined {
    const id = room.state[stateKey(type, key)];
    return id === undefined ? undefined : this.events.get(id);
  }

  /** The current state as events, in a stable order (by type, then state_key). */
  stateEvents(room: RoomRow): Pdu[] {
    return Object.keys(room.state)
      .sort()
      .flatMap((k) => {
        const id = room.state[k];
        const event = id === undefined ? undefined : this.events.get(id);
        return event === undefined ? [] : [event];
      });
  }

  membership(room: RoomRow, userId: string): Membership | undefined {
    const m = this.stateEvent(room, MEMBER, userId);
    const value = m === undefined ? undefined : membershipOf(m);
    return value === 'invite' || value === 'join' || value === 'leave' ? value : undefined;
  }

  members(room: RoomRow): Record<string, Membership> {
    const out: Record<string, Membership> = {};
    for (const event of this.stateEvents(room)) {
      const membership = membershipOf(event);
      if (
        event.type === MEMBER &&
        event.state_key !== undefined &&
        (membership === 'invite' || membership === 'join' || membership === 'leave')
      ) {
        out[event.state_key] = membership;
      }
    }
    return out;
  }

  /** Servers with at least one joined member: the ones events are sent to. */
  serversInRoom(room: RoomRow): string[] {
    const servers = new Set<string>();
    for (const [user, membership] of Object.entries(this.members(room))) {
      const server = serverOf(user);
      if (membership === 'join' && server !== undefined) servers.add(server);
    }
    return [...servers].sort();
  }

  joinRule(room: RoomRow): JoinRule {
    const rule = this.stateEvent(room, JOIN_RULES, '')?.content.join_rule;
    return rule === 'public' ? 'public' : 'invite';
  }

  /**
   * The simulator's auth rules, a small subset of Matrix's:
   * - m.room.create only starts a room, never arrives later;
   * - join: sender == state_key, and the room is public or the user is invited or joined;
   * - invite: the sender is joined and the target is not;
   * - leave: sender == state_key and the user is invited or joined;
   * - m.room.join_rules: only the room's creator, while joined;
   * - anything else: the sender is joined.
   */
  authorize(room: RoomRow, event: Pdu): Result<void, Failure<AuthFailureKind>> {
    if (event.type === CREATE) return fail('create-not-allowed', 'the room already exists');
    if (event.type === MEMBER) {
      const target = event.state_key;
      if (target === undefined || serverOf(target) === undefined) {
        return fail('bad-state-key', 'a member event needs a user id as state_key');
      }
      const current = this.membership(room, target);
      switch (membershipOf(event)) {
        case 'join':
          if (event.sender !== target) return fail('bad-state-key', 'sender must join itself');
          if (this.joinRule(room) === 'public' || current === 'invite' || current === 'join') {
            return ok(undefined);
          }
          return fail('not-invited', `${target} is not invited to ${room.room_id}`);
        case 'invite':
          if (this.membership(room, event.sender) !== 'join') {
            return fail('not-joined', `${event.sender} is not in ${room.room_id}`);
          }
          if (current === 'join') return fail('already-joined', `${target} is already joined`);
          return ok(undefined);
        case 'leave':
          if (event.sender !== target) return fail('bad-state-key', 'kicks are not modelled');
          if (current === 'invite' || current === 'join') return ok(undefined);
          return fail('not-joined', `${target} is not in ${room.room_id}`);
        default:
          return fail('bad-membership', `membership ${JSON.stringify(membershipOf(event))}`);
      }
    }
    if (this.membership(room, event.sender) !== 'join') {
      return fail('not-joined', `${event.sender} is not in ${room.room_id}`);
    }
    if (event.type === JOIN_RULES) {
      const create = this.stateEvent(room, CREATE, '');
      if (create?.sender !== event.sender) {
        return fail('not-creator', 'only the creator changes the join rules');
      }
    }
    return ok(undefined);
  }

  /** The auth_events of a new event: create, join rules, and the memberships involved. */
  authEventsFor(room: RoomRow, event: NewEvent): string[] {
    const wanted: [string, string][] = [
      [CREATE, ''],
      [JOIN_RULES, ''],
      [MEMBER, event.sender],
    ];
    if (event.type === MEMBER && event.state_key !== undefined) {
      wanted.push([MEMBER, event.state_key]);
    }
    const ids = wanted.flatMap(([t, k]) => {
      const id = room.state[stateKey(t, k)];
      return id === undefined ? [] : [id];
    });
    return [...new Set(ids)];
  }

  /** An unsigned event created by this server on top of `room`. */
  build(room: RoomRow, event: NewEvent, eventId: string = this.newEventId()): Pdu {
    return {
      event_id: eventId,
      room_id: room.room_id,
      type: event.type,
      ...(event.state_key === undefined ? {} : { state_key: event.state_key }),
      sender: event.sender,
      origin: this.serverName,
      origin_server_ts: this.ctx.clock.now(),
      content: { ...event.content },
      prev_events: [...room.extremities],
      auth_events: this.authEventsFor(room, event),
      depth: room.depth + 1,
    };
  }

  /** Stores an accepted event and moves the room's state and extremities forward. */
  apply(room: RoomRow, event: Pdu): RoomRow {
    this.events.put(event.event_id, event);
    const next: RoomRow = {
      ...room,
      state:
        event.state_key === undefined
          ? room.state
          : { ...room.state, [stateKey(event.type, event.state_key)]: event.event_id },
      extremities: [event.event_id],
      depth: Math.max(room.depth, event.depth),
    };
    this.rooms.put(room.room_id, next);
    return next;
  }

  /** Starts a room from its create event (stored as is). */
  start(create: Pdu, roomVersion: string = ROOM_VERSION): RoomRow {
    const empty: RoomRow = {
      room_id: create.room_id,
      room_version: roomVersion,
      state: {},
      extremities: [],
      depth: 0,
    };
    return this.apply(empty, create);
  }

  /** Installs a room known from a send_join answer: its state, then our join. */
  adopt(
    roomId: string,
    roomVersion: string,
    state: readonly Pdu[],
    extra: readonly Pdu[],
  ): RoomRow {
    for (const event of extra) this.events.put(event.event_id, event);
    let room: RoomRow = {
      room_id: roomId,
      room_version: roomVersion,
      state: {},
      extremities: [],
      depth: 0,
    };
    for (const event of state) {
      this.events.put(event.event_id, event);
      if (event.state_key !== undefined) {
        room = {
          ...room,
          state: { ...room.state, [stateKey(event.type, event.state_key)]: event.event_id },
          depth: Math.max(room.depth, event.depth),
        };
      }
    }
    this.rooms.put(roomId, room);
    return room;
  }

  /** Every event reachable through auth_events from `events`, excluding them. */
  authChain(events: readonly Pdu[]): Pdu[] {
    const start = new Set(events.map((e) => e.event_id));
    const seen = new Set<string>();
    const chain: Pdu[] = [];
    const queue = events.flatMap((e) => e.auth_events);
    while (queue.length > 0) {
      const id = queue.shift();
      if (id === undefined || seen.has(id)) continue;
      seen.add(id);
      const event = this.events.get(id);
      if (event === undefined) continue;
      if (!start.has(id)) chain.push(event);
      queue.push(...event.auth_events);
    }
    return chain.sort((a, b) => a.depth - b.depth || (a.event_id < b.event_id ? -1 : 1));
  }

  inviteKey(roomId: string, userId: string): string {
    return JSON.stringify([roomId, userId]);
  }
}
