import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { fork, seededRng } from '../crypto/rng.ts';
import { deriveHpkeKeyPair } from '../crypto/hpke.ts';
import { decodeBase64, encodeUnpaddedBase64 } from '../encoding/base64.ts';
import { buildChain } from '../credentials/testing.ts';
import {
  createConnectionPackage,
  createConnectionPackagePayload,
  PACKAGE_FAILURE_KINDS,
  verifyConnectionPackage,
  verifyConnectionPackagePayload,
  type PackageFailureKind,
} from './connection-package.ts';
import {
  buildEstablishmentPackage,
  CEP_FAILURE_KINDS,
  openEstablishmentPackage,
  sealEstablishmentPackage,
  senderDomain,
  verifyEstablishmentPackage,
  type CepFailureKind,
  type ConnectionEstablishmentPackage,
} from './establishment-package.ts';

const DAY = 86_400_000;
const alice = await buildChain({ rng: seededRng('alice') });
const bob = await buildChain({
  rng: seededRng('bob'),
  domain: 'hs2.example',
  clientId: { user_id: '@bob:hs2.example', client: 'phone' },
});
const now = alice.now;
const lifetime = { not_before: now - 3_600_000, not_after: now + 30 * DAY };

const packageSeen = new Set<PackageFailureKind>();
const cepSeen = new Set<CepFailureKind>();

const bobPackage = await createConnectionPackage({
  rng: seededRng('bob package'),
  lifetime,
  clientKey: bob.clientKey,
  clientCredential: bob.client,
});

const verifyBobPackage = async (value: unknown, at = now, expectedUserId = '@bob:hs2.example') => {
  const r = await verifyConnectionPackage({
    value,
    now: at,
    published: bob.published,
    expectedUserId,
  });
  if (!r.ok) packageSeen.add(r.error.kind);
  return r;
};

describe('ConnectionPackage under the user id', () => {
  test('verifies, round-trips through JSON and yields the encryption key', async () => {
    const wire = JSON.parse(JSON.stringify(bobPackage.published)) as unknown;
    const r = await verifyBobPackage(wire);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.value.encryptionKey).toEqual(bobPackage.decryptionKey.publicKey);
      expect(r.value.client.clientId.user_id).toBe('@bob:hs2.example');
    }
  });

  test('is neither usable before nor after its lifetime', async () => {
    const early = await verifyBobPackage(bobPackage.published, lifetime.not_before - 1);
    const late = await verifyBobPackage(bobPackage.published, lifetime.not_after + 1);
    expect(early.ok ? 'ok' : early.error.kind).toBe('not-yet-valid');
    expect(late.ok ? 'ok' : late.error.kind).toBe('expired');
  });

  test('is rejected when its credential belongs to another user than the one looked up', async () => {
    const r = await verifyBobPackage(bobPackage.published, now, '@carol:hs2.example');
    expect(r.ok ? 'ok' : r.error.kind).toBe('credential-rejected');
    if (!r.ok) expect(r.error.chain?.kind).toBe('user-mismatch');
  });

  test('is rejected when malformed, with a bad key, or with extra fields', async () => {
    const p = bobPackage.published;
    const cases: [unknown, PackageFailureKind][] = [
      [{ ...p, display_name: 'Bob!' }, 'malformed-encoding'],
      [
        {
          ...p,
          payload: { ...p.payload, encryption_key: encodeUnpaddedBase64(new Uint8Array(31)) },
        },
        'malformed-key',
      ],
      ['not a package', 'malformed-encoding'],
    ];
    for (const [value, kind] of cases) {
      const r = await verifyBobPackage(value);
      expect(r.ok ? 'ok' : r.error.kind).toBe(kind);
    }
  });

  test.prop(
    [fc.constantFrom('signature', 'encryption_key', 'not_after', 'client'), fc.nat({ max: 255 })],
    {
      numRuns: 100,
    },
  )(
    'flipping a bit of a signed field or of the signature is rejected as a bad signature',
    async (field, bit) => {
      const p = bobPackage.published;
      const flip = (text: string) => {
        const bytes = decodeBase64(text);
        if (!bytes.ok) throw new Error('fixture');
        const copy = bytes.value.slice();
        const i = Math.floor(bit / 8) % copy.length;
        copy[i] = (copy[i] ?? 0) ^ (1 << (bit % 8));
        return encodeUnpaddedBase64(copy);
      };
      const tampered =
        field === 'signature'
          ? { ...p, signature: flip(p.signature) }
          : field === 'encryption_key'
            ? { ...p, payload: { ...p.payload, encryption_key: flip(p.payload.encryption_key) } }
            : field === 'not_after'
              ? {
                  ...p,
                  payload: {
                    ...p.payload,
                    lifetime: { ...lifetime, not_after: lifetime.not_after ^ (1 << (bit % 16)) },
                  },
                }
              : {
                  ...p,
                  client_credential: {
                    ...p.client_credential,
                    signature: flip(p.client_credential.signature),
                  },
                };
      const r = await verifyBobPackage(tampered);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        const expected: PackageFailureKind[] =
          field === 'client' ? ['credential-rejected'] : ['bad-signature'];
        expect(expected).toContain(r.error.kind);
      }
    },
  );
});

