// Labelled signing. Every signature in the protocol covers
//   "fedconn-v1 " || label || 0x00 || canonical JSON of the content
// so a signature made for one structure can never be passed off as another
// (credential type confusion, a package signature replayed as a credential).
import { canonicalJson } from './encoding/canonical-json.ts';
import type { Ed25519KeyPair } from './crypto/ed25519.ts';
import { verifyEd25519, type Ed25519FailureKind } from './crypto/ed25519.ts';
import { without } from './narrowing.ts';
import { fail, ok, type Failure, type Result } from './result.ts';

export const SIGNATURE_LABELS = [
  'AsCredential',
  'AsCredentialSelfSigned',
  'AsIntermediateCredential',
  'AsIntermediateCredentialSelfSigned',
  'ClientCredential',
  'ClientCredentialSelfSigned',
  'ConnectionPackage',
  'ConnectionEstablishmentPackage',
  'ClientRequest',
  'LeafBinding',
] as const;
export type SignatureLabel = (typeof SIGNATURE_LABELS)[number];

/** Labels for hashes over protocol values (never signed as such). */
export const HASH_LABELS = ['CredentialFingerprint'] as const;
export type HashLabel = (typeof HASH_LABELS)[number];

const encoder = new TextEncoder();

/** The exact bytes a labelled signature covers. Throws only on non-JSON content (a bug). */
export function labelledBytes(label: SignatureLabel | HashLabel, content: unknown): Uint8Array {
  const json = canonicalJson(content);
  if (!json.ok) throw new Error(`cannot encode ${label}: ${json.error.detail}`);
  return labelledJson(label, json.value);
}

// Each label's prefix, encoded once.
const PREFIXES = Object.fromEntries(
  [...SIGNATURE_LABELS, ...HASH_LABELS].map((label) => [
    label,
    encoder.encode(`fedconn-v1 ${label}`),
  ]),
) as Readonly<Record<SignatureLabel | HashLabel, Uint8Array>>;

/** labelledBytes of content whose canonical JSON is `json`. */
function labelledJson(label: SignatureLabel | HashLabel, json: string): Uint8Array {
  const prefix = PREFIXES[label];
  // Encoded straight into place: one allocation, where encode() then a copy made two.
  const out = new Uint8Array(prefix.length + 1 + Buffer.byteLength(json, 'utf8'));
  out.set(prefix, 0);
  encoder.encodeInto(json, out.subarray(prefix.length + 1));
  return out;
}

export async function signWithLabel(
  key: Ed25519KeyPair,
  label: SignatureLabel,
  content: unknown,
): Promise<Uint8Array> {
  return key.sign(labelledBytes(label, content));
}

export type LabelledVerifyFailureKind =
  Ed25519FailureKind | 'label-mismatch' | 'not-canonical-json';

/**
 * Verifies a labelled signature. When it fails, the signature is tried under
 * the other labels too, so that a type-confusion attempt is reported as
 * 'label-mismatch' rather than as an anonymous bad signature.
 */
export async function verifyWithLabel(
  publicKey: Uint8Array,
  label: SignatureLabel,
  content: unknown,
  signature: Uint8Array,
  /**
   * Mutants only: fields (by path) the verifier forgot, so that a signature over the
   * content without one of them is taken too (narrowing.ts).
   */
  uncovered: readonly string[] = [],
  /** The content's canonical JSON, when the caller has encoded it already. */
  encoded?: string,
): Promise<Result<void, Failure<LabelledVerifyFailureKind>>> {
  const json = encoded === undefined ? canonicalJson(content) : ok(encoded);
  if (!json.ok) return fail('not-canonical-json', json.error.detail);
  const verdict = await verifyEd25519(publicKey, labelledJson(label, json.value), signature);
  if (verdict.ok || verdict.error.kind !== 'bad-signature') return verdict;
  for (const field of uncovered) {
    const partial = labelledBytes(label, without(content, field));
    if ((await verifyEd25519(publicKey, partial, signature)).ok) return ok(undefined);
  }
  for (const other of SIGNATURE_LABELS) {
    if (other === label) continue;
    const under = await verifyEd25519(publicKey, labelledJson(other, json.value), signature);
    if (under.ok) {
      return fail('label-mismatch', `signature was made under label ${other}, expected ${label}`);
    }
  }
  return verdict;
}
