import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { loadVectors } from '../../../fixtures/vectors.ts';
import {
  CANONICAL_JSON_FAILURE_KINDS,
  MAX_CANONICAL_DEPTH,
  canonicalJson,
  compareCodePoints,
  type CanonicalJsonFailureKind,
} from './canonical-json.ts';

const RUNS = { numRuns: 200 };

const kindOf = (value: unknown): string => {
  const result = canonicalJson(value);
  return result.ok ? 'ok' : result.error.kind;
};

// Characters around the UTF-16 / code point order boundary, controls and escapes.
const trickyChar = fc.constantFrom(
  'a',
  'B',
  '"',
  '\\',
  '/',
  '\u0000',
  '\u0008',
  '\u001f',
  '\u007f',
  '\u00e9',
  '\u2028',
  '\ud7ff',
  '\ue000',
  '\ufb01',
  '\uffff',
  '\u{10000}',
  '\u{1f600}',
  '\u{10ffff}',
);
const jsonString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.string({ unit: trickyChar, maxLength: 6 }),
);
const jsonInteger = fc.oneof(
  fc.maxSafeInteger(),
  fc.constantFrom(0, -0, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1e10),
);

/** Values canonical JSON can represent: integers in range, no floats, no lone surrogates. */
const canonicalValue = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    jsonInteger,
    jsonString,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(jsonString, tie('value'), { maxKeys: 5 }),
  ),
})).value;

/** Test oracle: sorts keys by UTF-8 bytes, serialises leaves with JSON.stringify. */
function oracle(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(oracle).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).sort((a, b) =>
      Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')),
    );
    return `{${keys.map((k) => `${JSON.stringify(k)}:${oracle(record[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** -0 prints as 0, so the parsed output equals the input with -0 replaced. */
function withoutNegativeZero(value: unknown): unknown {
  if (Object.is(value, -0)) return 0;
  if (Array.isArray(value)) return value.map(withoutNegativeZero);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, withoutNegativeZero(v)] as const),
    );
  }
  return value;
}

describe('fixtures/vectors/matrix-canonical-json.json', () => {
  const file = loadVectors('matrix-canonical-json');
  test.each(file.tests.map((t) => [`tcId ${t.tcId}: ${t.comment}`, t] as const))('%s', (_, t) => {
    const result = canonicalJson(JSON.parse(t.input));
    if (t.result === 'valid') expect(result).toEqual({ ok: true, value: t.expected });
    else expect(result.ok ? 'ok' : result.error.kind).toBe(t.expected.failure);
  });
});

describe('properties', () => {
  test.prop([canonicalValue], RUNS)('output parses back to an equal value', (value) => {
    const out = canonicalJson(value);
    expect(out.ok).toBe(true);
    if (out.ok) expect(JSON.parse(out.value)).toEqual(withoutNegativeZero(value));
  });

  test.prop([canonicalValue], RUNS)('canonicalising the output again changes nothing', (value) => {
    const out = canonicalJson(value);
    if (!out.ok) throw new Error(out.error.detail);
    expect(canonicalJson(JSON.parse(out.value))).toEqual(out);
  });

  test.prop([canonicalValue], RUNS)('matches a byte-order oracle exactly', (value) => {
    expect(canonicalJson(value)).toEqual({ ok: true, value: oracle(value) });
  });

  test.prop([jsonString, jsonString], RUNS)(
    'compareCodePoints orders like UTF-8 bytes (code point order)',
    (a, b) => {
      const expected = Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
      expect(Math.sign(compareCodePoints(a, b))).toBe(expected);
    },
  );

  test.prop([fc.dictionary(jsonString, fc.constant(0), { minKeys: 2, maxKeys: 8 })], RUNS)(
    'object keys come out in code point order',
    (record) => {
      const out = canonicalJson(record);
      if (!out.ok) throw new Error(out.error.detail);
      const keys = [...out.value.matchAll(/"((?:[^"\\]|\\.)*)":0/g)].map(
        (m) => JSON.parse(`"${m[1] ?? ''}"`) as string,
      );
      const codePoints = (s: string): number[] => Array.from(s, (c) => c.codePointAt(0) ?? 0);
      for (let i = 1; i < keys.length; i++) {
        const [x, y] = [codePoints(keys[i - 1] ?? ''), codePoints(keys[i] ?? '')];
        const firstDiff = x.findIndex((c, j) => c !== y[j]);
        // Strictly increasing: either a smaller code point at the first difference, or a prefix.
        if (firstDiff === -1) expect(x.length).toBeLessThan(y.length);
        else expect(x[firstDiff]).toBeLessThan(y[firstDiff] ?? -1);
      }
    },
  );

  test.prop([fc.double().filter((d) => !Number.isInteger(d))], RUNS)(
    'every non-integer number is rejected',
    (d) => {
      const expected = Number.isFinite(d) ? 'float' : 'non-finite-number';
      expect(kindOf({ a: [d] })).toBe(expected);
    },
  );

  test.prop(
    [
      fc.oneof(
        fc.integer({ min: 1, max: 2 ** 20 }).map((k) => Number.MAX_SAFE_INTEGER + k * 2),
        fc.double({ min: 2 ** 53, max: Number.MAX_VALUE, noNaN: true }),
      ),
      fc.boolean(),
    ],
    RUNS,
  )('every integer beyond ±(2**53 - 1) is rejected', (magnitude, negative) => {
    expect(kindOf(negative ? -magnitude : magnitude)).toBe('integer-out-of-range');
  });
});

