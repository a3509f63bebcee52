// The mandatory floor's formulas against the counts derived by hand in
// bench/mandatory-floor.md §3, and against what the reference performs: never less than
// the floor, and exactly the floor for every HPKE and MLS operation the protocol fixes.
import { describe, expect, it } from 'vitest';
import { CRYPTO_OPS } from '../simulator/protocol/crypto/meter.ts';
import { establishInSim } from './establishment.ts';
import { mandatoryOps } from './mandatory.ts';
import { measureMlsAtShape } from './mls-at-shape.ts';

const CASES = [
  { n: 1, m: 1, sameServer: true, sign: 6, verify: 19, seal: 1, commits: 1, welcomes: 0 },
  { n: 1, m: 1, sameServer: false, sign: 6, verify: 19, seal: 1, commits: 1, welcomes: 0 },
  { n: 3, m: 3, sameServer: true, sign: 12, verify: 127, seal: 7, commits: 6, welcomes: 4 },
  { n: 3, m: 3, sameServer: false, sign: 14, verify: 153, seal: 7, commits: 6, welcomes: 4 },
] as const;

describe('the mandatory floor of one establishment', () => {
  it.each(CASES)('n=$n, m=$m, same server $sameServer: the hand-derived counts', (c) => {
    const ops = mandatoryOps({
      initiatorDevices: c.n,
      responderDevices: c.m,
      sameServer: c.sameServer,
    });
    expect(ops['ed25519.sign']).toBe(c.sign);
    expect(ops['ed25519.verify']).toBe(c.verify);
    expect(ops['hpke.seal']).toBe(c.seal);
    expect(ops['hpke.open']).toBe(c.seal);
    expect(ops['mls.processCommit']).toBe(c.commits);
    expect(ops['mls.joinByWelcome']).toBe(c.welcomes);
    expect(ops['mls.keyPackage']).toBe(0);
  });

  it('refuses a shape without devices', () => {
    expect(() =>
      mandatoryOps({ initiatorDevices: 0, responderDevices: 1, sameServer: true }),
    ).toThrow('device counts must be integers from 1, got n=0, m=1');
  });

  it.each(CASES)(
    'the reference performs no less than the floor, and exactly it for HPKE and MLS (n=$n, same server $sameServer)',
    async (c) => {
      const { ops } = await establishInSim(
        `mandatory ${c.n} ${String(c.sameServer)}`,
        c.sameServer ? 1 : 2,
        c.n,
      );
      const floor = mandatoryOps({
        initiatorDevices: c.n,
        responderDevices: c.m,
        sameServer: c.sameServer,
      });
      // Imports are cached process-wide in the simulator, so fewer than each device must do.
      for (const op of CRYPTO_OPS.filter((o) => o !== 'ed25519.importKey'))
        expect(ops[op], op).toBeGreaterThanOrEqual(floor[op]);
      // KeyPackages included: a creator and an external joiner make a leaf, not a package.
      for (const op of CRYPTO_OPS.filter((o) => o.startsWith('hpke.') || o.startsWith('mls.')))
        expect(ops[op], op).toBe(floor[op]);
    },
    30_000,
  );

  it.each(CASES)(
    'the MLS sequence priced at its group sizes has the MLS counts of the floor (n=$n, m=$m)',
    async (c) => {
      const shape = { initiatorDevices: c.n, responderDevices: c.m, sameServer: c.sameServer };
      const floor = mandatoryOps(shape);
      const { count, wall } = await measureMlsAtShape(shape, 1);
      for (const op of CRYPTO_OPS.filter((o) => o.startsWith('mls.') && o !== 'mls.member'))
        expect(count[op as keyof typeof count] ?? 0, op).toBe(floor[op]);
      for (const ms of Object.values(wall)) expect(ms).toBeGreaterThan(0);
    },
    30_000,
  );
});
