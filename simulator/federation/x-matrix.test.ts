// X-Matrix request authentication (FED-AUTH-01..04, FED-NAME-04), against a reference
// homeserver's make_join endpoint and on the parser alone.
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { makeJoinPath, ROOM_VERSION, sendJoinPath } from '../services/rooms/index.ts';
import { federationRequest } from './client.ts';
import { MATRIX_MUTANTS } from './mutants.ts';
import { currentSigningKey } from './signing-keys.ts';
import { createMatrixFederation, HS1, HS2, HS3, type MatrixFederation } from './test-support.ts';
import type { FakeServer } from './testing.ts';
import { parseXMatrix, xMatrixHeader } from './x-matrix.ts';

const EVIL = 'evil.example';
const RUNS = { numRuns: 100 };

interface World {
  readonly m: MatrixFederation;
  readonly evil: FakeServer;
  readonly room: string;
  readonly uri: string;
}

let world: Promise<World> | undefined;
const setup = () =>
  (world ??= (async () => {
    const m = await createMatrixFederation('x-matrix');
    const evil = await m.fake(EVIL);
    const room = await m.createRoom(HS2, `@alice:${HS2}`, 'public');
    return { m, evil, room, uri: makeJoinPath(room, `@eve:${EVIL}`, [ROOM_VERSION]) };
  })());

async function status(response: Promise<Response>): Promise<[number, unknown]> {
  const r = await response;
  return [r.status, await r.json()];
}

const unauthorized = (status: number) => [status, { errcode: 'M_UNAUTHORIZED' }];

describe('a reference server authenticates every federation request', () => {
  test('correctly signed requests are accepted, from a homeserver and from a peer', async () => {
    const { m, evil, room, uri } = await setup();
    const hs1 = m.fed.servers.get(HS1)?.ctx ?? expect.unreachable();
    const fromHs1 = await federationRequest(
      hs1,
      HS2,
      'GET',
      makeJoinPath(room, `@bob:${HS1}`, [ROOM_VERSION]),
    );
    expect(fromHs1.status).toBe(200);
    expect((await evil.request(HS2, 'GET', uri)).status).toBe(200);
  });

  test('wrong destination, bad signature, unknown key, forged origin: 401', async () => {
    const { m, evil, uri } = await setup();
    const hs1Key = currentSigningKey(m.fed.servers.get(HS1)?.ctx ?? expect.unreachable());
    const flipped = async () => {
      const header = await xMatrixHeader(
        { method: 'GET', uri, origin: EVIL, destination: HS2 },
        evil.key,
      );
      return header.replace(/sig="(.)/, (_, c: string) => `sig="${c === 'A' ? 'B' : 'A'}`);
    };
    const cases: [string, Promise<Response>][] = [
      [
        'signed for another destination',
        evil.request(HS2, 'GET', uri, undefined, { destination: HS3 }),
      ],
      [
        'bit flip in the signature',
        evil.request(HS2, 'GET', uri, undefined, { authorization: await flipped() }),
      ],
      [
        'unknown key id',
        evil.request(HS2, 'GET', uri, undefined, {
          key: { keyId: 'ed25519:unknown', pair: evil.key.pair },
        }),
      ],
      [
        'forged origin: claims hs1 under its real key id, signed by the evil key',
        evil.request(HS2, 'GET', makeJoinPath('!x:y', `@bob:${HS1}`, [ROOM_VERSION]), undefined, {
          origin: HS1,
          key: { keyId: hs1Key.keyId, pair: evil.key.pair },
        }),
      ],
      [
        'signature of another URI replayed',
        evil.request(HS2, 'GET', `${uri}&x=1`, undefined, {
          authorization: await xMatrixHeader(
            { method: 'GET', uri, origin: EVIL, destination: HS2 },
            evil.key,
          ),
        }),
      ],
      [
        'no Authorization header',
        evil.request(HS2, 'GET', uri, undefined, { authorization: null }),
      ],
      [
        'not X-Matrix',
        evil.request(HS2, 'GET', uri, undefined, { authorization: 'Bearer something' }),
      ],
    ];
    for (const [what, response] of cases) {
      expect(await status(response), what).toMatchObject(unauthorized(401));
    }
  });

  test('a body other than the signed one is refused', async () => {
    const { evil, room } = await setup();
    const path = sendJoinPath(room, `$x:${EVIL}`);
    const answer = evil.request(HS2, 'PUT', path, { a: 1 }, { sentContent: { a: 2 } });
    expect(await status(answer)).toMatchObject(unauthorized(401));
  });

  test('an origin that is not a server name is 400 (FED-NAME-04)', async () => {
    const { evil, uri } = await setup();
    for (const origin of ['localhost:http', 'a b', '[::1', 'host:99999']) {
      const answer = evil.request(HS2, 'GET', uri, undefined, { origin });
      expect(await status(answer), origin).toMatchObject(unauthorized(400));
    }
  });

  test.prop(
    [
      fc.constantFrom('origin', 'destination', 'key', 'sig'),
      fc.string({
        minLength: 1,
        maxLength: 12,
        unit: fc.constantFrom(...Array.from('abcAB019+/:._-')),
      }),
    ],
    RUNS,
  )('any change to a valid header fails authentication', async (param, junk) => {
    const { evil, uri } = await setup();
    const header = await xMatrixHeader(
      { method: 'GET', uri, origin: EVIL, destination: HS2 },
      evil.key,
    );
    const changed = header.replace(
      new RegExp(`${param}="([^"]*)"`),
      (_, v: string) => `${param}="${v === junk ? `${junk}x` : junk}"`,
    );
    const [code] = await status(
      evil.request(HS2, 'GET', uri, undefined, { authorization: changed }),
    );
    expect([400, 401]).toContain(code);
  });

  test.prop(
    [
      fc.shuffledSubarray(['origin', 'destination', 'key', 'sig'], { minLength: 4 }),
      fc.boolean(),
      fc.boolean(),
    ],
    RUNS,
  )(
    'parameter order, case and quoting do not matter (FED-AUTH-04)',
    async (order, upper, extra) => {
      const { evil, uri } = await setup();
      const header = await xMatrixHeader(
        { method: 'GET', uri, origin: EVIL, destination: HS2 },
        evil.key,
      );
      const params = parseXMatrix(header);
      if (!params.ok) expect.unreachable();
      const value = (name: string) =>
        name === 'origin'
          ? params.value.origin
          : name === 'destination'
            ? HS2
            : name === 'key'
              ? params.value.key
              : params.value.sig;
      const parts = order.map(
        (name) =>
          `${upper ? name.toUpperCase() : name}=${name === 'key' || name === 'destination' ? value(name) : `"${value(name)}"`}`,
      );
      if (extra) parts.push('unknown="ignored"');
      const authorization = `X-Matrix ${parts.join(',')}`;
      const answer = await evil.request(HS2, 'GET', uri, undefined, { authorization });
      expect(answer.status).toBe(200);
    },
  );
});

