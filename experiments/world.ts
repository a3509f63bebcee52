// One world of an experiment: a federation from one seed, populated, with aliases, the
// workload run, and what the adversary's servers saw. Ground truth (who owns which alias,
// who connected to whom) is kept apart from the views: attacks get only the views.
import { fork, seededRng } from '../simulator/protocol/crypto/rng.ts';
import { createScenario, serverName } from '../simulator/scenario.ts';
import type { ServerView } from '../simulator/net/observer.ts';
import type { PhoenixUserHandle } from '../simulator/clients/phoenix/handle.ts';
import type { Experiment } from './schema.ts';

export interface AliasTruth {
  readonly alias: string;
  readonly server: string;
  readonly owner: string;
}

export interface ConnectionTruth {
  readonly initiator: string;
  readonly responder: string;
  readonly by: 'alias' | 'user_id';
  /** What the initiator looked up: the responder's user id or one of its aliases. */
  readonly target: string;
  /** The connection group, or why establishing it failed. */
  readonly outcome: { readonly groupId: string } | { readonly error: string };
}

export interface GroundTruth {
  readonly users: readonly { readonly userId: string; readonly server: string }[];
  readonly aliases: readonly AliasTruth[];
  readonly connections: readonly ConnectionTruth[];
}

export interface World {
  readonly seed: number;
  /**
   * What the adversary's services received and stored, by server: only those services'
   * requests and rows, the test harness's provisioning requests left out.
   */
  readonly views: ReadonlyMap<string, ServerView>;
  readonly truth: GroundTruth;
}

/** Requests fedconn makes to set up test state, not protocol traffic. */
const PROVISIONING = '/_fedconn/v1/provision/';

/** The Phoenix service a request went to, by its path (docs/binding.md). */
const serviceOfPath = (path: string) =>
  /^\/_fedconn\/v1\/(as|qs|ds)\//.exec(path)?.[1]?.toUpperCase();

/** The Phoenix service a stored row belongs to, by its table's prefix. */
const serviceOfTable = (table: string) => /^(as|qs|ds)_/.exec(table)?.[1]?.toUpperCase();

export const serversOf = (e: Experiment): string[] =>
  Array.from({ length: e.population.homeservers }, (_, i) => serverName(i));

/** The servers whose views the adversary holds. */
export const observedServers = (e: Experiment): string[] => [
  ...new Set(e.adversary.services.map((s) => s.slice(0, s.indexOf('/')))),
];

export async function runWorld(e: Experiment, seed: number): Promise<World> {
  const servers = serversOf(e);
  for (const s of observedServers(e))
    if (!servers.includes(s))
      throw new Error(
        `adversary.services names ${s}, but the population has ${servers.join(', ')}`,
      );
  const scenario = await createScenario({
    seed: `${e.name}/${seed}`,
    homeservers: e.population.homeservers,
    usersPerServer: e.population.users_per_server,
    devicesPerUser: e.population.devices_per_user,
    profile: e.population.profile,
    mutants: e.mutants,
    observe: observedServers(e),
  });
  const rng = fork(seededRng(`${e.name}/${seed}`), 'workload');
  const pick = <T>(list: readonly T[]): T => {
    // 48 random bits modulo a list this short: a bias below 2^-30.
    const item = list[Buffer.from(rng.bytes(6)).readUIntBE(0, 6) % list.length];
    if (item === undefined) throw new Error('nothing to pick from');
    return item;
  };

  const aliases: AliasTruth[] = [];
  // Enough payloads that an alias picked by several connections still has one each, in
  // all but the unluckiest draws (a connection that finds none is recorded as failed).
  const total = scenario.users.length * e.population.aliases_per_user;
  const payloads = Math.max(2, Math.ceil((4 * e.workload.connections) / Math.max(1, total)));
  for (const user of scenario.users) {
    for (let i = 0; i < e.population.aliases_per_user; i++) {
      // Names drawn at random: an alias's name says nothing of its owner.
      const alias = `a${Buffer.from(rng.bytes(6)).toString('hex')}`;
      await user.primary.registerAlias(alias, payloads);
      aliases.push({ alias, server: user.serverName, owner: user.userId });
    }
  }

  const connections: ConnectionTruth[] = [];
  const users = scenario.users;
  for (let c = 0; c < e.workload.connections && users.length > 1; c++) {
    const initiator = pick(users);
    const others = users.filter(
      (u) => u !== initiator && (servers.length === 1 || u.serverName !== initiator.serverName),
    );
    const responder = pick(others.length > 0 ? others : users.filter((u) => u !== initiator));
    connections.push(await connect(e, initiator, responder, aliases, pick));
    await scenario.federation.clock.sleep(e.workload.connection_interval_s * 1000);
  }
  // The polling schedule: `rounds` rounds, the interval apart on the virtual clock.
  for (let round = 0; round < e.workload.rounds; round++) {
    if (round > 0) await scenario.federation.clock.sleep(e.workload.poll_interval_s * 1000);
    await scenario.settle(1);
  }

  const views = new Map<string, ServerView>();
  for (const s of observedServers(e)) {
    const services = new Set(
      e.adversary.services.filter((x) => x.startsWith(`${s}/`)).map((x) => x.slice(s.length + 1)),
    );
    const view = scenario.view(s);
    views.set(s, {
      server: s,
      events: view.events.filter((ev) =>
        ev.kind === 'request'
          ? !ev.path.startsWith(PROVISIONING) && services.has(serviceOfPath(ev.path) ?? '')
          : services.has(serviceOfTable(ev.table) ?? ''),
      ),
    });
  }
  return {
    seed,
    views,
    truth: {
      users: users.map((u) => ({ userId: u.userId, server: u.serverName })),
      aliases,
      connections,
    },
  };
}

async function connect(
  e: Experiment,
  initiator: PhoenixUserHandle,
  responder: PhoenixUserHandle,
  aliases: readonly AliasTruth[],
  pick: <T>(list: readonly T[]) => T,
): Promise<ConnectionTruth> {
  const own = aliases.filter((a) => a.owner === responder.userId);
  const byAlias = e.workload.by === 'alias' && own.length > 0;
  const target = byAlias ? pick(own).alias : responder.userId;
  const base = {
    initiator: initiator.userId,
    responder: responder.userId,
    by: byAlias ? ('alias' as const) : ('user_id' as const),
    target,
  };
  try {
    const groupId = await initiator.primary.connect(
      byAlias ? { alias: target, server: responder.serverName } : { userId: target },
    );
    return { ...base, outcome: { groupId } };
  } catch (error) {
    return { ...base, outcome: { error: error instanceof Error ? error.message : String(error) } };
  }
}
