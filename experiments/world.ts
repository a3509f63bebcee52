// One world of an experiment: a federation from one seed, populated, with aliases, the
// workload run, and what the adversary saw. Ground truth (who owns which alias, who
// connected to whom, who sent what when) is kept apart from the views: attacks get only
// the views.
//
// A world may be a twin (`variant` > 0): the same seed with the aliases' owners permuted
// among the users of each homeserver, and nothing else changed (the same alias names,
// registered and looked up in the same order, by the same initiators). The ideal
// attacker compares a world with its twins (experiments/attacks/ideal-view.ts).
import { fork, seededRng, type Rng } from '../simulator/protocol/crypto/rng.ts';
import { createScenario, serverName } from '../simulator/scenario.ts';
import type { RecordedEvent, ServerView } from '../simulator/net/observer.ts';
import { PROVISIONING_TOKEN } from '../simulator/homeserver/sim-federation.ts';
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
  /** Established again between the same users (churn). */
  readonly repeat: boolean;
}

export interface MessageTruth {
  readonly groupId: string;
  readonly sender: string;
  readonly recipient: string;
  /** Virtual time it was sent, ms since the epoch. */
  readonly at: number;
  readonly error?: string;
}

export interface GroundTruth {
  readonly users: readonly { readonly userId: string; readonly server: string }[];
  readonly aliases: readonly AliasTruth[];
  readonly connections: readonly ConnectionTruth[];
  readonly messages: readonly MessageTruth[];
}

/**
 * What a network observer between the homeservers sees of one request a homeserver sent
 * another: who to whom, when, and how large. The content is encrypted in transit (TLS).
 */
export interface Flow {
  readonly kind: 'flow';
  readonly seq: number;
  readonly at: number;
  readonly from: string;
  readonly to: string;
  /** The body's size in bytes (its JSON text). */
  readonly bytes: number;
}

export interface World {
  readonly seed: number;
  /**
   * What the adversary's services received and stored, by server: only those services'
   * requests and rows, the test harness's provisioning requests left out.
   */
  readonly views: ReadonlyMap<string, ServerView>;
  /** The network observer's record, in order (empty without one). */
  readonly flows: readonly Flow[];
  readonly truth: GroundTruth;
  /** How many distinct alias ownerships this world's twins can have, itself included. */
  readonly ownerships: number;
}

/** Requests fedconn makes to set up test state, not protocol traffic. */
const PROVISIONING = '/_fedconn/v1/provision/';
const isProvisioning = (e: RecordedEvent) =>
  e.kind === 'request' &&
  (e.path.startsWith(PROVISIONING) || e.headers.authorization === `Bearer ${PROVISIONING_TOKEN}`);

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

/** A uniform draw below n: 48 random bits modulo a number this small, a bias below 2^-30. */
const below = (rng: Rng, n: number) => Buffer.from(rng.bytes(6)).readUIntBE(0, 6) % n;

const picker =
  (rng: Rng) =>
  <T>(list: readonly T[]): T => {
    const item = list[below(rng, list.length)];
    if (item === undefined) throw new Error('nothing to pick from');
    return item;
  };

/** A permutation of each homeserver's users among themselves (Fisher–Yates per server). */
function permuteWithinServers(
  users: readonly PhoenixUserHandle[],
  rng: Rng,
): Map<PhoenixUserHandle, PhoenixUserHandle> {
  const image = new Map<PhoenixUserHandle, PhoenixUserHandle>();
  for (const server of new Set(users.map((u) => u.serverName))) {
    const local = users.filter((u) => u.serverName === server);
    const shuffled = [...local];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const k = below(rng, i + 1);
      [shuffled[i], shuffled[k]] = [
        shuffled[k] as PhoenixUserHandle,
        shuffled[i] as PhoenixUserHandle,
      ];
    }
    local.forEach((u, i) => image.set(u, shuffled[i] as PhoenixUserHandle));
  }
  return image;
}

/**
 * Up to `wanted` distinct alias ownerships, the one as assigned first: the others permute
 * the owners among each homeserver's users, drawn from the seed alone, and are kept only
 * when no connection's initiator owns the alias it looks up. Every variant computes the
 * same list, so each agrees on every other's owners. Fewer come back when fewer exist
 * (one user per homeserver, or connections that pin the owners).
 */
function ownerships(
  name: string,
  users: readonly PhoenixUserHandle[],
  slots: readonly PhoenixUserHandle[],
  plans: readonly Plan[],
  wanted: number,
): PhoenixUserHandle[][] {
  const found = [[...slots]];
  const key = (owners: readonly PhoenixUserHandle[]) => owners.map((u) => u.userId).join('\n');
  const seen = new Set([key(slots)]);
  const rng = fork(seededRng(name), 'ownerships');
  for (let attempt = 0; found.length < wanted && attempt < 200 * wanted; attempt++) {
    const image = permuteWithinServers(users, rng);
    const owners = slots.map((u) => image.get(u) ?? u);
    if (plans.some((p) => p.slot !== undefined && owners[p.slot] === p.initiator)) continue;
    if (seen.has(key(owners))) continue;
    seen.add(key(owners));
    found.push(owners);
  }
  return found;
}

