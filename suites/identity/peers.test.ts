// The peer path of the push checks: fedconn playing a trusted and an untrusted peer
// by source address (127.0.0.2 and 127.0.0.1), as it does against ToM's federated
// identity service. A small identity server written here trusts pushes by address,
// like ToM, and otherwise follows the rules; switches break one rule each, so every
// check on the peer path is seen passing on the good server and failing on the broken
// one. What an address-trusting server can never satisfy (IS-PUSH-02, -03) must fail.
import { serve, type ServerType } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, test } from 'vitest';
import { PROFILES } from '../catalog/index.ts';
import { CHECKS } from '../registry.ts';
import { parseTargetConfig } from '../../simulator/serve/target-config.ts';
import { lookupHash } from '../../simulator/protocol/identity/hash.ts';
import type { RunReport } from '../harness/report.ts';
import { runChecks } from '../harness/runner.ts';
import { httpTarget } from '../harness/target.ts';

type Bug =
  | 'accept-untrusted'
  | 'store-nothing'
  | 'ignore-pepper'
  | 'accept-foreign'
  | 'accept-malformed'
  | 'none';

const TOKEN = 'provisioning-secret';
const TRUSTED = '127.0.0.2';

function hash(address: string, medium: string, pepper: string): string {
  const h = lookupHash({ algorithm: 'sha256', address, medium, pepper });
  if (!h.ok) throw new Error(h.error.detail);
  return h.value;
}

/** An identity server that trusts pushers by source address; `bug` breaks one rule. */
function addressTrustingServer(bug: Bug): Hono {
  let pepper = 'pepperOne';
  let previous: string | undefined;
  const tokens = new Set<string>();
  const bindings = new Map<string, { medium: string; user: string }>();
  const pushed = new Map<string, Set<string>>();
  let issued = 0;
  const app = new Hono();
  const remote = (c: Context) => (getConnInfo(c).remote.address ?? '').replace(/^::ffff:/, '');
  const user = (c: { req: { header: (n: string) => string | undefined } }) => {
    const t = /^Bearer (\S+)$/.exec(c.req.header('authorization') ?? '')?.[1];
    return t !== undefined && tokens.has(t);
  };
  const unauthorized = { errcode: 'M_UNAUTHORIZED', error: 'no' };
  app.get('/_matrix/identity/v2/hash_details', (c) => {
    if (!user(c) && remote(c) !== TRUSTED) return c.json(unauthorized, 401);
    return c.json({
      algorithms: ['sha256'],
      lookup_pepper: pepper,
      ...(previous === undefined ? {} : { alt_lookup_peppers: [previous] }),
    });
  });
  app.post('/_matrix/identity/v2/lookup', async (c) => {
    if (!user(c)) return c.json(unauthorized, 401);
    const body = await c.req.json<{ algorithm: string; pepper: string; addresses: string[] }>();
    if (body.algorithm !== 'sha256') return c.json({ errcode: 'M_INVALID_PARAM' }, 400);
    if (body.pepper !== pepper && body.pepper !== previous)
      return c.json(
        { errcode: 'M_INVALID_PEPPER', algorithm: 'sha256', lookup_pepper: pepper },
        400,
      );
    const mappings: Record<string, string> = {};
    const third: Record<string, string[]> = {};
    for (const h of body.addresses) {
      for (const [address, b] of bindings) {
        for (const p of [pepper, previous])
          if (p !== undefined && hash(address, b.medium, p) === h) mappings[h] = b.user;
      }
      if (mappings[h] !== undefined) continue;
      for (const [server, hashes] of pushed) if (hashes.has(h)) (third[server] ??= []).push(h);
    }
    return c.json({ mappings, third_party_mappings: third });
  });
  app.post('/_matrix/identity/v2/lookups', async (c) => {
    if (remote(c) !== TRUSTED && bug !== 'accept-untrusted')
      return c.json({ errcode: 'M_FORBIDDEN', error: 'not a trusted address' }, 403);
    const body = await c.req.json<{
      algorithm: string;
      pepper: string;
      mappings: Record<string, string[]>;
    }>();
    if (body.pepper !== pepper && bug !== 'ignore-pepper')
      return c.json({ errcode: 'M_INVALID_PEPPER', lookup_pepper: pepper }, 400);
    // Trusted by address, it takes the pusher's name from the header, unverified.
    const origin = /origin="?([^",]+)"?/.exec(c.req.header('authorization') ?? '')?.[1];
    if (bug !== 'accept-foreign' && Object.keys(body.mappings).some((s) => s !== origin))
      return c.json({ errcode: 'M_FORBIDDEN', error: 'only your own hashes' }, 403);
    const wellFormed =
      body.algorithm === 'sha256' &&
      Object.values(body.mappings).every((hashes) =>
        hashes.every((h) => /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/.test(h)),
      );
    if (!wellFormed && bug !== 'accept-malformed')
      return c.json({ errcode: 'M_INVALID_PARAM', error: 'not sha256 hashes' }, 400);
    if (bug !== 'store-nothing')
      for (const [server, hashes] of Object.entries(body.mappings)) {
        const set = pushed.get(server) ?? new Set<string>();
        for (const h of hashes) set.add(h);
        pushed.set(server, set);
      }
    return c.json({}, 201);
  });
  // fedconn's provisioning API (the fedconn driver), as the reference serves it.
  const provision = '/_fedconn/v1/provision/identity';
  app.use(`${provision}/*`, async (c, next) => {
    if (c.req.header('authorization') !== `Bearer ${TOKEN}`) return c.json(unauthorized, 401);
    await next();
  });
  app.post(`${provision}/token`, (c) => {
    const t = `tok${issued++}`;
    tokens.add(t);
    return c.json({ token: t });
  });
  app.post(`${provision}/bind`, async (c) => {
    const b = await c.req.json<{ medium: string; address: string; user_id: string }>();
    bindings.set(b.address, { medium: b.medium, user: b.user_id });
    return c.json({});
  });
  app.post(`${provision}/pepper/rotate`, (c) => {
    previous = pepper;
    pepper = `pepper${issued++}x`;
    return c.json({});
  });
  return app;
}

