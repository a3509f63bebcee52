// The reference identity client against the simulated federation (IS-FED-04,
// IS-LOOKUP-10) and against stub servers for the paths a reference server never takes.
import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe, expect } from 'vitest';
import { lookupHash } from '../protocol/identity/hash.ts';
import { unwrap } from '../protocol/result.ts';
import type { Transport } from '../net/transport.ts';
import {
  createIdentityFederation,
  HS1,
  HS2,
  HS3,
  type IdentityFederation,
} from '../services/identity/test-support.ts';
import {
  lookup,
  type IdentityClientOptions,
  type IdentityServerAccess,
} from './identity-client.ts';

const sha256 = (address: string, medium: string, pepper: string) =>
  unwrap(lookupHash({ algorithm: 'sha256', address, medium, pepper }));

// '@' and 11+ digit runs never occur by chance in hashes, peppers, tokens or signatures.
const email = fc
  .tuple(fc.stringMatching(/^[a-z0-9]{1,12}$/), fc.stringMatching(/^[a-z0-9]{1,10}$/))
  .map(([local, domain]) => ({ address: `${local}@${domain}.test`, medium: 'email' }));
const msisdn = fc
  .stringMatching(/^[1-9][0-9]{10,14}$/)
  .map((address) => ({ address, medium: 'msisdn' }));

describe('against the simulated federation', () => {
  let idf: IdentityFederation;
  const access = new Map<string, IdentityServerAccess>();
  let options: IdentityClientOptions;

  beforeAll(async () => {
    idf = await createIdentityFederation('identity client');
    for (const server of [HS1, HS2]) {
      access.set(server, {
        baseUrl: idf.fed.originOf(server),
        token: await idf.token(server, '@client:hs1.example'),
      });
    }
    options = { transport: idf.fed.transport, resolve: (name) => access.get(name) };
  });

  const at = (server: string): IdentityServerAccess => {
    const found = access.get(server);
    if (found === undefined) throw new Error(`no access to ${server}`);
    return found;
  };

  test.prop([fc.oneof(email, msisdn), fc.nat({ max: 999 })], { numRuns: 100 })(
    'follows third_party_mappings to the binding, never sending the address in clear (IS-FED-04, IS-LOOKUP-10)',
    async ({ address, medium }, n) => {
      const userId = `@user${n}:hs2.example`;
      await idf.bind(HS2, address, medium, userId);
      const pushed = await idf.provision(HS2, 'push', {
        destination: HS1,
        addresses: [{ address, medium }],
      });
      expect(pushed.body).toMatchObject({ answer: { status: 200 } });

      const mark = idf.mark();
      const result = unwrap(await lookup(options, at(HS1), address, medium));
      expect(result.userId).toBe(userId);
      const [first, second, ...rest] = result.path;
      expect(rest).toEqual([]);
      const pepper1 = (await idf.hashDetails(HS1, at(HS1).token)).lookup_pepper;
      const pepper2 = (await idf.hashDetails(HS2, at(HS2).token)).lookup_pepper;
      expect(first).toMatchObject({
        baseUrl: idf.fed.originOf(HS1),
        algorithm: 'sha256',
        pepper: pepper1,
        sent: sha256(address, medium, pepper1),
        answer: 'third-party',
      });
      // The second hop re-hashes with hs2's own pepper rather than reusing the first hash.
      expect(second).toMatchObject({
        baseUrl: idf.fed.originOf(HS2),
        serverName: HS2,
        algorithm: 'sha256',
        pepper: pepper2,
        sent: sha256(address, medium, pepper2),
        answer: 'mapping',
      });
      expect(second?.sent).not.toBe(first?.sent);

      // Everything any server received during the lookup, in every part of the request.
      const seen = [HS1, HS2, HS3].flatMap((s) => idf.eventsSince(s, mark));
      expect(seen.filter((e) => e.kind === 'request').length).toBeGreaterThanOrEqual(4);
      for (const event of seen) expect(JSON.stringify(event)).not.toContain(address);
    },
  );

  test('a local binding is found in one step; an unknown address in one step too', async () => {
    await idf.bind(HS1, 'local@example.com', 'email', '@local:hs1.example');
    const found = unwrap(await lookup(options, at(HS1), 'local@example.com', 'email'));
    expect(found.userId).toBe('@local:hs1.example');
    expect(found.path.map((s) => s.answer)).toEqual(['mapping']);
    const unknown = unwrap(await lookup(options, at(HS1), 'nobody@example.com', 'email'));
    expect(unknown).toMatchObject({ userId: undefined, unresolved: [] });
    expect(unknown.path.map((s) => s.answer)).toEqual(['unknown']);
  });

  test('a referral the resolver cannot map is reported as unresolved', async () => {
    await idf.bind(HS2, 'far@example.com', 'email', '@far:hs2.example');
    await idf.provision(HS2, 'push', {
      destination: HS1,
      addresses: [{ address: 'far@example.com', medium: 'email' }],
    });
    const result = unwrap(
      await lookup({ transport: idf.fed.transport }, at(HS1), 'far@example.com', 'email'),
    );
    expect(result).toMatchObject({ userId: undefined, unresolved: [HS2] });
  });

  test('on M_INVALID_PEPPER it re-fetches hash_details once and succeeds', async () => {
    await idf.bind(HS1, 'rot@example.com', 'email', '@rot:hs1.example');
    let rotated = false;
    // The pepper rotates between the client's hash_details and its lookup.
    const rotating: Transport = async (request) => {
      const response = await idf.fed.transport(request);
      if (!rotated && new URL(request.url).pathname.endsWith('/hash_details')) {
        rotated = true;
        await idf.rotate(HS1);
        await idf.provision(HS1, 'pepper/retire', {
          pepper: ((await response.clone().json()) as { lookup_pepper: string }).lookup_pepper,
        });
      }
      return response;
    };
    const result = unwrap(
      await lookup({ transport: rotating }, at(HS1), 'rot@example.com', 'email'),
    );
    expect(result.userId).toBe('@rot:hs1.example');
    expect(result.path).toHaveLength(1);
    expect(result.path[0]?.refetchedPepper).toBe(true);
  });
});

