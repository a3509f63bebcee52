import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { generateEd25519KeyPair } from '../crypto/ed25519.ts';
import { seededRng } from '../crypto/rng.ts';
import { decodeBase64, encodeUnpaddedBase64 } from '../encoding/base64.ts';
import { signWithLabel } from '../labels.ts';
import {
  CHAIN_FAILURE_KINDS,
  verifyClientCredentialChain,
  type ChainFailureKind,
  type ChainInput,
  type ChainLevel,
} from './chain.ts';
import {
  fingerprint,
  issuerSignedContent,
  type AsCredential,
  type AsIntermediateCredential,
  type ClientCredential,
  type Credential,
} from './credential.ts';
import {
  buildChain,
  flipBase64Bit,
  malleateSignature,
  relink,
  resign,
  type ChainFixture,
} from './testing.ts';

const fixture = await buildChain();
const seen = new Set<ChainFailureKind>();

async function verify(f: ChainFixture, overrides: Partial<ChainInput> = {}) {
  return verifyClientCredentialChain({
    credential: f.client,
    published: f.published,
    now: f.now,
    ...overrides,
  });
}

async function expectRejected(
  result: Promise<Awaited<ReturnType<typeof verify>>>,
  kind: ChainFailureKind,
  level: ChainLevel,
) {
  const r = await result;
  expect(r.ok, 'expected a rejection').toBe(false);
  if (!r.ok) {
    expect({ kind: r.error.kind, level: r.error.level }).toEqual({ kind, level });
    expect(r.error.detail).not.toBe('');
    seen.add(r.error.kind);
  }
}

describe('a valid chain', () => {
  test('verifies and yields the client identity and key', async () => {
    const r = await verify(fixture);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.value.clientId).toEqual({ user_id: '@alice:hs1.example', client: 'client-1' });
      expect(r.value.verifyingKey).toEqual(fixture.clientKey.publicKey);
    }
  });

  test('verifies with the expected user id and at both ends of every window', async () => {
    expect((await verify(fixture, { expectedUserId: '@alice:hs1.example' })).ok).toBe(true);
    const c = fixture.client.payload.expiration_data;
    expect((await verify(fixture, { now: c.not_before })).ok).toBe(true);
    expect((await verify(fixture, { now: c.not_after })).ok).toBe(true);
  });

  test('is reproducible: the same seed gives the same credentials', async () => {
    const again = await buildChain();
    expect(again.client).toEqual(fixture.client);
    const other = await buildChain({ rng: seededRng('another seed') });
    expect(other.client.payload.verifying_key).not.toBe(fixture.client.payload.verifying_key);
  });
});

