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
  try {
    return ok(encodeValue(value, ROOT, undefined, new Set(), 0));
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    return fail(error.kind, error.detail(pathOf(error.at)));
  }
}

/** True when both values encode, to the same canonical JSON: the same signed content. */
export function sameCanonicalJson(a: unknown, b: unknown): boolean {
  const left = canonicalJson(a);
  const right = canonicalJson(b);
  return left.ok && right.ok && left.value === right.value;
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

// Where a value sits, as a chain to the root: its path is spelt out only when a refusal
// names it. Spelling every path on the way down cost more than the encoding itself.
interface At {
  readonly parent: At | undefined;
  readonly key: string | number;
}
const ROOT: At | undefined = undefined;
/** A value's key in its container; undefined for the root. */
type Key = string | number | undefined;
// Only containers and refusals need a value's own At: primitives, most of any value, are
// encoded without allocating one.
const at = (parent: At | undefined, key: Key): At | undefined =>
  key === undefined ? parent : { parent, key };

function pathOf(at: At | undefined): string {
  const segments: string[] = [];
  for (let a = at; a !== undefined; a = a.parent)
    segments.push(typeof a.key === 'number' ? `[${a.key}]` : pathSegment(a.key));
  return `$${segments.reverse().join('')}`;
}

/** Why a value cannot be encoded; thrown inside, returned as a Failure by canonicalJson. */
class Refusal extends Error {
  constructor(
    readonly kind: CanonicalJsonFailureKind,
    readonly at: At | undefined,
    readonly detail: (path: string) => string,
  ) {
    super(kind);
  }
}

// A lone surrogate has no UTF-8 encoding, and the grammar has no \uD800-style escape.
// String.prototype.isWellFormed (ES2024, in Node 20) finds one without a regex scan.
const isWellFormed = (text: string) =>
  (text as string & { isWellFormed(): boolean }).isWellFormed();

function encodeString(text: string, parent: At | undefined, key: Key): string {
  if (!isWellFormed(text)) {
    throw new Refusal(
      'lone-surrogate',
      at(parent, key),
      (path) => `string at ${path} contains an unpaired UTF-16 surrogate`,
    );
  }
  // Without lone surrogates, ECMA-262 QuoteJSONString emits exactly the grammar's escapes:
  // \b \t \n \f \r \" \\, \u00xx with lowercase hex for other C0 controls, all else raw.
  return JSON.stringify(text);
}

function encodeNumber(value: number, parent: At | undefined, key: Key): string {
  if (!Number.isFinite(value)) {
    throw new Refusal(
      'non-finite-number',
      at(parent, key),
      (path) => `${String(value)} at ${path} is not a JSON number`,
    );
  }
  if (!Number.isInteger(value)) {
    throw new Refusal(
      'float',
      at(parent, key),
      (path) => `${String(value)} at ${path} is not an integer`,
    );
  }
  if (Math.abs(value) > MAX_CANONICAL_INTEGER) {
    throw new Refusal(
      'integer-out-of-range',
      at(parent, key),
      (path) => `${String(value)} at ${path} is outside ±(2**53 - 1)`,
    );
  }
  // String() never uses an exponent below 1e21 and prints -0 as "0", as the spec requires.
  return String(value);
}

function encodeValue(
  value: unknown,
  parent: At | undefined,
  key: Key,
  ancestors: Set<object>,
  depth: number,
): string {
  switch (typeof value) {
    case 'string':
      return encodeString(value, parent, key);
    case 'number':
      return encodeNumber(value, parent, key);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      return encodeContainer(value, at(parent, key), ancestors, depth);
    case 'undefined':
    case 'bigint':
    case 'symbol':
    case 'function':
      throw new Refusal(
        'unsupported-value',
        at(parent, key),
        (path) => `${typeof value} at ${path} is not a JSON value`,
      );
  }
}

function encodeContainer(
  value: object,
  at: At | undefined,
  ancestors: Set<object>,
  depth: number,
): string {
  if (ancestors.has(value))
    throw new Refusal('cycle', at, (path) => `${path} refers back to one of its ancestors`);
  if (depth >= MAX_CANONICAL_DEPTH) {
    throw new Refusal(
      'too-deep',
      at,
      (path) => `${path} is nested more than ${MAX_CANONICAL_DEPTH} levels deep`,
    );
  }
  ancestors.add(value);
  const result = Array.isArray(value)
    ? encodeArray(value as readonly unknown[], at, ancestors, depth)
    : encodeObject(value, at, ancestors, depth);
  ancestors.delete(value);
  return result;
}

function encodeArray(
  items: readonly unknown[],
  at: At | undefined,
  ancestors: Set<object>,
  depth: number,
): string {
  let out = '[';
  for (let i = 0; i < items.length; i++) {
    // A hole reads as undefined and is rejected below, rather than becoming null.
    if (i > 0) out += ',';
    out += encodeValue(items[i], at, i, ancestors, depth + 1);
  }
  return `${out}]`;
}

function encodeObject(
  value: object,
  at: At | undefined,
  ancestors: Set<object>,
  depth: number,
): string {
  const proto = Object.getPrototypeOf(value) as unknown;
  // Only plain objects are JSON objects; Date, Map, Uint8Array etc. have no canonical form.
  if (proto !== Object.prototype && proto !== null) {
    throw new Refusal(
      'unsupported-value',
      at,
      (path) => `${describe(value)} at ${path} is not a plain JSON object`,
    );
  }
  if (Object.getOwnPropertySymbols(value).length > 0) {
    throw new Refusal('unsupported-value', at, (path) => `object at ${path} has symbol keys`);
  }
  const record = value as Readonly<Record<string, unknown>>;
  const keys = Object.keys(record).sort(compareCodePoints);
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (i > 0) out += ',';
    out += `${encodeString(key, at, key)}:${encodeValue(record[key], at, key, ancestors, depth + 1)}`;
  }
  return `${out}}`;
}

function describe(value: object): string {
  const ctor = (value as { readonly constructor?: unknown }).constructor;
  return typeof ctor === 'function' && ctor.name !== '' ? ctor.name : 'object';
}

function pathSegment(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}
