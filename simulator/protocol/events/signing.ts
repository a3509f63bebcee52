// Signing and checking room events (server-server API § "Signing events"): the
// content hash goes in first, then the *redacted* event is signed and the signature
// copied onto the full event. A receiver checks signatures on the redacted form, and
// the content hash on the full one: a bad signature rejects the event, a bad content
// hash only means the event must be treated as redacted.
import {
  checkJsonSignature,
  signJson,
  type CheckSignatureFailureKind,
  type JsonSigner,
  type SignJsonFailureKind,
  type Signatures,
} from '../encoding/signed-json.ts';
import { fail, ok, type Failure, type Result } from '../result.ts';
import { contentHash, type EventHashFailureKind } from './hashes.ts';
import { redactEvent } from './redaction.ts';

type JsonRecord = Readonly<Record<string, unknown>>;

export type SignedEvent<E> = E & { hashes: { sha256: string }; signatures: Signatures };

/**
 * Adds `hashes.sha256` and `signer`'s signature over the redacted event. Signatures the
 * event already carries are kept (an invitee's server co-signs the inviter's event).
 */
export async function hashAndSignEvent<E extends JsonRecord>(
  event: E,
  signer: JsonSigner,
  options: { readonly keepHashes?: boolean } = {},
): Promise<Result<SignedEvent<E>, Failure<SignJsonFailureKind | EventHashFailureKind>>> {
  let hashes = event.hashes;
  if (options.keepHashes !== true || hashes === undefined) {
    const hash = contentHash(event);
    if (!hash.ok) return hash;
    hashes = { sha256: hash.value };
  }
  const hashed = { ...event, hashes };
  const signed = await signJson(redactEvent(hashed), signer);
  if (!signed.ok) return signed;
  return ok({ ...hashed, signatures: signed.value.signatures } as SignedEvent<E>);
}

/** Adds `signer`'s signature to an event that is already hashed (co-signing). */
export const coSignEvent = <E extends JsonRecord>(event: E, signer: JsonSigner) =>
  hashAndSignEvent(event, signer, { keepHashes: true });

/** Checks `entity`'s signature on the redacted form of `event`. */
export function checkEventSignature(
  event: JsonRecord,
  entity: string,
  verifyKeys: ReadonlyMap<string, Uint8Array>,
  /** Mutants only: a field of the redacted event the verifier forgot (narrowing.ts). */
  uncovered?: string,
): Promise<Result<readonly string[], Failure<CheckSignatureFailureKind>>> {
  return checkJsonSignature(redactEvent(event), entity, verifyKeys, uncovered);
}

export const CONTENT_HASH_FAILURE_KINDS = ['no-content-hash', 'content-hash-mismatch'] as const;
export type ContentHashFailureKind = (typeof CONTENT_HASH_FAILURE_KINDS)[number];

/** True when `hashes.sha256` matches the event; otherwise the event counts as redacted. */
export function checkContentHash(
  event: JsonRecord,
): Result<void, Failure<ContentHashFailureKind | EventHashFailureKind>> {
  const hashes = event.hashes;
  const claimed =
    typeof hashes === 'object' && hashes !== null && !Array.isArray(hashes)
      ? (hashes as JsonRecord).sha256
      : undefined;
  if (typeof claimed !== 'string') return fail('no-content-hash', 'no hashes.sha256');
  const actual = contentHash(event);
  if (!actual.ok) return actual;
  if (actual.value !== claimed.replace(/=+$/, '')) {
    return fail(
      'content-hash-mismatch',
      `hashes.sha256 is ${claimed}, the content hashes to ${actual.value}`,
    );
  }
  return ok(undefined);
}
