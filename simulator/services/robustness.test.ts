// Every Phoenix endpoint, fed generated malformed input (random bytes, JSON of
// the wrong shape, truncated and oversized bodies), answers 4xx with an errcode
// and never crashes; afterwards the servers still establish connections.
import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe, expect } from 'vitest';
import { createScenario, type Scenario } from '../scenario.ts';

interface Endpoint {
  readonly method: string;
  readonly path: string;
}

let s: Scenario;
let endpoints: Endpoint[];

beforeAll(async () => {
  s = await createScenario({
    seed: 'robustness',
    homeservers: 2,
    usersPerServer: 1,
    devicesPerUser: 2,
    profile: 'multi-device',
  });
  const alice = s.user('@user1:hs1.example');
  const bob = s.user('@user1:hs2.example');
  await bob.primary.registerAlias('robust', 1);
  const groupId = await alice.primary.connect({ userId: bob.userId });
  await s.settle();
  const uid = encodeURIComponent(bob.userId);
  const queue = alice.primary.queue.queue_id;
  endpoints = [
    { method: 'POST', path: '/_fedconn/v1/provision/users' },
    { method: 'POST', path: '/_fedconn/v1/as/clients' },
    { method: 'POST', path: '/_fedconn/v1/as/connection_packages' },
    { method: 'POST', path: `/_fedconn/v1/as/clients/${uid}/device-1/queue` },
    { method: 'GET', path: '/_fedconn/v1/as/queue?since=x' },
    { method: 'PUT', path: '/_fedconn/v1/as/aliases/new-alias' },
    { method: 'POST', path: '/_fedconn/v1/as/aliases/robust/connection_packages' },
    { method: 'POST', path: '/_fedconn/v1/as/aliases/robust/queue' },
    { method: 'GET', path: '/_fedconn/v1/as/aliases/robust/queue' },
    { method: 'DELETE', path: '/_fedconn/v1/as/aliases/robust' },
    { method: 'POST', path: '/_fedconn/v1/qs/queues' },
    { method: 'GET', path: `/_fedconn/v1/qs/queues/${queue}/messages` },
    { method: 'POST', path: `/_fedconn/v1/qs/queues/${queue}/key_packages` },
    { method: 'POST', path: '/_fedconn/v1/qs/key_packages/claim' },
    { method: 'PUT', path: '/_fedconn/v1/qs/federation/enqueue' },
    { method: 'POST', path: '/_fedconn/v1/ds/groups' },
    { method: 'POST', path: `/_fedconn/v1/ds/groups/${groupId}/external_commit_info` },
    { method: 'POST', path: `/_fedconn/v1/ds/groups/${groupId}/join_connection_group` },
    { method: 'POST', path: `/_fedconn/v1/ds/groups/${groupId}/commit` },
    { method: 'POST', path: `/_fedconn/v1/ds/groups/${groupId}/messages` },
  ];
}, 60_000);

const body = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((b) => ({ bytes: b, why: 'random bytes' })),
  fc.jsonValue({ maxDepth: 4 }).map((v) => ({
    bytes: new TextEncoder().encode(JSON.stringify(v)),
    why: 'JSON of another shape',
  })),
  fc
    .record(
      {
        ear_key: fc.oneof(fc.string(), fc.integer()),
        group_info: fc.string(),
        commit: fc.string(),
        queue: fc.anything(),
        auth_key: fc.string(),
        csr: fc.anything(),
        connection_packages: fc.array(fc.anything(), { maxLength: 3 }),
        message: fc.anything(),
        user_id: fc.string(),
      },
      { requiredKeys: [] },
    )
    .map((v) => ({
      bytes: new TextEncoder().encode(JSON.stringify(v)),
      why: 'right names, wrong values',
    })),
  fc.nat({ max: 60 }).map((n) => ({
    bytes: new TextEncoder().encode(
      '{"ear_key":"AAAA","message":"AAAA","queue":{"server":"hs1.example"}'.slice(0, n),
    ),
    why: 'truncated JSON',
  })),
  fc.constant({ bytes: new Uint8Array(300 * 1024).fill(0x7b), why: 'oversized' }),
);

describe('malformed input', () => {
  test.prop(
    [fc.integer({ min: 0, max: 19 }), body, fc.constantFrom('hs1.example', 'hs2.example')],
    { numRuns: 300 },
  )('answers 4xx with a Matrix error and keeps running', async (index, input, server) => {
    const endpoint = endpoints[index % endpoints.length];
    if (endpoint === undefined) throw new Error('no endpoints');
    const response = await s.federation.transport(
      new Request(`https://${server}${endpoint.path}`, {
        method: endpoint.method,
        headers: { 'content-type': 'application/json' },
        ...(endpoint.method === 'GET' ? {} : { body: input.bytes }),
      }),
    );
    expect(
      response.status,
      `${endpoint.method} ${endpoint.path} with ${input.why}`,
    ).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    const answer = (await response.json()) as { errcode?: unknown; error?: unknown };
    expect(typeof answer.errcode).toBe('string');
    expect(typeof answer.error).toBe('string');
  });

  test('afterwards the servers still establish connections and deliver messages', async () => {
    const carol = s.user('@user1:hs2.example');
    const alice = s.user('@user1:hs1.example');
    await carol.primary.publishConnectionPackages(2);
    await alice.primary.publishConnectionPackages(2);
    const groupId = await carol.primary.connect({ userId: alice.userId });
    await s.settle();
    await carol.primary.send(groupId, 'still alive');
    await s.settle();
    for (const c of alice.clients) expect(c.received(groupId)).toContain('still alive');
  });
});
