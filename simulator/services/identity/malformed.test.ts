// Every endpoint of the identity service fed generated malformed input: wrong types,
// missing members, non-object roots, truncated JSON, random bytes, oversized bodies
// and junk Authorization headers. Each must answer 4xx with an errcode, store nothing,
// and leave the service answering correctly.
import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe, expect } from 'vitest';
import { currentSigningKey } from '../../federation/signing-keys.ts';
import { xMatrixHeader } from '../../federation/x-matrix.ts';
import { PROVISIONING_TOKEN } from '../../homeserver/sim-federation.ts';
import { lookupHash } from '../../protocol/identity/hash.ts';
import { unwrap } from '../../protocol/result.ts';
import { MAX_BODY_BYTES } from '../../protocol/wire/body.ts';
import {
  createIdentityFederation,
  HS1,
  HS2,
  type Answer,
  type IdentityFederation,
} from './test-support.ts';
import { IS_PREFIX, PROVISION_PREFIX } from './wire.ts';

const RUNS = { numRuns: 100 };

type FieldType = 'string' | 'string[]' | 'mappings' | 'int' | 'object[]';
interface Field {
  readonly type: FieldType;
  readonly required: boolean;
}

interface Endpoint {
  readonly server: string;
  readonly path: string;
  readonly valid: () => Record<string, unknown>;
  readonly fields: Readonly<Record<string, Field>>;
  /** Rejects unknown members (provisioning bodies); Matrix bodies ignore them. */
  readonly strict: boolean;
  readonly auth: 'user' | 'none' | 'provisioning' | 'signed';
}

interface Malformed {
  readonly kind: string;
  /** The parsed value when the body is JSON (signed requests sign it). */
  readonly json?: unknown;
  readonly bytes: Uint8Array;
}

const encode = (text: string) => new TextEncoder().encode(text);
const asJson = (kind: string, json: unknown): Malformed => ({
  kind,
  json,
  bytes: encode(JSON.stringify(json)),
});

const scalarsBut = (...keep: ('string' | 'int' | 'array' | 'object')[]) => {
  const all = {
    string: fc.string({ maxLength: 8 }),
    int: fc.integer(),
    array: fc.array(fc.integer(), { maxLength: 3 }),
    object: fc.dictionary(fc.stringMatching(/^[a-z]{1,4}$/), fc.integer(), { maxKeys: 2 }),
  };
  return fc.oneof(
    fc.boolean(),
    fc.constant(null),
    ...Object.entries(all)
      .filter(([name]) => !keep.includes(name as keyof typeof all))
      .map(([, arb]) => arb as fc.Arbitrary<unknown>),
  );
};

const WRONG: Record<FieldType, fc.Arbitrary<unknown>> = {
  string: scalarsBut('string'),
  'string[]': fc.oneof(
    scalarsBut('array'),
    fc.array(fc.oneof(fc.integer(), fc.constant(null)), { minLength: 1, maxLength: 3 }),
  ),
  mappings: fc.oneof(
    scalarsBut('object'),
    fc.dictionary(fc.stringMatching(/^[a-z.]{1,8}$/), scalarsBut('array'), {
      minKeys: 1,
      maxKeys: 2,
    }),
  ),
  int: fc.oneof(scalarsBut('int'), fc.integer({ max: 0 })),
  'object[]': fc.oneof(
    scalarsBut('array'),
    fc.array(fc.oneof(fc.string(), fc.integer()), { minLength: 1, maxLength: 3 }),
  ),
};

const isJsonObjectText = (bytes: Uint8Array): boolean => {
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
};

