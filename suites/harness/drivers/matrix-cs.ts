// The matrix-cs driver: a Matrix homeserver under test (Synapse, ...), set up the way
// its users would, through the Client-Server API: users by shared-secret registration
// (Synapse's admin API) or `m.login.dummy`, rooms by createRoom, invites and joins by
// the room endpoints, and what the server made of them read back from room state.
// It has no identity-service verbs; the FED-INVITE, FED-JOIN and FED-AUTH checks set
// up their rooms through it on such a server.
import { createHmac } from 'node:crypto';
import type { Transport } from '../../../simulator/net/transport.ts';
import { readAnswer, type Answer } from '../answer.ts';
import { DriverFailed, DriverUnsupported, HOW_TO_ADD, type Driver } from './driver.ts';

/** Room operations as a user of the homeserver performs them. */
export interface MatrixRooms {
  /** Registers `userId` (a local user) on first use; later calls reuse its token. */
  user(userId: string): Promise<string>;
  createRoom(creator: string, joinRule: 'public' | 'invite'): Promise<string>;
  invite(roomId: string, sender: string, userId: string): Promise<Answer>;
  join(roomId: string, userId: string, via?: string): Promise<Answer>;
  leave(roomId: string, userId: string): Promise<Answer>;
  /** The rooms `userId` is invited to and joined, as its /sync shows them. */
  sync(userId: string): Promise<{ readonly invited: string[]; readonly joined: string[] }>;
  /** Memberships by user id as the server holds them, or undefined when it is not in the room. */
  members(roomId: string): Promise<Record<string, string> | undefined>;
}

export interface MatrixCsOptions {
  readonly origin: string;
  readonly serverName: string;
  readonly transport: Transport;
  readonly registrationSharedSecret?: string;
}

const enc = encodeURIComponent;
// Users the driver creates get this password; they exist only for the run's checks.
const PASSWORD = 'fedconn-test-user';

