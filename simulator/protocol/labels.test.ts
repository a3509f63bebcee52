import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { generateEd25519KeyPair } from './crypto/ed25519.ts';
import { seededRng } from './crypto/rng.ts';
import { labelledBytes, SIGNATURE_LABELS, signWithLabel, verifyWithLabel } from './labels.ts';

const key = await generateEd25519KeyPair(seededRng('labels'));
const content = { a: 1, b: ['x', 'y'] };

describe('labelled signing', () => {
  test.prop([fc.constantFrom(...SIGNATURE_LABELS), fc.constantFrom(...SIGNATURE_LABELS)], {
    numRuns: 100,
  })(
    'a signature verifies under its own label only; under another it is a label mismatch',
    async (signedAs, checkedAs) => {
      const signature = await signWithLabel(key, signedAs, content);
      const r = await verifyWithLabel(key.publicKey, checkedAs, content, signature);
      if (signedAs === checkedAs) expect(r.ok).toBe(true);
      else expect(r.ok ? 'ok' : r.error.kind).toBe('label-mismatch');
    },
  );

  test('the signed bytes are the label, a zero byte and the canonical JSON', () => {
    const bytes = labelledBytes('ConnectionPackage', { b: 1, a: 2 });
    expect(new TextDecoder().decode(bytes)).toBe('fedconn-v1 ConnectionPackage\u0000{"a":2,"b":1}');
  });

  test('content that is not canonical JSON is refused, not signed or verified', async () => {
    const r = await verifyWithLabel(
      key.publicKey,
      'ConnectionPackage',
      { x: 0.5 },
      new Uint8Array(64),
    );
    expect(r.ok ? 'ok' : r.error.kind).toBe('not-canonical-json');
    await expect(signWithLabel(key, 'ConnectionPackage', { x: 0.5 })).rejects.toThrow(
      /cannot encode/,
    );
  });

  test('a changed content is a bad signature, not a label mismatch', async () => {
    const signature = await signWithLabel(key, 'ClientCredential', content);
    const r = await verifyWithLabel(
      key.publicKey,
      'ClientCredential',
      { ...content, a: 2 },
      signature,
    );
    expect(r.ok ? 'ok' : r.error.kind).toBe('bad-signature');
  });
});
