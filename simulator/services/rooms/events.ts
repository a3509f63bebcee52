// Room events (PDUs) of Matrix room version 10, as the rooms service holds them:
//
// - The v4+ format: no `event_id` member; an event's ID is `$` + the URL-safe base64
//   of its reference hash (protocol/events/hashes.ts), computed, never sent.
// - Every event carries `hashes.sha256` (its content hash) and its sender's server
//   signs the *redacted* event (protocol/events/signing.ts). An invite also carries the
//   invitee server's signature (SPEC-30: "having B sign the invite event").
// - Values are canonical JSON: integers only, within ±(2^53 - 1), as v6+ requires.
// - prev_events name the room's latest event as the creating server knew it; auth_events
//   name the create event, the power levels, the join rules and the memberships the
//   event depends on (auth-rules.ts judges it).
//
// On receipt (server-server API § "Checks performed on receipt of a PDU"): the format,
// then the sender's signature (a failure rejects the event), then the content hash (a
// failure means the redacted copy is what gets used), then the auth rules.
import { z } from 'zod';
import { canonicalJson } from '../../protocol/encoding/canonical-json.ts';
import {
  ED25519_KEY_ID,
  signingBytes,
  type CheckSignatureFailureKind,
} from '../../protocol/encoding/signed-json.ts';
import { eventIdOf } from '../../protocol/events/hashes.ts';
import { redactEvent } from '../../protocol/events/redaction.ts';
import {
  checkContentHash,
  checkEventSignature as checkSignatureWithKeys,
  coSignEvent,
  hashAndSignEvent,
} from '../../protocol/events/signing.ts';
import { fail, ok, unwrap, type Failure, type Result } from '../../protocol/result.ts';
import { isMutant, type HomeserverContext } from '../../homeserver/context.ts';
import { MATRIX_MUTANTS } from '../../federation/mutants.ts';
import {
  contentHashByCodeUnit,
  signJsonWithFlaw,
  type SigningFlaw,
} from '../../federation/signing-mutants.ts';
import { eventVerifyKeys } from '../../federation/remote-keys.ts';
import { currentSigningKey } from '../../federation/signing-keys.ts';
import { isEventId, isRoomId, isUserId, serverOf } from './ids.ts';

export { CREATE, JOIN_RULES, MEMBER, POWER_LEVELS } from './auth-rules.ts';

export const ROOM_VERSION = '10';

/** Matrix caps a PDU at 65536 bytes of canonical JSON. */
export const MAX_PDU_BYTES = 65536;

export const JOIN_RULE_VALUES = ['public', 'invite'] as const;
export type JoinRule = (typeof JOIN_RULE_VALUES)[number];

const signaturesSchema = z.record(z.string(), z.record(z.string(), z.string()));

/**
 * A PDU. Loose: members we do not know are kept, because a server that co-signs or
 * relays an event must return it "otherwise untouched".
 */
export const pduSchema = z.looseObject({
  room_id: z.string().refine(isRoomId, 'not a room id'),
  type: z.string().min(1).max(255),
  state_key: z.string().max(255).optional(),
  sender: z.string().refine(isUserId, 'not a user id'),
  origin: z.string().max(255).optional(),
  origin_server_ts: z.int().min(0),
  content: z.record(z.string(), z.unknown()),
  prev_events: z.array(z.string().refine(isEventId, 'not an event id')).max(20),
  auth_events: z.array(z.string().refine(isEventId, 'not an event id')).max(10),
  depth: z.int().min(0),
  hashes: z.looseObject({ sha256: z.string() }),
  signatures: signaturesSchema.optional(),
});
export type Pdu = z.output<typeof pduSchema>;

/** A join template as make_join serves it: unsigned, unhashed (the joiner adds both). */
export const templateSchema = pduSchema.omit({ hashes: true, signatures: true });

export type PduFailureKind = 'malformed' | 'too-large';

/** Reads an untrusted value as a PDU; the result is the value itself, not a copy. */
export function readPdu(value: unknown): Result<Pdu, Failure<PduFailureKind>> {
  const parsed = pduSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue === undefined || issue.path.length === 0 ? '(root)' : issue.path.join('.');
    return fail('malformed', `${path}: ${issue?.message ?? 'invalid'}`);
  }
  const size = canonicalJson(value);
  if (!size.ok) return fail('malformed', `not canonical JSON: ${size.error.detail}`);
  if (new TextEncoder().encode(size.value).length > MAX_PDU_BYTES) {
    return fail('too-large', `the event exceeds ${MAX_PDU_BYTES} bytes`);
  }
  // The parse checked `value`; keep the original so nothing is dropped or reordered.
  return ok(value as Pdu);
}

const ids = new WeakMap<object, string>();

/** The event's ID (its reference hash), computed once per object. */
export function eventId(event: Pdu): string {
  let id = ids.get(event);
  if (id === undefined) {
    // readPdu and signEvent only let canonical JSON through: hashing cannot fail.
    id = unwrap(eventIdOf(event));
    ids.set(event, id);
  }
  return id;
}

export const membershipOf = (event: Pdu): unknown => event.content.membership;

/** An event as this server builds it, before hashing and signing. */
export type UnsignedPdu = z.output<typeof templateSchema>;

/** Hashes `event` and adds this server's signature with its current key. */
export async function signEvent(ctx: HomeserverContext, event: UnsignedPdu): Promise<Pdu> {
  const flaw = signingFlaw(ctx);
  const signer = signerOf(ctx);
  const hashed: Pdu = unwrap(await hashAndSignEvent(event, signer));
  if (flaw === undefined) return hashed;
  return withFlawedSignature(ctx, hashed, flaw);
}

