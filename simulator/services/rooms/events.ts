// Room events (PDUs) of the simulator's room version, a deliberate simplification
// of Matrix rooms:
//
// - Events have the v1/v2 shape: `event_id` (`$opaque:server`, chosen by the server
//   that creates the event) inside the event, plus room_id, type, state_key (state
//   events), sender, origin, origin_server_ts, content, prev_events, auth_events
//   (lists of event ids, as in v3+) and depth.
// - No content hashes and no redaction algorithm: the sender's server signs the whole
//   event (minus `signatures` and `unsigned`) as signed JSON. An invite also carries
//   the invitee server's signature (SPEC-30: "having B sign the invite event").
// - prev_events name the room's latest event as the creating server knew it; auth_events
//   name the create event, the join rules and the memberships the event depends on.
//   They are checked for presence (send_join state) but there is no state resolution.
//
// The room version identifier says so: servers that do not know it refuse with
// M_INCOMPATIBLE_ROOM_VERSION, as they would for any unknown version.
import { z } from 'zod';
import { canonicalJson } from '../../protocol/encoding/canonical-json.ts';
import {
  checkJsonSignature,
  ED25519_KEY_ID,
  signJson,
  signingBytes,
  type CheckSignatureFailureKind,
} from '../../protocol/encoding/signed-json.ts';
import { fail, ok, unwrap, type Failure, type Result } from '../../protocol/result.ts';
import { isMutant, type HomeserverContext } from '../../homeserver/context.ts';
import { MATRIX_MUTANTS } from '../../federation/mutants.ts';
import { signJsonWithFlaw, type SigningFlaw } from '../../federation/signing-mutants.ts';
import { eventVerifyKeys } from '../../federation/remote-keys.ts';
import { currentSigningKey } from '../../federation/signing-keys.ts';
import { isEventId, isRoomId, isUserId, serverOf } from './ids.ts';

export const ROOM_VERSION = 'org.fedconn.simple.1';

/** Matrix caps a PDU at 65536 bytes of canonical JSON. */
export const MAX_PDU_BYTES = 65536;

export const CREATE = 'm.room.create';
export const MEMBER = 'm.room.member';
export const JOIN_RULES = 'm.room.join_rules';

export const MEMBERSHIPS = ['invite', 'join', 'leave'] as const;
export type Membership = (typeof MEMBERSHIPS)[number];
export const JOIN_RULE_VALUES = ['public', 'invite'] as const;
export type JoinRule = (typeof JOIN_RULE_VALUES)[number];

const signaturesSchema = z.record(z.string(), z.record(z.string(), z.string()));

/**
 * A PDU. Loose: members we do not know are kept, because a server that co-signs or
 * relays an event must return it "otherwise untouched".
 */
export const pduSchema = z.looseObject({
  event_id: z.string().refine(isEventId, 'not an event id'),
  room_id: z.string().refine(isRoomId, 'not a room id'),
  type: z.string().min(1).max(255),
  state_key: z.string().max(255).optional(),
  sender: z.string().refine(isUserId, 'not a user id'),
  origin: z.string().max(255),
  origin_server_ts: z.int().min(0),
  content: z.record(z.string(), z.unknown()),
  prev_events: z.array(z.string()).max(20),
  auth_events: z.array(z.string()).max(10),
  depth: z.int().min(0),
  signatures: signaturesSchema.optional(),
});
export type Pdu = z.output<typeof pduSchema>;

/** A join template as make_join serves it: a PDU without event_id (the joiner adds it). */
export const templateSchema = pduSchema.omit({ event_id: true, signatures: true });

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

export const membershipOf = (event: Pdu): unknown => event.content.membership;

/** Adds this server's signature with its current key; the event is otherwise unchanged. */
export async function signEvent<E extends Record<string, unknown>>(
  ctx: HomeserverContext,
  event: E,
): Promise<E & { signatures: Record<string, Record<string, string>> }> {
  const { keyId, pair } = currentSigningKey(ctx);
  const signer = { entity: ctx.config.serverName, keyId, keyPair: pair };
  const flaw = signingFlaw(ctx);
  if (flaw !== undefined) {
    return (await signJsonWithFlaw(event, signer, flaw)) as E & {
      signatures: Record<string, Record<string, string>>;
    };
  }
  const signed = await signJson(event, signer);
  // Callers sign events that readPdu accepted or that they built: signing cannot fail.
  return unwrap(signed) as E & { signatures: Record<string, Record<string, string>> };
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
 * Checks `server`'s signature on `event` with the keys this homeserver can learn for it:
 * current verify keys, and old keys that expired after the event's origin_server_ts.
 */
export async function checkEventSignature(
  ctx: HomeserverContext,
  event: Pdu,
  server: string,
): Promise<Result<void, Failure<EventSignatureFailureKind>>> {
  const own = event.signatures?.[server];
  if (own === undefined) return fail('not-signed-by-entity', `no signature from ${server}`);
  // Only ed25519 ids can name a key; others must not make us refetch (checkJsonSignature
  // ignores them).
  const keyIds = Object.keys(own).filter((id) => ED25519_KEY_ID.test(id));
  const keys = await eventVerifyKeys(ctx, server, keyIds, event.origin_server_ts);
  const checked = await checkJsonSignature(event, server, keys);
  return checked.ok ? ok(undefined) : checked;
}

/** The sender's server, which must sign every event it creates. */
export const senderServer = (event: Pdu): string => serverOf(event.sender) ?? '';

/** True when a and b are the same event apart from their signatures. */
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
