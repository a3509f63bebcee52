// The matrix-cs driver against two real Synapse 1.67 homeservers, which `.ci/run`
// starts (scripts/real-servers.sh start synapse DIR) and names in FEDCONN_SYNAPSE_TARGET.
// Without it the file reports itself skipped: `npm test` needs no real server.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { decodeBase64 } from '../../../simulator/protocol/encoding/base64.ts';
import { eventIdOf } from '../../../simulator/protocol/events/hashes.ts';
import {
  checkContentHash,
  checkEventSignature,
} from '../../../simulator/protocol/events/signing.ts';
import { matrixCsRooms, type MatrixRooms } from './matrix-cs.ts';
import { runSql } from './sqlite.ts';

const targetFile = process.env.FEDCONN_SYNAPSE_TARGET;

interface SynapseServer {
  readonly server_name: string;
  readonly base_url: string;
  readonly driver: { readonly registration_shared_secret?: string };
}

function rooms(): [MatrixRooms, MatrixRooms, string, string] {
  const config = JSON.parse(readFileSync(targetFile ?? '', 'utf8')) as {
    servers: SynapseServer[];
  };
  const [a, b] = config.servers.map((s) =>
    matrixCsRooms({
      origin: s.base_url,
      serverName: s.server_name,
      transport: (request) => fetch(request),
      ...(s.driver.registration_shared_secret === undefined
        ? {}
        : { registrationSharedSecret: s.driver.registration_shared_secret }),
    }),
  );
  const [na, nb] = config.servers.map((s) => s.server_name);
  if (a === undefined || b === undefined || na === undefined || nb === undefined) {
    throw new Error(`${targetFile ?? ''} names fewer than two servers`);
  }
  return [a, b, na, nb];
}

const run = Date.now().toString(36);

/** Polls until `read` gives what is expected: a remote invite arrives in the background. */
async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let i = 0; i < 50 && !ok(value); i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    value = await read();
  }
  return value;
}

describe.skipIf(targetFile === undefined)('matrix-cs driver on two Synapse 1.67', () => {
  test.each([
    ['hs1 invites a user of hs2, who joins', 0],
    ['hs2 invites a user of hs1, who joins', 1],
  ] as const)('%s (invite-only room, room version 10)', async (_, first) => {
    const [x, y, nx, ny] = rooms();
    const [inviter, invitee, ni, ne] = first === 0 ? [x, y, nx, ny] : [y, x, ny, nx];
    const alice = `@alice${run}${first}:${ni}`;
    const bob = `@bob${run}${first}:${ne}`;
    await invitee.user(bob);
    const roomId = await inviter.createRoom(alice, 'invite');
    const invited = await inviter.invite(roomId, alice, bob);
    expect(invited.status, JSON.stringify(invited.body)).toBe(200);
    // What the invitee's user sees: the invite, then the room joined.
    expect(
      (
        await eventually(
          () => invitee.sync(bob),
          (s) => s.invited.includes(roomId),
        )
      ).invited,
    ).toContain(roomId);
    const joined = await invitee.join(roomId, bob, ni);
    expect(joined.status, JSON.stringify(joined.body)).toBe(200);
    expect(
      (
        await eventually(
          () => invitee.sync(bob),
          (s) => s.joined.includes(roomId),
        )
      ).joined,
    ).toContain(roomId);
    expect(await inviter.members(roomId)).toEqual({ [alice]: 'join', [bob]: 'join' });
    expect(await invitee.members(roomId)).toEqual({ [alice]: 'join', [bob]: 'join' });
  });

  test('an uninvited user of hs2 joins a public room of hs1; an invite-only one refuses', async () => {
    const [hs1, hs2, n1, n2] = rooms();
    const carol = `@carol${run}:${n1}`;
    const dave = `@dave${run}:${n2}`;
    const open = await hs1.createRoom(carol, 'public');
    const closed = await hs1.createRoom(carol, 'invite');
    expect((await hs2.join(open, dave, n1)).status).toBe(200);
    expect((await hs2.join(closed, dave, n1)).status).toBe(403);
    expect((await hs1.members(open))?.[dave]).toBe('join');
    expect((await hs1.members(closed))?.[dave]).toBeUndefined();
  });

  test("Synapse's own room version 10 events have the ids, content hashes and signatures fedconn computes", async () => {
    const [hs1, hs2, n1, n2] = rooms();
    const erin = `@erin${run}:${n1}`;
    const frank = `@frank${run}:${n2}`;
    await hs2.user(frank);
    const roomId = await hs1.createRoom(erin, 'invite');
    expect((await hs1.invite(roomId, erin, frank)).status).toBe(200);
    expect((await hs2.join(roomId, frank, n1)).status).toBe(200);
    // scripts/real-servers.sh keeps hs1's database beside target.json, in hs1/.
    const rows = await runSql(join(dirname(targetFile ?? ''), 'hs1', 'homeserver.db'), [
      {
        sql: 'SELECT e.event_id, j.json FROM events e JOIN event_json j USING (event_id) WHERE e.room_id = ? ORDER BY e.stream_ordering',
        params: [roomId],
      },
    ]);
    const keys = new Map<string, Map<string, Uint8Array>>();
    const config = JSON.parse(readFileSync(targetFile ?? '', 'utf8')) as {
      servers: SynapseServer[];
    };
    for (const s of config.servers) {
      const doc = (await (await fetch(`${s.base_url}/_matrix/key/v2/server`)).json()) as {
        verify_keys: Record<string, { key: string }>;
      };
      const map = new Map<string, Uint8Array>();
      for (const [id, { key }] of Object.entries(doc.verify_keys)) {
        const bytes = decodeBase64(key);
        if (bytes.ok) map.set(id, bytes.value);
      }
      keys.set(s.server_name, map);
    }
    const types = rows.map(([, json]) => (JSON.parse(String(json)) as { type: string }).type);
    // create, erin's join, power levels, join rules, history visibility, the invite, the join.
    expect(types).toEqual(
      expect.arrayContaining(['m.room.create', 'm.room.power_levels', 'm.room.member']),
    );
    expect(rows.length).toBeGreaterThanOrEqual(6);
    for (const [id, json] of rows) {
      const event = JSON.parse(String(json)) as Record<string, unknown>;
      expect(eventIdOf(event), String(json)).toEqual({ ok: true, value: id });
      expect(checkContentHash(event).ok, String(json)).toBe(true);
      const sender = String(event.sender).slice(String(event.sender).indexOf(':') + 1);
      const signers =
        event.type === 'm.room.member' &&
        (event.content as { membership?: string }).membership === 'invite'
          ? [sender, n2]
          : [sender];
      for (const signer of signers) {
        const checked = await checkEventSignature(event, signer, keys.get(signer) ?? new Map());
        expect(checked.ok, `${signer} on ${String(json)}`).toBe(true);
      }
    }
  });
});
