// A homeserver's cache of other servers' keys: concurrent misses share one fetch of the
// key document, and a later miss fetches again.
import { describe, expect, it } from 'vitest';
import { knownServerKeys } from './remote-keys.ts';
import { createMatrixFederation, HS1, HS2 } from './test-support.ts';

describe("another server's keys", () => {
  it('are fetched once for misses that arrive together', async () => {
    const m = await createMatrixFederation('remote keys in flight');
    const hs2 = m.fed.servers.get(HS2)?.ctx ?? expect.unreachable();
    const keyFetches = () =>
      m.fed.observer
        .view(HS1)
        .events.filter((e) => e.kind === 'request' && e.path.startsWith('/_matrix/key/')).length;
    const before = keyFetches();
    const [a, b, c] = await Promise.all([
      knownServerKeys(hs2, HS1, ['ed25519:1']),
      knownServerKeys(hs2, HS1),
      knownServerKeys(hs2, HS1, ['ed25519:1']),
    ]);
    expect(keyFetches() - before).toBe(1);
    expect(a?.keys.has('ed25519:1')).toBe(true);
    expect(b).toBe(a);
    expect(c).toBe(a);
    // Trusted now, so a later lookup is served from the cache; a key id it lacks fetches.
    await knownServerKeys(hs2, HS1, ['ed25519:1']);
    expect(keyFetches() - before).toBe(1);
    await knownServerKeys(hs2, HS1, ['ed25519:unknown']);
    expect(keyFetches() - before).toBe(2);
  });
});
