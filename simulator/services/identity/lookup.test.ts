// hash_details and lookup of one identity service (IS-LOOKUP-*), through the
// simulated network, including the published hash vectors used against the server.
import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe, expect } from 'vitest';
import { loadVectors } from '../../../fixtures/vectors.ts';
import { lookupHash, PEPPER_PATTERN } from '../../protocol/identity/hash.ts';
import { unwrap } from '../../protocol/result.ts';
import { createIdentityFederation, HS1, type IdentityFederation } from './test-support.ts';
import { IS_PREFIX, SHA256_HASH } from './wire.ts';

const RUNS = { numRuns: 100 };
const LOOKUP = `${IS_PREFIX}/lookup`;
const ALICE = '@alice:hs1.example';

const sha256 = (address: string, medium: string, pepper: string) =>
  unwrap(lookupHash({ algorithm: 'sha256', address, medium, pepper }));

// Addresses shaped like emails and phone numbers; '@' never occurs in hashes or peppers.
const email = fc
  .tuple(fc.stringMatching(/^[a-z0-9]{1,12}$/), fc.stringMatching(/^[a-z0-9]{1,10}$/))
  .map(([local, domain]) => ({ address: `${local}@${domain}.test`, medium: 'email' }));
const msisdn = fc
  .stringMatching(/^[1-9][0-9]{10,14}$/)
  .map((address) => ({ address, medium: 'msisdn' }));
const threePid = fc.oneof(email, msisdn);
const pepper = fc.stringMatching(/^[a-zA-Z0-9]{1,40}$/);

describe('published vectors through the server (IS-LOOKUP-02, -04, -06, -08)', () => {
  const file = loadVectors('matrix-identity-hash');
  // Several vectors share a 3PID (sha256 and none of the same address): one user per 3PID.
  const userOf = (input: { address: string; medium: string }) =>
    `@${input.medium}.${input.address.replace(/[^a-z0-9]/g, '_')}:example.org`;
  let idf: IdentityFederation;
  let token: string;

  beforeAll(async () => {
    idf = await createIdentityFederation('identity vectors');
    token = await idf.token(HS1, ALICE);
    await idf.rotate(HS1, 'matrixrocks');
    for (const t of file.tests) {
      if (t.result === 'valid')
        await idf.bind(HS1, t.input.address, t.input.medium, userOf(t.input));
    }
  });

  test.each(file.tests.map((t) => [`tcId ${t.tcId}: ${t.comment}`, t] as const))(
    '%s',
    async (_, t) => {
      if (t.result === 'valid') {
        const answer = await idf.call(HS1, LOOKUP, {
          token,
          body: {
            algorithm: t.input.algorithm,
            pepper: 'matrixrocks',
            addresses: [t.expected.lookup],
          },
        });
        expect(answer).toEqual({
          status: 200,
          body: { mappings: { [t.expected.lookup]: userOf(t.input) } },
        });
        return;
      }
      switch (t.expected.failure) {
        case 'invalid-pepper': {
          const answer = await idf.call(HS1, LOOKUP, {
            token,
            body: { algorithm: t.input.algorithm, pepper: t.input.pepper, addresses: [] },
          });
          expect(answer.status).toBe(400);
          expect(answer.body).toMatchObject({
            errcode: 'M_INVALID_PEPPER',
            algorithm: 'sha256',
            lookup_pepper: 'matrixrocks',
          });
          return;
        }
        case 'unsupported-algorithm': {
          const answer = await idf.call(HS1, LOOKUP, {
            token,
            body: { algorithm: t.input.algorithm, pepper: 'matrixrocks', addresses: [] },
          });
          expect(answer.status).toBe(400);
          expect(answer.body).toMatchObject({ errcode: 'M_INVALID_PARAM' });
          return;
        }
        case 'invalid-address':
        case 'invalid-medium': {
          // The server refuses to bind a 3PID whose hash input would be ambiguous.
          const answer = await idf.provision(HS1, 'bind', {
            address: t.input.address,
            medium: t.input.medium,
            user_id: '@x:example.org',
          });
          expect(answer.status).toBe(400);
          return;
        }
      }
    },
  );
});

