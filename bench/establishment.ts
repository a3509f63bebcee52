// One connection establishment against its crypto floor: the operations it
// performed (counted by the meter) priced at unit costs measured in this run.
import { meter, CRYPTO_OPS, type CryptoOp } from '../simulator/protocol/crypto/meter.ts';
import { createScenario, createTargetScenario, serverName } from '../simulator/scenario.ts';
import { ALL_SERVICES } from '../simulator/services/index.ts';
import { inProfile, serveFederation } from '../simulator/serve/serve.ts';
import type { Population } from '../simulator/scenario.ts';
import type { Observer } from '../simulator/net/observer.ts';
import type { Floor } from './floor.ts';
import { mandatoryOps, type EstablishmentShape } from './mandatory.ts';
import { median, quantile } from './stats.ts';
import { measureStack, priceRequests, type RoundTrip, type StackFigure } from './stack.ts';
import { measureMlsAtShape, type MlsAtShape } from './mls-at-shape.ts';

export interface EstablishmentFigure {
  readonly name: string;
  readonly shape: EstablishmentShape;
  /** True for the case over real HTTP (fedconn serve), whose budget is its own. */
  readonly overHttp: boolean;
  readonly runs: number;
  readonly medianMs: number;
  /** The middle half of the runs: the first and third quartiles of their wall times. */
  readonly quartilesMs: readonly [number, number];
  /** The headline: the operations the protocol forces (bench/mandatory.ts), priced. */
  readonly mandatoryFloorMs: number;
  readonly mandatoryRatio: number;
  readonly cpuMandatoryFloorMs: number;
  readonly cpuMandatoryRatio: number;
  /** The operations this establishment performed, priced. */
  readonly floorMs: number;
  readonly ratio: number;
  /** The same in CPU time (all threads): establishment CPU over the floor priced in CPU. */
  readonly cpuMs: number;
  readonly cpuFloorMs: number;
  readonly cpuRatio: number;
  /** Median wall time with at least one metered crypto operation in flight. */
  readonly cryptoMs: number;
  /** Median wall time with none: transport, routing, parsing, storage, client logic. */
  readonly otherMs: number;
  readonly ops: Readonly<Record<CryptoOp, number>>;
  /** Requests the servers received in one establishment. */
  readonly requests: number;
  /** Of them, GETs (the rest carry a body: POST and PUT). */
  readonly gets: number;
  /**
   * That many bare round trips on the same stack (bench/stack.ts), measured in this run:
   * what the stack alone costs, beside the floor, before any protocol work.
   */
  readonly stackMs: number;
  /** (mandatory floor + stackMs) / mandatory floor: the least ratio this stack allows. */
  readonly stackFloorRatio: number;
  /** The MLS unit costs this case is priced at: its shape's group sizes (mls-at-shape.ts). */
  readonly mlsUnits: Pick<MlsAtShape, 'wall' | 'cpu'>;
  /**
   * Per operation: its count, its price (count x unit cost) and its median wall time in
   * the establishment (an operation nested in another counts in the outer one).
   */
  readonly byOp: Readonly<
    Partial<Record<CryptoOp, { count: number; priceMs: number; inSituMs: number }>>
  >;
}

/** Untimed establishments before the first case. */
const WARM_UP_RUNS = 40;

/** Rounds of polls before an establishment that is not done counts as failed. */
const MAX_ROUNDS = 10;

/**
 * One establishment in a fresh simulated federation of one or two homeservers: the first
 * user of the first homeserver connects to the second user there, or to the first user of
 * the second homeserver.
 */
export async function establishInSim(seed: string, homeservers: number, devices: number) {
  const s = await createScenario({
    seed,
    homeservers,
    usersPerServer: homeservers === 1 ? 2 : 1,
    devicesPerUser: devices,
    profile: 'multi-device',
  });
  const responder = homeservers === 1 ? `@user2:${serverName(0)}` : `@user1:${serverName(1)}`;
  return establish(s, `@user1:${serverName(0)}`, responder, s.federation.observer);
}

export const priceOf = (
  ops: Readonly<Record<CryptoOp, number>>,
  unit: Readonly<Record<CryptoOp, number>>,
) => CRYPTO_OPS.reduce((sum, op) => sum + ops[op] * unit[op], 0);

