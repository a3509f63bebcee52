// Matrix canonical JSON (appendices § "Canonical JSON"): the shortest UTF-8 encoding,
// object keys sorted by Unicode code point, no insignificant whitespace, integers only
// in [-(2**53)+1, (2**53)-1], and only the escapes \b \t \n \f \r \" \\ plus \u00XX
// (lowercase hex) for the remaining control characters. Signatures and content hashes
// are computed over this text, so every deviation here breaks interoperability.
// RFC 8785 (JCS) is a different canonicalisation: it sorts by UTF-16 code units and
// accepts floats, so it cannot stand in for this.

import { fail, ok, type Failure, type Result } from '../result.ts';

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject;
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

export const CANONICAL_JSON_FAILURE_KINDS = [
  'float',
  'integer-out-of-range',
  'non-finite-number',
  'lone-surrogate',
  'unsupported-value',
  'cycle',
  'too-deep',
] as const;
export type CanonicalJsonFailureKind = (typeof CANONICAL_JSON_FAILURE_KINDS)[number];

/** 2**53 - 1: the spec's integer bound, the largest integer every JSON parser keeps exact. */
export const MAX_CANONICAL_INTEGER = Number.MAX_SAFE_INTEGER;

/**
 * Nesting bound. Deep input must fail with a Result, not a RangeError from the stack;
 * Python's json encoder (Synapse) stops near 1000 levels too.
 */
export const MAX_CANONICAL_DEPTH = 1000;

type Outcome = Result<string, Failure<CanonicalJsonFailureKind>>;

/** Encodes a JSON value as Matrix canonical JSON, or says precisely why it cannot. */
export function canonicalJson(value: unknown): Outcome {
  return encodeValue(value, '$', new Set(), 0);
}

/**
 * Orders strings by Unicode code point, which is also UTF-8 byte order. JavaScript's
 * default sort compares UTF-16 code units, which puts astral characters (surrogates
 * D800-DFFF) before U+E000-U+FFFF; code point order puts them after.
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

// At the first differing code unit of well-formed strings, either both units are lead
// surrogates (whose order matches code point order) or at least one is a BMP character.
// Moving surrogates above U+E000-U+FFFF is then enough to compare by code point.
function codePointRank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}

// A lone surrogate has no UTF-8 encoding, and the grammar has no \uD800-style escape.
const LONE_SURROGATE = /\p{Cs}/u;

function encodeString(text: string, path: string): Outcome {
  if (LONE_SURROGATE.test(text)) {
    return fail('lone-surrogate', `string at ${path} contains an unpaired UTF-16 surrogate`);
  }
  // Without lone surrogates, ECMA-262 QuoteJSONString emits exactly the grammar's escapes:
  // \b \t \n \f \r \" \\, \u00xx with lowercase hex for other C0 controls, all else raw.
  return ok(JSON.stringify(text));
}

function encodeNumber(value: number, path: string): Outcome {
  if (!Number.isFinite(value)) {
    return fail('non-finite-number', `${String(value)} at ${path} is not a JSON number`);
  }
  if (!Number.isInteger(value)) {
    return fail('float', `${String(value)} at ${path} is not an integer`);
  }
  if (Math.abs(value) > MAX_CANONICAL_INTEGER) {
    return fail('integer-out-of-range', `${String(value)} at ${path} is outside ±(2**53 - 1)`);
  }
  // String() never uses an exponent below 1e21 and prints -0 as "0", as the spec requires.
  return ok(String(value));
}

function encodeValue(value: unknown, path: string, ancestors: Set<object>, depth: number): Outcome {
  switch (typeof value) {
    case 'string':
      return encodeString(value, path);
    case 'number':
      return encodeNumber(value, path);
    case 'boolean':
      return ok(value ? 'true' : 'false');
    case 'object':
      if (value === null) return ok('null');
      return encodeContainer(value, path, ancestors, depth);
    case 'undefined':
    case 'bigint':
    case 'symbol':
    case 'function':
      return fail('unsupported-value', `${typeof value} at ${path} is not a JSON value`);
  }
}

function encodeContainer(
  value: object,
  path: string,
  ancestors: Set<object>,
  depth: number,
): Outcome {
  if (ancestors.has(value)) return fail('cycle', `${path} refers back to one of its ancestors`);
  if (depth >= MAX_CANONICAL_DEPTH) {
    return fail('too-deep', `${path} is nested more than ${MAX_CANONICAL_DEPTH} levels deep`);
  }
  ancestors.add(value);
  const result = Array.isArray(value)
    ? encodeArray(value as readonly unknown[], path, ancestors, depth)
    : encodeObject(value, path, ancestors, depth);
  ancestors.delete(value);
  return result;
}

function encodeArray(
  items: readonly unknown[],
  path: string,
  ancestors: Set<object>,
  depth: number,
): Outcome {
  const parts: string[] = [];
  for (let i = 0; i < items.length; i++) {
    // A hole reads as undefined and is rejected below, rather than becoming null.
    const part = encodeValue(items[i], `${path}[${i}]`, ancestors, depth + 1);
    if (!part.ok) return part;
    parts.push(part.value);
  }
  return ok(`[${parts.join(',')}]`);
}

function encodeObject(value: object, path: string, ancestors: Set<object>, depth: number): Outcome {
  const proto = Object.getPrototypeOf(value) as unknown;
  // Only plain objects are JSON objects; Date, Map, Uint8Array etc. have no canonical form.
  if (proto !== Object.prototype && proto !== null) {
    return fail('unsupported-value', `${describe(value)} at ${path} is not a plain JSON object`);
  }
  if (Object.getOwnPropertySymbols(value).length > 0) {
    return fail('unsupported-value', `object at ${path} has symbol keys`);
  }
  const record = value as Readonly<Record<string, unknown>>;
  const keys = Object.keys(record).sort(compareCodePoints);
  const parts: string[] = [];
  for (const key of keys) {
    const childPath = `${path}${pathSegment(key)}`;
    const encodedKey = encodeString(key, childPath);
    if (!encodedKey.ok) return encodedKey;
    const encodedValue = encodeValue(record[key], childPath, ancestors, depth + 1);
    if (!encodedValue.ok) return encodedValue;
    parts.push(`${encodedKey.value}:${encodedValue.value}`);
  }
  return ok(`{${parts.join(',')}}`);
}

function describe(value: object): string {
  const ctor = (value as { readonly constructor?: unknown }).constructor;
  return typeof ctor === 'function' && ctor.name !== '' ? ctor.name : 'object';
}

function pathSegment(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}