const running: ServerType[] = [];
afterAll(() => {
  for (const s of running) s.close();
});

async function start(bug: Bug): Promise<string> {
  const app = addressTrustingServer(bug);
  const address = await new Promise<AddressInfo>((resolve) => {
    running.push(serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, resolve));
  });
  return `http://127.0.0.1:${address.port}`;
}

const PEER_RULES = [
  'IS-FED-03',
  'IS-PUSH-01',
  'IS-PUSH-02',
  'IS-PUSH-03',
  'IS-PUSH-04',
  'IS-PUSH-05',
  'IS-PUSH-06',
  'IS-PUSH-07',
  'IS-PUSH-08',
];

async function judge(bug: Bug): Promise<Map<string, string>> {
  const parsed = parseTargetConfig(
    JSON.stringify({
      fedconn: 2,
      servers: [
        {
          server_name: 'addr.test',
          base_url: await start(bug),
          roles: { identity: { msc4004: true, trusted_addresses: [TRUSTED] } },
          driver: { kind: 'fedconn', provisioning_token: TOKEN },
        },
      ],
    }),
  );
  if (!parsed.ok) throw parsed.error;
  const target = httpTarget(parsed.value, { timeoutMs: 5_000, label: `address-trusting (${bug})` });
  const report: RunReport = await runChecks({
    target,
    checks: CHECKS,
    profiles: PROFILES,
    seed: 3,
    runs: 1,
    timeoutMs: 20_000,
    selected: (r) => PEER_RULES.includes(r.id),
    expectedToFail: new Set(),
    strict: true,
    repro: (rule) => `fedconn run --rules ${rule}`,
    version: 'test',
  });
  await target.close();
  return new Map(
    report.rules.filter((r) => PEER_RULES.includes(r.id)).map((r) => [r.id, r.status]),
  );
}

describe('fedconn as a peer pushing from a trusted and an untrusted address', () => {
  test('a server that trusts by address passes the rules it can, and fails IS-PUSH-02 and -03', async () => {
    const verdicts = await judge('none');
    expect(Object.fromEntries(verdicts)).toEqual({
      'IS-FED-03': 'pass',
      'IS-PUSH-01': 'pass',
      // An unsigned push from the trusted address is accepted: identified by address.
      'IS-PUSH-02': 'fail',
      // A push signed for another destination is accepted: no signature is checked.
      'IS-PUSH-03': 'fail',
      'IS-PUSH-04': 'pass',
      'IS-PUSH-05': 'pass',
      'IS-PUSH-06': 'pass',
      'IS-PUSH-07': 'pass',
      'IS-PUSH-08': 'pass',
    });
  }, 60_000);

  test.each([
    ['accept-untrusted', ['IS-PUSH-01', 'IS-PUSH-04']],
    ['store-nothing', ['IS-FED-03', 'IS-PUSH-06']],
    ['ignore-pepper', ['IS-PUSH-05']],
    ['accept-foreign', ['IS-PUSH-07']],
    ['accept-malformed', ['IS-PUSH-08']],
  ] as const)(
    'with the bug %s, the peer-path checks of %j fail',
    async (bug, rules) => {
      const verdicts = await judge(bug);
      for (const id of rules) expect(`${id} ${verdicts.get(id) ?? ''}`).toBe(`${id} fail`);
    },
    60_000,
  );
});
