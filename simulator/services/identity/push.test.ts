// MSC4004 hash pushes (IS-PUSH-*) and third_party_mappings (IS-FED-03): only servers
// proven by an X-Matrix signature and configured as trusted may push, with the
// receiver's current pepper, and a refused push leaves nothing behind.
import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe, expect } from 'vitest';
import { currentSigningKey } from '../../federation/signing-keys.ts';
import { xMatrixHeader } from '../../federation/x-matrix.ts';
import { lookupHash } from '../../protocol/identity/hash.ts';
import { unwrap } from '../../protocol/result.ts';
import {
  createIdentityFederation,
  HS1,
  HS2,
  HS3,
  type Answer,
  type IdentityFederation,
} from './test-support.ts';
import { IS_PREFIX } from './wire.ts';

const RUNS = { numRuns: 100 };
const LOOKUP = `${IS_PREFIX}/lookup`;
const LOOKUPS = `${IS_PREFIX}/lookups`;

const sha256 = (address: string, medium: string, pepper: string) =>
  unwrap(lookupHash({ algorithm: 'sha256', address, medium, pepper }));

const email = fc
  .tuple(fc.stringMatching(/^[a-z0-9]{1,12}$/), fc.stringMatching(/^[a-z0-9]{1,10}$/))
  .map(([local, domain]) => `${local}@${domain}.test`);

interface Forgery {
  /** The origin the header claims. */
  readonly origin: string;
  /** Whose key signs. */
  readonly signer: string;
  readonly destination: string;
  readonly keyId?: string;
  readonly signedContent: unknown;
  readonly signedUri?: string;
  readonly signedMethod?: string;
  readonly tamper?: (header: string) => string;
}

/** Sends `content` to `to`'s /lookups with an X-Matrix header built as `forgery` says. */
async function signedPush(
  idf: IdentityFederation,
  to: string,
  content: unknown,
  forgery: Forgery,
): Promise<Answer> {
  const signer = idf.fed.servers.get(forgery.signer);
  if (signer === undefined) throw new Error(`no server ${forgery.signer}`);
  const header = await xMatrixHeader(
    {
      method: forgery.signedMethod ?? 'POST',
      uri: forgery.signedUri ?? LOOKUPS,
      origin: forgery.origin,
      destination: forgery.destination,
      content: forgery.signedContent,
    },
    {
      keyId: forgery.keyId ?? currentSigningKey(signer.ctx).keyId,
      pair: currentSigningKey(signer.ctx).pair,
    },
  );
  return idf.call(to, LOOKUPS, {
    body: content,
    headers: { authorization: (forgery.tamper ?? ((h) => h))(header) },
  });
}

const honest = (from: string, to: string, content: unknown): Forgery => ({
  origin: from,
  signer: from,
  destination: to,
  signedContent: content,
});

