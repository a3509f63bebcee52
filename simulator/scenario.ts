// The scenario API for tests and researchers: a federation of H homeservers
// with U users of D devices each, built from a seed; connect users; run every
// client until nothing changes; read any server's view.
import { fork, seededRng, type Rng } from './protocol/crypto/rng.ts';
import type { Middleware } from './net/transport.ts';
import { httpTransport } from './net/http.ts';
import { systemClock } from './net/clock.ts';
import { phoenixProfilesOf, type TargetConfig } from './serve/target-config.ts';
import type { ServerView } from './net/observer.ts';
import type { PhoenixProfile } from './homeserver/context.ts';
import type { Service } from './homeserver/homeserver.ts';
import {
  createSimFederation,
  PROVISIONING_TOKEN,
  type SimFederation,
} from './homeserver/sim-federation.ts';
import { ALL_SERVICES } from './services/index.ts';
import type { ClientEnv } from './clients/phoenix/env.ts';
import { PhoenixUser } from './clients/phoenix/user.ts';
import type { PhoenixDevice, PhoenixUserHandle } from './clients/phoenix/handle.ts';

export interface ScenarioOptions {
  readonly seed: string | number;
  readonly homeservers: number;
  readonly usersPerServer: number;
  readonly devicesPerUser: number;
  readonly profile: PhoenixProfile;
  readonly packagesPerClient?: number;
  readonly faults?: readonly Middleware[];
  readonly services?: readonly Service[];
  readonly mutants?: readonly string[];
  /**
   * The servers whose views are recorded, for populations too large to record everything
   * (bench/scale-child.ts); all of them when undefined, as conformance checks need.
   */
  readonly observe?: readonly string[];
}

/** Users on a set of servers, and the loop that runs their clients. */
export interface Population {
  readonly users: readonly PhoenixUserHandle[];
  user(userId: string): PhoenixUserHandle;
  /** Processes every client's queues until a full round changes nothing (or `maxRounds`). */
  settle(maxRounds?: number): Promise<number>;
}

export interface Scenario extends Population {
  readonly federation: SimFederation;
  readonly env: ClientEnv;
  view(serverName: string): ServerView;
}

export const serverName = (i: number) => `hs${i + 1}.example`;

export interface PopulationOptions {
  readonly servers: readonly string[];
  readonly usersPerServer: number;
  readonly devicesPerUser: number;
  readonly profile: PhoenixProfile;
  readonly packagesPerClient?: number;
  /** Local part prefix of the user ids (default "user"): @<prefix><i>:<server>. */
  readonly userPrefix?: string;
  /**
   * The prefix that keeps names apart on servers shared between runs (a real target's
   * namespace): orders drawn from alias names ignore it, so two worlds that differ only
   * in it poll in the same order.
   */
  readonly namespace?: string;
}

/** Registers `@user<i>:<server>` users with their devices on every server. */
export async function populate(env: ClientEnv, options: PopulationOptions): Promise<Population> {
  const users: PhoenixUserHandle[] = [];
  // The reference client in this process, unless the env names a client under test.
  const createUser = env.createUser ?? ((e, o) => PhoenixUser.create(e, o));
  for (const server of options.servers) {
    for (let u = 0; u < options.usersPerServer; u++) {
      users.push(
        await createUser(env, {
          userId: `@${options.userPrefix ?? 'user'}${u + 1}:${server}`,
          devices: options.devicesPerUser,
          profile: options.profile,
          ...(options.packagesPerClient === undefined
            ? {}
            : { packagesPerClient: options.packagesPerClient }),
        }),
      );
    }
  }
  const byId = new Map(users.map((u) => [u.userId, u]));
  const fingerprint = () =>
    users
      .flatMap((u) => u.clients.map((c) => `${c.events.length}:${[...c.groups.keys()].join(',')}`))
      .join('|');
  return {
    users,
    user(userId) {
      const user = byId.get(userId);
      if (user === undefined) throw new Error(`no user ${userId} in this scenario`);
      return user;
    },
    async settle(maxRounds = 10) {
      for (let round = 1; round <= maxRounds; round++) {
        const before = fingerprint();
        for (const user of users) for (const client of user.clients) await client.processQueues();
        const polls = aliasPolls(users, fork(env.rng, `alias polls ${round}`), options.namespace);
        for (const { client, alias } of polls) await client.pollAliasQueue(alias);
        if (fingerprint() === before) return round;
      }
      return maxRounds;
    },
  };
}

