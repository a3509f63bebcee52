// The built-in attacks, each shown to find what a broken reference gives away and to find
// nothing where the reference gives nothing: connection inference (links named only where
// the views name both users), the ideal attacker (every ownership twin alike for the
// reference, told apart for the leaky client), the twins themselves, and the network
// observer's record.
import { describe, expect, test } from 'vitest';
import { runExperiment } from '../run.ts';
import { parseExperiment } from '../schema.ts';
import { runWorld } from '../world.ts';

const experimentOf = (fields: Record<string, unknown>) =>
  parseExperiment('e.json', JSON.stringify({ name: 'attacks', seeds: 2, ...fields }));

const WHOLE_HS1 = ['hs1.example/AS', 'hs1.example/QS', 'hs1.example/DS'];

describe('connections-by-activity', () => {
  test('the ASes alone link no one, until deliveries are signed with the initiator’s client key', async () => {
    const e = experimentOf({
      population: { homeservers: 2, users_per_server: 2, aliases_per_user: 0 },
      workload: { connections: 2, by: 'user_id' },
      adversary: { services: ['hs1.example/AS', 'hs2.example/AS'] },
      attacks: ['connections-by-activity'],
      sweep: { mutants: [[], ['CONN-PRIV-01/sign-delivery-with-client-key']] },
    });
    const [reference, leaky] = await runExperiment(e);
    const ref = reference?.attacks[0]?.measures.links;
    const bad = leaky?.attacks[0]?.measures.links;
    expect(ref?.truth).toBeGreaterThan(0);
    expect(ref?.inferred).toBe(0);
    expect(bad?.inferred).toBe(bad?.truth);
    expect(bad?.correct).toBe(bad?.truth);
  }, 120_000);

  test('a homeserver’s DS alone names no one; with its AS and QS it names both ends of its own users’ connections', async () => {
    const e = experimentOf({
      population: { homeservers: 1, users_per_server: 4, aliases_per_user: 1 },
      workload: { connections: 3, by: 'alias', pairs: 'any', messages_per_connection: 1 },
      attacks: ['connections-by-activity'],
      sweep: { 'adversary.services': [['hs1.example/DS'], WHOLE_HS1] },
    });
    const [dsAlone, whole] = await runExperiment(e);
    const ds = dsAlone?.attacks[0]?.measures.links;
    const all = whole?.attacks[0]?.measures.links;
    expect(ds?.truth).toBeGreaterThan(0);
    expect(ds?.inferred).toBe(0);
    expect(ds?.recall.value).toBe(0);
    expect(all?.precision.value).toBe(1);
    expect(all?.recall.value).toBe(1);
  }, 120_000);
});

describe('ideal-view', () => {
  test('the AS views of every ownership twin are alike with the reference client and apart with the leaky one', async () => {
    const e = experimentOf({
      population: { homeservers: 2, users_per_server: 3, aliases_per_user: 1 },
      workload: { connections: 1, by: 'alias' },
      adversary: { services: ['hs1.example/AS', 'hs2.example/AS'], ideal_worlds: 3 },
      attacks: ['ideal-view'],
      sweep: { mutants: [[], ['ALIAS-UNLINK-01/poll-aliases-with-own-queue']] },
    });
    const [reference, leaky] = await runExperiment(e);
    const ref = reference?.attacks[0]?.measures;
    const bad = leaky?.attacks[0]?.measures;
    // One game per seed, the secret ownership drawn among the 3.
    expect(ref?.trials).toBe(2);
    expect(ref?.baseline).toBeCloseTo(1 / 3, 12);
    // Exact: the twins' views are identical, so the anonymity set is every world.
    expect(ref?.anonymitySet).toBe(3);
    expect(bad?.anonymitySet).toBeLessThan(2);
    expect(bad?.success.value).toBeGreaterThan(ref?.baseline ?? 1);
  }, 120_000);
});