describe('each way a link can break is rejected with its reason', () => {
  test('malformed encoding of the credential or of what the AS publishes', async () => {
    await expectRejected(
      verify(fixture, { credential: { ...fixture.client, extra: 'smuggled' } }),
      'malformed-encoding',
      'client',
    );
    await expectRejected(
      verify(fixture, { published: { ...fixture.published, as_intermediate_credentials: [42] } }),
      'malformed-encoding',
      'intermediate',
    );
    await expectRejected(
      verify(fixture, { published: { ...fixture.published, as_credentials: [{}] } }),
      'malformed-encoding',
      'as',
    );
    const badUser = await resign('ClientCredential', fixture.intermediateKey, {
      ...fixture.client,
      payload: { ...fixture.client.payload, client_id: { user_id: 'alice', client: 'c' } },
    });
    await expectRejected(verify(fixture, { credential: badUser }), 'malformed-encoding', 'client');
  });

  test('keys: wrong length, non-canonical, small order', async () => {
    const withKey = async (keyBytes: Uint8Array) =>
      resign('ClientCredential', fixture.intermediateKey, {
        ...fixture.client,
        payload: { ...fixture.client.payload, verifying_key: encodeUnpaddedBase64(keyBytes) },
      });
    await expectRejected(
      verify(fixture, { credential: await withKey(new Uint8Array(31)) }),
      'malformed-key',
      'client',
    );
    // y = p: decodes to a point, but y is not reduced (non-canonical encoding).
    const nonCanonical = new Uint8Array(32).fill(0xff);
    nonCanonical[0] = 0xed;
    nonCanonical[31] = 0x7f;
    await expectRejected(
      verify(fixture, { credential: await withKey(nonCanonical) }),
      'non-canonical-key',
      'client',
    );
    const identity = new Uint8Array(32);
    identity[0] = 1; // the neutral point: order 1
    await expectRejected(
      verify(fixture, { credential: await withKey(identity) }),
      'small-order-key',
      'client',
    );
  });

  test('signatures: wrong length, S >= L, small-order R, bit flip', async () => {
    const withSignature = (bytes: Uint8Array): ClientCredential => ({
      ...fixture.client,
      signature: encodeUnpaddedBase64(bytes),
    });
    const original = decodeBase64(fixture.client.signature);
    if (!original.ok) throw new Error('bad fixture');
    await expectRejected(
      verify(fixture, { credential: withSignature(original.value.slice(0, 63)) }),
      'malformed-signature',
      'client',
    );
    // Malleability: S + L verifies under a lenient verifier, never under ours.
    const malleated = malleateSignature(original.value);
    await expectRejected(
      verify(fixture, { credential: withSignature(malleated) }),
      'non-canonical-signature',
      'client',
    );
    const smallR = original.value.slice();
    smallR.fill(0, 0, 32);
    smallR[0] = 1;
    await expectRejected(
      verify(fixture, { credential: withSignature(smallR) }),
      'small-order-signature',
      'client',
    );
    await expectRejected(
      verify(fixture, {
        credential: { ...fixture.client, signature: flipBase64Bit(fixture.client.signature, 3) },
      }),
      'bad-signature',
      'client',
    );
  });

  test('a signature made under another credential type is a label mismatch', async () => {
    // The intermediate's key signs the client credential under the intermediate's label.
    const confused: ClientCredential = {
      ...fixture.client,
      signature: encodeUnpaddedBase64(
        await signWithLabel(
          fixture.intermediateKey,
          'AsIntermediateCredential',
          issuerSignedContent(fixture.client),
        ),
      ),
    };
    await expectRejected(verify(fixture, { credential: confused }), 'label-mismatch', 'client');
  });

  test('an issuer that signed without proof of possession', async () => {
    const stranger = await generateEd25519KeyPair(seededRng('stranger'));
    // Self-signature by another key than the one in the payload: the AS should have refused the CSR.
    const selfSignature = await signWithLabel(
      stranger,
      'ClientCredentialSelfSigned',
      fixture.client.payload,
    );
    const tampered = await resign('ClientCredential', fixture.intermediateKey, {
      ...fixture.client,
      self_signature: encodeUnpaddedBase64(selfSignature),
    });
    await expectRejected(
      verify(fixture, { credential: tampered }),
      'bad-proof-of-possession',
      'client',
    );
  });

  test('wrong issuer: unpublished intermediate, or an intermediate of another domain', async () => {
    const foreign = await buildChain({ rng: seededRng('foreign'), domain: 'hs2.example' });
    await expectRejected(
      verify(fixture, { published: { ...fixture.published, as_intermediate_credentials: [] } }),
      'wrong-issuer',
      'client',
    );
    // hs2's intermediate signs a client of hs1, and hs1's AS publishes that intermediate too.
    const crossDomain = await resign('ClientCredential', foreign.intermediateKey, {
      ...fixture.client,
      payload: { ...fixture.client.payload, signer_fingerprint: fingerprint(foreign.intermediate) },
    });
    await expectRejected(
      verify(fixture, {
        credential: crossDomain,
        published: {
          ...fixture.published,
          as_intermediate_credentials: [fixture.intermediate, foreign.intermediate],
        },
      }),
      'wrong-issuer',
      'client',
    );
  });

  test('unknown AS: the intermediate names an AS credential the domain does not publish', async () => {
    await expectRejected(
      verify(fixture, { published: { ...fixture.published, as_credentials: [] } }),
      'unknown-as',
      'intermediate',
    );
    const foreign = await buildChain({ rng: seededRng('foreign'), domain: 'hs2.example' });
    const adopted = await relink(fixture, {
      intermediate: await resign('AsIntermediateCredential', foreign.asKey, {
        ...fixture.intermediate,
        payload: {
          ...fixture.intermediate.payload,
          signer_fingerprint: fingerprint(foreign.asCredential),
        },
      }),
    });
    await expectRejected(
      verify(adopted, {
        published: {
          ...adopted.published,
          as_credentials: [fixture.asCredential, foreign.asCredential],
        },
      }),
      'unknown-as',
      'intermediate',
    );
  });

  test('revoked at each level', async () => {
    for (const [level, credential] of [
      ['as', fixture.asCredential],
      ['intermediate', fixture.intermediate],
      ['client', fixture.client],
    ] as const) {
      await expectRejected(
        verify(fixture, {
          published: { ...fixture.published, revoked_fingerprints: [fingerprint(credential)] },
        }),
        'revoked',
        level,
      );
    }
  });

  test('expired and not yet valid at each level', async () => {
    const early = await buildChain({ now: fixture.now });
    for (const level of ['as', 'intermediate', 'client'] as const) {
      const window = (
        level === 'as'
          ? early.asCredential
          : level === 'intermediate'
            ? early.intermediate
            : early.client
      ).payload.expiration_data;
      // Shrink only this level's window so the others stay valid.
      const shifted = await buildChain({
        now: fixture.now,
        windows: {
          [level]: { not_before: window.not_before, not_after: fixture.now - 1 },
        },
      });
      await expectRejected(verify(shifted), 'expired', level);
      const future = await buildChain({
        now: fixture.now,
        windows: { [level]: { not_before: fixture.now + 1, not_after: window.not_after } },
      });
      await expectRejected(verify(future), 'not-yet-valid', level);
    }
  });

  test('a validity window that sticks out of the signer’s', async () => {
    const windows = buildChain; // keep name short below
    const n = fixture.now;
    const tooLongClient = await windows({
      windows: {
        client: {
          not_before: n - 1,
          not_after: fixture.intermediate.payload.expiration_data.not_after + 1,
        },
      },
    });
    await expectRejected(verify(tooLongClient), 'validity-outside-signer', 'client');
    const earlyIntermediate = await windows({
      windows: {
        intermediate: {
          not_before: fixture.asCredential.payload.expiration_data.not_before - 1,
          not_after: n + 1000,
        },
        client: { not_before: n - 1, not_after: n + 10 },
      },
    });
    await expectRejected(verify(earlyIntermediate), 'validity-outside-signer', 'intermediate');
  });

  test('a credential for another user than the context expects', async () => {
    await expectRejected(
      verify(fixture, { expectedUserId: '@bob:hs1.example' }),
      'user-mismatch',
      'client',
    );
  });
});