/**
 * Times connect() until the establishment is done, excluding registration. Done is the
 * mandatory floor's end point (bench/mandatory-floor.md): every device of both users holds
 * the group with every member, at one epoch. A device only takes an epoch after it has
 * authenticated the members it brought, so nothing mandatory is left; the polls a harness
 * would still make to see that nothing more comes are not timed.
 *
 * Devices poll in rounds, the responder's first: after connect() they are the ones with
 * something queued, as a push notification would tell them. Polling the initiator first
 * (the scenario's own order) adds its empty polls, which are the harness's schedule, not
 * work the protocol asks of an establishment. For the same reason an initiator device
 * polls only its QS queue: nothing of this establishment comes to its AS queue.
 */
export async function establish(
  population: Population,
  initiator: string,
  responder: string,
  /** The servers' observer, to count the requests they received (untimed). */
  observer?: Observer,
): Promise<Sample> {
  const a = population.user(initiator);
  const b = population.user(responder);
  const devices = [...a.clients, ...b.clients];
  let groupId = '';
  const done = () => {
    const statuses = devices.map((d) => d.groupStatus(groupId));
    const epoch = statuses[0]?.epoch;
    return statuses.every((s) => s?.members === devices.length && s.epoch === epoch);
  };
  const received = (get: boolean) =>
    (observer?.views() ?? []).reduce(
      (sum, view) =>
        sum +
        view.events.filter((e) => e.kind === 'request' && (!get || e.method === 'GET')).length,
      0,
    );
  const requestsBefore = received(false);
  const getsBefore = received(true);
  meter.reset();
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  groupId = await a.primary.connect({ userId: b.userId });
  // The responder's devices poll both queues (a package reaches the AS queue, a
  // WelcomeBundle the QS queue); the initiator's only their QS queue, where everything
  // of this establishment reaches them.
  const polls = [
    ...b.clients.map((d) => () => d.processQueues()),
    ...a.clients.map((d) => () => (d.processQsQueue ?? d.processQueues).call(d)),
  ];
  for (let round = 0; round < MAX_ROUNDS && !done(); round++)
    for (const poll of polls) {
      await poll();
      if (done()) break;
    }
  const ms = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  const cryptoMs = meter.busyMs();
  const inSituMs = meter.inSituMs();
  const ops = meter.snapshot();
  if (!done()) {
    const behind = devices.filter((d) => d.groupStatus(groupId)?.members !== devices.length);
    throw new Error(
      `establishment incomplete: ${behind.map((d) => `${d.clientId.user_id}/${d.clientId.client}`).join(', ') || 'devices at different epochs'}`,
    );
  }
  const requests =
    observer === undefined
      ? undefined
      : { all: received(false) - requestsBefore, gets: received(true) - getsBefore };
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, cryptoMs, inSituMs, ops, requests };
}

export interface Sample {
  readonly ms: number;
  readonly cpuMs: number;
  readonly cryptoMs: number;
  readonly inSituMs: Readonly<Record<CryptoOp, number>>;
  readonly ops: Readonly<Record<CryptoOp, number>>;
  /** Requests the servers received, when their observer was given. */
  readonly requests: { readonly all: number; readonly gets: number } | undefined;
}

