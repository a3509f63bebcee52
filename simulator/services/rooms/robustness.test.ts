// Every endpoint of the Matrix services (keys, .well-known, rooms, their provisioning),
// fed generated malformed input (random bytes, JSON of the wrong shape, right names with
// wrong values, truncated and oversized bodies, junk path parameters), answers 4xx with
// an errcode and never crashes; afterwards the federation still works.
import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe, expect } from 'vitest';
import { z } from 'zod';
import { unwrap } from '../../protocol/result.ts';
import { PROVISIONING_TOKEN } from '../../homeserver/sim-federation.ts';
import { validateServerKeys } from '../../federation/remote-keys.ts';
import {
  createMatrixFederation,
  expectOk,
  HS1,
  HS2,
  HS3,
  type MatrixFederation,
} from '../../federation/test-support.ts';
import type { FakeServer } from '../../federation/testing.ts';
import { xMatrixHeader } from '../../federation/x-matrix.ts';
import { KEYS_PROVISION_PREFIX } from '../keys/index.ts';
import { WELL_KNOWN_PROVISION_PATH } from '../well-known/index.ts';
import {
  invitePath,
  ROOM_VERSION,
  ROOMS_PROVISION_PREFIX,
  sendJoinPath,
  sendPath,
} from './index.ts';

const EVIL = 'evil.example';

let m: MatrixFederation;
let evil: FakeServer;
let room: string;

beforeAll(async () => {
  m = await createMatrixFederation('matrix robustness');
  evil = await m.fake(EVIL);
  room = await m.createRoom(HS1, `@alice:${HS1}`, 'public');
}, 60_000);

interface BodyEndpoint {
  readonly method: 'PUT' | 'POST';
  readonly path: () => string;
  /** Federation endpoints are X-Matrix signed (when the body is JSON); others carry the token. */
  readonly auth: 'x-matrix' | 'provisioning';
}

const enc = encodeURIComponent;
const bodyEndpoints: readonly BodyEndpoint[] = [
  { method: 'PUT', path: () => invitePath(room, `$e:${EVIL}`), auth: 'x-matrix' },
  { method: 'PUT', path: () => sendJoinPath(room, `$e:${EVIL}`), auth: 'x-matrix' },
  { method: 'PUT', path: () => sendPath('txn'), auth: 'x-matrix' },
  { method: 'POST', path: () => ROOMS_PROVISION_PREFIX, auth: 'provisioning' },
  {
    method: 'POST',
    path: () => `${ROOMS_PROVISION_PREFIX}/${enc(room)}/invite`,
    auth: 'provisioning',
  },
  {
    method: 'POST',
    path: () => `${ROOMS_PROVISION_PREFIX}/${enc(room)}/join`,
    auth: 'provisioning',
  },
  { method: 'POST', path: () => `${KEYS_PROVISION_PREFIX}/rotate`, auth: 'provisioning' },
  { method: 'PUT', path: () => WELL_KNOWN_PROVISION_PATH, auth: 'provisioning' },
];

const utf8 = (text: string) => new TextEncoder().encode(text);
// An empty object is a valid rotation request; nothing else generated here is valid anywhere.
const notEmptyObject = (text: string) => !/^\s*\{\s*\}\s*$/.test(text);
const wrongValue = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
);

const body = fc.oneof(
  fc
    .uint8Array({ minLength: 1, maxLength: 300 })
    .filter((b) => notEmptyObject(String.fromCharCode(...b)))
    .map((bytes) => ({ bytes, why: 'random bytes' })),
  fc
    .jsonValue({ maxDepth: 4 })
    .map((v) => JSON.stringify(v))
    .filter(notEmptyObject)
    .map((text) => ({ bytes: utf8(text), why: 'JSON of another shape' })),
  fc
    .record(
      {
        room_version: wrongValue,
        event: fc.oneof(wrongValue, fc.constant({ type: 'm.room.member' })),
        origin: wrongValue,
        origin_server_ts: fc.oneof(wrongValue, fc.double()),
        pdus: wrongValue,
        creator: wrongValue,
        sender: wrongValue,
        user_id: wrongValue,
        via: wrongValue,
        key_id: wrongValue,
        kind: wrongValue,
        delegate: wrongValue,
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v))
    .filter(notEmptyObject)
    .map((text) => ({ bytes: utf8(text), why: 'right names, wrong values' })),
  fc.integer({ min: 1, max: 80 }).map((n) => ({
    bytes: utf8(
      `{"room_version":"${ROOM_VERSION}","event":{"type":"m.room.member","content":{}},"pdus":[]}`.slice(
        0,
        n,
      ),
    ),
    why: 'truncated JSON',
  })),
  fc.constant({ bytes: new Uint8Array(300 * 1024).fill(0x7b), why: 'oversized' }),
);