describe('trusted pushes and third_party_mappings', () => {
  let idf: IdentityFederation;
  let token1: string;

  beforeAll(async () => {
    idf = await createIdentityFederation('identity push');
    token1 = await idf.token(HS1, '@reader:hs1.example');
  });

  const lookupAt1 = async (hash: string, pepper?: string) =>
    idf.call(HS1, LOOKUP, {
      token: token1,
      body: {
        algorithm: 'sha256',
        pepper: pepper ?? (await idf.hashDetails(HS1, token1)).lookup_pepper,
        addresses: [hash],
      },
    });

  test('a push driven through provisioning fetches hash_details by signature and is accepted (IS-PUSH-06, IS-FED-03)', async () => {
    await idf.bind(HS2, 'carol@example.com', 'email', '@carol:hs2.example');
    const report = await idf.provision(HS2, 'push', { destination: HS1 });
    const pepper1 = (await idf.hashDetails(HS1, token1)).lookup_pepper;
    const hash = sha256('carol@example.com', 'email', pepper1);
    expect(report).toMatchObject({
      status: 200,
      body: {
        destination: HS1,
        hash_details: { status: 200, body: { lookup_pepper: pepper1 } },
        sent: { algorithm: 'sha256', pepper: pepper1, mappings: { [HS2]: [hash] } },
        answer: { status: 200, body: {} },
      },
    });
    expect(await lookupAt1(hash)).toEqual({
      status: 200,
      body: { mappings: {}, third_party_mappings: { [HS2]: [hash] } },
    });
  });

  test('a hash the receiver knows itself is a mapping, not a referral', async () => {
    await idf.bind(HS2, 'dave@example.com', 'email', '@dave:hs2.example');
    await idf.bind(HS1, 'dave@example.com', 'email', '@dave:hs1.example');
    await idf.provision(HS2, 'push', {
      destination: HS1,
      addresses: [{ address: 'dave@example.com', medium: 'email' }],
    });
    const hash = sha256(
      'dave@example.com',
      'email',
      (await idf.hashDetails(HS1, token1)).lookup_pepper,
    );
    expect(await lookupAt1(hash)).toEqual({
      status: 200,
      body: { mappings: { [hash]: '@dave:hs1.example' } },
    });
  });

  test('a none lookup is referred too, with the entry as sent', async () => {
    await idf.bind(HS2, 'erin@example.com', 'email', '@erin:hs2.example');
    await idf.provision(HS2, 'push', {
      destination: HS1,
      addresses: [{ address: 'erin@example.com', medium: 'email' }],
    });
    const pepper1 = (await idf.hashDetails(HS1, token1)).lookup_pepper;
    const answer = await idf.call(HS1, LOOKUP, {
      token: token1,
      body: { algorithm: 'none', pepper: pepper1, addresses: ['erin@example.com email'] },
    });
    expect(answer).toEqual({
      status: 200,
      body: { mappings: {}, third_party_mappings: { [HS2]: ['erin@example.com email'] } },
    });
  });

  test('pushing an address not bound at the pusher is refused by provisioning', async () => {
    const report = await idf.provision(HS2, 'push', {
      destination: HS1,
      addresses: [{ address: 'nobody@example.com', medium: 'email' }],
    });
    expect(report).toMatchObject({ status: 404, body: { errcode: 'M_NOT_FOUND' } });
  });

  test('a push to an unreachable destination reports why, and sends nothing', async () => {
    await idf.bind(HS2, 'lost@example.com', 'email', '@lost:hs2.example');
    const report = await idf.provision(HS2, 'push', { destination: 'nowhere.example' });
    expect(report).toMatchObject({
      status: 200,
      body: { destination: 'nowhere.example', error: expect.any(String) as unknown },
    });
    expect(report.body).not.toHaveProperty('sent');
  });

  test('an untrusted push is 403 and leaves no trace (IS-PUSH-01, -04)', async () => {
    await idf.bind(HS3, 'mallory@example.com', 'email', '@mallory:hs3.example');
    const pepper1 = (await idf.hashDetails(HS1, token1)).lookup_pepper;
    const hash = sha256('mallory@example.com', 'email', pepper1);
    const mark = idf.mark();
    // Without a pepper, hs3 cannot even read hs1's hash_details.
    const fetched = await idf.provision(HS3, 'push', { destination: HS1 });
    expect(fetched).toMatchObject({
      status: 200,
      body: { hash_details: { status: 403, body: { errcode: 'M_FORBIDDEN' } } },
    });
    expect(fetched.body).not.toHaveProperty('sent');
    // With the right pepper, the signed push itself is refused.
    const pushed = await idf.provision(HS3, 'push', { destination: HS1, pepper: pepper1 });
    expect(pushed).toMatchObject({
      status: 200,
      body: { answer: { status: 403, body: { errcode: 'M_FORBIDDEN' } } },
    });
    const direct = await signedPush(
      idf,
      HS1,
      pushBody(pepper1, HS3, [hash]),
      honest(HS3, HS1, pushBody(pepper1, HS3, [hash])),
    );
    expect(direct.status).toBe(403);
    const hs1Events = idf.eventsSince(HS1, mark);
    expect(hs1Events.filter((e) => e.kind === 'row')).toEqual([]);
    expect(hs1Events.filter((e) => e.kind === 'request' && e.path === LOOKUPS)).toHaveLength(2);
    expect(await lookupAt1(hash)).toEqual({ status: 200, body: { mappings: {} } });
  });

  test('a trusted server may declare only its own hashes', async () => {
    const pepper1 = (await idf.hashDetails(HS1, token1)).lookup_pepper;
    const hash = sha256('frank@example.com', 'email', pepper1);
    const mark = idf.mark();
    const content = pushBody(pepper1, HS3, [hash]);
    const answer = await signedPush(idf, HS1, content, honest(HS2, HS1, content));
    expect(answer).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
    expect(idf.eventsSince(HS1, mark).filter((e) => e.kind === 'row')).toEqual([]);
    expect(await lookupAt1(hash)).toEqual({ status: 200, body: { mappings: {} } });
  });

  test('a push with a stale, foreign or invalid pepper is M_INVALID_PEPPER (IS-PUSH-05)', async () => {
    await idf.bind(HS2, 'grace@example.com', 'email', '@grace:hs2.example');
    const old = (await idf.hashDetails(HS1, token1)).lookup_pepper;
    const { lookup_pepper: current } = await idf.rotate(HS1);
    const foreign = (await idf.hashDetails(HS2, await idf.token(HS2, '@x:hs2.example')))
      .lookup_pepper;
    const mark = idf.mark();
    for (const pepper of [old, foreign]) {
      const report = await idf.provision(HS2, 'push', {
        destination: HS1,
        addresses: [{ address: 'grace@example.com', medium: 'email' }],
        pepper,
      });
      expect(report).toMatchObject({
        status: 200,
        body: {
          answer: {
            status: 400,
            body: { errcode: 'M_INVALID_PEPPER', algorithm: 'sha256', lookup_pepper: current },
          },
        },
      });
    }
    // MSC4004's own example pepper breaks MSC2134's grammar; it is refused as well.
    const content = pushBody('matrix_rocks', HS2, []);
    const invalid = await signedPush(idf, HS1, content, honest(HS2, HS1, content));
    expect(invalid).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PEPPER' } });
    expect(idf.eventsSince(HS1, mark).filter((e) => e.kind === 'row')).toEqual([]);
    for (const pepper of [old, current]) {
      expect(await lookupAt1(sha256('grace@example.com', 'email', pepper), pepper)).toEqual({
        status: 200,
        body: { mappings: {} },
      });
    }
  });

  test('pushes must be sha256 and carry well-formed hashes', async () => {
    const pepper1 = (await idf.hashDetails(HS1, token1)).lookup_pepper;
    for (const content of [
      { algorithm: 'none', pepper: pepper1, mappings: { [HS2]: ['x@example.com email'] } },
      { algorithm: 'sha512', pepper: pepper1, mappings: { [HS2]: [] } },
      pushBody(pepper1, HS2, ['not a hash']),
      pushBody(pepper1, HS2, [sha256('a@b.test', 'email', pepper1).replace(/.$/, 'B')]),
    ]) {
      const answer = await signedPush(idf, HS1, content, honest(HS2, HS1, content));
      expect(answer).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PARAM' } });
    }
  });

  test('hash_details by signature: trusted 200, untrusted 403, bad signature 401', async () => {
    const get = async (signer: string, origin: string) => {
      const server = idf.fed.servers.get(signer);
      if (server === undefined) throw new Error('missing server');
      const authorization = await xMatrixHeader(
        { method: 'GET', uri: `${IS_PREFIX}/hash_details`, origin, destination: HS1 },
        currentSigningKey(server.ctx),
      );
      return idf.call(HS1, `${IS_PREFIX}/hash_details`, { headers: { authorization } });
    };
    expect((await get(HS2, HS2)).status).toBe(200);
    expect(await get(HS3, HS3)).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
    expect(await get(HS3, HS2)).toMatchObject({ status: 401, body: { errcode: 'M_UNAUTHORIZED' } });
  });
});

