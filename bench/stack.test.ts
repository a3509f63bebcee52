// The stack's bare round trip and the request count it is multiplied by: both are
// measured, and the count is the one bench/README.md cites for each case.
import { describe, expect, it } from 'vitest';
import { createScenario, serverName } from '../simulator/scenario.ts';
import { establish } from './establishment.ts';
import { measureStack } from './stack.ts';

describe('what the stack alone costs', () => {
  it('measures a bare round trip in the simulator and over loopback HTTP, and lets go of the port', async () => {
    const stack = await measureStack(20);
    for (const ms of [stack.simRoundTripMs, stack.httpRoundTripMs]) {
      expect(Number.isFinite(ms)).toBe(true);
      expect(ms).toBeGreaterThan(0);
    }
  });

  it.each([
    { devices: 1, homeservers: 1, requests: 11 },
    { devices: 1, homeservers: 2, requests: 11 },
    { devices: 3, homeservers: 1, requests: 31 },
    { devices: 3, homeservers: 2, requests: 40 },
  ])(
    'an establishment of $devices device(s) each on $homeservers homeserver(s) makes $requests requests',
    async ({ devices, homeservers, requests }) => {
      const s = await createScenario({
        seed: 'stack requests',
        homeservers,
        usersPerServer: homeservers === 1 ? 2 : 1,
        devicesPerUser: devices,
        profile: 'multi-device',
      });
      const responder = homeservers === 1 ? `@user2:${serverName(0)}` : `@user1:${serverName(1)}`;
      const sample = await establish(
        s,
        `@user1:${serverName(0)}`,
        responder,
        s.federation.observer,
      );
      expect(sample.requests).toBe(requests);
    },
    30_000,
  );
});
