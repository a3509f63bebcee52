// RFC 9180's labeled HKDF-SHA256 (§4): every label prefixed "HPKE-v1" || suite_id, on
// node:crypto's HMAC. Shared by DHKEM's DeriveKeyPair (./private-keys.ts) and HPKE's
// KEM and key schedule (./hpke-base.ts).
import { createHmac } from 'node:crypto';

const NH = 32; // SHA-256

export const text = (s: string) => new TextEncoder().encode(s);
export const concat = (...parts: readonly Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
const HPKE_V1 = text('HPKE-v1');
/** suite_id of DHKEM(X25519, HKDF-SHA256): "KEM" || I2OSP(0x0020, 2). */
export const KEM_SUITE_ID = concat(text('KEM'), Uint8Array.of(0x00, 0x20));
/** suite_id of HPKE with that KEM, HKDF-SHA256 and AES-128-GCM. */
export const HPKE_SUITE_ID = concat(
  text('HPKE'),
  Uint8Array.of(0x00, 0x20, 0x00, 0x01, 0x00, 0x01),
);

const hmac = (key: Uint8Array, ...data: readonly Uint8Array[]) => {
  const h = createHmac('sha256', key);
  for (const d of data) h.update(d);
  return new Uint8Array(h.digest());
};

export function labeledExtract(
  suite: Uint8Array,
  salt: Uint8Array,
  label: string,
  ikm: Uint8Array,
): Uint8Array {
  // HKDF-Extract with an empty salt is HMAC keyed with HashLen zeros, which is what HMAC's
  // padding of an empty key gives.
  return hmac(salt, HPKE_V1, suite, text(label), ikm);
}

export function labeledExpand(
  suite: Uint8Array,
  prk: Uint8Array,
  label: string,
  info: Uint8Array,
  length: number,
): Uint8Array {
  // I2OSP(L, 2) and HKDF's one-byte block counter bound it (RFC 5869: L <= 255 HashLen).
  if (!Number.isInteger(length) || length < 0 || length > 255 * NH)
    throw new RangeError(`HKDF-Expand cannot give ${length} bytes`);
  const labeled = concat(
    Uint8Array.of(length >> 8, length & 0xff),
    HPKE_V1,
    suite,
    text(label),
    info,
  );
  const out = new Uint8Array(length);
  let previous = new Uint8Array();
  for (let i = 1, filled = 0; filled < length; i++) {
    previous = hmac(prk, previous, labeled, Uint8Array.of(i));
    out.set(previous.subarray(0, length - filled), filled);
    filled += previous.length;
  }
  return out;
}