function pushBody(pepper: string, server: string, hashes: readonly string[]) {
  return { algorithm: 'sha256', pepper, mappings: { [server]: hashes } };
}

describe('forged pushes are 401 and leave no trace (IS-PUSH-02, -03, -04)', () => {
  let idf: IdentityFederation;
  let token1: string;
  let pepper1: string;

  beforeAll(async () => {
    idf = await createIdentityFederation('identity forged pushes');
    token1 = await idf.token(HS1, '@reader:hs1.example');
    pepper1 = (await idf.hashDetails(HS1, token1)).lookup_pepper;
  });

  const flipFirstSigChar = (header: string) =>
    header.replace(/sig="(.)/, (_, c: string) => `sig="${c === 'A' ? 'B' : 'A'}`);

  type Attack = (content: unknown) => Promise<Answer>;
  const attacks: Record<string, Attack> = {
    unsigned: (content) =>
      idf.call(HS1, LOOKUPS, { body: content, headers: { 'x-fedconn-from': HS2 } }),
    'user token': (content) => idf.call(HS1, LOOKUPS, { body: content, token: token1 }),
    'forged origin': (content) =>
      signedPush(idf, HS1, content, {
        origin: HS2,
        signer: HS3,
        destination: HS1,
        signedContent: content,
      }),
    'wrong destination': (content) =>
      signedPush(idf, HS1, content, { ...honest(HS2, HS3, content) }),
    'bad signature': (content) =>
      signedPush(idf, HS1, content, { ...honest(HS2, HS1, content), tamper: flipFirstSigChar }),
    'other content': (content) =>
      signedPush(idf, HS1, content, { ...honest(HS2, HS1, pushBody(pepper1, HS2, [])) }),
    'other uri': (content) =>
      signedPush(idf, HS1, content, { ...honest(HS2, HS1, content), signedUri: LOOKUP }),
    'other method': (content) =>
      signedPush(idf, HS1, content, { ...honest(HS2, HS1, content), signedMethod: 'PUT' }),
    'unknown key': (content) =>
      signedPush(idf, HS1, content, { ...honest(HS2, HS1, content), keyId: 'ed25519:other' }),
    'not X-Matrix': (content) =>
      signedPush(idf, HS1, content, {
        ...honest(HS2, HS1, content),
        tamper: (h) => h.replace('X-Matrix', 'Bearer'),
      }),
  };

  test.prop(
    [fc.constantFrom(...Object.keys(attacks)), fc.array(email, { minLength: 1, maxLength: 4 })],
    RUNS,
  )('each forgery is refused with 401 M_UNAUTHORIZED', async (name, addresses) => {
    const attack = attacks[name];
    if (attack === undefined) throw new Error(name);
    const hashes = addresses.map((a) => sha256(a, 'email', pepper1));
    const mark = idf.mark();
    const answer = await attack(pushBody(pepper1, HS2, hashes));
    expect(answer, name).toMatchObject({ status: 401, body: { errcode: 'M_UNAUTHORIZED' } });
    expect(idf.eventsSince(HS1, mark).filter((e) => e.kind === 'row')).toEqual([]);
    const lookup = await idf.call(HS1, LOOKUP, {
      token: token1,
      body: { algorithm: 'sha256', pepper: pepper1, addresses: hashes },
    });
    expect(lookup).toEqual({ status: 200, body: { mappings: {} } });
  });

  test('the honest control push with the same shape is accepted', async () => {
    const hashes = [sha256('control@example.com', 'email', pepper1)];
    const content = pushBody(pepper1, HS2, hashes);
    expect(await signedPush(idf, HS1, content, honest(HS2, HS1, content))).toEqual({
      status: 200,
      body: {},
    });
  });
});
