import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { populate } from '../../simulator/scenario.ts';
import { inProfile, serveFederation, type ServedFederation } from '../../simulator/serve/serve.ts';
import { ALL_SERVICES } from '../../simulator/services/index.ts';
import type { TargetConfig } from '../../simulator/serve/target-config.ts';
import { profilesWantingMembers } from './members.ts';
import { openHttpTarget, type Target } from './target.ts';

describe('fedconn’s homeservers beside a target of one homeserver', () => {
  // The "server under test": one reference homeserver in plain HTTP, named hs1.example,
  // which only fedconn's config says how to reach.
  let served: ServedFederation;
  let target: Target;
  const logged: string[] = [];

  beforeAll(async () => {
    served = await serveFederation({
      servers: inProfile(['hs1.example'], 'multi-device'),
      seed: 'members test',
      services: ALL_SERVICES,
    });
    target = await openHttpTarget(served.config, {
      timeoutMs: 5_000,
      label: 'one server',
      services: ALL_SERVICES,
      log: (line) => logged.push(line),
    });
  });
  afterAll(async () => {
    await target.close();
    await served.close();
  });

  test('a profile with one homeserver gets one of fedconn’s, Phoenix roles only; two get none', () => {
    expect(profilesWantingMembers(served.config)).toEqual(['multi-device']);
    const [hs1] = served.config.servers;
    if (hs1 === undefined) throw new Error('one server expected');
    const two: TargetConfig = {
      version: 2,
      servers: [hs1, { ...hs1, server_name: 'hs2.example' }],
    };
    expect(profilesWantingMembers(two)).toEqual([]);
    const servers = target.roles.servers;
    expect(servers.map((s) => s.serverName)).toEqual([
      'hs1.example',
      expect.stringMatching(/^localhost:\d+$/),
    ]);
    expect(servers[1]?.roles).toEqual({ phoenix: { profile: 'multi-device' } });
    expect(target.label).toMatch(/^one server with fedconn's localhost:\d+ \(multi-device\)$/);
    expect(logged.join('')).toMatch(/fedconn plays .*localhost:\d+ \(multi-device\)/);
  });

  test('the target and fedconn’s homeserver federate, and what the target sent it is in its view', async () => {
    const instance = await target.open({ seed: 'members', profile: 'multi-device' });
    try {
      const [hs1, member] = instance.servers.map((s) => s.serverName);
      if (hs1 === undefined || member === undefined) throw new Error('two servers expected');
      const population = await populate(instance.env('members'), {
        servers: [hs1, member],
        usersPerServer: 1,
        devicesPerUser: 1,
        profile: 'multi-device',
        userPrefix: `${instance.namespace}user`,
        namespace: instance.namespace,
      });
      const [alice, bob] = population.users;
      if (alice === undefined || bob === undefined) throw new Error('two users expected');
      // Alice on the target connects to Bob on fedconn's server; Bob joins at the target's DS,
      // which then delivers Alice's message to Bob's queue on fedconn's server.
      const groupId = await alice.primary.connect({ userId: bob.userId });
      await population.settle();
      expect(bob.primary.groups.has(groupId)).toBe(true);
      await alice.primary.send(groupId, 'hello from the target');
      await population.settle();
      const fromTarget = instance.observer
        ?.view(member)
        .events.filter(
          (e) =>
            e.kind === 'request' &&
            e.path === '/_fedconn/v1/qs/federation/enqueue' &&
            e.headers['x-fedconn-from'] === hs1,
        );
      expect(fromTarget?.length).toBeGreaterThan(0);
      // The target's own view is what fedconn sent it: nothing recorded twice under its name.
      const targetView = instance.observer?.view(hs1).events ?? [];
      expect(targetView.every((e) => e.kind === 'request' && e.status !== undefined)).toBe(true);
    } finally {
      await instance.close();
    }
  });
});
