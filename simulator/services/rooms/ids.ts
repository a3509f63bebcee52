// Matrix identifiers as the room model uses them (appendices § Identifier Grammar,
// simplified): `@localpart:server` users and `!opaque:server` rooms. Events of room
// version 4 and later have no server part: `$` + 43 characters of URL-safe base64, the
// reference hash (protocol/events/hashes.ts).
// The server part is everything after the first ':', a server name with optional port.
import { encodeUnpaddedBase64Url } from '../../protocol/encoding/base64.ts';
import type { Rng } from '../../protocol/crypto/rng.ts';
import { parseServerName } from '../../protocol/server-name/index.ts';

/** Matrix caps every identifier at 255 bytes. */
export const MAX_ID_LENGTH = 255;

/** The server part of an id (after the first ':'), or undefined when there is none. */
export function serverOf(id: string): string | undefined {
  const colon = id.indexOf(':');
  return colon < 0 ? undefined : id.slice(colon + 1);
}

function isId(sigil: string, localpart: RegExp, id: string): boolean {
  if (id.length > MAX_ID_LENGTH || !id.startsWith(sigil)) return false;
  const server = serverOf(id);
  if (server === undefined) return false;
  const local = id.slice(1, id.length - server.length - 1);
  return localpart.test(local) && parseServerName(server, 'matrix-current').ok;
}

/** `@localpart:server` with today's localpart characters (a-z 0-9 . _ = - / +). */
export const isUserId = (id: string): boolean => isId('@', /^[a-z0-9._=\-/+]+$/, id);
export const isRoomId = (id: string): boolean => isId('!', /^[^:\s]+$/, id);
/** A room version 4+ event id: `$` and the URL-safe unpadded base64 of a SHA-256. */
export const isEventId = (id: string): boolean => /^\$[A-Za-z0-9_-]{43}$/.test(id);

/** A fresh room id local to `server`, e.g. `!Gx3...:hs1.example`. */
export function newRoomId(rng: Rng, server: string): string {
  return `!${encodeUnpaddedBase64Url(rng.bytes(12))}:${server}`;
}