describe('worlds', () => {
  test('a twin changes who owns the aliases and nothing the AS is asked', async () => {
    const e = experimentOf({
      population: { homeservers: 2, users_per_server: 3, aliases_per_user: 1 },
      workload: { connections: 2, by: 'alias' },
    });
    const world = await runWorld(e, 1, { variant: 0, variants: 2 });
    const twin = await runWorld(e, 1, { variant: 1, variants: 2 });
    const names = (w: typeof world) => w.truth.aliases.map((a) => `${a.server} ${a.alias}`);
    expect(names(twin)).toEqual(names(world));
    const script = (w: typeof world) =>
      w.truth.connections.map((c) => `${c.initiator} ${c.target}`);
    expect(script(twin)).toEqual(script(world));
    // The owners are a permutation within each homeserver, here not the identity.
    const owners = (w: typeof world) => w.truth.aliases.map((a) => a.owner);
    expect(owners(twin)).not.toEqual(owners(world));
    expect([...owners(twin)].sort()).toEqual([...owners(world)].sort());
    for (const [i, a] of twin.truth.aliases.entries())
      expect(a.owner.endsWith(`:${world.truth.aliases[i]?.server ?? ''}`)).toBe(true);
  }, 60_000);

  test('a network observer sees who sent what size to whom and when, never a path or a body; the views leave provisioning out', async () => {
    const e = experimentOf({
      population: { homeservers: 2, users_per_server: 2, aliases_per_user: 1 },
      workload: { connections: 2, by: 'alias', messages_per_connection: 2 },
      adversary: { services: ['hs1.example/AS'], network: true },
    });
    const world = await runWorld(e, 1);
    expect(world.flows.length).toBeGreaterThan(0);
    for (const f of world.flows) {
      expect(Object.keys(f).sort()).toEqual(['at', 'bytes', 'from', 'kind', 'seq', 'to']);
      expect(f.from).not.toBe(f.to);
      expect(['hs1.example', 'hs2.example']).toContain(f.from);
    }
    expect(world.truth.messages.filter((m) => m.error === undefined)).toHaveLength(4);
    for (const ev of world.views.get('hs1.example')?.events ?? [])
      if (ev.kind === 'request') expect(ev.headers.authorization ?? '').not.toMatch(/^Bearer /);
    const without = await runWorld(experimentOf({ population: { homeservers: 2 } }), 1);
    expect(without.flows).toEqual([]);
  }, 60_000);

  test('chosen pairs connect first, and churn establishes that share of the connections again', async () => {
    const e = experimentOf({
      population: { homeservers: 2, users_per_server: 2, aliases_per_user: 1 },
      workload: {
        connections: 3,
        chosen: [{ initiator: '@user2:hs2.example', responder: '@user1:hs1.example' }],
        churn: 0.5,
      },
    });
    const { connections } = (await runWorld(e, 1)).truth;
    expect(connections[0]).toMatchObject({
      initiator: '@user2:hs2.example',
      responder: '@user1:hs1.example',
      by: 'alias',
      repeat: false,
    });
    const first = connections.filter((c) => !c.repeat);
    const again = connections.filter((c) => c.repeat);
    expect(first).toHaveLength(4);
    expect(again).toHaveLength(Math.round(first.filter((c) => 'groupId' in c.outcome).length / 2));
    for (const c of again)
      expect(first.some((f) => f.initiator === c.initiator && f.target === c.target)).toBe(true);
    expect(() =>
      experimentOf({
        workload: {
          chosen: [{ initiator: '@user1:hs1.example', responder: '@user7:hs2.example' }],
        },
      }),
    ).toThrow(
      /workload\.chosen\.0\.responder: @user7:hs2\.example is not a user of the population/,
    );
  }, 60_000);

  test('an adversary that sees nothing is refused, naming the field', () => {
    expect(() => experimentOf({ adversary: { services: [] } })).toThrow(
      /e\.json: adversary: sees nothing; name services, or set network: true/,
    );
  });

  test('settings that would run a silently different experiment are refused, naming the field', () => {
    expect(() =>
      experimentOf({ population: { aliases_per_user: 0 }, workload: { by: 'alias' } }),
    ).toThrow(/workload\.by: alias, but population\.aliases_per_user is 0/);
    expect(() => experimentOf({ workload: { rounds: 1, messages_per_connection: 1 } })).toThrow(
      /workload\.rounds: messages and churn come after the first round/,
    );
    expect(() =>
      experimentOf({ population: { users_per_server: 1 }, attacks: ['ideal-view'] }),
    ).toThrow(/attacks: ideal-view compares alias ownerships, and there are none to compare/);
  });

  test('twins never let an initiator look up its own alias, and asking for them leaves the world as it is', async () => {
    const e = experimentOf({
      population: { homeservers: 1, users_per_server: 4, aliases_per_user: 1 },
      workload: {
        connections: 2,
        pairs: 'any',
        chosen: [{ initiator: '@user1:hs1.example', responder: '@user2:hs1.example' }],
      },
    });
    const alone = await runWorld(e, 2);
    const world = await runWorld(e, 2, { variants: 4 });
    expect(world.truth).toEqual(alone.truth);
    expect(world.ownerships).toBeGreaterThan(1);
    const owners = new Set<string>();
    for (let variant = 0; variant < world.ownerships; variant++) {
      const twin = await runWorld(e, 2, { variant, variants: 4 });
      owners.add(twin.truth.aliases.map((a) => a.owner).join());
      for (const c of twin.truth.connections) expect(c.initiator).not.toBe(c.responder);
    }
    // Every ownership compared is a different one.
    expect(owners.size).toBe(world.ownerships);
  }, 60_000);
});