/**
 * Every alias of every client, in an order drawn afresh each round from the alias
 * names alone: apart from the owners' own polls and independent of who owns which
 * alias, so the order of polls links no alias to a user (ALIAS-UNLINK-01).
 */
function aliasPolls(
  users: readonly PhoenixUserHandle[],
  rng: Rng,
  namespace = '',
): { readonly client: PhoenixDevice; readonly alias: string }[] {
  const polls = users.flatMap((u) =>
    u.clients.flatMap((client) =>
      client.aliases.map((alias) => ({
        client,
        alias,
        rank: Buffer.from(
          fork(rng, alias.startsWith(namespace) ? alias.slice(namespace.length) : alias).bytes(8),
        ).toString('hex'),
      })),
    ),
  );
  return polls.sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0));
}

export async function createScenario(options: ScenarioOptions): Promise<Scenario> {
  const servers = Array.from({ length: options.homeservers }, (_, i) => ({
    serverName: serverName(i),
    mutants: options.mutants ?? [],
  }));
  const federation = await createSimFederation({
    seed: options.seed,
    servers,
    profile: options.profile,
    services: options.services ?? ALL_SERVICES,
    ...(options.faults === undefined ? {} : { faults: options.faults }),
    ...(options.observe === undefined ? {} : { observe: options.observe }),
  });
  const env: ClientEnv = {
    transport: federation.transport,
    clock: federation.clock,
    rng: fork(seededRng(options.seed), 'clients'),
    originOf: federation.originOf,
    provisioningTokenOf: () => PROVISIONING_TOKEN,
    // The same names break the reference client too, where they are the client's.
    mutants: new Set(options.mutants ?? []),
  };
  const population = await populate(env, {
    servers: servers.map((s) => s.serverName),
    usersPerServer: options.usersPerServer,
    devicesPerUser: options.devicesPerUser,
    profile: options.profile,
    ...(options.packagesPerClient === undefined
      ? {}
      : { packagesPerClient: options.packagesPerClient }),
  });
  return { ...population, federation, env, view: (name) => federation.observer.view(name) };
}

/** The same population against real servers named in a target config file. */
export async function createTargetScenario(
  config: TargetConfig,
  options: Omit<PopulationOptions, 'servers' | 'profile'> & {
    readonly seed: string | number;
    readonly timeoutMs?: number;
  },
): Promise<Population & { readonly env: ClientEnv }> {
  const byName = new Map(config.servers.map((s) => [s.server_name, s]));
  const lookup = (name: string) => {
    const server = byName.get(name);
    if (server === undefined) throw new Error(`the target config names no server ${name}`);
    return server;
  };
  const env: ClientEnv = {
    transport: httpTransport({ timeoutMs: options.timeoutMs ?? 10_000 }),
    clock: systemClock,
    rng: fork(seededRng(options.seed), 'clients'),
    originOf: (name) => lookup(name).base_url.replace(/\/$/, ''),
    provisioningTokenOf: (name) => {
      const driver = lookup(name).driver;
      if (driver.kind !== 'fedconn')
        throw new Error(`${name}: the ${driver.kind} driver has no provisioning token`);
      return driver.provisioning_token;
    },
  };
  const [profile] = phoenixProfilesOf(config);
  if (profile === undefined)
    throw new Error('the target config declares no Phoenix server (roles.phoenix)');
  const population = await populate(env, {
    ...options,
    servers: [...byName.keys()],
    profile,
  });
  return { ...population, env };
}
