// Issue 4's "done when" scenario: two users on two homeservers, three devices
// each, connect by user id and by alias, in both profiles; afterwards all six
// clients are in exactly one connection group and a message sent by any reaches
// all others.
import { describe, expect, test } from 'vitest';
import type { PhoenixProfile } from '../homeserver/context.ts';
import { createScenario } from '../scenario.ts';
import type { PhoenixClient } from '../clients/phoenix/client.ts';

const cases: readonly [PhoenixProfile, 'user id' | 'alias'][] = [
  ['multi-device', 'user id'],
  ['multi-device', 'alias'],
  ['aliases', 'user id'],
  ['aliases', 'alias'],
];

describe('connection establishment across two homeservers, three devices each', () => {
  test.each(cases)(
    '%s profile, by %s: one group with all six clients, messages reach everyone',
    async (profile, by) => {
      const s = await createScenario({
        seed: `e2e ${profile} ${by}`,
        homeservers: 2,
        usersPerServer: 1,
        devicesPerUser: 3,
        profile,
      });
      const alice = s.user('@user1:hs1.example');
      const bob = s.user('@user1:hs2.example');
      if (by === 'alias') await bob.primary.registerAlias('bobby', 2);
      const groupId = await alice.primary.connect(
        by === 'alias' ? { alias: 'bobby', server: 'hs2.example' } : { userId: bob.userId },
      );
      await s.settle();
      const all = [...alice.clients, ...bob.clients];
      for (const c of all) {
        expect([...c.groups.keys()], `${c.clientId.user_id}/${c.clientId.client}`).toEqual([
          groupId,
        ]);
        expect([...(c.groups.get(groupId)?.memberUsers ?? [])].sort()).toEqual(
          [...Array<string>(3).fill(alice.userId), ...Array<string>(3).fill(bob.userId)].sort(),
        );
      }
      // Exactly one responder client joined by external commit; every other client by Welcome.
      const joins = all.flatMap((c) => c.events.flatMap((e) => (e.type === 'joined' ? [e] : [])));
      expect(joins.filter((e) => e.via === 'external-commit')).toHaveLength(1);
      expect(joins).toHaveLength(5);
      for (const [i, sender] of all.entries()) await sender.send(groupId, `hello from ${i}`);
      await s.settle();
      for (const [i, c] of all.entries()) {
        const expected = all.map((_, j) => `hello from ${j}`).filter((_, j) => j !== i);
        expect([...c.received(groupId)].sort()).toEqual(expected.sort());
      }
    },
  );

  test('a declining responder joins nothing, and only the sender’s user name was shown', async () => {
    const s = await createScenario({
      seed: 'decline',
      homeservers: 2,
      usersPerServer: 1,
      devicesPerUser: 1,
      profile: 'aliases',
    });
    const alice = s.user('@user1:hs1.example');
    const bob = s.user('@user1:hs2.example');
    bob.decide = () => false;
    await alice.primary.connect({ userId: bob.userId });
    await s.settle();
    expect(bob.primary.groups.size).toBe(0);
    expect(bob.primary.events.map((e) => e.type)).toEqual(['offer-shown', 'offer-declined']);
    expect(bob.primary.events[0]).toMatchObject({ senderUserId: alice.userId });
  });

  test('the same seed reproduces the same servers’ views', async () => {
    const run = async () => {
      const s = await createScenario({
        seed: 'repro',
        homeservers: 2,
        usersPerServer: 1,
        devicesPerUser: 2,
        profile: 'multi-device',
      });
      await s.user('@user1:hs1.example').primary.connect({ userId: '@user1:hs2.example' });
      await s.settle();
      return JSON.stringify([s.view('hs1.example'), s.view('hs2.example')]);
    };
    expect(await run()).toBe(await run());
  });
});

describe('a device welcomed into more groups than it has KeyPackages', () => {
  test('draws fresh randomness in every group, though the QS hands out its last KeyPackage again', async () => {
    const s = await createScenario({
      seed: 'last resort',
      homeservers: 1,
      usersPerServer: 6,
      devicesPerUser: 2,
      profile: 'multi-device',
    });
    const alice = s.user('@user1:hs1.example');
    // Each connection welcomes alice's second device once; it published three KeyPackages.
    for (let i = 2; i <= 6; i++) {
      await alice.primary.connect({ userId: `@user${i}:hs1.example` });
      await s.settle();
    }
    const second = alice.clients[1] as unknown as PhoenixClient;
    expect(second.groups.size).toBe(5);
    // One draw from each distinct group member: a replayed owner would repeat another's bytes.
    const members = new Set([...second.groups.values()].map((g) => g.member));
    const draws = [...members].map((m) => Buffer.from(m.cs.rng.randomBytes(16)).toString('hex'));
    expect(new Set(draws).size).toBe(draws.length);
  });
});
