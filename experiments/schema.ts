// An experiment file (`fedconn experiment FILE`, JSON or YAML): a population, a workload,
// the seeds, the adversary and its attacks, and optionally a sweep over one or two
// parameters. Validated with errors that name the field (docs/experiments.md).
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { serverName } from '../simulator/scenario.ts';
import { ATTACK_NAMES } from './attacks/index.ts';

const count = (min: number, max: number) => z.number().int().min(min).max(max);

export const population = z.strictObject({
  homeservers: count(1, 64).default(2),
  users_per_server: count(1, 100_000).default(3),
  devices_per_user: count(1, 16).default(1),
  aliases_per_user: count(0, 64).default(1),
  profile: z.enum(['multi-device', 'aliases']).default('aliases'),
});

export const workload = z.strictObject({
  /** Connections established between random pairs of users on different servers. */
  connections: count(0, 1_000_000).default(2),
  /** How the initiator finds the responder. */
  by: z.enum(['alias', 'user_id']).default('alias'),
  /** Whether the two users of a connection are on different homeservers (where there are several) or any two. */
  pairs: z.enum(['other-server', 'any']).default('other-server'),
  /** Connections between chosen users (`@user<i>:hs<k>.example`), established before the random ones. */
  chosen: z
    .array(z.strictObject({ initiator: z.string(), responder: z.string() }))
    .max(10_000)
    .default([]),
  /**
   * The share of established connections established again between the same users (the
   * same target looked up) after the first round: connections come and go.
   */
  churn: z.number().min(0).max(1).default(0),
  /** Application messages over each established connection, initiator and responder in turn. */
  messages_per_connection: count(0, 1_000).default(0),
  /** Rounds of polling: every device processes its queues, then every alias queue is polled. */
  rounds: count(1, 100).default(2),
  /** Virtual seconds between two connections, and between two rounds of polling. */
  connection_interval_s: z.number().min(0).max(86_400).default(10),
  poll_interval_s: z.number().min(0).max(86_400).default(60),
  message_interval_s: z.number().min(0).max(86_400).default(5),
});

export const adversary = z.strictObject({
  /** The colluding services, as `server/SERVICE` (SERVICE: AS, QS, DS), e.g. hs1.example/AS. */
  services: z
    .array(
      z.string().regex(/^[a-z0-9.-]+\/(AS|QS|DS)$/, 'must be server/AS, server/QS or server/DS'),
    )
    .default(['hs1.example/AS']),
  /**
   * A network observer between the homeservers: it sees each request one homeserver
   * sends another (sender, receiver, time, size), not what it says (TLS).
   */
  network: z.boolean().default(false),
  /**
   * How many alias ownerships the ideal attacker (`ideal-view`) compares: the world as
   * run and that many minus one twins, each with the aliases' owners permuted.
   */
  ideal_worlds: count(2, 16).default(4),
});

export const experiment = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
  description: z.string().optional(),
  /** Seeds 1..seeds, or the list given. */
  seeds: z.union([count(1, 10_000), z.array(z.number().int()).min(1)]).default(10),
  population: population.default(population.parse({})),
  workload: workload.default(workload.parse({})),
  /** Mutants of the reference (client or servers) the worlds run with. */
  mutants: z.array(z.string()).default([]),
  adversary: adversary.default(adversary.parse({})),
  /**
   * Built-in attacks by name, or a researcher's own: a TypeScript or JavaScript module,
   * its path relative to the experiment file, exporting `attack` (experiments/attacks/index.ts).
   */
  attacks: z
    .array(
      z.union([
        z.enum(ATTACK_NAMES),
        z
          .string()
          .regex(
            /\.(ts|mts|js|mjs)$/,
            `one of ${ATTACK_NAMES.join(', ')}, or the path of a module (.ts, .js)`,
          ),
      ]),
    )
    .min(1)
    .default(['alias-owner-by-order']),
  /**
   * Parameters swept, one or two, each a dotted path to a field above and the values it
   * takes: `{"population.users_per_server": [2, 4, 8]}`, `{"mutants": [[], ["..."]]}`.
   */
  sweep: z.record(z.string(), z.array(z.unknown()).min(1)).default({}),
});

export type Experiment = z.infer<typeof experiment>;

/** A field of the experiment a sweep may set. */
const SWEEPABLE = [
  'seeds',
  'mutants',
  'attacks',
  ...Object.keys(population.shape).map((k) => `population.${k}`),
  ...Object.keys(workload.shape).map((k) => `workload.${k}`),
  ...Object.keys(adversary.shape).map((k) => `adversary.${k}`),
];

export class ExperimentFileError extends Error {}

const describeIssue = (file: string, issue: z.core.$ZodIssue | undefined) =>
  new ExperimentFileError(
    `${file}: ${issue === undefined ? 'invalid' : `${issue.path.length === 0 ? 'the file' : issue.path.join('.')}: ${issue.message}`}`,
  );

