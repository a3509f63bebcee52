// Content hashes and reference hashes of room events (server-server API § "Calculating
// the content hash for an event", § "Calculating the reference hash for an event"),
// and the event IDs of room versions 4 and later: `$` + the URL-safe unpadded base64 of
// the reference hash. The content hash covers the whole event, so a changed body shows;
// the reference hash covers the redacted event, so an event keeps its ID when redacted.
import { sha256 } from '@noble/hashes/sha2.js';
import { canonicalJson, type CanonicalJsonFailureKind } from '../encoding/canonical-json.ts';
import { encodeUnpaddedBase64, encodeUnpaddedBase64Url } from '../encoding/base64.ts';
import { fail, ok, type Failure, type Result } from '../result.ts';
import { redactEvent } from './redaction.ts';

type JsonRecord = Readonly<Record<string, unknown>>;
export type EventHashFailureKind = 'not-an-object' | CanonicalJsonFailureKind;
type Hashed<T> = Result<T, Failure<EventHashFailureKind>>;

const isRecord = (value: unknown): value is JsonRecord =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function without(event: JsonRecord, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(event).filter(([key]) => !keys.includes(key)));
}

function sha256OfCanonical(value: unknown): Hashed<Uint8Array> {
  const text = canonicalJson(value);
  if (!text.ok) return text;
  return ok(sha256(new TextEncoder().encode(text.value)));
}

/** `hashes.sha256` of an event: SHA-256 of it without unsigned, signatures and hashes. */
export function contentHash(event: unknown): Hashed<string> {
  if (!isRecord(event)) return fail('not-an-object', 'an event is a JSON object');
  const hash = sha256OfCanonical(without(event, ['unsigned', 'signatures', 'hashes']));
  return hash.ok ? ok(encodeUnpaddedBase64(hash.value)) : hash;
}

/** SHA-256 of the redacted event without signatures and unsigned. */
export function referenceHash(event: unknown): Hashed<Uint8Array> {
  if (!isRecord(event)) return fail('not-an-object', 'an event is a JSON object');
  return sha256OfCanonical(without(redactEvent(event), ['signatures', 'unsigned']));
}

/** The event ID of room versions 4 and later (URL-safe alphabet). */
export function eventIdOf(event: unknown): Hashed<string> {
  const hash = referenceHash(event);
  return hash.ok ? ok(`$${encodeUnpaddedBase64Url(hash.value)}`) : hash;
}
