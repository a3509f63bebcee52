import { describe, expect, test } from 'vitest';
import { withTestNetworkApi } from '../serve/test-network-api.ts';
import { ADDRESS_HEADER, TestNetwork } from './test-network.ts';
import { compose, NetworkError, type Transport } from './transport.ts';

const TOKEN = 'secret';

/** A transport that answers every request with what reached it. */
const echo: Transport = (request) =>
  Promise.resolve(
    Response.json({
      url: request.url,
      host: request.headers.get('host'),
      address: request.headers.get(ADDRESS_HEADER),
    }),
  );

const isLoopback = (url: URL) => url.hostname === '127.0.0.1';

describe('a served server’s test network', () => {
  test('a routed address reaches its origin with the Host the server chose; the contact is logged', async () => {
    const network = new TestNetwork('hs1.example', isLoopback);
    network.route('192.0.2.1:8448', 'https://127.0.0.1:4000');
    const send = compose(echo, network.middleware);
    const answer = await send(
      new Request('https://192.0.2.1:8448/_matrix/federation/v1/version', {
        headers: { host: 'example.org' },
      }),
    );
    expect(await answer.json()).toEqual({
      url: 'https://127.0.0.1:4000/_matrix/federation/v1/version',
      host: 'example.org',
      address: '192.0.2.1:8448',
    });
    expect(network.log().contacts).toEqual([
      expect.objectContaining({
        from: 'hs1.example',
        url: 'https://192.0.2.1:8448/_matrix/federation/v1/version',
        host: 'example.org',
      }),
    ]);
  });

  test('an address without a route is refused at once, and still logged; loopback is outside the world', async () => {
    const network = new TestNetwork('hs1.example', isLoopback);
    const send = compose(echo, network.middleware);
    await expect(
      send(new Request('https://example.org/.well-known/matrix/server')),
    ).rejects.toThrow(NetworkError);
    await send(new Request('https://127.0.0.1:5000/x'));
    expect(network.log().contacts.map((c) => c.url)).toEqual([
      'https://example.org/.well-known/matrix/server',
    ]);
  });

  test('the provisioning verbs set records and routes, answer the log, and refuse bad input naming the field', async () => {
    const network = new TestNetwork('hs1.example', isLoopback);
    const api = withTestNetworkApi(network, TOKEN, () =>
      Promise.resolve(new Response('the homeserver', { status: 200 })),
    );
    const post = (body: unknown, token = TOKEN) =>
      api(
        new Request('http://hs/_fedconn/v1/provision/network', {
          method: 'POST',
          headers: { authorization: `Bearer ${token}` },
          body: JSON.stringify(body),
        }),
      );
    expect(
      (
        await post({
          address: { 'example.org': ['192.0.2.1'] },
          srv: {
            '_matrix-fed._tcp.example.org': [
              { target: 'a.example.org', port: 8448, priority: 0, weight: 1 },
            ],
          },
          routes: { 'example.org': 'https://127.0.0.1:4000' },
        })
      ).status,
    ).toBe(200);
    expect(network.dns.address('example.org')).toEqual(['192.0.2.1']);
    expect(network.dns.srv('_matrix-fed._tcp.example.org')).toHaveLength(1);
    const log = await api(
      new Request('http://hs/_fedconn/v1/provision/network/log', {
        headers: { authorization: `Bearer ${TOKEN}` },
      }),
    );
    expect(await log.json()).toEqual({
      lookups: [
        { type: 'address', name: 'example.org' },
        { type: 'srv', name: '_matrix-fed._tcp.example.org' },
      ],
      contacts: [],
    });
    const bad = await post({ srv: { x: [{ target: 'a', port: 70000, priority: 0, weight: 0 }] } });
    expect(bad.status).toBe(400);
    const refusal = (await bad.json()) as { errcode: string; error: string };
    expect(refusal.errcode).toBe('M_BAD_JSON');
    expect(refusal.error).toContain('srv.x.0.port');
    expect((await post({}, 'wrong')).status).toBe(401);
    // Routes lead to loopback only, addresses are IPs off loopback, and a refused
    // update changes nothing.
    for (const body of [
      { routes: { 'a.example': 'file:///etc/passwd' } },
      { routes: { 'a.example': 'http://169.254.169.254' } },
      { routes: { 'evil/x': 'https://127.0.0.1:4000' } },
      { address: { 'b.example': ['127.0.0.1'] } },
      { address: { 'b.example': ['not an ip'] } },
      { address: { 'c.example': ['192.0.2.9'] }, routes: { 'x y': 'https://127.0.0.1:1' } },
    ]) {
      const refused = await post(body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
    }
    expect(network.dns.address('b.example')).toEqual([]);
    expect(network.dns.address('c.example')).toEqual([]);
    // A wrong method is a 405 naming the methods that are right.
    const wrong = await api(
      new Request('http://hs/_fedconn/v1/provision/network/log', {
        method: 'DELETE',
        headers: { authorization: `Bearer ${TOKEN}` },
      }),
    );
    expect([wrong.status, wrong.headers.get('allow')]).toEqual([405, 'GET']);
    expect(await (await api(new Request('http://hs/elsewhere'))).text()).toBe('the homeserver');
  });
});
