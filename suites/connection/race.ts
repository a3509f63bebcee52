// Whatever the race between a responder's devices, one connection group results
// (CONN-RACE-05). Every responder device receives the establishment package
// (some of them twice) and they all process it at once, while a fast-check
// scheduler at the clients' transport decides when each request reaches its
// server and when each answer comes back. Some devices go offline part-way (a
// run of their requests fails with a network error before reaching the server)
// and process again once back; some of their requests are delivered twice.
// Afterwards the group holds every client of both users exactly once, joined
// exactly once, exactly one device joined by external commit and every other
// responder device by its WelcomeBundle, and no DS holds any other group.
import { RACE_STORE_LATENCY_MS } from '../../simulator/net/latent-store.ts';
import fc from 'fast-check';
import type { PhoenixDevice } from '../../simulator/clients/phoenix/handle.ts';
import { drop, duplicate } from '../../simulator/net/faults.ts';
import type { Middleware } from '../../simulator/net/transport.ts';
import type { Rng } from '../../simulator/protocol/crypto/rng.ts';
import { checkProperty, defineCheck, expectEqual, expectThat } from '../harness/check.ts';
import {
  expectNoOrphanedGroup,
  groupOnDs,
  kindOf,
  leafOf,
  nameOf,
  processUntilDone,
  raceWorld,
  scheduled,
  type RequestKind,
  type Traffic,
} from './race-support.ts';
import { rngFor } from './support.ts';

/** What can go wrong for one responder device during the race. */
interface DeviceFaults {
  /** Its requests from this index on fail, `offlineFor` of them: the device is offline. */
  readonly offlineAfter: number | null;
  readonly offlineFor: number;
  /** The initiator's delivery of its establishment package arrives twice. */
  readonly packageTwice: boolean;
  /** The indexes of its requests that reach the server twice. */
  readonly duplicated: readonly number[];
}

const deviceFaults: fc.Arbitrary<DeviceFaults> = fc.record({
  offlineAfter: fc.option(fc.nat(14), { nil: null }),
  offlineFor: fc.integer({ min: 1, max: 3 }),
  packageTwice: fc.boolean(),
  duplicated: fc.uniqueArray(fc.nat(15), { maxLength: 3 }),
});

/**
 * Writes to the DS are not delivered twice: the reference DS refuses the copy of
 * an applied commit as stale, and the sender would take its own success for a
 * failure (the answer it sees is the copy's). Everything else may be.
 */
const NOT_DUPLICATED: readonly RequestKind[] = ['join', 'commit', 'create-group'];

/** The initiator's delivery of a package to `device-N`'s queue, twice when N's faults say so. */
const packagesTwice = (faults: readonly DeviceFaults[], rng: Rng): Middleware => {
  const twice = duplicate({ rng, p: 1 });
  return (next) => (request) => {
    const device = /\/as\/clients\/[^/]+\/device-(\d+)\/queue$/.exec(new URL(request.url).pathname);
    return faults[Number(device?.[1] ?? 0) - 1]?.packageTwice === true
      ? twice(next)(request)
      : next(request);
  };
};

/** Offline runs and duplicated requests of each responder device, by the index of its requests. */
function faulty(
  traffic: Traffic,
  devices: readonly PhoenixDevice[],
  faults: readonly DeviceFaults[],
  rng: Rng,
): Middleware {
  // Counted across requests: the transport builds the middleware chain afresh for each one.
  const counts = new Map<PhoenixDevice, number>();
  return (next) => {
    const lose = drop({ rng, p: 1 })(next);
    const twice = duplicate({ rng, p: 1 })(next);
    return (request) => {
      const device = traffic.current();
      const f = device === undefined ? undefined : faults[devices.indexOf(device)];
      if (device === undefined || f === undefined) return next(request);
      const n = counts.get(device) ?? 0;
      counts.set(device, n + 1);
      if (f.offlineAfter !== null && n >= f.offlineAfter && n < f.offlineAfter + f.offlineFor)
        return lose(request);
      if (f.duplicated.includes(n) && !NOT_DUPLICATED.includes(kindOf(request)))
        return twice(request);
      return next(request);
    };
  };
}