describe('mutants of request authentication', () => {
  test('FED-AUTH-02, FED-AUTH-03 and FED-NAME-04 mutants let bad requests through', async () => {
    const m = await createMatrixFederation('x-matrix mutants', {
      servers: [
        {
          serverName: HS2,
          mutants: [MATRIX_MUTANTS.ignoreDestination, MATRIX_MUTANTS.skipRequestSignature],
        },
      ],
    });
    const evil = await m.fake(EVIL);
    const room = await m.createRoom(HS2, `@alice:${HS2}`, 'public');
    const uri = makeJoinPath(room, `@eve:${EVIL}`, [ROOM_VERSION]);
    const wrongDestination = await evil.request(HS2, 'GET', uri, undefined, { destination: HS3 });
    expect(wrongDestination.status).toBe(200);
    const replayed = await evil.request(HS2, 'GET', `${uri}&x=1`, undefined, {
      authorization: await xMatrixHeader(
        { method: 'GET', uri, origin: EVIL, destination: HS2 },
        evil.key,
      ),
    });
    expect(replayed.status).toBe(200);
  });

  test('FED-NAME-04 mutant: an invalid origin is no longer a 400', async () => {
    const m = await createMatrixFederation('x-matrix origin mutant', {
      servers: [{ serverName: HS2, mutants: [MATRIX_MUTANTS.acceptAnyOrigin] }],
    });
    const evil = await m.fake(EVIL);
    const room = await m.createRoom(HS2, `@alice:${HS2}`, 'public');
    const uri = makeJoinPath(room, `@eve:${EVIL}`, [ROOM_VERSION]);
    const answer = await evil.request(HS2, 'GET', uri, undefined, { origin: 'localhost:http' });
    expect(answer.status).toBe(401);
  });
});

describe('parseXMatrix', () => {
  test('reads quoted values with escapes and bare values with colons', () => {
    const parsed = parseXMatrix(
      'X-Matrix origin="a\\"b",Destination=hs:8448, key="ed25519:1",sig=abc,extra="x"',
    );
    expect(parsed).toEqual({
      ok: true,
      value: { origin: 'a"b', destination: 'hs:8448', key: 'ed25519:1', sig: 'abc' },
    });
    expect(parseXMatrix(null)).toMatchObject({ ok: false, error: { kind: 'missing' } });
    expect(parseXMatrix('X-Matrix origin="x')).toMatchObject({
      ok: false,
      error: { kind: 'malformed' },
    });
    expect(parseXMatrix('X-Matrix origin=x')).toMatchObject({
      ok: false,
      error: { kind: 'malformed' },
    });
  });

  test.prop([fc.string({ maxLength: 200 })], RUNS)('never throws on any header', (header) => {
    const parsed = parseXMatrix(header);
    expect(typeof parsed.ok).toBe('boolean');
  });
});