async function authorization(endpoint: BodyEndpoint, server: string, bytes: Uint8Array) {
  if (endpoint.auth === 'provisioning') return `Bearer ${PROVISIONING_TOKEN}`;
  let content: unknown;
  try {
    content = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
  try {
    return await xMatrixHeader(
      { method: endpoint.method, uri: endpoint.path(), origin: EVIL, destination: server, content },
      evil.key,
    );
  } catch {
    // Not canonicalisable (a float, say): send it unsigned; it must still get a 4xx.
    return undefined;
  }
}

async function expectMatrixError(response: Response, what: string) {
  expect(response.status, what).toBeGreaterThanOrEqual(400);
  expect(response.status, what).toBeLessThan(500);
  const answer = z
    .object({ errcode: z.string(), error: z.string() })
    .safeParse(await response.json().catch(() => undefined));
  expect(answer.success, what).toBe(true);
}

describe('malformed input to the Matrix services', () => {
  test.prop([fc.constantFrom(...bodyEndpoints), body, fc.constantFrom(HS1, HS2)], { numRuns: 200 })(
    'bodies: 4xx with a Matrix error',
    async (endpoint, input, server) => {
      const auth = await authorization(endpoint, server, input.bytes);
      const response = await m.fed.transport(
        new Request(`${m.fed.originOf(server)}${endpoint.path()}`, {
          method: endpoint.method,
          headers: {
            'content-type': 'application/json',
            'x-fedconn-from': EVIL,
            ...(auth === undefined ? {} : { authorization: auth }),
          },
          body: input.bytes,
        }),
      );
      await expectMatrixError(response, `${endpoint.method} ${endpoint.path()} with ${input.why}`);
    },
  );

  const junk = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ maxLength: 40, unit: fc.constantFrom(...Array.from('@!$:#%/?&=. aZ09')) }),
    fc.constantFrom('', '%', '%zz', '..', '@a:', '!r:hs1.example', '@eve:evil.example'),
  );
  const raw = (text: string) => {
    try {
      return encodeURIComponent(text);
    } catch {
      return 'x'; // a lone surrogate
    }
  };

  test.prop([junk, junk, fc.array(junk, { maxLength: 3 }), fc.boolean()], { numRuns: 200 })(
    'path and query parameters: 4xx with a Matrix error',
    async (a, b, versions, provisioning) => {
      const path = provisioning
        ? `${ROOMS_PROVISION_PREFIX}/${raw(a)}`
        : `/_matrix/federation/v1/make_join/${raw(a)}/${raw(b)}?${versions
            .map((v) => `ver=${raw(v)}`)
            .join('&')}`;
      const headers: Record<string, string> = provisioning
        ? { authorization: `Bearer ${PROVISIONING_TOKEN}` }
        : {
            authorization: await xMatrixHeader(
              { method: 'GET', uri: path, origin: EVIL, destination: HS1 },
              evil.key,
            ),
          };
      const response = await m.fed.transport(
        new Request(`${m.fed.originOf(HS1)}${path}`, { headers }),
      );
      // Hono reads a path like `%` as is; only a real room could answer 200.
      await expectMatrixError(response, path);
    },
  );

  test.prop(
    [
      fc.constantFrom(
        '/_matrix/key/v2/server',
        '/_matrix/key/v1',
        '/.well-known/matrix/server',
        `/_matrix/federation/v1/send/x`,
        `/_matrix/federation/v2/invite/a/b`,
      ),
      fc.constantFrom('DELETE', 'PATCH', 'POST'),
    ],
    { numRuns: 30 },
  )('a wrong method: 405 M_UNRECOGNIZED', async (path, method) => {
    const response = await m.fed.transport(
      new Request(`${m.fed.originOf(HS2)}${path}`, { method, body: '{}' }),
    );
    expect([response.status, await response.json()]).toMatchObject([
      405,
      { errcode: 'M_UNRECOGNIZED' },
    ]);
  });

  test('afterwards the federation still works', async () => {
    const now = m.fed.clock.now();
    for (const server of [HS1, HS2, HS3]) {
      const keys = await m.call(server, '/_matrix/key/v2/server');
      unwrap(await validateServerKeys(keys.body, server, now));
    }
    expectOk('invite', await m.invite(HS1, room, `@alice:${HS1}`, `@bob:${HS2}`));
    expectOk('join', await m.join(HS2, room, `@bob:${HS2}`));
    expectOk('join', await m.join(HS3, room, `@carol:${HS3}`, HS1));
    expect((await m.room(HS2, room))?.members).toMatchObject({
      [`@bob:${HS2}`]: 'join',
      [`@carol:${HS3}`]: 'join',
    });
  });
});