describe('against stub servers', () => {
  const BASE = 'https://is.example';
  const server = { baseUrl: BASE, token: 't' };

  /** A transport answering from `routes` by path, recording every request. */
  function stub(routes: Record<string, (request: Request) => unknown>) {
    const requests: { path: string; body: string }[] = [];
    const transport: Transport = async (request) => {
      const url = new URL(request.url);
      requests.push({ path: `${url.host}${url.pathname}`, body: await request.clone().text() });
      const route = routes[`${url.host}${url.pathname}`];
      if (route === undefined) return Response.json({ errcode: 'M_UNRECOGNIZED' }, { status: 404 });
      const answer = route(request);
      return answer instanceof Response ? answer : Response.json(answer);
    };
    return { transport, requests };
  }

  const details = (host: string, body: unknown) => ({
    [`${host}/_matrix/identity/v2/hash_details`]: () => body,
  });

  test('an always-refused pepper ends after one re-fetch: no retry loop', async () => {
    const { transport, requests } = stub({
      ...details('is.example', { lookup_pepper: 'abc', algorithms: ['sha256'] }),
      'is.example/_matrix/identity/v2/lookup': () =>
        Response.json(
          { errcode: 'M_INVALID_PEPPER', error: 'no', algorithm: 'sha256', lookup_pepper: 'abc' },
          { status: 400 },
        ),
    });
    const result = await lookup({ transport }, server, 'a@b.test', 'email');
    expect(result).toMatchObject({ ok: false, error: { kind: 'pepper-rejected', path: [] } });
    expect(requests.map((r) => r.path.split('/').at(-1))).toEqual([
      'hash_details',
      'lookup',
      'hash_details',
      'lookup',
    ]);
  });

  test('without sha256 it sends nothing, unless cleartext is allowed', async () => {
    const routes = {
      ...details('is.example', { lookup_pepper: 'abc', algorithms: ['none'] }),
      'is.example/_matrix/identity/v2/lookup': () => ({ mappings: { 'a@b.test email': '@a:b' } }),
    };
    const refused = stub(routes);
    expect(
      await lookup({ transport: refused.transport }, server, 'a@b.test', 'email'),
    ).toMatchObject({
      ok: false,
      error: { kind: 'no-hashed-algorithm' },
    });
    expect(refused.requests.some((r) => r.body.includes('a@b.test'))).toBe(false);
    const allowed = stub(routes);
    const result = await lookup(
      { transport: allowed.transport, allowCleartext: true },
      server,
      'a@b.test',
      'email',
    );
    expect(result).toMatchObject({ ok: true, value: { userId: '@a:b' } });
  });

  test('sha256 is used whenever it is offered, even after none', async () => {
    const { transport, requests } = stub({
      ...details('is.example', { lookup_pepper: 'abc', algorithms: ['none', 'sha256'] }),
      'is.example/_matrix/identity/v2/lookup': () => ({ mappings: {} }),
    });
    await lookup({ transport, allowCleartext: true }, server, 'a@b.test', 'email');
    const sent = JSON.parse(requests[1]?.body ?? '{}') as unknown;
    expect(sent).toEqual({
      algorithm: 'sha256',
      pepper: 'abc',
      addresses: [sha256('a@b.test', 'email', 'abc')],
    });
  });

  test('an empty or invalid pepper stops the client (MSC2134)', async () => {
    for (const pepper of ['', 'matrix_rocks']) {
      const { transport, requests } = stub(
        details('is.example', { lookup_pepper: pepper, algorithms: ['sha256'] }),
      );
      expect(await lookup({ transport }, server, 'a@b.test', 'email')).toMatchObject({
        ok: false,
        error: { kind: 'invalid-pepper' },
      });
      expect(requests).toHaveLength(1);
    }
  });

  test('errors, malformed answers and unreachable servers are failures, not throws', async () => {
    const cases: [Transport, string][] = [
      [() => Promise.reject(new TypeError('down')), 'unreachable'],
      [async () => new Response('not json'), 'bad-response'],
      [async () => Response.json({ lookup_pepper: 1 }), 'bad-response'],
      [
        async () => Response.json({ errcode: 'M_UNAUTHORIZED', error: 'x' }, { status: 401 }),
        'error-answer',
      ],
    ];
    for (const [transport, kind] of cases) {
      expect(await lookup({ transport }, server, 'a@b.test', 'email')).toMatchObject({
        ok: false,
        error: { kind },
      });
    }
    expect(
      await lookup(
        stub(details('is.example', { lookup_pepper: 'abc', algorithms: ['sha256'] })),
        server,
        'a b@c.test',
        'email',
      ),
    ).toMatchObject({ ok: false, error: { kind: 'invalid-address' } });
  });

  test('referral cycles are walked once; depth is bounded by maxReferrals', async () => {
    const refer = (to: string) => (request: Request) =>
      request.json().then((body) => ({
        mappings: {},
        third_party_mappings: { [to]: (body as { addresses: string[] }).addresses },
      }));
    const routes: Record<string, (request: Request) => unknown> = {};
    for (const [host, next] of [
      ['a.example', 'b.example'],
      ['b.example', 'c.example'],
      ['c.example', 'a.example'],
    ] as const) {
      Object.assign(
        routes,
        details(host, { lookup_pepper: host[0] ?? 'x', algorithms: ['sha256'] }),
      );
      routes[`${host}/_matrix/identity/v2/lookup`] = refer(next);
    }
    const resolve = (name: string) => ({ baseUrl: `https://${name}`, token: name });
    // Stub routes answer synchronously except for lookup, which awaits the body.
    const transport: Transport = async (request) => {
      const url = new URL(request.url);
      const route = routes[`${url.host}${url.pathname}`];
      const answer: unknown = route === undefined ? undefined : await route(request);
      return Response.json(answer ?? { errcode: 'M_UNRECOGNIZED' }, {
        status: answer === undefined ? 404 : 200,
      });
    };
    const start = resolve('a.example');
    const deep = unwrap(
      await lookup({ transport, resolve, maxReferrals: 10 }, start, 'x@y.test', 'email'),
    );
    expect(deep.path.map((s) => s.baseUrl)).toEqual([
      'https://a.example',
      'https://b.example',
      'https://c.example',
    ]);
    expect(deep.userId).toBeUndefined();
    const shallow = unwrap(await lookup({ transport, resolve }, start, 'x@y.test', 'email'));
    expect(shallow.path).toHaveLength(2);
  });
});
