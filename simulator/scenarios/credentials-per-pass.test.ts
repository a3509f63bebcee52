// A device judges every message of one pass over its queues against one answer per AS
// (a WelcomeBundle and the commits after it name the same domains), and asks again in
// its next pass, so a revocation published in between is seen then.
import { describe, expect, test } from 'vitest';
import type { Middleware } from '../net/transport.ts';
import { createScenario } from '../scenario.ts';

const CREDENTIALS = '/_fedconn/v1/as/credentials';

describe('AS credentials, fetched once per pass over the queues', () => {
  test('three devices each, two homeservers: no pass fetches a domain twice, later passes fetch again', async () => {
    const fetched: string[] = [];
    const log: Middleware = (next) => (request) => {
      const url = new URL(request.url);
      if (url.pathname === CREDENTIALS) fetched.push(url.host);
      return next(request);
    };
    const s = await createScenario({
      seed: 'credentials per pass',
      homeservers: 2,
      usersPerServer: 1,
      devicesPerUser: 3,
      profile: 'multi-device',
      faults: [log],
    });
    const alice = s.user('@user1:hs1.example');
    const bob = s.user('@user1:hs2.example');
    const groupId = await alice.primary.connect({ userId: bob.userId });
    const passes: string[][] = [];
    for (let round = 0; round < 3; round++)
      for (const device of [...bob.clients, ...alice.clients]) {
        const mark = fetched.length;
        await device.processQueues();
        passes.push(fetched.slice(mark));
      }
    for (const device of [...alice.clients, ...bob.clients])
      expect(device.groupStatus(groupId)?.members).toBe(6);
    for (const pass of passes) expect(pass.length).toBe(new Set(pass).size);
    // The same domain is asked for in several passes: nothing is kept between them.
    const passesAsking = (host: string) => passes.filter((p) => p.includes(host)).length;
    expect(passesAsking('hs1.example')).toBeGreaterThan(1);
    expect(passesAsking('hs2.example')).toBeGreaterThan(1);
  });
});