function malformed(endpoint: Endpoint): fc.Arbitrary<Malformed> {
  const names = Object.keys(endpoint.fields);
  const required = names.filter((n) => endpoint.fields[n]?.required === true);
  const kinds: fc.Arbitrary<Malformed>[] = [
    fc
      .constantFrom(...names)
      .chain((name) =>
        WRONG[endpoint.fields[name]?.type ?? 'string'].map((value) =>
          asJson(`wrong type of ${name}`, { ...endpoint.valid(), [name]: value }),
        ),
      ),
    fc
      .oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.integer()))
      .map((value) => asJson('root is not an object', value)),
    fc.nat().map((n) => {
      const text = JSON.stringify(endpoint.valid());
      return { kind: 'truncated JSON', bytes: encode(text.slice(0, n % text.length)) };
    }),
    fc
      .uint8Array({ maxLength: 300 })
      .filter((bytes) => !isJsonObjectText(bytes))
      .map((bytes) => ({ kind: 'random bytes', bytes })),
    fc.nat({ max: 1000 }).map((extra) => {
      const json = { ...endpoint.valid(), padding: 'x'.repeat(MAX_BODY_BYTES + extra) };
      return { kind: 'oversized', bytes: encode(JSON.stringify(json)) };
    }),
  ];
  if (required.length > 0) {
    kinds.push(
      fc.constantFrom(...required).map((name) => {
        const json = Object.fromEntries(
          Object.entries(endpoint.valid()).filter(([key]) => key !== name),
        );
        return asJson(`missing ${name}`, json);
      }),
    );
  }
  if (endpoint.strict) {
    kinds.push(fc.constant(asJson('unknown member', { ...endpoint.valid(), unexpected: 1 })));
  }
  return fc.oneof(...kinds);
}

