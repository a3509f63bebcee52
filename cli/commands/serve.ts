// `fedconn serve`: starts N reference homeservers as real HTTP servers on
// loopback, writes the target config file the http target reads, and shuts
// down cleanly on SIGINT or SIGTERM.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { serverName } from '../../simulator/scenario.ts';
import { ALL_SERVICES } from '../../simulator/services/index.ts';
import { inProfile, serveFederation } from '../../simulator/serve/serve.ts';
import type { PhoenixProfile } from '../../simulator/homeserver/context.ts';
import { toFile } from '../../simulator/serve/target-config.ts';
import { findMutant } from '../../suites/mutants.ts';
import { UsageError, type Io } from '../io.ts';

export interface ServeCommandOptions {
  readonly servers: string;
  readonly profile: string;
  readonly seed: string;
  readonly config: string;
  readonly host: string;
  readonly port: string;
  /** Serve a deliberately broken reference (any mutant of `fedconn mutants --list`). */
  readonly mutant?: string;
  /** HTTPS under the names localhost:PORT, for a federation with real homeservers. */
  readonly tls?: boolean;
  /** Latency of each store operation, in ms (races at the server, net/latent-store.ts). */
  readonly storeLatency?: string;
}

export async function serveCommand(
  options: ServeCommandOptions,
  io: Io,
  until: Promise<string> = signal(),
): Promise<number> {
  const count = Number(options.servers);
  if (!Number.isInteger(count) || count < 1 || count > 16) {
    throw new UsageError(`--servers: expected an integer from 1 to 16, got "${options.servers}"`);
  }
  const profiles: PhoenixProfile[] = [];
  for (const p of options.profile.split(',').map((name) => name.trim())) {
    if (p !== 'multi-device' && p !== 'aliases') {
      throw new UsageError(
        `--profile: expected multi-device, aliases or both (comma-separated), got "${p}"`,
      );
    }
    profiles.push(p);
  }
  if (new Set(profiles).size !== profiles.length) {
    throw new UsageError(`--profile: "${options.profile}" names a profile twice`);
  }
  const total = count * profiles.length;
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535 - total) {
    throw new UsageError(`--port: expected a port number, got "${options.port}"`);
  }
  const mutant = options.mutant === undefined ? undefined : findMutant(options.mutant);
  if (options.mutant !== undefined && mutant === undefined) {
    throw new UsageError(
      `--mutant: unknown mutant "${options.mutant}"; see \`fedconn mutants --list\``,
    );
  }
  const latency = Number(options.storeLatency ?? '0');
  if (!Number.isInteger(latency) || latency < 0 || latency > 10_000) {
    throw new UsageError(
      `--store-latency: expected whole milliseconds from 0 to 10000, got "${options.storeLatency}"`,
    );
  }
  const served = await serveFederation({
    ...(latency > 0 ? { storeLatency: { ms: latency } } : {}),
    ...(mutant === undefined ? {} : { mutants: [mutant.name] }),
    // Profile after profile, each its own run of names: hs1..hsN, then hsN+1..hs2N.
    servers: profiles.flatMap((profile, k) =>
      inProfile(
        Array.from({ length: count }, (_, i) => serverName(k * count + i)),
        profile,
      ),
    ),
    seed: options.seed,
    services: ALL_SERVICES,
    host: options.host,
    basePort: port,
    ...(options.tls === true ? { tls: true } : {}),
  });
  try {
    mkdirSync(dirname(options.config), { recursive: true });
    writeFileSync(options.config, `${JSON.stringify(toFile(served.config), null, 2)}\n`);
  } catch (error) {
    await served.close();
    throw new UsageError(`--config: cannot write ${options.config}: ${(error as Error).message}`);
  }
  for (const s of served.config.servers) io.out(`${s.server_name.padEnd(16)} ${s.base_url}\n`);
  io.out(
    `fedconn serve: ${total} reference homeservers (${profiles.map((p) => `${count} ${p}`).join(', ')})${options.tls === true ? ', HTTPS' : ''}${mutant === undefined ? '' : `, mutant ${mutant.name}`}${latency > 0 ? `, store latency ${latency} ms` : ''}; target config written to ${options.config}\n`,
  );
  io.out('ready; stop with Ctrl-C (SIGINT) or SIGTERM\n');
  const why = await until;
  await served.close();
  io.out(`stopped (${why})\n`);
  return 0;
}

function signal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (name: string) => () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(name);
    };
    const onInt = stop('SIGINT');
    const onTerm = stop('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
  });
}