describe('rules', () => {
  test('string escapes follow the grammar for every ASCII character', () => {
    const named: Record<number, string> = { 8: '\\b', 9: '\\t', 10: '\\n', 12: '\\f', 13: '\\r' };
    for (let c = 0; c < 0x80; c++) {
      const char = String.fromCharCode(c);
      const expected =
        c === 0x22
          ? '\\"'
          : c === 0x5c
            ? '\\\\'
            : c < 0x20
              ? (named[c] ?? `\\u00${c.toString(16).padStart(2, '0')}`)
              : char;
      expect(canonicalJson(char)).toEqual({ ok: true, value: `"${expected}"` });
    }
  });

  test('integers at the bounds, -0 and exponent forms', () => {
    expect(canonicalJson([2 ** 53 - 1, -(2 ** 53) + 1, -0, 1e10, 1e15])).toEqual({
      ok: true,
      value: '[9007199254740991,-9007199254740991,0,10000000000,1000000000000000]',
    });
    expect(kindOf(1e20)).toBe('integer-out-of-range');
  });

  test('JSON numbers are values: 1.0 parses to the integer 1 in JavaScript', () => {
    // A parser that keeps "1.0" as a float (Python) would reject this input; here the
    // canonicaliser only ever sees the parsed number.
    expect(canonicalJson(JSON.parse('{"a":1.0}'))).toEqual({ ok: true, value: '{"a":1}' });
  });

  test('non-JSON values are rejected with their path', () => {
    const result = canonicalJson({ a: [1, { b: undefined }] });
    expect(result).toEqual({
      ok: false,
      error: { kind: 'unsupported-value', detail: 'undefined at $.a[1].b is not a JSON value' },
    });
    expect(kindOf(undefined)).toBe('unsupported-value');
    expect(kindOf(() => 1)).toBe('unsupported-value');
    expect(kindOf(1n)).toBe('unsupported-value');
    expect(kindOf(Symbol('s'))).toBe('unsupported-value');
    expect(kindOf(new Date(0))).toBe('unsupported-value');
    expect(kindOf(new Map())).toBe('unsupported-value');
    expect(kindOf(new Uint8Array(1))).toBe('unsupported-value');
    expect(kindOf({ [Symbol('s')]: 1 })).toBe('unsupported-value');
    expect(kindOf(Object.create(Object.create(null) as object) as object)).toBe(
      'unsupported-value',
    );
    const holey: unknown[] = [1];
    holey[2] = 3;
    expect(kindOf(holey)).toBe('unsupported-value'); // a hole is not null
    expect(kindOf(NaN)).toBe('non-finite-number');
    expect(kindOf(-Infinity)).toBe('non-finite-number');
  });

  test('null-prototype objects are plain objects', () => {
    const record = Object.assign(Object.create(null) as object, { b: 1, a: 2 });
    expect(canonicalJson(record)).toEqual({ ok: true, value: '{"a":2,"b":1}' });
  });

  test('cycles fail, shared references do not', () => {
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: [shared] })).toEqual({
      ok: true,
      value: '{"a":{"x":1},"b":[{"x":1}]}',
    });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = { back: cyclic };
    expect(kindOf(cyclic)).toBe('cycle');
  });

  test(`nesting is bounded at ${MAX_CANONICAL_DEPTH} levels`, () => {
    const nest = (levels: number): unknown => {
      let value: unknown = 0;
      for (let i = 0; i < levels; i++) value = [value];
      return value;
    };
    expect(kindOf(nest(MAX_CANONICAL_DEPTH))).toBe('ok');
    expect(kindOf(nest(MAX_CANONICAL_DEPTH + 1))).toBe('too-deep');
  });
});

describe('every failure kind', () => {
  const examples: Record<CanonicalJsonFailureKind, unknown> = {
    float: 0.5,
    'integer-out-of-range': 2 ** 53,
    'non-finite-number': Infinity,
    'lone-surrogate': { '\ud800': 1 },
    'unsupported-value': { a: undefined },
    cycle: (() => {
      const a: unknown[] = [];
      a.push(a);
      return a;
    })(),
    'too-deep': JSON.parse(
      '['.repeat(MAX_CANONICAL_DEPTH + 1) + ']'.repeat(MAX_CANONICAL_DEPTH + 1),
    ) as unknown,
  };
  test.each(CANONICAL_JSON_FAILURE_KINDS)('%s', (kind) => {
    expect(kindOf(examples[kind])).toBe(kind);
  });
});
