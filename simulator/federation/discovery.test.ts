// Homeservers finding each other by the real resolution algorithm over a virtual DNS
// and .well-known delegation (FED-NAME-07..12), with federation traffic reaching the
// delegated endpoints.
import { describe, expect, test } from 'vitest';
import { Hono } from 'hono';
import { VirtualClock } from '../net/clock.ts';
import { VirtualDns } from '../net/dns.ts';
import { SimNetwork, type Middleware } from '../net/transport.ts';
import { WELL_KNOWN_PROVISION_PATH } from '../services/well-known/index.ts';
import { fetchWellKnown, resolvingDirectory, scopedDirectory } from './discovery.ts';
import { createMatrixFederation, expectOk, HS1, HS2, HS3 } from './test-support.ts';

interface Seen {
  readonly url: URL;
  readonly host: string | null;
  readonly from: string | null;
}

/** A transport middleware that records where every request went. */
function tap(seen: Seen[]): Middleware {
  return (next) => async (request) => {
    seen.push({
      url: new URL(request.url),
      host: request.headers.get('host'),
      from: request.headers.get('x-fedconn-from'),
    });
    return next(request);
  };
}

const federationTo = (seen: readonly Seen[], from: string) =>
  seen.filter((s) => s.from === from && s.url.pathname.startsWith('/_matrix/'));

const HOUR = 3_600_000;

function delegatedWorld() {
  // hs2.example delegates to fed.hs2.example, whose _matrix-fed SRV record points at a
  // hosting node; hs1 has only an address record (port 8448); hs3 an IPv6 one.
  const dns = new VirtualDns({
    address: {
      [HS1]: ['10.0.0.1'],
      'node7.hosting.example': ['10.0.0.7'],
      [HS3]: ['2001:db8::3'],
    },
    srv: {
      '_matrix-fed._tcp.fed.hs2.example': [
        { target: 'node7.hosting.example', port: 8448, priority: 10, weight: 5 },
      ],
    },
  });
  const listen = {
    [HS1]: ['10.0.0.1:8448'],
    [HS2]: ['10.0.0.7:8448'],
    [HS3]: ['[2001:db8::3]:8448'],
  };
  return { dns, listen };
}

