// How each responder device of the reference client handles an establishment
// package that every device of its user received (CONN-RACE-01..03, the
// multi-device seed): read from the order of the requests each device makes on
// the transport and from what it did. Devices process under a fast-check
// scheduler, or one after another, in every order the property draws.
import fc from 'fast-check';
import type { PhoenixDevice } from '../../simulator/clients/phoenix/handle.ts';
import { drop } from '../../simulator/net/faults.ts';
import type { Middleware } from '../../simulator/net/transport.ts';
import type { Rng } from '../../simulator/protocol/crypto/rng.ts';
import { checkProperty, defineCheck, expectEqual, expectThat } from '../harness/check.ts';
import {
  groupOnDs,
  leafOf,
  nameOf,
  processUntilDone,
  raceWorld,
  scheduled,
  type RequestKind,
  type Sent,
  type Traffic,
} from './race-support.ts';
import { rngFor } from './support.ts';

/** The requests of a device that verify a package or join a group. */
const VERIFY_OR_JOIN: readonly RequestKind[] = ['credentials', 'commit-info', 'join'];

/**
 * The first verification or join a device made after fetching its AS queue and
 * before fetching its QS queue, as the list of its requests up to that one.
 */
function verifiedBeforeQueueCheck(sent: readonly Sent[]): string | undefined {
  let awaitingQueueCheck = false;
  for (const [i, s] of sent.entries()) {
    if (s.kind === 'as-queue') awaitingQueueCheck = true;
    else if (s.kind === 'qs-fetch') awaitingQueueCheck = false;
    else if (awaitingQueueCheck && VERIFY_OR_JOIN.includes(s.kind))
      return sent
        .slice(0, i + 1)
        .map((x) => x.kind)
        .join(', ');
  }
  return undefined;
}

export const queueCheckedFirst = defineCheck({
  name: 'a responder device fetches its QS queue after receiving an establishment package and before any verification or join',
  rules: ['CONN-RACE-01'],
  profiles: ['multi-device'],
  needs: ['reference-client'],
  async run(ctx) {
    let run = 0;
    await checkProperty(
      ctx,
      [fc.scheduler(), fc.integer({ min: 1, max: 5 }), fc.boolean()],
      async (s, responderDevices, sameServer) => {
        const world = await raceWorld(ctx, `race1 ${run++}`, {
          responderDevices,
          initiatorDevices: 1,
          sameServer,
        });
        const devices = world.responder.clients;
        world.traffic.intercept = scheduled(s, world.traffic);
        await s.waitFor(Promise.all(devices.map((c) => processUntilDone(world.traffic, c))));
        world.traffic.intercept = undefined;
        for (const c of devices) {
          const early = verifiedBeforeQueueCheck(world.traffic.of(c));
          expectThat(
            early === undefined,
            `${nameOf(c)} verified or joined before checking its QS queue (${world.describe})`,
            'as-queue, qs-fetch, then credentials / commit-info / join',
            early,
          );
        }
      },
      { numRuns: 3 },
    );
  },
});

export const welcomeBundleWins = defineCheck({
  name: 'a responder device whose queue holds a WelcomeBundle for the package’s group joins by it and discards the package, never by external commit',
  rules: ['CONN-RACE-02'],
  profiles: ['multi-device'],
  needs: ['reference-client'],
  async run(ctx) {
    let run = 0;
    await checkProperty(
      ctx,
      [fc.scheduler(), fc.integer({ min: 2, max: 5 }), fc.nat(4), fc.boolean()],
      async (s, responderDevices, first, sameServer) => {
        const world = await raceWorld(ctx, `race2 ${run++}`, {
          responderDevices,
          initiatorDevices: 1,
          sameServer,
        });
        const { traffic, groupId } = world;
        const devices = world.responder.clients;
        const acceptor = devices[first % devices.length] as PhoenixDevice;
        await processUntilDone(traffic, acceptor);
        // The others process once the acceptor's WelcomeBundles are in their queues.
        const late = devices.filter((c) => c !== acceptor);
        const from = traffic.sent.length;
        const events = new Map(late.map((c) => [c, c.events.length]));
        traffic.intercept = scheduled(s, traffic);
        await s.waitFor(Promise.all(late.map((c) => processUntilDone(traffic, c))));
        traffic.intercept = undefined;
        for (const c of late) {
          const joins = traffic
            .of(c, from)
            .filter((x) => x.kind === 'commit-info' || x.kind === 'join')
            .map((x) => x.kind);
          const did = c.events
            .slice(events.get(c))
            .flatMap((e) =>
              (e.type === 'joined' || e.type === 'offer-discarded') && e.groupId === groupId
                ? [e.type === 'joined' ? `joined by ${e.via}` : 'discarded the package']
                : [],
            );
          const where = `${nameOf(c)}, after ${acceptor.clientId.client} accepted (${world.describe})`;
          expectEqual(joins, [], `external commit requests of ${where}`);
          expectEqual(
            did,
            ['joined by welcome', 'discarded the package'],
            `what ${where} did with the package`,
          );
        }
      },
      { numRuns: 3 },
    );
  },
});

