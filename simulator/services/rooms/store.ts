// A server's rooms: the events it holds, the current state of each room it is in,
// and the invites its users received for rooms it is not in. All of it lives in
// Tables, so the observer sees every event a server stored.
//
// State is "last accepted event wins" per (type, state_key): there is no state
// resolution, which is enough for the invite/join dance and says nothing about
// concurrent state changes (out of scope).
import type { Rng } from '../../protocol/crypto/rng.ts';
import type { Failure, Result } from '../../protocol/result.ts';
import type { HomeserverContext } from '../../homeserver/context.ts';
import { Table } from '../../net/store.ts';
import { authorize, POWER_LEVELS, type AuthFailureKind } from './auth-rules.ts';
import {
  CREATE,
  eventId,
  JOIN_RULES,
  MEMBER,
  membershipOf,
  ROOM_VERSION,
  type JoinRule,
  type Pdu,
  type UnsignedPdu,
} from './events.ts';
import { newRoomId, serverOf } from './ids.ts';

/** Memberships the store reports; `ban` and `knock` are kept as they are. */
export type Membership = 'invite' | 'join' | 'leave' | 'ban' | 'knock';

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

export type { AuthFailureKind };

export interface NewEvent {
  readonly type: string;
  readonly sender: string;
  readonly state_key?: string | undefined;
  readonly content: Readonly<Record<string, unknown>>;
}

const MEMBERSHIP_VALUES: ReadonlySet<unknown> = new Set([
  'invite',
  'join',
  'leave',
  'ban',
  'knock',
]);

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

  newRoomId(): string {
    return newRoomId(this.ids, this.serverName);
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
    return MEMBERSHIP_VALUES.has(value) ? (value as Membership) : undefined;
  }

  members(room: RoomRow): Record<string, Membership> {
    const out: Record<string, Membership> = {};
    for (const event of this.stateEvents(room)) {
      const membership = membershipOf(event);
      if (
        event.type === MEMBER &&
        event.state_key !== undefined &&
        MEMBERSHIP_VALUES.has(membership)
      ) {
        out[event.state_key] = membership as Membership;
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

  /** The room version 10 auth rules (auth-rules.ts) against the room's current state. */
  authorize(room: RoomRow, event: NewEvent): Result<void, Failure<AuthFailureKind>> {
    const keys = Object.keys(room.state);
    return authorize(
      {
        get: (type, key) => this.stateEvent(room, type, key),
        onlyCreate: keys.length === 1 && keys[0] === stateKey(CREATE, ''),
      },
      event,
    );
  }

  /**
   * The auth_events of a new event (server-server API § "Auth events selection"): the
   * create event, the power levels, the sender's membership and, for a membership, the
   * target's and (for join and invite) the join rules.
   */
  authEventsFor(room: RoomRow, event: NewEvent): string[] {
    const wanted: [string, string][] = [
      [CREATE, ''],
      [POWER_LEVELS, ''],
      [MEMBER, event.sender],
    ];
    if (event.type === MEMBER && event.state_key !== undefined) {
      wanted.push([MEMBER, event.state_key]);
      const membership = event.content.membership;
      if (membership === 'join' || membership === 'invite' || membership === 'knock') {
        wanted.push([JOIN_RULES, '']);
      }
    }
    const ids = wanted.flatMap(([t, k]) => {
      const id = room.state[stateKey(t, k)];
      return id === undefined ? [] : [id];
    });
    return [...new Set(ids)];
  }

  /** An unsigned, unhashed event created by this server on top of `room`. */
  build(room: RoomRow, event: NewEvent): UnsignedPdu {
    return {
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
    const id = eventId(event);
    this.events.put(id, event);
    const next: RoomRow = {
      ...room,
      state:
        event.state_key === undefined
          ? room.state
          : { ...room.state, [stateKey(event.type, event.state_key)]: id },
      extremities: [id],
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
    for (const event of extra) this.events.put(eventId(event), event);
    let room: RoomRow = {
      room_id: roomId,
      room_version: roomVersion,
      state: {},
      extremities: [],
      depth: 0,
    };
    for (const event of state) {
      const id = eventId(event);
      this.events.put(id, event);
      if (event.state_key !== undefined) {
        room = {
          ...room,
          state: { ...room.state, [stateKey(event.type, event.state_key)]: id },
          depth: Math.max(room.depth, event.depth),
        };
      }
    }
    this.rooms.put(roomId, room);
    return room;
  }

  /** Every event reachable through auth_events from `events`, excluding them. */
  authChain(events: readonly Pdu[]): Pdu[] {
    const start = new Set(events.map(eventId));
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
    return chain.sort((a, b) => a.depth - b.depth || (eventId(a) < eventId(b) ? -1 : 1));
  }

  inviteKey(roomId: string, userId: string): string {
    return JSON.stringify([roomId, userId]);
  }
}
