// Signing JSON objects (appendices § "Signing Details", § "Checking for a Signature").
// The signed bytes are the canonical JSON of the object without `signatures` and
// `unsigned`; the signature lands in signatures[entity][keyId] as unpadded standard
// base64. Objects are never mutated: signing returns a new object.

import { without } from '../narrowing.ts';
import { fail, ok, type Failure, type Result } from '../result.ts';
import {
  ED25519_FAILURE_KINDS,
  verifyEd25519,
  type Ed25519FailureKind,
  type Ed25519KeyPair,
} from '../crypto/ed25519.ts';
import { decodeBase64, encodeUnpaddedBase64 } from './base64.ts';
import {
  CANONICAL_JSON_FAILURE_KINDS,
  canonicalJson,
  type CanonicalJsonFailureKind,
} from './canonical-json.ts';

/** `<algorithm>:<version>`; the only algorithm is ed25519, versions match [a-zA-Z0-9_]+. */
export const ED25519_KEY_ID = /^ed25519:[a-zA-Z0-9_]+$/;

export const SIGN_JSON_FAILURE_KINDS = [
  'not-an-object',
  'invalid-key-id',
  'malformed-signatures',
  ...CANONICAL_JSON_FAILURE_KINDS,
] as const;
export type SignJsonFailureKind = (typeof SIGN_JSON_FAILURE_KINDS)[number];

export const CHECK_SIGNATURE_FAILURE_KINDS = [
  'not-an-object',
  'malformed-signatures',
  'not-signed-by-entity',
  'no-supported-algorithm',
  'unknown-key',
  'invalid-base64',
  ...CANONICAL_JSON_FAILURE_KINDS,
  ...ED25519_FAILURE_KINDS,
] as const;
export type CheckSignatureFailureKind = (typeof CHECK_SIGNATURE_FAILURE_KINDS)[number];

/** Who signs: the entity (server name or user id), the key id, and the key. */
export interface JsonSigner {
  readonly entity: string;
  readonly keyId: string;
  readonly keyPair: Ed25519KeyPair;
}

type JsonRecord = Readonly<Record<string, unknown>>;

/** signatures[entity][keyId] = unpadded base64 signature. */
export type Signatures = Readonly<Record<string, Readonly<Record<string, string>>>>;

/** A signed object. Members other than `signatures` are whatever the input held. */
export interface SignedObject {
  readonly [member: string]: unknown;
  readonly signatures: Signatures;
}

/** A plain object: not an array, and not a Date, Map or class instance. */
function isJsonRecord(value: unknown): value is JsonRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** The object as signed: without `signatures` and `unsigned`. */
function signedPart(object: JsonRecord): JsonRecord {
  // A spread copy keeps symbol keys, so canonicalJson still sees (and rejects) them.
  const rest: Record<string, unknown> = { ...object };
  delete rest.signatures;
  delete rest.unsigned;
  return rest;
}

/** The canonical JSON of what a signature covers, as UTF-8 bytes. */
export function signingBytes(
  object: unknown,
): Result<Uint8Array, Failure<'not-an-object' | CanonicalJsonFailureKind>> {
  if (!isJsonRecord(object)) return fail('not-an-object', 'only JSON objects can be signed');
  const canonical = canonicalJson(signedPart(object));
  if (!canonical.ok) return canonical;
  return ok(new TextEncoder().encode(canonical.value));
}

/**
 * Signs object as signer.entity with signer.keyId. Existing signatures, including other
 * keys of the same entity, are kept; `unsigned` is carried over untouched.
 */
export async function signJson(
  object: unknown,
  signer: JsonSigner,
): Promise<Result<SignedObject, Failure<SignJsonFailureKind>>> {
  if (!isJsonRecord(object)) return fail('not-an-object', 'only JSON objects can be signed');
  if (!ED25519_KEY_ID.test(signer.keyId)) {
    return fail('invalid-key-id', `${JSON.stringify(signer.keyId)} is not ed25519:<version>`);
  }
  const existing = readSignatures(object.signatures ?? {});
  if (!existing.ok) return existing;
  const bytes = signingBytes(object);
  if (!bytes.ok) return bytes;
  const signature = encodeUnpaddedBase64(await signer.keyPair.sign(bytes.value));
  const mine = existing.value[signer.entity] ?? {};
  return ok({
    ...object,
    signatures: { ...existing.value, [signer.entity]: { ...mine, [signer.keyId]: signature } },
  });
}