// ---------------------------------------------------------------------------------------
// Properties: any single corruption is rejected, with the reason its position implies.

type Leaf = { level: ChainLevel; field: string };
const LEAVES: readonly Leaf[] = [
  ...(['as', 'intermediate', 'client'] as const).flatMap((level) =>
    [
      'signature',
      'self_signature',
      'payload.verifying_key',
      'payload.expiration_data.not_before',
      'payload.expiration_data.not_after',
    ].map((field) => ({ level, field })),
  ),
  { level: 'as', field: 'payload.domain' },
  { level: 'intermediate', field: 'payload.signer_fingerprint' },
  { level: 'client', field: 'payload.signer_fingerprint' },
  { level: 'client', field: 'payload.client_id.client' },
];

function mutate<P>(credential: Credential<P>, field: string, bit: number): Credential<P> {
  const flipText = (text: string) =>
    text.slice(0, 1) + String.fromCharCode(text.charCodeAt(1) ^ (1 << (bit % 5))) + text.slice(2);
  const p = credential.payload as Record<string, unknown>;
  switch (field) {
    case 'signature':
      return { ...credential, signature: flipBase64Bit(credential.signature, bit) };
    case 'self_signature':
      return { ...credential, self_signature: flipBase64Bit(credential.self_signature, bit) };
    case 'payload.verifying_key':
      return {
        ...credential,
        payload: { ...p, verifying_key: flipBase64Bit(p.verifying_key as string, bit) } as P,
      };
    case 'payload.expiration_data.not_before':
    case 'payload.expiration_data.not_after': {
      const key = field.endsWith('not_before') ? 'not_before' : 'not_after';
      const window = p.expiration_data as Record<string, number>;
      // Flip a low bit: the window stays plausible, so only the signature can notice.
      return {
        ...credential,
        payload: {
          ...p,
          expiration_data: { ...window, [key]: (window[key] ?? 0) ^ (1 << (bit % 16)) },
        } as P,
      };
    }
    case 'payload.domain':
      return { ...credential, payload: { ...p, domain: flipText(p.domain as string) } as P };
    case 'payload.signer_fingerprint':
      return {
        ...credential,
        payload: { ...p, signer_fingerprint: flipText(p.signer_fingerprint as string) } as P,
      };
    case 'payload.client_id.client': {
      const id = p.client_id as Record<string, string>;
      return {
        ...credential,
        payload: { ...p, client_id: { ...id, client: flipText(id.client ?? '') } } as P,
      };
    }
    default:
      throw new Error(`unknown field ${field}`);
  }
}

