// Counts the cryptographic operations the protocol performs, so a benchmark can
// price a run at the crypto floor: sum over operations of count x unit cost,
// both measured in the same process. Counting is a side channel for
// measurement only; nothing reads it to decide behaviour.

export const CRYPTO_OPS = [
  'ed25519.keygen',
  'ed25519.sign',
  'ed25519.verify',
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

export const meter = {
  count(op: CryptoOp): void {
    counts.set(op, (counts.get(op) ?? 0) + 1);
  },
  reset(): void {
    counts.clear();
  },
  snapshot(): Readonly<Record<CryptoOp, number>> {
    return Object.fromEntries(CRYPTO_OPS.map((op) => [op, counts.get(op) ?? 0])) as Record<
      CryptoOp,
      number
    >;
  },
};