/** A connection to make: its initiator, and its target's alias slot or its responder. */
type Plan = { readonly initiator: PhoenixUserHandle } & (
  | { readonly slot: number; readonly responder?: undefined }
  | { readonly slot?: undefined; readonly responder: PhoenixUserHandle }
);

export interface WorldOptions {
  /** 0: the world as assigned; j > 0: twin j, the aliases' owners permuted. */
  readonly variant?: number;
  /** How many ownerships to compare (the ideal attacker's worlds), this one among them. */
  readonly variants?: number;
}

export async function runWorld(
  e: Experiment,
  seed: number,
  options: WorldOptions = {},
): Promise<World> {
  const variant = options.variant ?? 0;
  const wanted = Math.max(variant + 1, options.variants ?? 1);
  const servers = serversOf(e);
  for (const s of observedServers(e))
    if (!servers.includes(s))
      throw new Error(
        `adversary.services names ${s}, but the population has ${servers.join(', ')}`,
      );
  const name = `${e.name}/${seed}`;
  const scenario = await createScenario({
    seed: name,
    homeservers: e.population.homeservers,
    usersPerServer: e.population.users_per_server,
    devicesPerUser: e.population.devices_per_user,
    profile: e.population.profile,
    mutants: e.mutants,
    // The network observer sees traffic between every pair of homeservers.
    observe: e.adversary.network ? servers : observedServers(e),
  });
  const rng = fork(seededRng(name), 'workload');
  const pick = picker(rng);
  const users = scenario.users;

  // Alias slots: names drawn at random (a name says nothing of its owner), a user's in a
  // row; who holds each slot depends on the variant.
  const names: string[] = [];
  const slots: PhoenixUserHandle[] = [];
  for (const user of users) {
    for (let i = 0; i < e.population.aliases_per_user; i++) {
      names.push(`a${Buffer.from(rng.bytes(6)).toString('hex')}`);
      slots.push(user);
    }
  }
  // What to connect, drawn from the ownership as assigned whatever the variant: the
  // chosen pairs, then random ones, each to an alias slot (by alias) or a user. A twin
  // permutes who holds the slots and nothing else: the same lookups by the same users.
  const byAlias = e.workload.by === 'alias' && names.length > 0;
  const plans: Plan[] = e.workload.chosen.map(({ initiator, responder }) => {
    const r = scenario.user(responder);
    const slot = byAlias ? slots.indexOf(r) : -1;
    return { initiator: scenario.user(initiator), ...(slot >= 0 ? { slot } : { responder: r }) };
  });
  const apart = servers.length > 1 && e.workload.pairs === 'other-server';
  for (let c = 0; c < e.workload.connections && users.length > 1; c++) {
    const slot = byAlias ? pick(names.map((_, i) => i)) : undefined;
    const responder = slot === undefined ? pick(users) : (slots[slot] as PhoenixUserHandle);
    const initiators = users.filter(
      (u) => u !== responder && (!apart || u.serverName !== responder.serverName),
    );
    if (initiators.length === 0) continue;
    plans.push({ initiator: pick(initiators), ...(slot === undefined ? { responder } : { slot }) });
  }
  const owners = ownerships(name, users, slots, plans, wanted);
  if (variant >= owners.length)
    throw new Error(
      `world ${seed} has ${owners.length} alias ownership${owners.length === 1 ? '' : 's'} to compare, not ${variant + 1}`,
    );
  const ownerOf = (slot: number): PhoenixUserHandle => {
    const owner = owners[variant]?.[slot];
    if (owner === undefined) throw new Error(`unreachable: no owner for alias slot ${slot}`);
    return owner;
  };
  // Enough payloads that an alias picked by several connections still has one each, in
  // all but the unluckiest draws (a connection that finds none is recorded as failed).
  const planned = (e.workload.connections + e.workload.chosen.length) * (1 + e.workload.churn);
  const payloads = Math.max(2, Math.ceil((4 * planned) / Math.max(1, names.length)));
  const aliases: AliasTruth[] = [];
  // In slot order whatever the variant, so the AS sees the same sequence of registrations.
  for (const [slot, alias] of names.entries()) {
    const owner = ownerOf(slot);
    await owner.primary.registerAlias(alias, payloads);
    aliases.push({ alias, server: owner.serverName, owner: owner.userId });
  }

  const establish = async (plan: Plan, repeat: boolean): Promise<ConnectionTruth> => {
    const responder = plan.slot === undefined ? plan.responder : ownerOf(plan.slot);
    const target =
      plan.slot === undefined
        ? { userId: responder.userId }
        : { alias: names[plan.slot] as string, server: responder.serverName };
    const truth = await connect(plan.initiator, responder, target, repeat);
    await scenario.federation.clock.sleep(e.workload.connection_interval_s * 1000);
    return truth;
  };
  const connections: ConnectionTruth[] = [];
  for (const plan of plans) connections.push(await establish(plan, false));

  // The polling schedule: `rounds` rounds, the interval apart on the virtual clock. After
  // the first, once the responders have joined: the messages, then the churn.
  const messages: MessageTruth[] = [];
  for (let round = 0; round < e.workload.rounds; round++) {
    if (round > 0) await scenario.federation.clock.sleep(e.workload.poll_interval_s * 1000);
    await scenario.settle(1);
    if (round > 0) continue;
    if (e.workload.messages_per_connection > 0)
      messages.push(...(await sendMessages(e, scenario, connections)));
    // The connections established again: drawn without replacement among the established.
    const established = plans.filter((_, i) => 'groupId' in (connections[i]?.outcome ?? {}));
    for (let n = Math.round(e.workload.churn * established.length); n > 0; n--) {
      const plan = established.splice(below(rng, established.length), 1)[0];
      if (plan !== undefined) connections.push(await establish(plan, true));
    }
  }

  return {
    seed,
    views: adversaryViews(e, (s) => scenario.view(s)),
    flows: e.adversary.network ? flowsOf(servers, (s) => scenario.view(s)) : [],
    ownerships: owners.length,
    truth: {
      users: users.map((u) => ({ userId: u.userId, server: u.serverName })),
      aliases,
      connections,
      messages,
    },
  };
}