/** Adds this server's signature to a hashed event, keeping the others (an invitee co-signs). */
export async function coSign(ctx: HomeserverContext, event: Pdu): Promise<Pdu> {
  const flaw = signingFlaw(ctx);
  if (flaw !== undefined) return withFlawedSignature(ctx, event, flaw);
  return unwrap(await coSignEvent(event, signerOf(ctx)));
}

function signerOf(ctx: HomeserverContext) {
  const { keyId, pair } = currentSigningKey(ctx);
  return { entity: ctx.config.serverName, keyId, keyPair: pair };
}

/** The signing mutants (FED-KEYS-08, -09, -10) sign the redacted event the wrong way. */
async function withFlawedSignature(
  ctx: HomeserverContext,
  event: Pdu,
  flaw: SigningFlaw,
): Promise<Pdu> {
  // keep-unsigned: the mutant signs `unsigned` too, which redaction would have dropped.
  const redacted =
    flaw === 'keep-unsigned' && event.unsigned !== undefined
      ? { ...redactEvent(event), unsigned: event.unsigned }
      : redactEvent(event);
  const signed = await signJsonWithFlaw(redacted, signerOf(ctx), flaw);
  return { ...event, signatures: signed.signatures };
}

/** The signing mutant this server runs, if any (FED-KEYS-08, -09, -10). */
function signingFlaw(ctx: HomeserverContext): SigningFlaw | undefined {
  if (isMutant(ctx, MATRIX_MUTANTS.sortKeysByCodeUnit)) return 'sort-by-code-unit';
  if (isMutant(ctx, MATRIX_MUTANTS.signOverUnsigned)) return 'keep-unsigned';
  if (isMutant(ctx, MATRIX_MUTANTS.padSignatures)) return 'pad-base64';
  return undefined;
}

export type EventSignatureFailureKind = CheckSignatureFailureKind;

/**
 * Checks `server`'s signature on `event` (over its redacted form) with the keys this
 * homeserver can learn for it: current verify keys, and old keys that expired after the
 * event's origin_server_ts.
 */
export async function checkEventSignature(
  ctx: HomeserverContext,
  event: Pdu,
  server: string,
): Promise<Result<void, Failure<EventSignatureFailureKind>>> {
  const own = event.signatures?.[server];
  if (own === undefined) return fail('not-signed-by-entity', `no signature from ${server}`);
  // Only ed25519 ids can name a key; others must not make us refetch.
  const keyIds = Object.keys(own).filter((id) => ED25519_KEY_ID.test(id));
  const keys = await eventVerifyKeys(ctx, server, keyIds, event.origin_server_ts);
  const checked = await checkSignatureWithKeys(
    event,
    server,
    keys,
    isMutant(ctx, MATRIX_MUTANTS.eventSignatureWithoutHashes) ? 'hashes' : undefined,
  );
  return checked.ok ? ok(undefined) : checked;
}

/** The sender's server, which must sign every event it creates. */
export const senderServer = (event: Pdu): string => serverOf(event.sender) ?? '';

export type ReceivedPduFailureKind = PduFailureKind | 'bad-signature';

/**
 * The first checks on receipt of a PDU: format, the sender's server signature, then the
 * content hash (usableCopy). The result is the event to use from then on.
 */
export async function receivePdu(
  ctx: HomeserverContext,
  raw: unknown,
): Promise<Result<Pdu, Failure<ReceivedPduFailureKind>>> {
  const read = readPdu(raw);
  if (!read.ok) return read;
  const event = read.value;
  const sender = senderServer(event);
  const signature = await checkEventSignature(ctx, event, sender);
  if (!signature.ok)
    return fail('bad-signature', `signature of ${sender}: ${signature.error.detail}`);
  return ok(usableCopy(ctx, event));
}

/**
 * The event as received when its content hash matches, else its redacted copy: a bad
 * content hash is not a rejection, the spec says to go on with what redaction leaves.
 * For events whose signature was checked already.
 */
export function usableCopy(ctx: HomeserverContext, event: Pdu): Pdu {
  return contentHashMatches(ctx, event) ? event : (redactEvent(event) as Pdu);
}

/** Mutant FED-KEYS-08: this server hashes with keys in UTF-16 code-unit order. */
function contentHashMatches(ctx: HomeserverContext, event: Pdu): boolean {
  if (!isMutant(ctx, MATRIX_MUTANTS.sortKeysByCodeUnit)) return checkContentHash(event).ok;
  return event.hashes.sha256 === contentHashByCodeUnit(event);
}

/** True when a and b are the same event apart from signatures and `unsigned`, which no signature covers. */
export function sameEventIgnoringSignatures(a: unknown, b: unknown): boolean {
  const x = signingBytes(a);
  const y = signingBytes(b);
  if (!x.ok || !y.ok || x.value.length !== y.value.length) return false;
  return x.value.every((byte, i) => byte === y.value[i]);
}

/** True when `signed` keeps every signature `original` had. */
export function keepsSignatures(original: Pdu, signed: Pdu): boolean {
  for (const [entity, keys] of Object.entries(original.signatures ?? {})) {
    for (const [keyId, sig] of Object.entries(keys)) {
      if (signed.signatures?.[entity]?.[keyId] !== sig) return false;
    }
  }
  return true;
}
