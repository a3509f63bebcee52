// Counts the cryptographic operations the protocol performs, so a benchmark can
// price a run at the crypto floor: sum over operations of count x unit cost,
// both measured in the same process. It also adds up the wall time during which
// at least one of them was in flight, so a benchmark can split a run into crypto
// and everything else. Both are a side channel for measurement only; nothing
// reads them to decide behaviour.

export const CRYPTO_OPS = [
  'ed25519.keygen',
  'ed25519.sign',
  'ed25519.verify',
  /** Validating and importing a public key seen for the first time (cached after). */
  'ed25519.importKey',
  'hpke.derive',
  'hpke.seal',
  'hpke.open',
  'mls.member',
  'mls.keyPackage',
  'mls.createGroup',
  'mls.exportGroupInfo',
  'mls.externalJoin',
  'mls.processCommit',
  'mls.addClients',
  'mls.joinByWelcome',
  'mls.encrypt',
  'mls.decrypt',
] as const;
export type CryptoOp = (typeof CRYPTO_OPS)[number];

const counts = new Map<CryptoOp, number>();
/** Wall time of operations that started with no other in flight, by operation. */
const outerMs = new Map<CryptoOp, number>();
// Operations nest (a group creation makes a KeyPackage) and may overlap, so the
// time counted is that of the union of their intervals, not the sum.
let inFlight = 0;
let busySince = 0;
let busyMs = 0;

export const meter = {
  count(op: CryptoOp): void {
    counts.set(op, (counts.get(op) ?? 0) + 1);
  },
  /**
   * Runs a metered operation. Its wall time goes to `busyMs` unless another one is in
   * flight, and then also to `op` in `inSituMs` (an operation nested in another is
   * part of the outer one's time).
   */
  async timed<T>(op: CryptoOp, run: () => T | Promise<T>): Promise<T> {
    const outer = inFlight++ === 0;
    const start = performance.now();
    if (outer) busySince = start;
    try {
      return await run();
    } finally {
      const end = performance.now();
      if (outer) outerMs.set(op, (outerMs.get(op) ?? 0) + end - start);
      if (--inFlight === 0) busyMs += end - busySince;
    }
  },
  reset(): void {
    counts.clear();
    outerMs.clear();
    busyMs = 0;
    if (inFlight > 0) busySince = performance.now();
  },
  snapshot(): Readonly<Record<CryptoOp, number>> {
    return Object.fromEntries(CRYPTO_OPS.map((op) => [op, counts.get(op) ?? 0])) as Record<
      CryptoOp,
      number
    >;
  },
  /** Wall time since the last reset of operations started with no other in flight. */
  inSituMs(): Readonly<Record<CryptoOp, number>> {
    return Object.fromEntries(CRYPTO_OPS.map((op) => [op, outerMs.get(op) ?? 0])) as Record<
      CryptoOp,
      number
    >;
  },
  /** Wall time, since the last reset, during which some metered operation was in flight. */
  busyMs(): number {
    return busyMs + (inFlight > 0 ? performance.now() - busySince : 0);
  },
};

/** `fn` with every call run under `meter.timed(op)`. */
export function timedOp<A extends unknown[], R>(
  op: CryptoOp,
  fn: (...args: A) => R | Promise<R>,
): (...args: A) => Promise<R> {
  return (...args) => meter.timed(op, () => fn(...args));
}
