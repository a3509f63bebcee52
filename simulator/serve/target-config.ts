// The target configuration file: the servers under test, by server_name, with
// their base URL, the roles each implements and the driver fedconn sets up test
// state with. `fedconn serve` and `scripts/real-servers.sh` write it; the http
// and container targets read it. Errors name the field and what was wrong.
//
// Version 2 (current) declares roles and a driver per server. Version 1 (what
// `fedconn serve` wrote before) still loads: it always described the reference,
// so it means every role, the fedconn driver and the reference's trust topology.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { MatrixProfile, PhoenixProfile } from '../homeserver/context.ts';
import { referenceTrust } from '../homeserver/sim-federation.ts';
import { err, ok, type Result } from '../protocol/result.ts';

const name = z.string().min(1, 'must not be empty');
const argv = z.array(z.string()).min(1, 'must name a program: ["program", "arg", ...]');

const capabilitiesSchema = z.strictObject({
  /** matrix-2014 FED-AUTH-06: a presented TLS client certificate is checked. */
  client_certificates: z.boolean({ error: 'must be true or false' }).optional(),
  /**
   * FED-NAME: the server resolves other servers' names in a test network fedconn
   * provisions (docs/drivers.md), by the discovery algorithm of this Matrix profile.
   */
  test_network: z
    .enum(['matrix-2014', 'matrix-current'], { error: 'must be "matrix-2014" or "matrix-current"' })
    .optional(),
  /** Lifetimes and expiry: fedconn may move the server's clock (docs/drivers.md). */
  clock: z.boolean({ error: 'must be true or false' }).optional(),
});

const rolesSchema = z
  .strictObject({
    phoenix: z
      .strictObject({
        profile: z.enum(['multi-device', 'aliases'], {
          error: 'must be "multi-device" or "aliases"',
        }),
      })
      .optional(),
    federation: z
      .strictObject({
        profiles: z
          .array(
            z.enum(['matrix-2014', 'matrix-current'], {
              error: 'must be "matrix-2014" or "matrix-current"',
            }),
          )
          .min(1, 'must name at least one Matrix profile'),
        room_versions: z.array(z.string()).optional(),
      })
      .optional(),
    identity: z
      .strictObject({
        /** The MSC4004 additions: alternative peppers, third_party_mappings, hash pushes. */
        msc4004: z.boolean({ error: 'must be true or false' }),
        /** Other servers of this config whose hash pushes this one accepts. */
        trusts: z.array(name).optional(),
        /**
         * Source addresses this server trusts pushes from (an address allowlist): fedconn
         * then plays a trusted peer by sending from one of them.
         */
        trusted_addresses: z.array(z.ipv4({ error: 'must be an IPv4 address' })).optional(),
      })
      .optional(),
  })
  .refine(
    (r) => r.phoenix !== undefined || r.federation !== undefined || r.identity !== undefined,
    {
      error: 'must declare at least one of phoenix, federation, identity',
    },
  );

const driverSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('fedconn'), provisioning_token: name }),
    z.strictObject({
      kind: z.literal('sydent'),
      internal_url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
      database: name,
      /** A command that rotates the pepper (sydent reads it only at start). */
      rotate_pepper: argv.optional(),
    }),
    z.strictObject({ kind: z.literal('tom'), database: name }),
    z.strictObject({
      kind: z.literal('matrix-cs'),
      /** Synapse's registration_shared_secret; without it users register by m.login.dummy. */
      registration_shared_secret: z.string().min(1).optional(),
    }),
    z.strictObject({
      kind: z.literal('command'),
      command: argv,
      cwd: z.string().optional(),
      env: z.record(z.string(), z.string()).optional(),
      /** Per-request deadline of the driver, in ms (default 30000). */
      timeout_ms: z.number().int().min(100).optional(),
    }),
  ],
  { error: 'kind must be one of fedconn, sydent, tom, matrix-cs, command' },
);

const v2Schema = z.strictObject({
  fedconn: z.literal(2),
  servers: z
    .array(
      z.strictObject({
        server_name: name,
        base_url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
        roles: rolesSchema,
        driver: driverSchema,
        capabilities: capabilitiesSchema.optional(),
      }),
    )
    .min(1, 'must list at least one server'),
});

const v1Schema = z.strictObject({
  fedconn: z.literal(1),
  profile: z.enum(['multi-device', 'aliases']),
  servers: z
    .array(
      z.strictObject({
        server_name: name,
        base_url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
        provisioning_token: name,
      }),
    )
    .min(1, 'must list at least one server'),
  capabilities: capabilitiesSchema.optional(),
});

export type DriverConfig = z.output<typeof driverSchema>;
export type DriverKind = DriverConfig['kind'];

export interface ServerRoles {
  readonly phoenix?: { readonly profile: PhoenixProfile };
  readonly federation?: {
    readonly profiles: readonly MatrixProfile[];
    readonly room_versions?: readonly string[] | undefined;
  };
  readonly identity?: {
    readonly msc4004: boolean;
    readonly trusts: readonly string[];
    readonly trusted_addresses: readonly string[];
  };
}