describe('malformed input', () => {
  let idf: IdentityFederation;
  let token: string;
  let pepper: string;
  let aliceHash: string;

  beforeAll(async () => {
    idf = await createIdentityFederation('identity malformed');
    token = await idf.token(HS1, '@alice:hs1.example');
    await idf.bind(HS1, 'alice@example.com', 'email', '@alice:hs1.example');
    pepper = (await idf.hashDetails(HS1, token)).lookup_pepper;
    aliceHash = unwrap(
      lookupHash({ algorithm: 'sha256', address: 'alice@example.com', medium: 'email', pepper }),
    );
  });

  const S = (required = true): Field => ({ type: 'string', required });
  const endpoints: Record<string, Endpoint> = {
    lookup: {
      server: HS1,
      path: `${IS_PREFIX}/lookup`,
      valid: () => ({ algorithm: 'sha256', pepper, addresses: [aliceHash] }),
      fields: { algorithm: S(), pepper: S(), addresses: { type: 'string[]', required: true } },
      strict: false,
      auth: 'user',
    },
    ...Object.fromEntries(
      (['none', 'signed'] as const).map((auth) => [
        `lookups (${auth === 'none' ? 'unsigned' : 'signed by a trusted server'})`,
        {
          server: HS1,
          path: `${IS_PREFIX}/lookups`,
          valid: () => ({ algorithm: 'sha256', pepper, mappings: { [HS2]: [aliceHash] } }),
          fields: { algorithm: S(), pepper: S(), mappings: { type: 'mappings', required: true } },
          strict: false,
          auth,
        } satisfies Endpoint,
      ]),
    ),
    'provision bind': {
      server: HS1,
      path: `${PROVISION_PREFIX}/bind`,
      valid: () => ({ address: 'bob@example.com', medium: 'email', user_id: '@bob:hs1.example' }),
      fields: { address: S(), medium: S(), user_id: S() },
      strict: true,
      auth: 'provisioning',
    },
    'provision token': {
      server: HS1,
      path: `${PROVISION_PREFIX}/token`,
      valid: () => ({ user_id: '@bob:hs1.example', expires_in_ms: 1000 }),
      fields: { user_id: S(), expires_in_ms: { type: 'int', required: false } },
      strict: true,
      auth: 'provisioning',
    },
    'provision pepper/rotate': {
      server: HS1,
      path: `${PROVISION_PREFIX}/pepper/rotate`,
      valid: () => ({ lookup_pepper: 'fresh' }),
      fields: { lookup_pepper: S(false) },
      strict: true,
      auth: 'provisioning',
    },
    'provision pepper/retire': {
      server: HS1,
      path: `${PROVISION_PREFIX}/pepper/retire`,
      valid: () => ({ pepper: 'old' }),
      fields: { pepper: S() },
      strict: true,
      auth: 'provisioning',
    },
    'provision push': {
      server: HS2,
      path: `${PROVISION_PREFIX}/push`,
      valid: () => ({
        destination: HS1,
        addresses: [{ address: 'carol@example.com', medium: 'email' }],
        pepper,
      }),
      fields: {
        destination: S(),
        addresses: { type: 'object[]', required: false },
        pepper: S(false),
      },
      strict: true,
      auth: 'provisioning',
    },
  };

  async function send(endpoint: Endpoint, body: Malformed): Promise<Answer> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (endpoint.auth === 'user') headers.authorization = `Bearer ${token}`;
    if (endpoint.auth === 'provisioning') headers.authorization = `Bearer ${PROVISIONING_TOKEN}`;
    if (endpoint.auth === 'signed') {
      const hs2 = idf.fed.servers.get(HS2);
      if (hs2 === undefined) throw new Error('no hs2');
      // Non-JSON bodies cannot be signed; they get a header signed over nothing.
      headers.authorization = await xMatrixHeader(
        {
          method: 'POST',
          uri: endpoint.path,
          origin: HS2,
          destination: HS1,
          ...(body.json === undefined ? {} : { content: body.json }),
        },
        currentSigningKey(hs2.ctx),
      );
    }
    return idf.call(endpoint.server, endpoint.path, { body: body.bytes, headers });
  }

  async function stillAnswers(): Promise<void> {
    const details = await idf.hashDetails(HS1, token);
    expect(details.lookup_pepper).toBe(pepper);
    expect(details.alt_lookup_peppers).toBeUndefined();
    const answer = await idf.call(HS1, `${IS_PREFIX}/lookup`, {
      token,
      body: { algorithm: 'sha256', pepper, addresses: [aliceHash] },
    });
    expect(answer).toEqual({
      status: 200,
      body: { mappings: { [aliceHash]: '@alice:hs1.example' } },
    });
  }

  for (const [name, endpoint] of Object.entries(endpoints)) {
    test.prop([malformed(endpoint)], RUNS)(
      `${name}: 4xx with an errcode, nothing stored, service intact`,
      async (body) => {
        const mark = idf.mark();
        const answer = await send(endpoint, body);
        expect(answer.status, body.kind).toBeGreaterThanOrEqual(400);
        expect(answer.status, body.kind).toBeLessThan(500);
        expect(answer.body, body.kind).toMatchObject({ errcode: expect.any(String) as unknown });
        if (body.kind === 'oversized') expect(answer.status).toBe(413);
        // A signed JSON body passes authentication and fails on its shape; unsigned, it is 401.
        if (endpoint.auth === 'signed' && body.json !== undefined) expect(answer.status).toBe(400);
        if (endpoint.auth === 'none' && body.json !== undefined) expect(answer.status).toBe(401);
        for (const server of [HS1, HS2]) {
          expect(idf.eventsSince(server, mark).filter((e) => e.kind === 'row')).toEqual([]);
        }
        await stillAnswers();
      },
    );
  }

  test.prop(
    [
      fc.constantFrom('hash_details', 'account', 'lookup'),
      fc.oneof(
        fc.stringMatching(/^[ -~]{0,80}$/),
        fc.stringMatching(/^[ -~]{0,80}$/).map((s) => `Bearer ${s}`),
        fc.stringMatching(/^[ -~]{0,80}$/).map((s) => `X-Matrix ${s}`),
        fc
          .tuple(
            fc.constantFrom(HS1, HS2, 'hs9.example', ''),
            fc.stringMatching(/^[A-Za-z0-9+/]{0,86}$/),
          )
          .map(([origin, sig]) => `X-Matrix origin="${origin}",key="ed25519:1",sig="${sig}"`),
      ),
    ],
    RUNS,
  )('junk Authorization headers are 401 M_UNAUTHORIZED', async (path, authorization) => {
    const lookup = path === 'lookup';
    const answer = await idf.call(HS1, `${IS_PREFIX}/${path}`, {
      headers: { authorization },
      ...(lookup ? { body: { algorithm: 'sha256', pepper, addresses: [aliceHash] } } : {}),
    });
    expect(answer).toMatchObject({ status: 401, body: { errcode: 'M_UNAUTHORIZED' } });
    await stillAnswers();
  });

  test('provisioning without the provisioning token is 401', async () => {
    for (const endpoint of Object.values(endpoints)) {
      if (endpoint.auth !== 'provisioning') continue;
      for (const [headers, errcode] of [
        [{}, 'M_MISSING_TOKEN'],
        [{ authorization: `Bearer ${token}` }, 'M_UNKNOWN_TOKEN'],
      ] as const) {
        const answer = await idf.call(endpoint.server, endpoint.path, {
          body: endpoint.valid(),
          headers,
        });
        expect(answer).toMatchObject({ status: 401, body: { errcode } });
      }
    }
    await stillAnswers();
  });
});