/** Each established connection carries its messages, initiator and responder in turn. */
async function sendMessages(
  e: Experiment,
  scenario: Awaited<ReturnType<typeof createScenario>>,
  connections: readonly ConnectionTruth[],
): Promise<MessageTruth[]> {
  const messages: MessageTruth[] = [];
  for (let m = 0; m < e.workload.messages_per_connection; m++) {
    for (const c of connections) {
      if (!('groupId' in c.outcome)) continue;
      const [sender, recipient] =
        m % 2 === 0 ? [c.initiator, c.responder] : [c.responder, c.initiator];
      const at = scenario.federation.clock.now();
      const base = { groupId: c.outcome.groupId, sender, recipient, at };
      try {
        await scenario.user(sender).primary.send(c.outcome.groupId, `message ${m}`);
        messages.push(base);
      } catch (error) {
        messages.push({ ...base, error: error instanceof Error ? error.message : String(error) });
      }
    }
    await scenario.federation.clock.sleep(e.workload.message_interval_s * 1000);
  }
  return messages;
}

/** The adversary's services' part of each server's view, provisioning left out. */
function adversaryViews(
  e: Experiment,
  viewOf: (server: string) => ServerView,
): Map<string, ServerView> {
  const views = new Map<string, ServerView>();
  for (const s of observedServers(e)) {
    const services = new Set(
      e.adversary.services.filter((x) => x.startsWith(`${s}/`)).map((x) => x.slice(s.length + 1)),
    );
    views.set(s, {
      server: s,
      events: viewOf(s).events.filter((ev) =>
        ev.kind === 'request'
          ? !isProvisioning(ev) && services.has(serviceOfPath(ev.path) ?? '')
          : services.has(serviceOfTable(ev.table) ?? ''),
      ),
    });
  }
  return views;
}

/** Every request a homeserver received from another (named by `x-fedconn-from`), as a flow. */
function flowsOf(servers: readonly string[], viewOf: (server: string) => ServerView): Flow[] {
  const flows: Flow[] = [];
  for (const to of servers) {
    for (const ev of viewOf(to).events) {
      if (ev.kind !== 'request' || isProvisioning(ev)) continue;
      const from = ev.headers['x-fedconn-from'];
      if (from === undefined || from === to || !servers.includes(from)) continue;
      const bytes = ev.body === null ? 0 : Buffer.byteLength(JSON.stringify(ev.body));
      flows.push({ kind: 'flow', seq: ev.seq, at: ev.at, from, to, bytes });
    }
  }
  return flows.sort((a, b) => a.seq - b.seq);
}

async function connect(
  initiator: PhoenixUserHandle,
  responder: PhoenixUserHandle,
  target: { readonly userId: string } | { readonly alias: string; readonly server: string },
  repeat: boolean,
): Promise<ConnectionTruth> {
  const base = {
    initiator: initiator.userId,
    responder: responder.userId,
    repeat,
    ...('alias' in target
      ? { by: 'alias' as const, target: target.alias }
      : { by: 'user_id' as const, target: target.userId }),
  };
  try {
    const groupId = await initiator.primary.connect(target);
    return { ...base, outcome: { groupId } };
  } catch (error) {
    return { ...base, outcome: { error: error instanceof Error ? error.message : String(error) } };
  }
}