// Signing re-emits every existing signature, so all of them must have the JSON shape.
function readSignatures(value: unknown): Result<Signatures, Failure<'malformed-signatures'>> {
  if (!isJsonRecord(value)) return fail('malformed-signatures', '`signatures` is not an object');
  for (const [entity, keys] of Object.entries(value)) {
    if (!isJsonRecord(keys)) {
      return fail('malformed-signatures', `signatures[${JSON.stringify(entity)}] is not an object`);
    }
    for (const [keyId, signature] of Object.entries(keys)) {
      if (typeof signature !== 'string') {
        return fail('malformed-signatures', `signature ${keyId} of ${entity} is not a string`);
      }
    }
  }
  return ok(value as Signatures);
}

/**
 * Checks the signatures of entity on object, following "Checking for a Signature":
 * 1. signatures[entity] must exist; 2. key ids whose algorithm is not ed25519 are dropped
 * and at least one must remain; 3. at least one of them must have a key in verifyKeys (key id ->
 * raw public key); 4. each such signature must be valid base64; 5-6. the object without
 * `signatures` and `unsigned` is canonicalised; 7. each signature must verify.
 * Like Synapse, every signature we hold a key for must verify, not just one of them.
 * Returns the key ids that verified.
 */
export async function checkJsonSignature(
  object: unknown,
  entity: string,
  verifyKeys: ReadonlyMap<string, Uint8Array>,
  /**
   * Mutants only: a field (by path) the verifier forgot, so that a signature over the
   * object without it is taken too (simulator/protocol/narrowing.ts).
   */
  uncovered?: string,
): Promise<Result<readonly string[], Failure<CheckSignatureFailureKind>>> {
  if (!isJsonRecord(object)) return fail('not-an-object', 'only JSON objects carry signatures');
  const { signatures } = object;
  if (signatures === undefined) return fail('not-signed-by-entity', 'no `signatures` member');
  if (!isJsonRecord(signatures)) {
    return fail('malformed-signatures', '`signatures` is not an object');
  }
  const mine = signatures[entity];
  if (mine === undefined) {
    return fail('not-signed-by-entity', `no signatures from ${JSON.stringify(entity)}`);
  }
  if (!isJsonRecord(mine)) {
    return fail('malformed-signatures', `signatures[${JSON.stringify(entity)}] is not an object`);
  }

  // Step 2 looks at the algorithm only; as in python-signedjson, that is the text before the
  // first ':'. A malformed version simply finds no key in step 3.
  const keyIds = Object.keys(mine).filter((keyId) => keyId.split(':', 1)[0] === 'ed25519');
  if (keyIds.length === 0) {
    return fail('no-supported-algorithm', `${JSON.stringify(entity)} has no ed25519 signature`);
  }
  const known = keyIds.flatMap((keyId) => {
    const key = verifyKeys.get(keyId);
    return key === undefined ? [] : [{ keyId, key }];
  });
  if (known.length === 0) {
    return fail('unknown-key', `no verify key for ${keyIds.join(', ')} of ${entity}`);
  }

  const decoded: { keyId: string; key: Uint8Array; signature: Uint8Array }[] = [];
  for (const { keyId, key } of known) {
    const text = mine[keyId];
    if (typeof text !== 'string') {
      return fail('malformed-signatures', `signature ${keyId} of ${entity} is not a string`);
    }
    const signature = decodeBase64(text);
    if (!signature.ok) {
      return fail('invalid-base64', `signature ${keyId} of ${entity}: ${signature.error.detail}`);
    }
    decoded.push({ keyId, key, signature: signature.value });
  }

  const bytes = signingBytes(object);
  if (!bytes.ok) return bytes;
  const partial = uncovered === undefined ? undefined : signingBytes(without(object, uncovered));
  for (const { keyId, key, signature } of decoded) {
    const verdict = await verifyEd25519(key, bytes.value, signature);
    if (
      !verdict.ok &&
      partial?.ok === true &&
      (await verifyEd25519(key, partial.value, signature)).ok
    )
      continue;
    if (!verdict.ok) {
      return fail<Ed25519FailureKind>(
        verdict.error.kind,
        `signature ${keyId} of ${entity}: ${verdict.error.detail}`,
      );
    }
  }
  return ok(decoded.map(({ keyId }) => keyId));
}
