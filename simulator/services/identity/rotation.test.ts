// Pepper rotation (IS-FED-01, -02, IS-LOOKUP-09) and what it does to pushed hashes:
// they stay under the pepper they were made with, answer lookups with that pepper
// while it is accepted, and go with it when it is retired.
import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe, expect } from 'vitest';
import { lookupHash, PEPPER_PATTERN } from '../../protocol/identity/hash.ts';
import { unwrap } from '../../protocol/result.ts';
import { createIdentityFederation, HS1, HS2, type IdentityFederation } from './test-support.ts';
import { IS_PREFIX } from './wire.ts';

const LOOKUP = `${IS_PREFIX}/lookup`;

const sha256 = (address: string, medium: string, pepper: string) =>
  unwrap(lookupHash({ algorithm: 'sha256', address, medium, pepper }));

describe('pepper rotation', () => {
  let idf: IdentityFederation;
  let token: string;

  beforeAll(async () => {
    idf = await createIdentityFederation('identity rotation');
    token = await idf.token(HS1, '@reader:hs1.example');
    await idf.bind(HS1, 'alice@example.com', 'email', '@alice:hs1.example');
  });

  const lookupWith = (pepper: string) =>
    idf.call(HS1, LOOKUP, {
      token,
      body: {
        algorithm: 'sha256',
        pepper,
        addresses: [sha256('alice@example.com', 'email', pepper)],
      },
    });

  test.prop([fc.stringMatching(/^[a-zA-Z0-9]{1,40}$/)], { numRuns: 100 })(
    'old peppers are accepted while listed, refused once retired (IS-FED-01, -02)',
    async (next) => {
      const before = await idf.hashDetails(HS1, token);
      const previous = before.lookup_pepper;
      const rotated = await idf.provision(HS1, 'pepper/rotate', { lookup_pepper: next });
      if (next === previous || (before.alt_lookup_peppers ?? []).includes(next)) {
        expect(rotated).toMatchObject({ status: 409, body: { errcode: 'M_CONFLICT' } });
        return;
      }
      expect(rotated.status).toBe(200);
      const during = await idf.hashDetails(HS1, token);
      expect(during.lookup_pepper).toBe(next);
      expect(during.alt_lookup_peppers?.[0]).toBe(previous);
      for (const p of [during.lookup_pepper, ...(during.alt_lookup_peppers ?? [])]) {
        expect(p).toMatch(PEPPER_PATTERN);
      }
      for (const pepper of [next, previous]) {
        expect((await lookupWith(pepper)).body).toEqual({
          mappings: { [sha256('alice@example.com', 'email', pepper)]: '@alice:hs1.example' },
        });
      }
      expect((await idf.provision(HS1, 'pepper/retire', { pepper: previous })).status).toBe(200);
      const after = await idf.hashDetails(HS1, token);
      expect(after.alt_lookup_peppers ?? []).not.toContain(previous);
      const refused = await lookupWith(previous);
      expect(refused).toMatchObject({
        status: 400,
        body: { errcode: 'M_INVALID_PEPPER', lookup_pepper: next },
      });
    },
  );

  test('generated peppers are [a-zA-Z0-9]+ and differ (IS-LOOKUP-09)', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const { lookup_pepper } = await idf.rotate(HS1);
      expect(lookup_pepper).toMatch(PEPPER_PATTERN);
      seen.add(lookup_pepper);
    }
    expect(seen.size).toBe(20);
  });

  test('the current pepper cannot be retired, unknown ones are M_NOT_FOUND', async () => {
    const { lookup_pepper } = await idf.hashDetails(HS1, token);
    expect(await idf.provision(HS1, 'pepper/retire', { pepper: lookup_pepper })).toMatchObject({
      status: 400,
      body: { errcode: 'M_INVALID_PARAM' },
    });
    expect(await idf.provision(HS1, 'pepper/retire', { pepper: 'neverUsed' })).toMatchObject({
      status: 404,
      body: { errcode: 'M_NOT_FOUND' },
    });
    expect(
      (await idf.provision(HS1, 'pepper/rotate', { lookup_pepper: 'matrix_rocks' })).status,
    ).toBe(400);
  });
});

describe('pushed hashes across a rotation', () => {
  test('kept under their pepper, answered while it is accepted, deleted on retirement', async () => {
    const idf = await createIdentityFederation('identity rotation of pushed hashes');
    const token = await idf.token(HS1, '@reader:hs1.example');
    await idf.bind(HS2, 'bob@example.com', 'email', '@bob:hs2.example');
    const p1 = (await idf.hashDetails(HS1, token)).lookup_pepper;
    expect((await idf.provision(HS2, 'push', { destination: HS1 })).body).toMatchObject({
      answer: { status: 200 },
    });
    const { lookup_pepper: p2 } = await idf.rotate(HS1);
    const lookup = (pepper: string) => {
      const hash = sha256('bob@example.com', 'email', pepper);
      return idf.call(HS1, LOOKUP, {
        token,
        body: { algorithm: 'sha256', pepper, addresses: [hash] },
      });
    };
    const referral = (pepper: string) => ({
      status: 200,
      body: {
        mappings: {},
        third_party_mappings: { [HS2]: [sha256('bob@example.com', 'email', pepper)] },
      },
    });

    // During the rotation: the old pepper still refers; the new one knows nothing yet.
    expect(await lookup(p1)).toEqual(referral(p1));
    expect(await lookup(p2)).toEqual({ status: 200, body: { mappings: {} } });

    // hs2 pushes again; it fetches hash_details and so uses the new pepper.
    const again = await idf.provision(HS2, 'push', { destination: HS1 });
    expect(again.body).toMatchObject({ sent: { pepper: p2 }, answer: { status: 200 } });
    expect(await lookup(p2)).toEqual(referral(p2));

    // Retiring p1 deletes what was pushed under it, and lookups with it are refused.
    const mark = idf.mark();
    expect((await idf.provision(HS1, 'pepper/retire', { pepper: p1 })).status).toBe(200);
    const deleted = idf
      .eventsSince(HS1, mark)
      .filter((e) => e.kind === 'row' && e.table === 'identity_pushed_hashes');
    expect(deleted).toEqual([
      expect.objectContaining({
        op: 'delete',
        key: `${p1}/${sha256('bob@example.com', 'email', p1)}`,
      }),
    ]);
    expect(await lookup(p1)).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PEPPER' } });
    expect(await lookup(p2)).toEqual(referral(p2));
  });
});