export interface ServerConfig {
  readonly server_name: string;
  readonly base_url: string;
  readonly roles: ServerRoles;
  readonly driver: DriverConfig;
  readonly capabilities: {
    readonly client_certificates?: boolean | undefined;
    readonly test_network?: MatrixProfile | undefined;
    readonly clock?: boolean | undefined;
  };
}

/** Every config, whatever its version, in the shape of version 2. */
export interface TargetConfig {
  /** The version the file was written in. */
  readonly version: 1 | 2;
  readonly servers: readonly ServerConfig[];
}

export class ConfigError extends Error {}

/** The roles the reference implements: everything, with its trust topology. */
export function referenceRoles(
  names: readonly string[],
  serverName: string,
  profile: PhoenixProfile,
): ServerRoles {
  return {
    phoenix: { profile },
    federation: { profiles: ['matrix-2014', 'matrix-current'] },
    identity: { msc4004: true, trusts: referenceTrust(names, serverName), trusted_addresses: [] },
  };
}

function fromV1(v1: z.output<typeof v1Schema>): TargetConfig {
  const names = v1.servers.map((s) => s.server_name);
  return {
    version: 1,
    servers: v1.servers.map((s) => ({
      server_name: s.server_name,
      base_url: s.base_url,
      roles: referenceRoles(names, s.server_name, v1.profile),
      driver: { kind: 'fedconn', provisioning_token: s.provisioning_token },
      capabilities: v1.capabilities ?? {},
    })),
  };
}

function firstIssue(error: z.ZodError, source: string): ConfigError {
  const issue = error.issues[0];
  const field = issue === undefined || issue.path.length === 0 ? '(root)' : issue.path.join('.');
  return new ConfigError(`${source}: ${field}: ${issue?.message ?? 'invalid'}`);
}

export function parseTargetConfig(
  text: string,
  source = 'config',
): Result<TargetConfig, ConfigError> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return err(new ConfigError(`${source}: not JSON: ${(error as Error).message}`));
  }
  const version =
    typeof value === 'object' && value !== null
      ? (value as { fedconn?: unknown }).fedconn
      : undefined;
  let config: TargetConfig;
  if (version === 1) {
    const parsed = v1Schema.safeParse(value);
    if (!parsed.success) return err(firstIssue(parsed.error, source));
    config = fromV1(parsed.data);
  } else if (version === 2) {
    const parsed = v2Schema.safeParse(value);
    if (!parsed.success) return err(firstIssue(parsed.error, source));
    config = {
      version: 2,
      servers: parsed.data.servers.map((s) => ({
        server_name: s.server_name,
        base_url: s.base_url,
        roles: {
          ...(s.roles.phoenix === undefined ? {} : { phoenix: s.roles.phoenix }),
          ...(s.roles.federation === undefined ? {} : { federation: s.roles.federation }),
          ...(s.roles.identity === undefined
            ? {}
            : {
                identity: {
                  msc4004: s.roles.identity.msc4004,
                  trusts: s.roles.identity.trusts ?? [],
                  trusted_addresses: s.roles.identity.trusted_addresses ?? [],
                },
              }),
        },
        driver: s.driver,
        capabilities: s.capabilities ?? {},
      })),
    };
  } else {
    return err(
      new ConfigError(
        `${source}: fedconn: must be 2 (the config format version; version 1 files still load), got ${JSON.stringify(version)}`,
      ),
    );
  }
  const names = config.servers.map((s) => s.server_name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate !== undefined)
    return err(new ConfigError(`${source}: servers: server_name ${duplicate} appears twice`));
  for (const [i, s] of config.servers.entries()) {
    const unknown = s.roles.identity?.trusts.find((t) => !names.includes(t) || t === s.server_name);
    if (unknown !== undefined)
      return err(
        new ConfigError(
          `${source}: servers.${i}.roles.identity.trusts: "${unknown}" is not another server of this config`,
        ),
      );
  }
  return ok(config);
}

export function readTargetConfig(path: string): Result<TargetConfig, ConfigError> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return err(new ConfigError(`${path}: cannot read: ${(error as Error).message}`));
  }
  return parseTargetConfig(text, path);
}

/** The config as a version 2 file (what `fedconn serve` writes). */
export function toFile(config: TargetConfig): unknown {
  return {
    fedconn: 2,
    servers: config.servers.map((s) => ({
      server_name: s.server_name,
      base_url: s.base_url,
      roles: s.roles,
      driver: s.driver,
      ...(Object.keys(s.capabilities).length === 0 ? {} : { capabilities: s.capabilities }),
    })),
  };
}

/** The Phoenix profiles the config's servers run, in order of first appearance. */
export function phoenixProfilesOf(config: TargetConfig): PhoenixProfile[] {
  const found: PhoenixProfile[] = [];
  for (const s of config.servers) {
    const p = s.roles.phoenix?.profile;
    if (p !== undefined && !found.includes(p)) found.push(p);
  }
  return found;
}