describe('ConnectionPackagePayload under an alias', () => {
  test('carries nothing but key and lifetime, and a full package is refused as a payload', async () => {
    const { published } = await createConnectionPackagePayload({
      rng: seededRng('alias'),
      lifetime,
    });
    expect(Object.keys(published).sort()).toEqual(['encryption_key', 'lifetime', 'version']);
    expect(verifyConnectionPackagePayload(published, now).ok).toBe(true);
    const full = verifyConnectionPackagePayload(bobPackage.published, now);
    expect(full.ok ? 'ok' : full.error.kind).toBe('malformed-encoding');
    const smuggled = verifyConnectionPackagePayload(
      { ...published, client_credential: bob.client },
      now,
    );
    expect(smuggled.ok ? 'ok' : smuggled.error.kind).toBe('malformed-encoding');
    const late = verifyConnectionPackagePayload(published, lifetime.not_after + 1);
    expect(late.ok ? 'ok' : late.error.kind).toBe('expired');
  });

  test.prop([fc.integer({ min: 2, max: 8 })], { numRuns: 20 })(
    'every package and payload gets its own encryption key',
    async (n) => {
      const rng = seededRng(`keys ${n}`);
      const keys = new Set<string>();
      for (let i = 0; i < n; i++) {
        const payload = await createConnectionPackagePayload({
          rng: fork(rng, `alias ${i}`),
          lifetime,
        });
        keys.add(payload.published.encryption_key);
      }
      const full = await createConnectionPackage({
        rng: fork(rng, 'user id'),
        lifetime,
        clientKey: bob.clientKey,
        clientCredential: bob.client,
      });
      keys.add(full.published.payload.encryption_key);
      expect(keys.size).toBe(n + 1);
    },
  );
});

const groupId = new Uint8Array(16).fill(7);
const cep = await buildEstablishmentPackage({
  senderKey: alice.clientKey,
  senderCredential: alice.client,
  groupId,
  groupStateEarKey: new Uint8Array(32).fill(1),
  credentialEarKey: new Uint8Array(32).fill(2),
});

