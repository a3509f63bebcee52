/** Byte-string equality (not constant-time: for public values such as group ids). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  // Buffer.compare is native: the strict MLS decode compares every message it re-encodes.
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