describe('a federation over virtual DNS', () => {
  test('hs2, delegated by .well-known to an SRV target, is reached there', async () => {
    const seen: Seen[] = [];
    const { dns, listen } = delegatedWorld();
    const m = await createMatrixFederation('discovery delegated', {
      dns: { resolver: dns, listen },
      wellKnown: { [HS2]: 'fed.hs2.example' },
      faults: [tap(seen)],
    });
    const room = await m.createRoom(HS1, `@alice:${HS1}`);
    expectOk('invite carol', await m.invite(HS1, room, `@alice:${HS1}`, `@carol:${HS3}`));
    expectOk('carol joins', await m.join(HS3, room, `@carol:${HS3}`, HS1));
    expectOk('invite bob', await m.invite(HS1, room, `@alice:${HS1}`, `@bob:${HS2}`));
    expectOk('bob joins', await m.join(HS2, room, `@bob:${HS2}`));
    expect((await m.room(HS3, room))?.members[`@bob:${HS2}`]).toBe('join');

    // Every federation request for hs2 went to the SRV target, with the delegated Host.
    const toHs2 = [...federationTo(seen, HS1), ...federationTo(seen, HS3)].filter(
      (s) => s.url.host === '10.0.0.7:8448',
    );
    expect(toHs2.length).toBeGreaterThan(0);
    expect(new Set(toHs2.map((s) => s.host))).toEqual(new Set(['fed.hs2.example']));
    // No server sent anything but .well-known to https://hs2.example itself.
    const toName = seen.filter((s) => s.url.host === HS2 && s.from !== null);
    expect(new Set(toName.map((s) => s.url.pathname))).toEqual(
      new Set(['/.well-known/matrix/server']),
    );
    // hs1: no delegation, no SRV: its address record on 8448, Host hs1.example.
    const toHs1 = federationTo(seen, HS2).filter((s) => s.url.host === '10.0.0.1:8448');
    expect(toHs1.length).toBeGreaterThan(0);
    expect(new Set(toHs1.map((s) => s.host))).toEqual(new Set([HS1]));
    expect(federationTo(seen, HS1).some((s) => s.url.host === '[2001:db8::3]:8448')).toBe(true);
    // No federation request went to a server_name origin.
    expect(
      seen.filter(
        (s) => s.url.pathname.startsWith('/_matrix/') && [HS1, HS2, HS3].includes(s.url.host),
      ),
    ).toEqual([]);
  });

  test('.well-known answers are cached by the fetching server, 24 hours by default', async () => {
    const seen: Seen[] = [];
    const { dns, listen } = delegatedWorld();
    const m = await createMatrixFederation('discovery cache', {
      dns: { resolver: dns, listen },
      wellKnown: { [HS2]: 'fed.hs2.example' },
      faults: [tap(seen)],
    });
    const room = await m.createRoom(HS2, `@bob:${HS2}`, 'public');
    const wellKnownFetches = () =>
      seen.filter((s) => s.url.pathname === '/.well-known/matrix/server' && s.from === HS1).length;
    expectOk('join', await m.join(HS1, room, `@alice:${HS1}`, HS2));
    expectOk('join', await m.join(HS1, room, `@dave:${HS1}`, HS2));
    expect(wellKnownFetches()).toBe(1);
    m.fed.clock.advance(25 * HOUR);
    expectOk('join', await m.join(HS1, room, `@erin:${HS1}`, HS2));
    expect(wellKnownFetches()).toBe(2);
  });

  test('an invalid .well-known falls through to SRV of the name (FED-NAME-10)', async () => {
    const seen: Seen[] = [];
    const { dns, listen } = delegatedWorld();
    dns.setSrv(`_matrix-fed._tcp.${HS2}`, [
      { target: 'node7.hosting.example', port: 8448, priority: 0, weight: 0 },
    ]);
    const m = await createMatrixFederation('discovery invalid well-known', {
      dns: { resolver: dns, listen },
      faults: [tap(seen)],
    });
    const set = await m.provision(HS2, 'PUT', WELL_KNOWN_PROVISION_PATH, {
      kind: 'raw',
      status: 200,
      body: '{"m.server": 42}',
    });
    expect(set.body).toEqual({ kind: 'raw', valid: false });
    const room = await m.createRoom(HS2, `@bob:${HS2}`, 'public');
    expectOk('join', await m.join(HS1, room, `@alice:${HS1}`, HS2));
    const toHs2 = federationTo(seen, HS1).filter((s) => s.url.host === '10.0.0.7:8448');
    expect(new Set(toHs2.map((s) => s.host))).toEqual(new Set([HS2]));
  });

  test('a name that resolves nowhere makes the dance fail as unreachable', async () => {
    const { dns, listen } = delegatedWorld();
    const m = await createMatrixFederation('discovery unreachable', {
      dns: { resolver: dns, listen },
    });
    const room = await m.createRoom(HS1, `@alice:${HS1}`);
    const answer = await m.invite(HS1, room, `@alice:${HS1}`, '@zed:nowhere.example');
    expect([answer.status, answer.body]).toMatchObject([
      502,
      { fedconn_failure: { kind: 'unreachable' } },
    ]);
  });

  test('the 2014 profile resolves through _matrix._tcp SRV and fetches /_matrix/key/v1', async () => {
    const seen: Seen[] = [];
    const dns = new VirtualDns({
      address: { 'a.node.example': ['10.0.1.1'], 'b.node.example': ['10.0.1.2'] },
      srv: {
        [`_matrix._tcp.${HS1}`]: [{ target: 'a.node.example', port: 8001, priority: 0, weight: 0 }],
        [`_matrix._tcp.${HS2}`]: [{ target: 'b.node.example', port: 8002, priority: 0, weight: 0 }],
        // Today's service name is not part of 2014 and must not be consulted.
        [`_matrix-fed._tcp.${HS2}`]: [
          { target: 'a.node.example', port: 9, priority: 0, weight: 0 },
        ],
      },
    });
    const m = await createMatrixFederation('discovery 2014', {
      matrixProfile: 'matrix-2014',
      servers: [{ serverName: HS1 }, { serverName: HS2 }],
      dns: { resolver: dns, listen: { [HS1]: ['10.0.1.1:8001'], [HS2]: ['10.0.1.2:8002'] } },
      faults: [tap(seen)],
    });
    const room = await m.createRoom(HS1, `@alice:${HS1}`);
    expectOk('invite', await m.invite(HS1, room, `@alice:${HS1}`, `@bob:${HS2}`));
    expectOk('join', await m.join(HS2, room, `@bob:${HS2}`));
    expect(seen.some((s) => s.url.pathname === '/.well-known/matrix/server')).toBe(false);
    expect(
      seen.filter((s) => s.url.pathname.startsWith('/_matrix/key/')).map((s) => s.url.pathname),
    ).toEqual(expect.arrayContaining(['/_matrix/key/v1']));
    expect(seen.some((s) => s.url.pathname === '/_matrix/key/v2/server')).toBe(false);
    expect(federationTo(seen, HS1).every((s) => s.url.host === '10.0.1.2:8002')).toBe(true);
  });
});