describe('hash_details and lookup', () => {
  let idf: IdentityFederation;
  let token: string;
  let current: string;
  /** Every 3PID bound so far in this federation, as "<address> <medium>". */
  const everBound = new Set<string>();
  const bind = async (p: { address: string; medium: string }, userId: string) => {
    everBound.add(`${p.address} ${p.medium}`);
    await idf.bind(HS1, p.address, p.medium, userId);
  };

  beforeAll(async () => {
    idf = await createIdentityFederation('identity lookup');
    token = await idf.token(HS1, ALICE);
    current = (await idf.hashDetails(HS1, token)).lookup_pepper;
  });

  test('hash_details offers sha256 and a pepper of [a-zA-Z0-9]+ (IS-LOOKUP-01, -09)', async () => {
    const details = await idf.hashDetails(HS1, token);
    expect(details.algorithms).toContain('sha256');
    expect(details.lookup_pepper).toMatch(PEPPER_PATTERN);
    expect(details.alt_lookup_peppers).toBeUndefined();
  });

  test('GET account names the token owner', async () => {
    expect(await idf.call(HS1, `${IS_PREFIX}/account`, { token })).toEqual({
      status: 200,
      body: { user_id: ALICE },
    });
  });

  test('no, unknown and expired tokens are 401 M_UNAUTHORIZED (IS-LOOKUP-07)', async () => {
    const expiring = await idf.provision(HS1, 'token', { user_id: ALICE, expires_in_ms: 1000 });
    const expired = (expiring.body as { token: string }).token;
    expect((await idf.call(HS1, `${IS_PREFIX}/hash_details`, { token: expired })).status).toBe(200);
    idf.fed.clock.advance(1000);
    const body = { algorithm: 'sha256', pepper: current, addresses: [] };
    for (const options of [
      {},
      { token: 'forged' },
      { token: expired },
      { headers: { authorization: token } },
      { headers: { authorization: `Basic ${token}` } },
    ]) {
      for (const [path, call] of [
        [`${IS_PREFIX}/hash_details`, {}],
        [LOOKUP, { body }],
        [`${IS_PREFIX}/account`, {}],
      ] as const) {
        const answer = await idf.call(HS1, path, { ...options, ...call });
        expect(answer.status, `${path} ${JSON.stringify(options)}`).toBe(401);
        expect(answer.body).toMatchObject({ errcode: 'M_UNAUTHORIZED' });
      }
    }
    // The query-string token was removed in v1.20.
    expect((await idf.call(HS1, `${IS_PREFIX}/hash_details?access_token=${token}`)).status).toBe(
      401,
    );
  });

  test.prop(
    [fc.array(threePid, { minLength: 1, maxLength: 6 }), fc.array(threePid, { maxLength: 6 })],
    RUNS,
  )('mappings hold exactly the bound hashes, as sent (IS-LOOKUP-03)', async (bound, others) => {
    for (const [i, p] of bound.entries()) await bind(p, `@u${i}:hs1.example`);
    const unbound = others.filter((p) => !everBound.has(`${p.address} ${p.medium}`));
    const expected = new Map<string, string>();
    bound.forEach((p, i) =>
      expected.set(sha256(p.address, p.medium, current), `@u${i}:hs1.example`),
    );
    const addresses = [...bound, ...unbound].map((p) => sha256(p.address, p.medium, current));
    const answer = await idf.call(HS1, LOOKUP, {
      token,
      body: { algorithm: 'sha256', pepper: current, addresses },
    });
    expect(answer.status).toBe(200);
    const { mappings } = answer.body as { mappings: Record<string, string> };
    // Later bindings of a repeated 3PID win, as in expected.
    expect(mappings).toEqual(Object.fromEntries(expected));
    for (const hash of addresses) expect(hash).toMatch(SHA256_HASH);
  });

  test.prop([threePid], RUNS)(
    'none sends "<address> <medium>" and still needs an accepted pepper (IS-LOOKUP-08)',
    async (p) => {
      await bind(p, '@none:hs1.example');
      const entry = `${p.address} ${p.medium}`;
      const right = await idf.call(HS1, LOOKUP, {
        token,
        body: { algorithm: 'none', pepper: current, addresses: [entry, `${entry} extra`] },
      });
      expect(right).toEqual({ status: 200, body: { mappings: { [entry]: '@none:hs1.example' } } });
      for (const wrong of ['', `${current}x`]) {
        const answer = await idf.call(HS1, LOOKUP, {
          token,
          body: { algorithm: 'none', pepper: wrong, addresses: [entry] },
        });
        expect(answer.status).toBe(400);
        expect(answer.body).toMatchObject({ errcode: 'M_INVALID_PEPPER' });
      }
    },
  );

  test.prop([pepper.filter((p) => p !== current)], RUNS)(
    'a wrong pepper is 400 M_INVALID_PEPPER carrying the current one (IS-LOOKUP-04, -05)',
    async (wrong) => {
      const answer = await idf.call(HS1, LOOKUP, {
        token,
        body: {
          algorithm: 'sha256',
          pepper: wrong,
          addresses: [sha256('a@b.test', 'email', wrong)],
        },
      });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({
        errcode: 'M_INVALID_PEPPER',
        error: expect.any(String) as unknown,
        algorithm: 'sha256',
        lookup_pepper: current,
      });
    },
  );

  test.prop([fc.string({ maxLength: 20 }).filter((a) => a !== 'sha256' && a !== 'none')], RUNS)(
    'an unknown algorithm is 400 M_INVALID_PARAM (IS-LOOKUP-06)',
    async (algorithm) => {
      const answer = await idf.call(HS1, LOOKUP, {
        token,
        body: { algorithm, pepper: current, addresses: [] },
      });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ errcode: 'M_INVALID_PARAM' });
    },
  );

  test.prop([threePid, pepper], RUNS)(
    'an address bound under any generated pepper is found by its sha256 hash (IS-LOOKUP-02)',
    async (p, next) => {
      const { lookup_pepper, alt_lookup_peppers } = await idf.hashDetails(HS1, token);
      if (next !== lookup_pepper && !(alt_lookup_peppers ?? []).includes(next)) {
        await idf.rotate(HS1, next);
        for (const old of [lookup_pepper, ...(alt_lookup_peppers ?? [])]) {
          await idf.provision(HS1, 'pepper/retire', { pepper: old });
        }
        current = next;
      }
      await bind(p, '@gen:hs1.example');
      const hash = sha256(p.address, p.medium, current);
      const answer = await idf.call(HS1, LOOKUP, {
        token,
        body: { algorithm: 'sha256', pepper: current, addresses: [hash] },
      });
      expect(answer).toEqual({ status: 200, body: { mappings: { [hash]: '@gen:hs1.example' } } });
    },
  );

  test('too many addresses is M_TOO_LARGE; a wrong method is 405 M_UNRECOGNIZED', async () => {
    const addresses = Array.from({ length: 1001 }, (_, i) => `${i}@x.test email`);
    const big = await idf.call(HS1, LOOKUP, {
      token,
      body: { algorithm: 'none', pepper: current, addresses },
    });
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ errcode: 'M_TOO_LARGE' });
    const get = await idf.call(HS1, LOOKUP, { token });
    expect(get.status).toBe(405);
    expect(get.body).toMatchObject({ errcode: 'M_UNRECOGNIZED' });
  });
});