export const oneGroupWhateverTheRace = defineCheck({
  name: 'whatever the interleaving of the responder devices’ requests and answers, with devices offline part-way and requests duplicated, one connection group holds every client of both users once',
  rules: ['CONN-RACE-05'],
  profiles: ['multi-device', 'aliases'],
  needs: ['reference-client', 'observer'],
  async run(ctx) {
    // The DS's half of the race is judged with store latency, so requests overlap there too.
    ctx.instance.setStoreLatency?.(RACE_STORE_LATENCY_MS);
    let run = 0;
    const rng = rngFor(ctx, 'race-05 faults');
    await checkProperty(
      ctx,
      [
        fc.scheduler(),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 2 }),
        fc.boolean(),
        fc.array(deviceFaults, { minLength: 5, maxLength: 5 }),
      ] as [
        fc.Arbitrary<fc.Scheduler>,
        fc.Arbitrary<number>,
        fc.Arbitrary<number>,
        fc.Arbitrary<boolean>,
        fc.Arbitrary<DeviceFaults[]>,
      ],
      async (s, responderDevices, initiatorDevices, sameServer, allFaults) => {
        const faults = allFaults.slice(0, responderDevices);
        const world = await raceWorld(ctx, `race5 ${run++}`, {
          responderDevices,
          initiatorDevices,
          sameServer,
          whileConnecting: packagesTwice(faults, rng),
        });
        const { traffic, groupId, everyone, describe: where } = world;
        const devices = world.responder.clients;
        const withFaults = faulty(traffic, devices, faults, rng);
        const withScheduler = scheduled(s, traffic);
        traffic.intercept = (next) => withScheduler(withFaults(next));
        const settled = await s.waitFor(
          Promise.allSettled(devices.map((c) => processUntilDone(traffic, c))),
        );
        traffic.intercept = undefined;
        const crashed = settled.flatMap((r, i) =>
          r.status === 'rejected' ? [`device-${i + 1} threw ${String(r.reason)}`] : [],
        );
        await world.settle();

        const total = everyone.length;
        const externalJoins = devices.flatMap((c) =>
          c.events.flatMap((e) =>
            e.type === 'joined' && e.groupId === groupId && e.via === 'external-commit'
              ? [c.clientId.client]
              : [],
          ),
        );
        expectThat(
          externalJoins.length === 1,
          `external joins into the connection group (${where})`,
          'exactly one device',
          crashed.length === 0 ? externalJoins : [externalJoins, ...crashed],
        );
        for (const c of everyone) {
          expectEqual(
            [...c.groups.keys()],
            [groupId],
            `the groups ${nameOf(c)} holds (${where}): one connection group`,
          );
          const joins = c.events.filter((e) => e.type === 'joined' && e.groupId === groupId);
          expectThat(
            joins.length <= 1,
            `${nameOf(c)} joined the connection group more than once (${where})`,
            'at most one join',
            joins,
          );
        }
        // A device that lost the race ends in the group through the WelcomeBundle.
        expectEqual(
          devices.map((c) => {
            const join = c.events.find((e) => e.type === 'joined' && e.groupId === groupId);
            return `${c.clientId.client}: ${join?.type === 'joined' ? join.via : 'not joined'}`;
          }),
          devices.map(
            (c) =>
              `${c.clientId.client}: ${externalJoins.includes(c.clientId.client) ? 'external-commit' : 'welcome'}`,
          ),
          `how each responder device joined the connection group (${where})`,
        );
        // The DS's copy of the group: one leaf and one CredentialInfo per client.
        const onDs = await groupOnDs(ctx, world);
        expectEqual(
          onDs.leaves.length,
          total,
          `members of the connection group on the DS (${where})`,
        );
        expectEqual(
          onDs.credentialInfos,
          total,
          `CredentialInfos of the connection group on the DS (${where})`,
        );
        expectEqual(
          everyone.map(
            (c) => `${nameOf(c)}: ${onDs.leaves.filter((l) => l === leafOf(c, groupId)).length}`,
          ),
          everyone.map((c) => `${nameOf(c)}: 1`),
          `leaves per client in the DS's tree (${where})`,
        );
        // Every client's own view agrees: same epoch, every client once.
        const views = everyone.map((c) => {
          const own = c.groupStatus(groupId);
          return own === undefined ? 'no group' : `epoch ${own.epoch}, ${own.members} members`;
        });
        const expected = views[0] ?? '';
        expectEqual(
          views,
          everyone.map(() => expected),
          `the clients' views of the connection group (${where})`,
        );
        expectThat(
          expected.endsWith(`, ${total} members`),
          `members in the clients' view of the group (${where})`,
          `${total} members`,
          expected,
        );
        expectNoOrphanedGroup(ctx, world);
        expectEqual(crashed, [], `responder devices that failed while processing (${where})`);
      },
      { numRuns: 6 },
    );
  },
});
