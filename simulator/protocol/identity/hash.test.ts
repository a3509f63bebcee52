import { createHash } from 'node:crypto';
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { loadVectors } from '../../../fixtures/vectors.ts';
import {
  LOOKUP_HASH_FAILURE_KINDS,
  PEPPER_PATTERN,
  lookupHash,
  type LookupHashFailureKind,
  type LookupHashInput,
} from './hash.ts';

const RUNS = { numRuns: 200 };
const kindOf = (input: LookupHashInput): string => {
  const result = lookupHash(input);
  return result.ok ? 'ok' : result.error.kind;
};

describe('fixtures/vectors/matrix-identity-hash.json', () => {
  const file = loadVectors('matrix-identity-hash');
  test.each(file.tests.map((t) => [`tcId ${t.tcId}: ${t.comment}`, t] as const))('%s', (_, t) => {
    const result = lookupHash(t.input);
    if (t.result === 'valid') expect(result).toEqual({ ok: true, value: t.expected.lookup });
    else expect(result.ok ? 'ok' : result.error.kind).toBe(t.expected.failure);
  });
});

const pepper = fc.stringMatching(/^[a-zA-Z0-9]{1,20}$/);
const address = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 30 })
  .filter((s) => !/\s/u.test(s));
const medium = fc.constantFrom('email', 'msisdn');

describe('properties', () => {
  test.prop([address, medium, pepper], RUNS)(
    'sha256 is URL-safe unpadded base64 of SHA-256("<address> <medium> <pepper>")',
    (addr, med, pep) => {
      const expected = createHash('sha256')
        .update(`${addr} ${med} ${pep}`, 'utf8')
        .digest('base64url');
      const result = lookupHash({ algorithm: 'sha256', address: addr, medium: med, pepper: pep });
      expect(result).toEqual({ ok: true, value: expected });
      if (result.ok) expect(result.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    },
  );

  test.prop([address, medium, pepper], RUNS)(
    'none is the cleartext, without the pepper',
    (addr, med, pep) => {
      expect(lookupHash({ algorithm: 'none', address: addr, medium: med, pepper: pep })).toEqual({
        ok: true,
        value: `${addr} ${med}`,
      });
    },
  );

  test.prop([fc.string({ maxLength: 12 })], RUNS)('peppers are exactly [a-zA-Z0-9]+', (pep) => {
    const alphanumeric = (code: number): boolean =>
      (code >= 0x30 && code <= 0x39) ||
      (code >= 0x41 && code <= 0x5a) ||
      (code >= 0x61 && code <= 0x7a);
    let valid = pep.length > 0;
    for (let i = 0; i < pep.length; i++) valid &&= alphanumeric(pep.charCodeAt(i));
    expect(PEPPER_PATTERN.test(pep)).toBe(valid);
    const kind = kindOf({ algorithm: 'sha256', address: 'a@b.c', medium: 'email', pepper: pep });
    expect(kind).toBe(valid ? 'ok' : 'invalid-pepper');
  });
});

describe('every failure kind', () => {
  const base: LookupHashInput = {
    algorithm: 'sha256',
    address: 'alice@example.com',
    medium: 'email',
    pepper: 'matrixrocks',
  };
  const examples: Record<LookupHashFailureKind, LookupHashInput> = {
    'unsupported-algorithm': { ...base, algorithm: 'md5' },
    'invalid-pepper': { ...base, pepper: 'pepper!' },
    'invalid-address': { ...base, address: 'alice\t@example.com' },
    'invalid-medium': { ...base, medium: 'e mail' },
  };
  test.each(LOOKUP_HASH_FAILURE_KINDS)('%s', (kind) => {
    expect(kindOf(examples[kind])).toBe(kind);
  });

  test('an empty address or medium is rejected', () => {
    expect(kindOf({ ...base, address: '' })).toBe('invalid-address');
    expect(kindOf({ ...base, medium: '' })).toBe('invalid-medium');
  });
});
