// The observer records every server's view by default, and only the observed servers'
// views when a run names them (large populations); the servers behave the same either way.
import { describe, expect, test } from 'vitest';
import { createScenario, serverName } from '../scenario.ts';
import { systemClock } from './clock.ts';
import { Observer } from './observer.ts';
import { Table } from './store.ts';

describe('observed servers', () => {
  test('an unobserved server records no request and no row, an observed one both', () => {
    const observer = new Observer(systemClock, new Set(['seen.example']));
    for (const server of ['seen.example', 'unseen.example']) {
      const recorder = observer.recorder(server);
      recorder.request({ method: 'GET', path: '/x', query: '', headers: {}, body: null });
      new Table<{ n: number }>('t', recorder).put('k', { n: 1 });
    }
    expect(observer.view('seen.example').events.map((e) => e.kind)).toEqual(['request', 'row']);
    expect(observer.view('unseen.example').events).toEqual([]);
    expect(observer.recorder('unseen.example').recording).toBe(false);
  });

  test('without a choice every server is observed', () => {
    const observer = new Observer(systemClock);
    expect(observer.recorder('any.example').recording).toBe(true);
  });

  test('a scenario observing one homeserver connects as before and records only that one', async () => {
    const options = {
      seed: 'observe one',
      homeservers: 2,
      usersPerServer: 1,
      devicesPerUser: 1,
      profile: 'multi-device',
    } as const;
    const all = await createScenario(options);
    const one = await createScenario({ ...options, observe: [serverName(0)] });
    for (const s of [all, one]) {
      const groupId = await s.user(`@user1:${serverName(0)}`).primary.connect({
        userId: `@user1:${serverName(1)}`,
      });
      await s.settle();
      expect(s.user(`@user1:${serverName(1)}`).primary.groups.has(groupId)).toBe(true);
    }
    expect(one.view(serverName(1)).events).toEqual([]);
    expect(all.view(serverName(1)).events.length).toBeGreaterThan(0);
    // The observed server's view is the one a full recording gives it.
    expect(one.view(serverName(0)).events.map((e) => e.kind)).toEqual(
      all.view(serverName(0)).events.map((e) => e.kind),
    );
  });
});
