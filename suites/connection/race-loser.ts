// A responder device that loses the race (CONN-RACE-04 and 06, the multi-device
// seed): the check holds the loser's join request at the transport while
// another device (the winner) accepts, so the DS refuses the loser's join. Either
// the winner has already added its siblings when the refusal comes back (the
// WelcomeBundle waits in the loser's queue), or its commit adding them is held
// until the loser has finished (the queue is still empty when it looks again).
// A third case is no loss: the device's join never reaches the DS (it is
// offline), so it must keep the package and join once back.
import { RACE_STORE_LATENCY_MS } from '../../simulator/net/latent-store.ts';
import fc from 'fast-check';
import type { ClientEvent } from '../../simulator/clients/phoenix/client.ts';
import type { PhoenixDevice } from '../../simulator/clients/phoenix/handle.ts';
import { checkProperty, defineCheck, eachOf, expectEqual, expectThat } from '../harness/check.ts';
import {
  expectNoOrphanedGroup,
  gate,
  kindOf,
  nameOf,
  processUntilDone,
  raceWorld,
  type RaceWorld,
  type RequestKind,
} from './race-support.ts';
import { NetworkError } from '../../simulator/net/transport.ts';

type Loss = 'welcome-waiting' | 'welcome-later' | 'offline';

interface Lost {
  /** The kinds of the loser's requests while it processed the package, with the answers it saw. */
  readonly sent: readonly { readonly kind: RequestKind; readonly result: string }[];
  /** What the loser did meanwhile. */
  readonly events: readonly ClientEvent[];
  /** Whether the loser was in the group when it finished processing. */
  readonly member: boolean;
  readonly where: string;
}

/** Runs the race the check arranges; the loser's and the winner's processing both complete. */
async function loseTheRace(
  world: RaceWorld,
  loser: PhoenixDevice,
  winner: PhoenixDevice,
  loss: Loss,
): Promise<Lost> {
  const { traffic } = world;
  const loserAtJoin = gate();
  const joinGoes = gate();
  const winnerAtCommit = gate();
  const commitGoes = gate();
  let held = { join: false, commit: false };
  traffic.intercept = (next) => async (request) => {
    const device = traffic.current();
    const kind = kindOf(request);
    if (device === loser && kind === 'join' && !held.join) {
      held = { ...held, join: true };
      if (loss === 'offline') throw new NetworkError('offline: the join never left', request.url);
      loserAtJoin.open();
      await joinGoes.opened;
    }
    if (device === winner && kind === 'commit' && loss === 'welcome-later' && !held.commit) {
      held = { ...held, commit: true };
      winnerAtCommit.open();
      await commitGoes.opened;
    }
    return next(request);
  };
  const from = traffic.sent.length;
  const eventsFrom = loser.events.length;
  const loserDone = traffic.as(loser, () => loser.processQueues());
  const summary = (member: boolean, where: string): Lost => ({
    sent: traffic
      .of(loser, from)
      .map((s) => ({ kind: s.kind, result: String(s.result ?? 'unanswered') })),
    events: loser.events.slice(eventsFrom),
    member,
    where,
  });
  if (loss === 'offline') {
    // Offline at its join, then back with no other device active.
    await loserDone.catch(() => undefined);
    await processUntilDone(traffic, loser);
    traffic.intercept = undefined;
    return summary(
      loser.groups.has(world.groupId),
      `${loser.clientId.client} was offline when it sent its join (${world.describe})`,
    );
  }
  const where = `${loser.clientId.client} lost to ${winner.clientId.client}, ${loss === 'welcome-later' ? 'whose WelcomeBundle came after' : 'whose WelcomeBundle was waiting'} (${world.describe})`;
  const atJoin = await Promise.race([
    loserAtJoin.opened.then(() => true),
    loserDone.then(() => false),
  ]);
  expectThat(atJoin, `${nameOf(loser)} never sent its join (${where})`, 'a join', 'none');
  const winnerDone = traffic.as(winner, () => winner.processQueues());
  if (loss === 'welcome-later') await Promise.race([winnerAtCommit.opened, winnerDone]);
  else await winnerDone;
  joinGoes.open();
  await loserDone;
  const member = loser.groups.has(world.groupId);
  commitGoes.open();
  await winnerDone;
  traffic.intercept = undefined;
  return summary(member, where);
}

