// One size of the scale benchmark, run in a child process of its own so that its
// peak memory is its own: `tsx bench/scale-child.ts <users> [connections]`.
// Prints one JSON line (a ScaleFigure) on stdout.
import { loadavg } from 'node:os';
import { fork, seededRng } from '../simulator/protocol/crypto/rng.ts';
import { createScenario, populate, serverName, type Population } from '../simulator/scenario.ts';
import type { PhoenixUser } from '../simulator/clients/phoenix/user.ts';

export const HOMESERVERS = 4;
export const DEVICES = 2;

export interface ScaleFigure {
  readonly users: number;
  /** When this size ran, and the machine's load then: sizes may come from separate runs. */
  readonly measuredAt: string;
  readonly loadAverage: readonly number[];
  readonly clients: number;
  readonly homeservers: number;
  /** Connections established, torn down (client side) and established again. */
  readonly connections: number;
  readonly reconnections: number;
  readonly registerMs: number;
  readonly churnMs: number;
  readonly totalMs: number;
  /** CPU time of the process (all threads, user + system): steadier than wall time on a shared machine. */
  readonly cpuMs: number;
  /** Peak resident set size of the whole child process. */
  readonly maxRssMiB: number;
  /** Largest V8 heap seen by a 100 ms sampler and at each progress line: a lower bound. */
  readonly peakHeapMiB: number;
  /** Resident set and heap with the four empty homeservers up, before any user: the floor of both. */
  readonly baseRssMiB: number;
  readonly baseHeapMiB: number;
  /** The servers the observer recorded in full (the others record nothing). */
  readonly observed: readonly string[];
  /** Events the observer recorded (requests and stored rows): the simulator's own log. */
  readonly observedEvents: number;
}

/** Runs every client of these users until a full round changes nothing. */
async function settleUsers(users: readonly PhoenixUser[]): Promise<void> {
  const fingerprint = () =>
    users.flatMap((u) => u.clients.map((c) => `${c.events.length}:${c.groups.size}`)).join('|');
  for (let round = 0; round < 10; round++) {
    const before = fingerprint();
    for (const user of users) for (const client of user.clients) await client.processQueues();
    if (fingerprint() === before) return;
  }
  throw new Error(`connection between ${users.map((u) => u.userId).join(', ')} did not settle`);
}

async function connect(a: PhoenixUser, b: PhoenixUser): Promise<string> {
  const groupId = await a.primary.connect({ userId: b.userId });
  await settleUsers([b, a]);
  for (const c of [...a.clients, ...b.clients]) {
    if (!c.groups.has(groupId))
      throw new Error(`${c.clientId.user_id}/${c.clientId.client} is not in the new group`);
  }
  return groupId;
}

export async function runScale(users: number, connections: number): Promise<ScaleFigure> {
  // The sampler runs only when the event loop turns to timers, which an in-process
  // simulation (promises, no I/O) seldom lets it do: the peak heap is a lower bound. Peak
  // RSS, the figure the budget is on, is the kernel's.
  let peakHeap = 0;
  const sampler = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }, 100);
  const perServer = Math.ceil(users / HOMESERVERS);
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  // A researcher observes some servers, not all: here the first homeserver, in full.
  const observed = [serverName(0)];
  const scenario = await createScenario({
    seed: `scale ${users}`,
    homeservers: HOMESERVERS,
    usersPerServer: 0,
    devicesPerUser: DEVICES,
    profile: 'multi-device',
    observe: observed,
  });
  const base = process.memoryUsage();
  // The homeservers register their users concurrently, as four real servers would.
  const populations: Population[] = await Promise.all(
    Array.from({ length: HOMESERVERS }, (_, i) =>
      populate(scenario.env, {
        servers: [serverName(i)],
        usersPerServer: perServer,
        devicesPerUser: DEVICES,
        profile: 'multi-device',
      }),
    ),
  );
  const all = populations.flatMap((p) => p.users);
  const registered = performance.now();
  // Progress on stderr (the parent reads the figure from stdout): large sizes take minutes.
  const progress = (what: string) => {
    const heap = process.memoryUsage().heapUsed;
    peakHeap = Math.max(peakHeap, heap);
    process.stderr.write(
      `  ${users} users: ${what} at ${((performance.now() - start) / 1000).toFixed(0)} s, ` +
        `heap ${(heap / 2 ** 20).toFixed(0)} MiB\n`,
    );
  };
  progress(`${all.length} registered`);

  // Churn: pairs drawn from the seed (across homeservers as often as not) connect; then
  // every other connection is torn down and established again between the same users.
  const rng = fork(seededRng(`scale ${users}`), 'churn');
  const pick = () => {
    const b = rng.bytes(4);
    return all[new DataView(b.buffer).getUint32(0) % all.length] as PhoenixUser;
  };
  const pairs: [PhoenixUser, PhoenixUser, string][] = [];
  for (let i = 0; i < connections; i++) {
    const a = pick();
    let b = pick();
    while (b === a) b = pick();
    pairs.push([a, b, await connect(a, b)]);
    if ((i + 1) % 100 === 0) progress(`${i + 1} of ${connections} connections`);
  }
  let reconnections = 0;
  for (const [i, [a, b, groupId]] of pairs.entries()) {
    if (i % 2 === 1) continue;
    // Teardown is client side: the draft has no group deletion at the DS, whose
    // state for the old group stays (and counts in memory).
    for (const c of [...a.clients, ...b.clients]) c.groups.delete(groupId);
    await connect(a, b);
    reconnections++;
  }
  const end = performance.now();
  const cpu = process.cpuUsage(cpuStart);
  clearInterval(sampler);
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  const observedEvents = scenario.federation.observer
    .views()
    .reduce((n, v) => n + v.events.length, 0);
  return {
    users: all.length,
    measuredAt: new Date().toISOString(),
    loadAverage: loadavg(),
    clients: all.length * DEVICES,
    homeservers: HOMESERVERS,
    connections,
    reconnections,
    registerMs: registered - start,
    churnMs: end - registered,
    totalMs: end - start,
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    peakHeapMiB: peakHeap / 2 ** 20,
    baseRssMiB: base.rss / 2 ** 20,
    baseHeapMiB: base.heapUsed / 2 ** 20,
    observed,
    observedEvents,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const users = Number(process.argv[2]);
  const connections = Number(process.argv[3] ?? Math.max(2, Math.round(users / 100)));
  if (!Number.isSafeInteger(users) || users < HOMESERVERS)
    throw new Error('usage: scale-child.ts <users> [connections]');
  console.log(JSON.stringify(await runScale(users, connections)));
}