describe('fetchWellKnown and resolvingDirectory', () => {
  function server(routes: (app: Hono) => void) {
    const network = new SimNetwork();
    const app = new Hono();
    routes(app);
    network.register('https://a.example', async (r) => app.fetch(r));
    network.register('https://b.example', async (r) => app.fetch(r));
    return network.transport;
  }

  test('follows redirects, reports loops and network errors as data', async () => {
    const transport = server((app) => {
      app.get('/.well-known/matrix/server', (c) =>
        new URL(c.req.url).host === 'a.example'
          ? c.redirect('https://b.example/.well-known/matrix/server')
          : c.json({ 'm.server': 'c.example:1' }),
      );
    });
    expect(await fetchWellKnown(transport, 'a.example')).toMatchObject({
      kind: 'response',
      status: 200,
      body: '{"m.server":"c.example:1"}',
    });
    expect(await fetchWellKnown(transport, 'missing.example')).toEqual({
      kind: 'error',
      reason: 'network',
    });
    const loop = server((app) => {
      app.get('/.well-known/matrix/server', (c) =>
        c.redirect(
          `https://${new URL(c.req.url).host === 'a.example' ? 'b' : 'a'}.example/.well-known/matrix/server`,
        ),
      );
    });
    expect(await fetchWellKnown(loop, 'a.example')).toEqual({
      kind: 'error',
      reason: 'redirect-loop',
    });
  });

  test('honours Cache-Control max-age and refetches after it', async () => {
    let fetches = 0;
    const transport = server((app) => {
      app.get('/.well-known/matrix/server', (c) => {
        fetches++;
        c.header('cache-control', 'max-age=60');
        return c.json({ 'm.server': 'target.example:8448' });
      });
    });
    const clock = new VirtualClock(0);
    const directory = resolvingDirectory({
      dns: new VirtualDns({ address: { 'target.example': ['10.0.0.5'] } }),
      transport,
      clock,
      profile: 'matrix-current',
    });
    const first = await directory.endpointOf('a.example');
    expect(first).toMatchObject({
      ok: true,
      value: { origin: 'https://10.0.0.5:8448', hostHeader: 'target.example:8448' },
    });
    await directory.originOf('a.example');
    expect(fetches).toBe(1);
    clock.advance(61_000);
    await directory.originOf('a.example');
    expect(fetches).toBe(2);
    expect(await directory.endpointOf('not a name')).toMatchObject({
      ok: false,
      error: { kind: 'invalid-server-name' },
    });
  });

  test('scopedDirectory: names out of scope resolve statically, the others by the algorithm with their TLS server name', async () => {
    const directory = scopedDirectory(
      resolvingDirectory({
        dns: new VirtualDns({
          srv: {
            '_matrix-fed._tcp.remote.example': [
              { target: 'node.hosting.example', port: 8449, priority: 0, weight: 0 },
            ],
          },
          address: { 'node.hosting.example': ['10.0.0.9'] },
        }),
        transport: () => Promise.reject(new Error('nothing listens')),
        clock: new VirtualClock(0),
        profile: 'matrix-current',
      }),
      { originOf: (n) => Promise.resolve(n === 'hs1.example' ? 'https://hs1.example' : undefined) },
      (n) => n !== 'hs1.example',
    );
    expect(await directory.endpointOf('hs1.example')).toEqual({
      ok: true,
      value: { origin: 'https://hs1.example', hostHeader: 'hs1.example' },
    });
    expect(await directory.endpointOf('remote.example')).toMatchObject({
      ok: true,
      value: {
        origin: 'https://10.0.0.9:8449',
        hostHeader: 'remote.example',
        tlsServerName: 'remote.example',
      },
    });
  });
});
