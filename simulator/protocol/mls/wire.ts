// Wire forms of everything a connection group sends over the network. MLS
// objects travel as MLSMessage (RFC 9420 §6), the ratchet tree as the
// `optional<Node> ratchet_tree<V>` vector of the ratchet_tree extension (§12.4.3.3);
// JSON bodies carry either as standard base64 without padding.
//
// Decoding is total: garbage yields 'malformed', never an exception. It is
// also strict: a value must use up every byte, and its encoding must be the
// canonical one (RFC 9420 §2.1.2: vector lengths in the fewest bytes; an
// optional<T> presence octet of 0 or 1). ts-mls 1.6.4 accepts longer lengths
// and reads any presence octet but 1 as "absent", so parse then serialize may
// differ from the input; signatures are computed over re-serialized values, so
// every accepted encoding here is required to re-encode to itself.

import {
  decodeMlsMessage,
  encodeMlsMessage,
  type GroupInfo,
  type KeyPackage,
  type MLSMessage,
  type RatchetTree,
  type Welcome,
} from 'ts-mls';
import {
  decodeRatchetTree as decodeTree,
  encodeRatchetTree as encodeTree,
} from 'ts-mls/ratchetTree.js';
import { fail, ok, type Failure, type Result } from '../result.ts';
import { sameBytes } from './bytes.ts';

export type WireFailureKind =
  /** Not a well-formed encoding (truncated, trailing bytes, bad values, bad base64). */
  | 'malformed'
  /** A well-formed MLSMessage, but of another kind than expected. */
  | 'unexpected-wireformat';

type WireFormat = MLSMessage['wireformat'];
type MessageOf<W extends WireFormat> = Extract<MLSMessage, { wireformat: W }>;

export function encodeMessage(message: MLSMessage): Uint8Array {
  return encodeMlsMessage(message);
}

export function decodeMessage(bytes: Uint8Array): Result<MLSMessage, Failure<'malformed'>> {
  return decodeStrict(bytes, decodeMlsMessage, encodeMlsMessage, 'MLSMessage');
}

/** A Commit, Proposal or application message: a PublicMessage or PrivateMessage. */
export function decodeProtocolMessage(
  bytes: Uint8Array,
): Result<MessageOf<'mls_public_message' | 'mls_private_message'>, Failure<WireFailureKind>> {
  const decoded = decodeMessage(bytes);
  if (!decoded.ok) return decoded;
  const message = decoded.value;
  if (message.wireformat === 'mls_public_message' || message.wireformat === 'mls_private_message') {
    return ok(message);
  }
  return fail('unexpected-wireformat', `expected a protocol message, got ${message.wireformat}`);
}

export function encodeGroupInfo(groupInfo: GroupInfo): Uint8Array {
  return encodeMlsMessage({ version: 'mls10', wireformat: 'mls_group_info', groupInfo });
}

export function decodeGroupInfo(bytes: Uint8Array): Result<GroupInfo, Failure<WireFailureKind>> {
  const decoded = decodeAs(bytes, 'mls_group_info');
  return decoded.ok ? ok(decoded.value.groupInfo) : decoded;
}

export function encodeWelcome(welcome: Welcome): Uint8Array {
  return encodeMlsMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome });
}

export function decodeWelcome(bytes: Uint8Array): Result<Welcome, Failure<WireFailureKind>> {
  const decoded = decodeAs(bytes, 'mls_welcome');
  return decoded.ok ? ok(decoded.value.welcome) : decoded;
}

export function encodeKeyPackage(keyPackage: KeyPackage): Uint8Array {
  return encodeMlsMessage({ version: 'mls10', wireformat: 'mls_key_package', keyPackage });
}

export function decodeKeyPackage(bytes: Uint8Array): Result<KeyPackage, Failure<WireFailureKind>> {
  const decoded = decodeAs(bytes, 'mls_key_package');
  return decoded.ok ? ok(decoded.value.keyPackage) : decoded;
}

export function encodeRatchetTree(tree: RatchetTree): Uint8Array {
  return encodeTree(tree);
}

/** Also rejects trees whose last node is blank (RFC 9420 §12.4.3.3). */
export function decodeRatchetTree(bytes: Uint8Array): Result<RatchetTree, Failure<'malformed'>> {
  return decodeStrict(bytes, decodeTree, encodeTree, 'ratchet tree');
}

function decodeAs<W extends WireFormat>(
  bytes: Uint8Array,
  wireformat: W,
): Result<MessageOf<W>, Failure<WireFailureKind>> {
  const decoded = decodeMessage(bytes);
  if (!decoded.ok) return decoded;
  const message = decoded.value;
  if (!isWireFormat(message, wireformat)) {
    return fail('unexpected-wireformat', `expected ${wireformat}, got ${message.wireformat}`);
  }
  return ok(message);
}

function isWireFormat<W extends WireFormat>(
  message: MLSMessage,
  wireformat: W,
): message is MessageOf<W> {
  return message.wireformat === wireformat;
}

function decodeStrict<T>(
  bytes: Uint8Array,
  decoder: (b: Uint8Array, offset: number) => [T, number] | undefined,
  encoder: (value: T) => Uint8Array,
  what: string,
): Result<T, Failure<'malformed'>> {
  let decoded: [T, number] | undefined;
  let again: Uint8Array;
  try {
    // ts-mls decoders signal failure with undefined but a few also throw
    // (e.g. a ratchet tree ending in a blank node).
    decoded = decoder(bytes, 0);
    if (decoded === undefined) return fail('malformed', `${what} does not decode`);
    again = encoder(decoded[0]);
  } catch (thrown) {
    return fail('malformed', `${what}: ${thrown instanceof Error ? thrown.message : 'error'}`);
  }
  const [value, end] = decoded;
  if (end !== bytes.length) {
    return fail('malformed', `${what} ends at byte ${end} of ${bytes.length}`);
  }
  if (!sameBytes(again, bytes)) {
    return fail('malformed', `${what} is not canonically encoded (RFC 9420 §2.1.2)`);
  }
  return ok(value);
}

const BASE64 = /^[A-Za-z0-9+/]*$/;

/** Standard base64 (RFC 4648 §4) without padding. */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .toString('base64')
    .replace(/=+$/, '');
}

/**
 * Strict inverse of toBase64: only the standard alphabet, no padding, no
 * whitespace, and no stray bits in the last character, so every byte string
 * has exactly one accepted text form.
 */
export function fromBase64(text: string): Result<Uint8Array, Failure<'malformed'>> {
  if (!BASE64.test(text) || text.length % 4 === 1) {
    return fail('malformed', 'not unpadded standard base64');
  }
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  if (toBase64(bytes) !== text) return fail('malformed', 'non-canonical base64 (stray bits)');
  return ok(bytes);
}
