// The stack's bare round trip and the request count it is multiplied by: both are
// measured, and the counts are the ones bench/README.md cites for each case.
import { describe, expect, it } from 'vitest';
import { establishInSim } from './establishment.ts';
import { measureStack } from './stack.ts';

describe('what the stack alone costs', () => {
  it('measures a bare GET and POST in the simulator and over loopback HTTP', async () => {
    const stack = await measureStack(20);
    for (const trip of [stack.sim, stack.http])
      for (const ms of [trip.getMs, trip.postMs]) {
        expect(Number.isFinite(ms)).toBe(true);
        expect(ms).toBeGreaterThan(0);
      }
  });

  it.each([
    { devices: 1, homeservers: 1, requests: 11, gets: 7 },
    { devices: 1, homeservers: 2, requests: 11, gets: 7 },
    { devices: 3, homeservers: 1, requests: 31, gets: 19 },
    { devices: 3, homeservers: 2, requests: 40, gets: 26 },
  ])(
    'an establishment of $devices device(s) each on $homeservers homeserver(s) makes $requests requests, $gets of them GETs',
    async ({ devices, homeservers, requests, gets }) => {
      const sample = await establishInSim('stack requests', homeservers, devices);
      expect(sample.requests).toEqual({ all: requests, gets });
    },
    30_000,
  );
});