const races = (...losses: Loss[]) =>
  [fc.integer({ min: 2, max: 5 }), fc.nat(4), fc.nat(3), eachOf(...losses), fc.boolean()] as const;

/** Builds the world and runs the race the property drew: the loser and the winner are distinct. */
async function race(
  ctx: Parameters<typeof raceWorld>[0],
  label: string,
  [responderDevices, l, w, loss, sameServer]: readonly [number, number, number, Loss, boolean],
) {
  const world = await raceWorld(ctx, label, { responderDevices, initiatorDevices: 1, sameServer });
  const devices = world.responder.clients;
  const loser = devices[l % devices.length] as PhoenixDevice;
  const others = devices.filter((c) => c !== loser);
  const winner = others[w % others.length] as PhoenixDevice;
  return { world, loser, lost: await loseTheRace(world, loser, winner, loss), loss };
}

const describeEvent = (e: ClientEvent) =>
  e.type === 'joined' ? `joined by ${e.via}` : e.type === 'offer-discarded' ? 'discarded' : e.type;

export const failedJoinRechecksQueue = defineCheck({
  name: 'a device whose join is refused checks its queue again: a WelcomeBundle wins, else it discards the package and does not retry the join',
  rules: ['CONN-RACE-04'],
  profiles: ['multi-device'],
  needs: ['reference-client'],
  async run(ctx) {
    let run = 0;
    await checkProperty(
      ctx,
      [...races('welcome-waiting', 'welcome-later', 'offline')],
      async (...drawn) => {
        const { lost, loss } = await race(ctx, `race4 ${run++}`, drawn);
        const kinds = lost.sent.map((s) => s.kind);
        const joins = lost.sent.filter((s) => s.kind === 'join');
        if (loss === 'offline') {
          // Not a failed join: the package stays, and the device joins once back.
          expectEqual(
            [
              joins.map((s) => s.result),
              lost.events
                .filter((e) => ['joined', 'join-failed', 'offer-discarded'].includes(e.type))
                .map(describeEvent),
              lost.member,
            ],
            [['network error', '200'], ['joined by external-commit'], true],
            `the device's joins, events and membership once back (${lost.where})`,
          );
          return;
        }
        expectEqual(
          joins.map((s) => (/^4\d\d$/.test(s.result) ? 'refused' : s.result)),
          ['refused'],
          `the join requests of the loser and the answers it saw (${lost.where})`,
        );
        const afterJoin = kinds.slice(kinds.indexOf('join') + 1);
        expectThat(
          afterJoin[0] === 'qs-fetch' &&
            !afterJoin.includes('commit-info') &&
            !afterJoin.includes('join'),
          `what the loser did after its join was refused (${lost.where})`,
          'a QS queue fetch first, and no further external commit request',
          kinds,
        );
        const outcome = lost.events
          .filter((e) => e.type === 'joined' || e.type === 'offer-discarded')
          .map(describeEvent);
        expectEqual(
          [outcome, lost.member],
          loss === 'welcome-waiting' ? [['joined by welcome'], true] : [['discarded'], false],
          `the loser's outcome [events, member when done] (${lost.where})`,
        );
      },
      { numRuns: 5 },
    );
  },
});

export const loserLeavesNoGroupBehind = defineCheck({
  name: 'a device that lost the race leaves no group of its own on any DS and ends up in the connection group through the WelcomeBundle',
  rules: ['CONN-RACE-06'],
  profiles: ['multi-device'],
  needs: ['reference-client', 'observer'],
  async run(ctx) {
    // The DS's half of the race is judged with store latency, so requests overlap there too.
    ctx.instance.setStoreLatency?.(RACE_STORE_LATENCY_MS);
    let run = 0;
    await checkProperty(
      ctx,
      [...races('welcome-waiting', 'welcome-later')],
      async (...drawn) => {
        const { world, loser, lost } = await race(ctx, `race6 ${run++}`, drawn);
        // The loser comes back to its queue once the winner is done.
        await processUntilDone(world.traffic, loser);
        expectNoOrphanedGroup(ctx, world);
        expectEqual(
          loser.events
            .filter((e) => e.type === 'joined' && e.groupId === world.groupId)
            .map(describeEvent),
          ['joined by welcome'],
          `how the loser joined the connection group, once it processed its queue again (${lost.where})`,
        );
        expectEqual(
          [...loser.groups.keys()],
          [world.groupId],
          `the groups the loser holds (${lost.where})`,
        );
      },
      { numRuns: 4 },
    );
  },
});
