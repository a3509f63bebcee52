// Given a seeded RandomSource per member, every byte the layer produces is a
// function of the seed: keys, KeyPackages, GroupInfo, commits (including the
// HPKE ciphertexts in UpdatePaths and Welcomes) and application messages.

import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { unwrap } from '../result.ts';
import { encryptMessage } from './message.ts';
import { seededRng } from '../crypto/rng.ts';
import { connectionFixture, text } from './test-fixture.ts';
import {
  encodeGroupInfo,
  encodeKeyPackage,
  encodeMessage,
  encodeRatchetTree,
  encodeWelcome,
  toBase64,
} from './wire.ts';

/** Everything a run sends over the network, in order, as base64. */
async function transcript(seed: string | undefined): Promise<string[]> {
  const rng = seed === undefined ? undefined : (name: string) => seededRng(`${seed}/${name}`);
  const f = await connectionFixture(text('deterministic-group'), rng);
  let out = [
    f.alice.signaturePublicKey,
    encodeGroupInfo(f.exported0.groupInfo),
    encodeRatchetTree(f.exported0.ratchetTree),
    encodeMessage(f.join.commit),
    encodeKeyPackage(f.kp2.publicPackage),
    encodeKeyPackage(f.kp3.publicPackage),
    encodeMessage(f.added.commit),
    encodeWelcome(f.added.welcome),
  ];
  for (const group of [f.alice2, f.bob1Group2, f.bob2Group2, f.bob3Group2]) {
    out = [...out, encodeMessage(unwrap(await encryptMessage(group, text('same words'))).message)];
  }
  return out.map(toBase64);
}

describe('determinism', () => {
  it('the same seed gives the same bytes, a different seed different ones', async () => {
    const a = await transcript('seed-1');
    expect(await transcript('seed-1')).toEqual(a);
    const b = await transcript('seed-2');
    a.forEach((entry, i) => {
      expect(b[i]).not.toBe(entry);
    });
  });

  it('without a RandomSource every run differs (WebCrypto randomness)', async () => {
    const [a, b] = [await transcript(undefined), await transcript(undefined)];
    a.forEach((entry, i) => {
      expect(b[i]).not.toBe(entry);
    });
  });

  // Each run builds the fixture twice (about 0.1 s), hence few runs.
  test.prop([fc.string({ minLength: 1, maxLength: 16 })], { numRuns: 5 })(
    'holds for any seed',
    async (seed) => {
      expect(await transcript(seed)).toEqual(await transcript(seed));
    },
  );
});
