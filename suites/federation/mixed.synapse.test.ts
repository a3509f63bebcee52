// A mixed federation (Complement's HS1/HS2): fedconn's reference, served over HTTPS as
// `localhost:PORT` (fedconn serve --tls), and a real Synapse 1.67, in the target config
// FEDCONN_MIXED_TARGET names (`.ci/run` writes it with scripts/mixed-target.mjs). Invites
// and joins cross in each direction. Without it the file reports itself skipped.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { withLoopbackHttps } from '../../simulator/net/http.ts';
import { matrixCsRooms } from '../harness/drivers/matrix-cs.ts';
import { readAnswer, type Answer } from '../harness/answer.ts';

const targetFile = process.env.FEDCONN_MIXED_TARGET;
const transport = withLoopbackHttps((request) => fetch(request), 10_000);

/** What the test does on either server, through its own driver. */
interface Rooms {
  readonly serverName: string;
  createRoom(creator: string, joinRule: 'public' | 'invite'): Promise<string>;
  invite(roomId: string, sender: string, userId: string): Promise<Answer>;
  join(roomId: string, userId: string, via: string): Promise<Answer>;
  members(roomId: string): Promise<Record<string, string> | undefined>;
}

interface ServerConfig {
  readonly server_name: string;
  readonly base_url: string;
  readonly driver:
    | { readonly kind: 'fedconn'; readonly provisioning_token: string }
    | { readonly kind: 'matrix-cs'; readonly registration_shared_secret?: string };
}

/** The reference through fedconn's provisioning API (docs/binding.md, Provisioning). */
function provisioned(server: ServerConfig & { driver: { kind: 'fedconn' } }): Rooms {
  const call = async (method: string, path: string, body?: unknown) =>
    readAnswer(
      await transport(
        new Request(`${server.base_url}/_fedconn/v1/provision/rooms${path}`, {
          method,
          headers: {
            authorization: `Bearer ${server.driver.provisioning_token}`,
            'content-type': 'application/json',
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        }),
      ),
    );
  const enc = encodeURIComponent;
  return {
    serverName: server.server_name,
    async createRoom(creator, joinRule) {
      const answer = await call('POST', '', { creator, join_rule: joinRule });
      const id = (answer.body as { room_id?: unknown } | null)?.room_id;
      if (answer.status !== 200 || typeof id !== 'string') {
        throw new Error(`createRoom on ${server.server_name}: ${JSON.stringify(answer)}`);
      }
      return id;
    },
    invite: (roomId, sender, userId) =>
      call('POST', `/${enc(roomId)}/invite`, { sender, user_id: userId }),
    join: (roomId, userId, via) => call('POST', `/${enc(roomId)}/join`, { user_id: userId, via }),
    async members(roomId) {
      const answer = await call('GET', `/${enc(roomId)}`);
      return answer.status === 404
        ? undefined
        : (answer.body as { members: Record<string, string> }).members;
    },
  };
}

function roomsOf(server: ServerConfig): Rooms {
  if (server.driver.kind === 'fedconn') return provisioned({ ...server, driver: server.driver });
  const secret = server.driver.registration_shared_secret;
  return {
    serverName: server.server_name,
    ...matrixCsRooms({
      origin: server.base_url,
      serverName: server.server_name,
      transport,
      ...(secret === undefined ? {} : { registrationSharedSecret: secret }),
    }),
  };
}

function pair(): [Rooms, Rooms] {
  const { servers } = JSON.parse(readFileSync(targetFile ?? '', 'utf8')) as {
    servers: ServerConfig[];
  };
  const [a, b] = servers.map(roomsOf);
  if (a === undefined || b === undefined) throw new Error(`${targetFile ?? ''}: two servers`);
  return [a, b];
}

/** Polls until `read` gives what is expected: the other server hears in the background. */
async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let i = 0; i < 50 && !ok(value); i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    value = await read();
  }
  return value;
}

const run = Date.now().toString(36);

describe.skipIf(targetFile === undefined)('a mixed federation: the reference and Synapse', () => {
  test.each([
    ['the first server invites a user of the second, who joins', 0],
    ['the second server invites a user of the first, who joins', 1],
  ] as const)('%s (invite-only room, room version 10)', async (_, first) => {
    const [x, y] = pair();
    const [inviter, invitee] = first === 0 ? [x, y] : [y, x];
    const alice = `@alice${run}${first}:${inviter.serverName}`;
    const bob = `@bob${run}${first}:${invitee.serverName}`;
    const roomId = await inviter.createRoom(alice, 'invite');
    const invited = await inviter.invite(roomId, alice, bob);
    expect(invited.status, JSON.stringify(invited.body)).toBe(200);
    const joined = await invitee.join(roomId, bob, inviter.serverName);
    expect(joined.status, JSON.stringify(joined.body)).toBe(200);
    const both = { [alice]: 'join', [bob]: 'join' };
    const same = (m: Record<string, string> | undefined) =>
      JSON.stringify(m) === JSON.stringify(both);
    expect(await eventually(() => inviter.members(roomId), same)).toEqual(both);
    expect(await eventually(() => invitee.members(roomId), same)).toEqual(both);
  });

  test.each([0, 1] as const)(
    'an uninvited user joins a public room of the other server; an invite-only one refuses (%i)',
    async (first) => {
      const [x, y] = pair();
      const [resident, joiner] = first === 0 ? [x, y] : [y, x];
      const carol = `@carol${run}${first}:${resident.serverName}`;
      const dave = `@dave${run}${first}:${joiner.serverName}`;
      const open = await resident.createRoom(carol, 'public');
      const closed = await resident.createRoom(carol, 'invite');
      expect((await joiner.join(open, dave, resident.serverName)).status).toBe(200);
      expect((await joiner.join(closed, dave, resident.serverName)).status).toBeGreaterThanOrEqual(
        400,
      );
      expect((await resident.members(open))?.[dave]).toBe('join');
      expect((await resident.members(closed))?.[dave]).toBeUndefined();
    },
  );
});
