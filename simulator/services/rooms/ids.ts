// Matrix identifiers as the room model uses them (appendices § Identifier Grammar,
// simplified): `@localpart:server` users, `!opaque:server` rooms and `$opaque:server`
// events (the room version 1-2 form, where the creating server names the event).
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
export const isEventId = (id: string): boolean => isId('$', /^[^:\s]+$/, id);

/** A fresh opaque id local to `server`, e.g. `!Gx3...:hs1.example`. */
export function newId(sigil: '!' | '$', rng: Rng, server: string): string {
  return `${sigil}${encodeUnpaddedBase64Url(rng.bytes(12))}:${server}`;
}
