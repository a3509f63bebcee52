// A verifier that remembers good signatures judges exactly as one that does not: the
// memo saves verifications of the same bytes, never a check of time, issuer or revocation.
import { describe, expect, test, vi } from 'vitest';
import { meter } from '../crypto/meter.ts';
import { verifyClientCredentialChain } from './chain.ts';
import { fingerprint } from './credential.ts';
import { buildChain, flipBase64Bit } from './testing.ts';
import { VerifiedSignatures } from './verified-signatures.ts';

const f = await buildChain();
const input = { credential: f.client, published: f.published, now: f.now };

async function verifications(run: () => Promise<unknown>): Promise<number> {
  meter.reset();
  await run();
  return meter.snapshot()['ed25519.verify'];
}

describe('a verifier that remembers the signatures it found good', () => {
  test('verifies each signature of a chain once, however often it meets the chain', async () => {
    const memo = new VerifiedSignatures();
    const first = await verifications(() => verifyClientCredentialChain({ ...input, memo }));
    const again = await verifications(() => verifyClientCredentialChain({ ...input, memo }));
    expect(first).toBe(6); // three credentials, each signed by its issuer and by itself
    expect(again).toBe(0);
    expect((await verifyClientCredentialChain({ ...input, memo })).ok).toBe(true);
  });

  test('still refuses a chain whose signature differs in one bit from one it verified', async () => {
    const memo = new VerifiedSignatures();
    expect((await verifyClientCredentialChain({ ...input, memo })).ok).toBe(true);
    const tampered = { ...f.client, signature: flipBase64Bit(f.client.signature, 3) };
    const verdict = await verifyClientCredentialChain({ ...input, credential: tampered, memo });
    expect(verdict.ok ? 'accepted' : verdict.error.kind).toBe('bad-signature');
  });

  test('still refuses other content under a signature it verified', async () => {
    const memo = new VerifiedSignatures();
    expect((await verifyClientCredentialChain({ ...input, memo })).ok).toBe(true);
    // The genuine signatures, over a payload with another client id.
    const other = {
      ...f.client,
      payload: {
        ...f.client.payload,
        client_id: { ...f.client.payload.client_id, client: 'another-device' },
      },
    };
    const verdict = await verifyClientCredentialChain({ ...input, credential: other, memo });
    expect(verdict.ok ? 'accepted' : verdict.error.kind).toBe('bad-signature');
  });

  test('still judges expiry and revocation of a chain whose signatures it remembers', async () => {
    const memo = new VerifiedSignatures();
    expect((await verifyClientCredentialChain({ ...input, memo })).ok).toBe(true);
    const late = await verifyClientCredentialChain({
      ...input,
      now: f.now + 10 * 365 * 86_400_000,
      memo,
    });
    expect(late.ok ? 'accepted' : late.error.kind).toBe('expired');
    const revoked = await verifyClientCredentialChain({
      ...input,
      published: { ...f.published, revoked_fingerprints: [fingerprint(f.client)] },
      memo,
    });
    expect(revoked.ok ? 'accepted' : revoked.error.kind).toBe('revoked');
  });

  test('never remembers a signature that failed', async () => {
    const memo = new VerifiedSignatures();
    const tampered = { ...f.client, self_signature: flipBase64Bit(f.client.self_signature, 5) };
    for (let i = 0; i < 2; i++) {
      const verdict = await verifyClientCredentialChain({ ...input, credential: tampered, memo });
      expect(verdict.ok).toBe(false);
    }
    // The good chain still verifies its client credential afresh.
    expect(await verifications(() => verifyClientCredentialChain({ ...input, memo }))).toBe(2);
  });

  test('takes the anchor and intermediate of one answer as checked once it found them good', async () => {
    const memo = new VerifiedSignatures();
    const keys = vi.spyOn(VerifiedSignatures, 'key');
    try {
      await verifyClientCredentialChain({ ...input, memo });
      expect(keys).toHaveBeenCalledTimes(6);
      keys.mockClear();
      // The same answer: only the client credential's two signatures are looked up.
      expect((await verifyClientCredentialChain({ ...input, memo })).ok).toBe(true);
      expect(keys).toHaveBeenCalledTimes(2);
      keys.mockClear();
      // Another answer with the same content is another set of objects: checked again.
      const again = structuredClone(f.published);
      expect((await verifyClientCredentialChain({ ...input, published: again, memo })).ok).toBe(
        true,
      );
      expect(keys).toHaveBeenCalledTimes(6);
      keys.mockClear();
      // Another verifier remembers nothing of it.
      await verifyClientCredentialChain({ ...input, memo: new VerifiedSignatures() });
      expect(keys).toHaveBeenCalledTimes(6);
    } finally {
      keys.mockRestore();
    }
  });
});
