// matrix-js-sdk 43.0.0 as the client under test, on Node 20 (it declares Node >= 22): its
// identity lookups run through msw into the simulator's identity services and get a
// verdict on every identity-client rule; fedconn's own requests are never intercepted.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ALL_SERVICES } from '../../../simulator/services/index.ts';
import { CHECKS } from '../../registry.ts';
import { runChecks } from '../runner.ts';
import { simTarget, withClientUnderTest } from '../target.ts';
import type { ClientUnderTest } from './index.ts';
import { matrixJsSdkClient } from './matrix-js-sdk.ts';

describe('matrix-js-sdk as the client under test', () => {
  let client: ClientUnderTest;
  beforeAll(async () => {
    client = await matrixJsSdkClient();
  });
  afterAll(async () => {
    await client.close();
  });

  test('gets a verdict on every identity-client rule, and only on those', async () => {
    const report = await runChecks({
      target: withClientUnderTest(simTarget({ services: ALL_SERVICES }), client),
      checks: CHECKS,
      profiles: ['matrix-current'],
      seed: 7,
      runs: 1,
      timeoutMs: 30_000,
      selected: (r) => r.family.startsWith('IS-'),
      expectedToFail: new Set(),
      strict: true,
      repro: () => '',
      version: 'test',
    });
    const judged = report.rules.filter((r) => r.status !== 'n/a' && r.status !== 'skip');
    expect(Object.fromEntries(judged.map((r) => [r.id, r.status]))).toEqual({
      'IS-LOOKUP-02': 'pass',
      'IS-LOOKUP-10': 'pass',
      // It reads only `mappings`: the referred server is never asked (no MSC4004).
      'IS-FED-04': 'fail',
    });
    const fed04 = report.rules.find((r) => r.id === 'IS-FED-04')?.failures[0];
    expect(fed04?.expected).toContain('"algorithm":"sha256"');
    expect(fed04?.actual).toBe('[]');
    expect(fed04?.exchanges?.some((e) => e.url.endsWith('/_matrix/identity/v2/lookup'))).toBe(true);
    expect(report.target).toMatch(/^matrix-js-sdk 43\.0\.0 \(client under test\) against sim$/);
    // The servers are fedconn's, not under test: their rules are n/a, saying why.
    expect(report.rules.find((r) => r.id === 'IS-LOOKUP-03')?.note).toContain('--client');
  });

  test("fedconn's own requests pass the interceptor untouched", async () => {
    const server = createServer((_req, res) => {
      res.end('not intercepted');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const answer = await fetch(`http://127.0.0.1:${port}/`);
      expect(await answer.text()).toBe('not intercepted');
    } finally {
      server.close();
    }
  });
});