/** The reasons a corruption of `leaf` may legitimately produce; anything else is a wrong diagnosis. */
function expectedReasons(leaf: Leaf): readonly ChainFailureKind[] {
  if (leaf.field === 'payload.signer_fingerprint') {
    return leaf.level === 'client' ? ['wrong-issuer'] : ['unknown-as'];
  }
  if (leaf.field === 'payload.domain') return ['unknown-as'];
  if (leaf.field === 'signature') {
    // A flip in S can push it past L; one in R can hit an invalid encoding.
    return ['bad-signature', 'non-canonical-signature', 'small-order-signature'];
  }
  // The AS credential is its own issuer: a flipped key also breaks its own check.
  if (leaf.level === 'as' && leaf.field === 'payload.verifying_key') {
    return ['bad-signature', 'malformed-key', 'non-canonical-key', 'small-order-key'];
  }
  return ['bad-signature'];
}

describe('properties', () => {
  test.prop([fc.constantFrom(...LEAVES), fc.nat({ max: 511 })], { numRuns: 150 })(
    'flipping a bit of any signed field or signature, at any level, is rejected with the right reason',
    async (leaf, bit) => {
      const f = fixture;
      const changed =
        leaf.level === 'as'
          ? await relink(f, { as: mutate(f.asCredential, leaf.field, bit) })
          : leaf.level === 'intermediate'
            ? await relink(f, { intermediate: mutate(f.intermediate, leaf.field, bit) })
            : await relink(f, { client: mutate(f.client, leaf.field, bit) });
      const r = await verify(changed);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(expectedReasons(leaf)).toContain(r.error.kind);
        const expectedLevel =
          leaf.field === 'payload.signer_fingerprint' || leaf.field === 'payload.domain'
            ? leaf.level === 'client'
              ? 'client'
              : 'intermediate'
            : leaf.level;
        expect(r.error.level).toBe(expectedLevel);
      }
    },
  );

  const BREAKS = ['expired', 'not-yet-valid', 'revoked', 'bad-signature'] as const;
  test.prop(
    [
      fc.constantFrom('as', 'intermediate', 'client'),
      fc.constantFrom(...BREAKS),
      fc.integer({ min: 1, max: 10 ** 9 }),
    ],
    {
      numRuns: 100,
    },
  )(
    'a chain with exactly one link broken is rejected for that link and that reason',
    async (level, how, delta) => {
      const credentialOf = (f: ChainFixture) =>
        level === 'as' ? f.asCredential : level === 'intermediate' ? f.intermediate : f.client;
      let f = fixture;
      let now = fixture.now;
      if (how === 'revoked') {
        f = {
          ...f,
          published: { ...f.published, revoked_fingerprints: [fingerprint(credentialOf(f))] },
        };
      } else if (how === 'bad-signature') {
        const c = credentialOf(f);
        const broken = { ...c, signature: flipBase64Bit(c.signature, delta % 256) };
        f = await relink(
          f,
          level === 'as'
            ? { as: broken as AsCredential }
            : level === 'intermediate'
              ? { intermediate: broken as AsIntermediateCredential }
              : { client: broken as ClientCredential },
        );
      } else {
        // Move the clock just past one end of this level's window; the nesting of the
        // default windows guarantees the other levels are still valid there only if
        // this level's window is the narrowest at that end, so build a chain that makes it so.
        const w = credentialOf(fixture).payload.expiration_data;
        const edge = how === 'expired' ? w.not_after + 1 : w.not_before - 1;
        const wide = { not_before: fixture.now - 10 ** 12, not_after: fixture.now + 10 ** 12 };
        const windows =
          level === 'as'
            ? { as: w, intermediate: w, client: w }
            : level === 'intermediate'
              ? { as: wide, intermediate: w, client: w }
              : { as: wide, intermediate: wide, client: w };
        f = await buildChain({ windows });
        now = edge + (how === 'expired' ? Math.min(delta, 1000) : -Math.min(delta, 1000));
      }
      const r = await verify(f, { now });
      expect(r.ok).toBe(false);
      if (!r.ok) {
        const expectedKinds =
          how === 'bad-signature'
            ? ['bad-signature', 'non-canonical-signature', 'small-order-signature']
            : [how];
        expect(expectedKinds).toContain(r.error.kind);
        // When windows are equal across levels the topmost level is the one reported.
        if (how === 'revoked' || how === 'bad-signature') expect(r.error.level).toBe(level);
      }
    },
  );
});

describe('coverage of the error type', () => {
  test('every chain failure kind was produced by some test above', () => {
    expect([...seen].sort()).toEqual([...CHAIN_FAILURE_KINDS].sort());
  });
});