export function matrixCsRooms(options: MatrixCsOptions): MatrixRooms {
  const tokens = new Map<string, Promise<string>>();
  // Per user: where its /sync stands, and the rooms it has seen itself invited to and in.
  const synced = new Map<string, { since?: string; invited: Set<string>; joined: Set<string> }>();

  async function call(method: string, path: string, token?: string, body?: unknown) {
    const headers = new Headers();
    if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
    if (body !== undefined) headers.set('content-type', 'application/json');
    const response = await options.transport(
      new Request(`${options.origin}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    );
    return readAnswer(response);
  }

  const failed = (what: string, answer: Answer): never => {
    throw new DriverFailed(
      'matrix-cs',
      'rooms',
      `${what} on ${options.serverName} answered ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`,
    );
  };
  const field = (answer: Answer, name: string): string | undefined => {
    const value = (answer.body as Record<string, unknown> | null)?.[name];
    return typeof value === 'string' ? value : undefined;
  };

  // A user that exists already (an earlier run, another driver instance) logs in instead.
  async function logIn(localpart: string, registered: Answer): Promise<string> {
    const issued = field(registered, 'access_token');
    if (issued !== undefined) return issued;
    if (field(registered, 'errcode') !== 'M_USER_IN_USE')
      return failed(`registering ${localpart}`, registered);
    const answer = await call('POST', '/_matrix/client/v3/login', undefined, {
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: localpart },
      password: PASSWORD,
    });
    return field(answer, 'access_token') ?? failed(`logging in ${localpart}`, answer);
  }

  async function register(localpart: string, admin: boolean): Promise<string> {
    const secret = options.registrationSharedSecret;
    if (secret === undefined) {
      const answer = await call('POST', '/_matrix/client/v3/register', undefined, {
        username: localpart,
        password: PASSWORD,
        auth: { type: 'm.login.dummy' },
      });
      return logIn(localpart, answer);
    }
    const nonceAnswer = await call('GET', '/_synapse/admin/v1/register');
    const nonce =
      field(nonceAnswer, 'nonce') ?? failed('GET /_synapse/admin/v1/register', nonceAnswer);
    // Synapse's shared-secret registration: HMAC-SHA1 over nonce, user, password, admin.
    const mac = createHmac('sha1', secret)
      .update([nonce, localpart, PASSWORD, admin ? 'admin' : 'notadmin'].join('\0'))
      .digest('hex');
    const answer = await call('POST', '/_synapse/admin/v1/register', undefined, {
      nonce,
      username: localpart,
      password: PASSWORD,
      admin,
      mac,
    });
    return logIn(localpart, answer);
  }

  function token(userId: string, admin = false): Promise<string> {
    const suffix = `:${options.serverName}`;
    if (!userId.startsWith('@') || !userId.endsWith(suffix)) {
      throw new DriverFailed(
        'matrix-cs',
        'rooms',
        `${userId} is not a user of ${options.serverName}`,
      );
    }
    let found = tokens.get(userId);
    if (found === undefined) {
      found = register(userId.slice(1, -suffix.length), admin);
      tokens.set(userId, found);
    }
    return found;
  }

  // Room state is read with an admin user of the driver's own.
  const admin = () =>
    token(`@fedconn-admin${suffixFree(options.serverName)}:${options.serverName}`, true);

  return {
    user: (userId) => token(userId),
    async createRoom(creator, joinRule) {
      const answer = await call('POST', '/_matrix/client/v3/createRoom', await token(creator), {
        preset: joinRule === 'public' ? 'public_chat' : 'private_chat',
        room_version: '10',
        // Any member may invite, as in rooms of fedconn's reference (Synapse's default is 50):
        // checks whose impostor member invites are about signatures, not power levels.
        power_level_content_override: { invite: 0 },
      });
      return field(answer, 'room_id') ?? failed(`createRoom by ${creator}`, answer);
    },
    async invite(roomId, sender, userId) {
      return call('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, await token(sender), {
        user_id: userId,
      });
    },
    async join(roomId, userId, via) {
      const query = via === undefined ? '' : `?server_name=${enc(via)}`;
      return call(
        'POST',
        `/_matrix/client/v3/join/${enc(roomId)}${query}`,
        await token(userId),
        {},
      );
    },
    async leave(roomId, userId) {
      return call('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, await token(userId), {});
    },
    async sync(userId) {
      // Incremental, as a client syncs: a repeated initial sync is served from Synapse's
      // response cache and would not show what changed since.
      const seen = synced.get(userId) ?? { invited: new Set(), joined: new Set() };
      synced.set(userId, seen);
      const since = seen.since === undefined ? '' : `&since=${enc(seen.since)}`;
      const answer = await call(
        'GET',
        `/_matrix/client/v3/sync?timeout=0${since}`,
        await token(userId),
      );
      const body = answer.body as { rooms?: Record<string, unknown>; next_batch?: unknown } | null;
      if (answer.status !== 200 || typeof body?.next_batch !== 'string') {
        failed(`/sync of ${userId}`, answer);
      }
      seen.since = String(body?.next_batch);
      const ids = (section: string) =>
        Object.keys((body?.rooms?.[section] as object | undefined) ?? {});
      for (const id of ids('invite')) seen.invited.add(id);
      for (const id of ids('join')) {
        seen.invited.delete(id);
        seen.joined.add(id);
      }
      for (const id of ids('leave')) {
        seen.invited.delete(id);
        seen.joined.delete(id);
      }
      return { invited: [...seen.invited], joined: [...seen.joined] };
    },
    async members(roomId) {
      const answer = await call(
        'GET',
        `/_synapse/admin/v1/rooms/${enc(roomId)}/state`,
        await admin(),
      );
      if (answer.status === 404) return undefined;
      const state = (answer.body as { state?: unknown } | null)?.state;
      if (answer.status !== 200 || !Array.isArray(state)) failed(`the state of ${roomId}`, answer);
      const members: Record<string, string> = {};
      for (const event of state as Record<string, unknown>[]) {
        const membership = (event.content as Record<string, unknown> | undefined)?.membership;
        if (
          event.type === 'm.room.member' &&
          typeof event.state_key === 'string' &&
          typeof membership === 'string'
        ) {
          members[event.state_key] = membership;
        }
      }
      // A server that is in no way in the room holds no member events for it.
      return Object.keys(members).length === 0 ? undefined : members;
    },
  };
}

/** A localpart-safe tag of the server name (an admin per server, never a test user). */
const suffixFree = (serverName: string) => `-${serverName.replace(/[^a-z0-9]/g, '')}`;

export function matrixCsDriver(options: MatrixCsOptions): Driver {
  return {
    kind: 'matrix-cs',
    rooms: matrixCsRooms(options),
    verbs: () => Promise.resolve(new Set()),
    call(verb) {
      return Promise.reject(new DriverUnsupported('matrix-cs', verb, HOW_TO_ADD['matrix-cs']));
    },
    close: () => Promise.resolve(),
  };
}