/** Parses and validates; every error names the file and the field. */
export function parseExperiment(file: string, text: string): Experiment {
  let value: unknown;
  try {
    value = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new ExperimentFileError(`${file}: cannot parse it: ${(error as Error).message}`);
  }
  const parsed = experiment.safeParse(value);
  if (!parsed.success) throw describeIssue(file, parsed.error.issues[0]);
  const keys = Object.keys(parsed.data.sweep);
  if (keys.length > 2)
    throw new ExperimentFileError(`${file}: sweep: at most two parameters, got ${keys.length}`);
  for (const key of keys) {
    if (!SWEEPABLE.includes(key))
      throw new ExperimentFileError(
        `${file}: sweep.${key}: not a parameter; one of ${SWEEPABLE.join(', ')}`,
      );
    // Every point of the sweep must itself be a valid experiment.
    for (const v of parsed.data.sweep[key] ?? []) {
      const point = experiment.safeParse(withParameter(parsed.data, key, v));
      if (!point.success)
        throw describeIssue(file, {
          ...point.error.issues[0],
          path: ['sweep', key, String(v)],
        } as z.core.$ZodIssue);
    }
  }
  // Every point's adversary must sit on servers its population has, checked before any
  // world runs rather than in the middle of the run.
  for (const point of sweepPoints(parsed.data)) {
    const { adversary } = point.experiment;
    if (adversary.services.length === 0 && !adversary.network)
      throw new ExperimentFileError(
        `${file}: adversary: sees nothing; name services, or set network: true${Object.keys(point.parameters).length === 0 ? '' : ` at ${JSON.stringify(point.parameters)}`}`,
      );
    const { homeservers, users_per_server } = point.experiment.population;
    const at =
      Object.keys(point.parameters).length === 0 ? '' : ` at ${JSON.stringify(point.parameters)}`;
    const userIds = new Set(
      Array.from({ length: homeservers }, (_, k) =>
        Array.from({ length: users_per_server }, (_, i) => `@user${i + 1}:${serverName(k)}`),
      ).flat(),
    );
    const { workload: w, attacks } = point.experiment;
    if (w.by === 'alias' && point.experiment.population.aliases_per_user === 0)
      throw new ExperimentFileError(
        `${file}: workload.by: alias, but population.aliases_per_user is 0: give users aliases, or connect by user_id${at}`,
      );
    if (w.rounds < 2 && (w.churn > 0 || w.messages_per_connection > 0))
      throw new ExperimentFileError(
        `${file}: workload.rounds: messages and churn come after the first round and are delivered in the next: set rounds to 2 or more${at}`,
      );
    if (
      attacks.includes('ideal-view') &&
      (users_per_server < 2 || point.experiment.population.aliases_per_user === 0)
    )
      throw new ExperimentFileError(
        `${file}: attacks: ideal-view compares alias ownerships, and there are none to compare: it needs two users or more per homeserver, with aliases${at}`,
      );
    for (const [i, pair] of point.experiment.workload.chosen.entries()) {
      for (const end of ['initiator', 'responder'] as const)
        if (!userIds.has(pair[end]))
          throw new ExperimentFileError(
            `${file}: workload.chosen.${i}.${end}: ${pair[end]} is not a user of the population (@user1:hs1.example to @user${users_per_server}:hs${homeservers}.example)${at}`,
          );
      if (pair.initiator === pair.responder)
        throw new ExperimentFileError(
          `${file}: workload.chosen.${i}: a user does not connect to itself`,
        );
    }
    for (const service of point.experiment.adversary.services) {
      const server = service.slice(0, service.indexOf('/'));
      if (!Array.from({ length: homeservers }, (_, i) => serverName(i)).includes(server))
        throw new ExperimentFileError(
          `${file}: adversary.services: ${server} is not among the ${homeservers} homeservers (hs1.example to hs${homeservers}.example)${Object.keys(point.parameters).length === 0 ? '' : ` at ${JSON.stringify(point.parameters)}`}`,
        );
    }
  }
  return parsed.data;
}

export function readExperiment(file: string): Experiment {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ExperimentFileError(`${file}: cannot read it (${(error as Error).message})`);
  }
  return parseExperiment(file, text);
}

/** The experiment with the field at a dotted path set to `value`. */
export function withParameter(e: Experiment, path: string, value: unknown): Experiment {
  const [head, tail] = path.split('.', 2);
  if (head === undefined) return e;
  if (tail === undefined) return { ...e, [head]: value };
  return {
    ...e,
    [head]: { ...(e[head as keyof Experiment] as Record<string, unknown>), [tail]: value },
  };
}

/** Every point of the sweep (the experiment alone without one), with its parameter values. */
export function sweepPoints(
  e: Experiment,
): { readonly parameters: Readonly<Record<string, unknown>>; readonly experiment: Experiment }[] {
  let points = [{ parameters: {} as Record<string, unknown>, experiment: e }];
  for (const [key, values] of Object.entries(e.sweep)) {
    points = points.flatMap((p) =>
      values.map((v) => ({
        parameters: { ...p.parameters, [key]: v },
        experiment: withParameter(p.experiment, key, v),
      })),
    );
  }
  return points;
}

export const seedsOf = (e: Experiment): readonly number[] =>
  typeof e.seeds === 'number' ? Array.from({ length: e.seeds }, (_, i) => i + 1) : e.seeds;