export async function measureEstablishment(
  unit: Floor,
  runs = 7,
): Promise<{ readonly stack: StackFigure; readonly cases: EstablishmentFigure[] }> {
  const cases = [
    { name: 'sim, same homeserver, 1 device each', homeservers: 1, devices: 1 },
    { name: 'sim, two homeservers, 1 device each', homeservers: 2, devices: 1 },
    { name: 'sim, same homeserver, 3 devices each', homeservers: 1, devices: 3 },
    { name: 'sim, two homeservers, 3 devices each', homeservers: 2, devices: 3 },
  ];
  const shape = (homeservers: number, devices: number): EstablishmentShape => ({
    initiatorDevices: devices,
    responderDevices: devices,
    sameServer: homeservers === 1,
  });
  // The establishment path takes some 30 runs to reach its steady speed (the JIT); the
  // unit costs are measured hot as well, so the establishments are too. Both 1-device
  // shapes, alternately, so that neither case meets a path the other left cold.
  for (let i = 0; i < WARM_UP_RUNS; i++) await establishInSim(`bench warm-up ${i}`, 1 + (i % 2), 1);
  const stack = await measureStack();
  // The MLS operations of each shape where they occur (bench/mls-at-shape.ts), once each.
  const atShape = new Map<string, MlsAtShape>();
  const mlsAtShape = async (s: EstablishmentShape) => {
    const key = `${s.initiatorDevices} ${s.responderDevices}`;
    const known = atShape.get(key) ?? (await measureMlsAtShape(s));
    atShape.set(key, known);
    return known;
  };
  const figures: EstablishmentFigure[] = [];
  for (const c of cases) {
    const samples: Sample[] = [];
    // One untimed run of each case first (i = -1), for the case's own paths. A case's runs
    // follow each other: interleaved with the other cases, a 1-device run pays for the
    // collection of a 3-device run's garbage (tried: the middle half of the 1-device runs
    // spread over 1.2 ms instead of 0.3 to 0.5 ms).
    for (let i = -1; i < runs; i++) {
      const sample = await establishInSim(`bench ${c.name} ${i}`, c.homeservers, c.devices);
      if (i >= 0) samples.push(sample);
    }
    const caseShape = shape(c.homeservers, c.devices);
    figures.push(
      summarise(c.name, caseShape, samples, unit, await mlsAtShape(caseShape), stack.sim),
    );
  }
  // The same establishment with the servers behind real HTTP on loopback (fedconn serve).
  const served = await serveFederation({
    servers: inProfile([serverName(0), serverName(1)], 'multi-device'),
    seed: 'bench http',
    services: ALL_SERVICES,
  });
  try {
    const samples = [];
    for (let i = -1; i < runs; i++) {
      // Fresh users per run on the same servers; run -1 is the untimed first.
      const p = await createTargetScenario(served.config, {
        seed: `bench http ${i}`,
        usersPerServer: 1,
        devicesPerUser: 1,
        userPrefix: `run${i}-`,
      });
      const sample = await establish(
        p,
        `@run${i}-1:${serverName(0)}`,
        `@run${i}-1:${serverName(1)}`,
        served.observer,
      );
      if (i >= 0) samples.push(sample);
    }
    figures.push(
      summarise(
        'fedconn serve (HTTP), two homeservers, 1 device each',
        shape(2, 1),
        samples,
        unit,
        await mlsAtShape(shape(2, 1)),
        stack.http,
        true,
      ),
    );
  } finally {
    await served.close();
  }
  return { stack, cases: figures };
}

function summarise(
  name: string,
  shape: EstablishmentShape,
  samples: readonly Sample[],
  units: Floor,
  mlsAt: MlsAtShape,
  roundTrip: RoundTrip,
  overHttp = false,
): EstablishmentFigure {
  // MLS operations at the group sizes of this shape; everything else at floor.ts's units.
  const floor: Floor = {
    wall: { ...units.wall, ...mlsAt.wall },
    cpu: { ...units.cpu, ...mlsAt.cpu },
  };
  const walls = samples.map((s) => s.ms);
  const medianMs = median(walls);
  const ops = samples[0]?.ops ?? meter.snapshot();
  const unit = floor.wall;
  const floorMs = median(samples.map((s) => priceOf(s.ops, unit)));
  const cpuMs = median(samples.map((s) => s.cpuMs));
  const cpuFloorMs = median(samples.map((s) => priceOf(s.ops, floor.cpu)));
  const mandatory = mandatoryOps(shape);
  const mandatoryFloorMs = priceOf(mandatory, unit);
  const cpuMandatoryFloorMs = priceOf(mandatory, floor.cpu);
  const requests = median(samples.map((s) => s.requests?.all ?? Number.NaN));
  const gets = median(samples.map((s) => s.requests?.gets ?? Number.NaN));
  const stackMs = priceRequests(roundTrip, gets, requests - gets);
  return {
    name,
    shape,
    overHttp,
    runs: samples.length,
    medianMs,
    quartilesMs: [quantile(walls, 0.25), quantile(walls, 0.75)],
    mandatoryFloorMs,
    mandatoryRatio: medianMs / mandatoryFloorMs,
    cpuMandatoryFloorMs,
    cpuMandatoryRatio: cpuMs / cpuMandatoryFloorMs,
    floorMs,
    ratio: medianMs / floorMs,
    cpuMs,
    cpuFloorMs,
    cpuRatio: cpuMs / cpuFloorMs,
    cryptoMs: median(samples.map((s) => s.cryptoMs)),
    otherMs: median(samples.map((s) => s.ms - s.cryptoMs)),
    ops,
    requests,
    gets,
    stackMs,
    stackFloorRatio: (mandatoryFloorMs + stackMs) / mandatoryFloorMs,
    mlsUnits: { wall: mlsAt.wall, cpu: mlsAt.cpu },
    byOp: Object.fromEntries(
      CRYPTO_OPS.filter((op) => ops[op] > 0).map((op) => [
        op,
        {
          count: ops[op],
          priceMs: ops[op] * unit[op],
          inSituMs: median(samples.map((s) => s.inSituMs[op])),
        },
      ]),
    ),
  };
}
