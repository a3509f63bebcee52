// FED-AUTH-06 is optional: only a target that declares it checks TLS client
// certificates is held to it. A target that does not declare it gets `skip` with the
// reason, never `pass`.
import { describe, expect, test } from 'vitest';
import { runChecks } from '../harness/runner.ts';
import { simTarget, type Target } from '../harness/target.ts';
import { ALL_SERVICES } from '../../simulator/services/index.ts';
import { clientCertificateChecked } from './auth.ts';

/** The reference, declaring (or not) the client certificate check. */
function declaring(clientCertificates: boolean): Target {
  const sim = simTarget({ services: ALL_SERVICES });
  return {
    ...sim,
    open: async (options) => ({
      ...(await sim.open(options)),
      capabilities: { clientCertificates },
    }),
  };
}

const run = (target: Target) =>
  runChecks({
    target,
    checks: [clientCertificateChecked],
    profiles: ['matrix-2014'],
    seed: 1,
    runs: 1,
    timeoutMs: 30_000,
    selected: (rule) => rule.id === 'FED-AUTH-06',
    expectedToFail: new Set(),
    strict: true,
    repro: () => '',
    version: 'test',
  });

describe('FED-AUTH-06 runs only where the target declares the capability', () => {
  test('declared: the check runs and passes on the reference', async () => {
    const report = await run(declaring(true));
    expect(report.checks.map((c) => c.status)).toEqual(['pass']);
    expect(report.rules.find((r) => r.id === 'FED-AUTH-06')?.status).toBe('pass');
  }, 30_000);

  test('not declared: skip with the reason, counted as no pass', async () => {
    const report = await run(declaring(false));
    expect(report.checks.map((c) => [c.status, c.skipReason])).toEqual([
      [
        'skip',
        'the target does not declare that it checks TLS client certificates (optional, FED-AUTH-06)',
      ],
    ]);
    const rule = report.rules.find((r) => r.id === 'FED-AUTH-06');
    expect(rule?.status).toBe('skip');
    expect(rule?.note).toMatch(/does not declare/);
    expect(report.summary.pass).toBe(0);
  }, 30_000);
});