describe('ConnectionEstablishmentPackage', () => {
  const roundTrip = async (value: ConnectionEstablishmentPackage) => {
    const sealed = await sealEstablishmentPackage({
      cep: value,
      encryptionKey: bobPackage.decryptionKey.publicKey,
      rng: seededRng('seal'),
    });
    if (!sealed.ok) throw new Error(sealed.error.detail);
    const opened = await openEstablishmentPackage({
      sealed: sealed.value,
      decryptionKey: bobPackage.decryptionKey,
    });
    if (!opened.ok) {
      cepSeen.add(opened.error.kind);
      return opened;
    }
    const r = await verifyEstablishmentPackage({
      cep: opened.value,
      published: alice.published,
      now,
    });
    if (!r.ok) cepSeen.add(r.error.kind);
    return r;
  };

  test('sealed to the package key, opened and verified by the responder', async () => {
    const r = await roundTrip(cep);
    expect(r.ok).toBe(true);
    if (r.ok && 'senderUserId' in r.value) {
      expect(r.value.senderUserId).toBe('@alice:hs1.example');
      expect(r.value.groupId).toEqual(groupId);
    }
    expect(senderDomain(cep)).toBe('hs1.example');
  });

  test('sealing is deterministic under a seeded rng, and the ciphertext hides the content', async () => {
    const seal = () =>
      sealEstablishmentPackage({
        cep,
        encryptionKey: bobPackage.decryptionKey.publicKey,
        rng: seededRng('same'),
      });
    const [a, b] = await Promise.all([seal(), seal()]);
    expect(a).toEqual(b);
    if (a.ok) {
      const wire = JSON.stringify(a.value);
      for (const secret of [
        cep.connection_group_ear_key,
        cep.sender_client_credential.payload.client_id.user_id,
      ]) {
        expect(wire).not.toContain(secret);
      }
    }
  });

  test('only the holder of the package key can open it; garbage never throws', async () => {
    const sealed = await sealEstablishmentPackage({
      cep,
      encryptionKey: bobPackage.decryptionKey.publicKey,
      rng: seededRng('x'),
    });
    if (!sealed.ok) throw new Error('seal');
    const stranger = await deriveHpkeKeyPair(seededRng('stranger'));
    const wrongKey = await openEstablishmentPackage({
      sealed: sealed.value,
      decryptionKey: stranger,
    });
    expect(wrongKey.ok ? 'ok' : wrongKey.error.kind).toBe('decryption-failed');
    if (!wrongKey.ok) cepSeen.add(wrongKey.error.kind);
    for (const garbage of [null, 'x', { enc: '!!', ciphertext: '' }, { enc: '', ciphertext: '' }]) {
      const r = await openEstablishmentPackage({
        sealed: garbage,
        decryptionKey: bobPackage.decryptionKey,
      });
      expect(r.ok).toBe(false);
      if (!r.ok) cepSeen.add(r.error.kind);
    }
  });

  test('sealing to a key that is not an X25519 key fails cleanly', async () => {
    const r = await sealEstablishmentPackage({
      cep,
      encryptionKey: new Uint8Array(5),
      rng: seededRng('k'),
    });
    expect(r.ok ? 'ok' : r.error.kind).toBe('malformed-key');
    if (!r.ok) cepSeen.add(r.error.kind);
  });

  test('a package signed by a credential the chain rejects is refused', async () => {
    const expired = await roundTripAt(cep, alice.client.payload.expiration_data.not_after + 1);
    expect(expired.ok ? 'ok' : expired.error.kind).toBe('credential-rejected');
    if (!expired.ok) expect(expired.error.chain?.kind).toBe('expired');
  });

  async function roundTripAt(value: ConnectionEstablishmentPackage, at: number) {
    const r = await verifyEstablishmentPackage({ cep: value, published: alice.published, now: at });
    if (!r.ok) cepSeen.add(r.error.kind);
    return r;
  }

  test.prop(
    [
      fc.constantFrom(
        'connection_group_id',
        'connection_group_ear_key',
        'connection_group_credential_key',
        'signature',
      ),
      fc.nat({ max: 255 }),
    ],
    { numRuns: 100 },
  )(
    'flipping any bit of a signed field or the signature is rejected as a bad signature',
    async (field, bit) => {
      const bytes = decodeBase64(cep[field]);
      if (!bytes.ok) throw new Error('fixture');
      const copy = bytes.value.slice();
      const i = Math.floor(bit / 8) % copy.length;
      copy[i] = (copy[i] ?? 0) ^ (1 << (bit % 8));
      const r = await roundTrip({ ...cep, [field]: encodeUnpaddedBase64(copy) });
      expect(r.ok ? 'ok' : r.error.kind).toBe('bad-signature');
    },
  );

  test('a signature by someone else’s key is rejected even with a valid credential attached', async () => {
    const forged = await buildEstablishmentPackage({
      senderKey: bob.clientKey, // Bob signs, but presents Alice's credential.
      senderCredential: alice.client,
      groupId,
      groupStateEarKey: new Uint8Array(32),
      credentialEarKey: new Uint8Array(32),
    });
    const r = await roundTrip(forged);
    expect(r.ok ? 'ok' : r.error.kind).toBe('bad-signature');
  });
});

describe('coverage of the error types', () => {
  test('every package failure kind was produced', () => {
    expect([...packageSeen].sort()).toEqual([...PACKAGE_FAILURE_KINDS].sort());
  });
  test('every establishment package failure kind was produced', () => {
    expect([...cepSeen].sort()).toEqual([...CEP_FAILURE_KINDS].sort());
  });
});