/** The accepting device's requests from its join on fail for a while, as a device going offline. */
function offlineAfterJoin(
  traffic: Traffic,
  acceptor: PhoenixDevice,
  outage: { readonly after: number; readonly length: number } | null,
  rng: Rng,
): Middleware {
  let sinceJoin = -1;
  return (next) => {
    const lose = drop({ rng, p: 1 })(next);
    return async (request) => {
      if (traffic.current() !== acceptor || outage === null) return next(request);
      if (sinceJoin >= 0) sinceJoin++;
      if (sinceJoin >= outage.after && sinceJoin < outage.after + outage.length)
        return lose(request);
      const response = await next(request);
      if (sinceJoin < 0 && new URL(request.url).pathname.endsWith('/join_connection_group'))
        sinceJoin = 0;
      return response;
    };
  };
}

export const acceptorAddsItsSiblings = defineCheck({
  name: 'after joining, the accepting device adds every other device of its user, even after going offline part-way',
  rules: ['CONN-RACE-03'],
  profiles: ['multi-device'],
  needs: ['reference-client'],
  async run(ctx) {
    let run = 0;
    const rng = rngFor(ctx, 'race-03 outages');
    await checkProperty(
      ctx,
      [
        fc.integer({ min: 2, max: 5 }),
        fc.nat(4),
        fc.option(fc.record({ after: fc.nat(8), length: fc.integer({ min: 1, max: 2 }) }), {
          nil: null,
        }),
        fc.boolean(),
      ],
      async (responderDevices, first, outage, sameServer) => {
        const world = await raceWorld(ctx, `race3 ${run++}`, {
          responderDevices,
          initiatorDevices: 1,
          sameServer,
        });
        const { traffic, groupId, everyone } = world;
        const devices = world.responder.clients;
        const acceptor = devices[first % devices.length] as PhoenixDevice;
        // The add takes 2 requests per sibling and the commit: the outage falls among them.
        const span = 2 * devices.length - 1;
        const cut = outage === null ? null : { ...outage, after: 1 + (outage.after % span) };
        traffic.intercept = offlineAfterJoin(traffic, acceptor, cut, rng);
        await processUntilDone(traffic, acceptor);
        traffic.intercept = undefined;
        const where = `${acceptor.clientId.client} accepted${cut === null ? '' : `, offline for ${cut.length} requests from the ${cut.after}th after its join`} (${world.describe})`;
        const onDs = await groupOnDs(ctx, world);
        expectEqual(
          onDs.leaves.length,
          everyone.length,
          `members of the connection group on the DS once ${where}`,
        );
        expectEqual(
          acceptor.groupStatus(groupId)?.members ?? 0,
          everyone.length,
          `members in the accepting device's view once ${where}`,
        );
        for (const c of devices) await processUntilDone(traffic, c);
        expectEqual(
          devices.map((c) => `${c.clientId.client}: ${onDs.leaves.includes(leafOf(c, groupId))}`),
          devices.map((c) => `${c.clientId.client}: true`),
          `responder devices in the group on the DS once ${where}`,
        );
      },
      { numRuns: 4 },
    );
  },
});
