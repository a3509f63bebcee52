import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { seededRng } from '../crypto/rng.ts';
import { verifyClientCredentialChain } from './chain.ts';
import { fingerprint, userDomain } from './credential.ts';
import { decodeCredential } from './schema.ts';
import { buildChain } from './testing.ts';

describe('credentials on the wire', () => {
  test.prop(
    [fc.string({ minLength: 1, maxLength: 24 }), fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/)],
    {
      numRuns: 100,
    },
  )(
    'every credential round-trips through JSON, decodes, keeps its fingerprint and still verifies',
    async (seed, local) => {
      const f = await buildChain({
        rng: seededRng(seed),
        clientId: { user_id: `@${local}:hs1.example`, client: 'c' },
      });
      const wire = (value: unknown): unknown => JSON.parse(JSON.stringify(value));
      const decoded = {
        as: decodeCredential('AsCredential', wire(f.asCredential)),
        intermediate: decodeCredential('AsIntermediateCredential', wire(f.intermediate)),
        client: decodeCredential('ClientCredential', wire(f.client)),
      };
      for (const [level, original] of [
        ['as', f.asCredential],
        ['intermediate', f.intermediate],
        ['client', f.client],
      ] as const) {
        const d = decoded[level];
        expect(d.ok).toBe(true);
        if (d.ok) {
          expect(d.value).toEqual(original);
          expect(fingerprint(d.value)).toBe(fingerprint(original));
        }
      }
      const r = await verifyClientCredentialChain({
        credential: wire(f.client),
        published: wire(f.published) as typeof f.published,
        now: f.now,
        expectedUserId: `@${local}:hs1.example`,
      });
      expect(r.ok).toBe(true);
    },
  );

  test('a credential of one type never decodes as another', async () => {
    const f = await buildChain();
    expect(decodeCredential('ClientCredential', f.intermediate).ok).toBe(false);
    expect(decodeCredential('AsIntermediateCredential', f.client).ok).toBe(false);
    expect(decodeCredential('AsCredential', f.intermediate).ok).toBe(false);
  });

  test('userDomain reads the server_name of a user id', () => {
    expect(userDomain('@alice:hs1.example')).toBe('hs1.example');
    expect(userDomain('@alice:hs1.example:8448')).toBe('hs1.example:8448');
    expect(userDomain('alice')).toBeUndefined();
    expect(userDomain('@:x')).toBeUndefined();
  });
});
