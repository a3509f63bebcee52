// A device judges every message of one pass over its queues against one answer per AS
// (a WelcomeBundle and the commits after it name the same domains), and asks again in
// its next pass, so a revocation published in between is seen then. Within the pass, a
// CredentialInfo it has judged already (same sealed bytes, same credential key) is not
// opened and verified again.
import { describe, expect, test, vi } from 'vitest';
import { encodeUnpaddedBase64 } from '../protocol/encoding/base64.ts';
import type { Middleware } from '../net/transport.ts';
import { createScenario } from '../scenario.ts';

const opened = vi.hoisted(() => ({ log: [] as string[] }));
vi.mock('../protocol/packages/credential-info.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('../protocol/packages/credential-info.ts')>();
  return {
    ...original,
    openCredentialInfo: (key: Uint8Array, sealed: string) => {
      opened.log.push(`${encodeUnpaddedBase64(key)} ${sealed}`);
      return original.openCredentialInfo(key, sealed);
    },
  };
});

const CREDENTIALS = '/_fedconn/v1/as/credentials';

describe('AS credentials and CredentialInfos, once per pass over the queues', () => {
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
    const opens: string[][] = [];
    for (let round = 0; round < 3; round++)
      for (const device of [...bob.clients, ...alice.clients]) {
        const mark = fetched.length;
        const openMark = opened.log.length;
        await device.processQueues();
        passes.push(fetched.slice(mark));
        opens.push(opened.log.slice(openMark));
      }
    for (const device of [...alice.clients, ...bob.clients])
      expect(device.groupStatus(groupId)?.members).toBe(6);
    for (const pass of passes) expect(pass.length).toBe(new Set(pass).size);
    // The same domain is asked for in several passes: nothing is kept between them.
    const passesAsking = (host: string) => passes.filter((p) => p.includes(host)).length;
    expect(passesAsking('hs1.example')).toBeGreaterThan(1);
    expect(passesAsking('hs2.example')).toBeGreaterThan(1);
    // No pass opens the same CredentialInfo twice; some are opened again in later passes.
    for (const pass of opens) expect(pass.length).toBe(new Set(pass).size);
    const all = opens.flat();
    expect(all.length).toBeGreaterThan(new Set(all).size);
  });
});
