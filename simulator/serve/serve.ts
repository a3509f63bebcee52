// `fedconn serve`: the reference homeservers as real HTTP servers on loopback.
// The handlers are the very ones the simulator hosts in-process; only the
// world around them changes: real time, real HTTP between servers, a static
// directory built from the ports the servers got.
import { serve as listen, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { fork, seededRng } from '../protocol/crypto/rng.ts';
import { systemClock } from '../net/clock.ts';
import { Observer } from '../net/observer.ts';
import { httpTransport } from '../net/transport.ts';
import { isLoopbackHost, withLoopbackHttps } from '../net/bound-http.ts';
import type { PhoenixProfile } from '../homeserver/context.ts';
import { createHomeserver, type Service } from '../homeserver/homeserver.ts';
import { referenceTrust } from '../homeserver/sim-federation.ts';
import { referenceRoles, type TargetConfig } from './target-config.ts';

export interface ServeOptions {
  readonly servers: readonly string[];
  readonly profile: PhoenixProfile;
  readonly seed: string | number;
  readonly services: readonly Service[];
  readonly host?: string;
  /** First port; servers take consecutive ports. 0 lets the system choose. */
  readonly basePort?: number;
  readonly timeoutMs?: number;
  readonly mutants?: readonly string[];
}

export interface ServedFederation {
  readonly config: TargetConfig;
  readonly observer: Observer;
  close(): Promise<void>;
}

export async function serveFederation(options: ServeOptions): Promise<ServedFederation> {
  const host = options.host ?? '127.0.0.1';
  const root = seededRng(options.seed);
  const observer = new Observer(systemClock);
  const origins = new Map<string, string>();
  // Its own servers by the ports they got; any other server named with a port on this
  // machine's loopback (fedconn's peers, a homeserver under test: `localhost:8448`) at
  // https://<name>, as a homeserver resolves a name with an explicit port.
  const directory = {
    originOf: (name: string) => Promise.resolve(origins.get(name) ?? loopbackOrigin(name)),
  };
  const timeoutMs = options.timeoutMs ?? 10_000;
  const transport = withLoopbackHttps(httpTransport({ timeoutMs }), timeoutMs);
  // A fresh random token per run: provisioning must not be guessable on a shared machine.
  const provisioningToken = Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString(
    'base64url',
  );
  const listening: ServerType[] = [];
  const close = () =>
    Promise.all(
      listening.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => {
              resolve();
            });
            if ('closeAllConnections' in server) server.closeAllConnections();
          }),
      ),
    ).then(() => undefined);
  try {
    for (const [i, serverName] of options.servers.entries()) {
      const homeserver = await createHomeserver({
        config: {
          serverName,
          profile: options.profile,
          provisioningToken,
          trustedIdentityServers: referenceTrust(options.servers, serverName),
          mutants: new Set(options.mutants ?? []),
        },
        clock: systemClock,
        rng: fork(root, `server ${serverName}`),
        transport,
        observer,
        directory,
        services: options.services,
      });
      const port =
        options.basePort === undefined || options.basePort === 0 ? 0 : options.basePort + i;
      const address = await new Promise<AddressInfo>((resolve, reject) => {
        const server = listen({ fetch: homeserver.fetch, port, hostname: host }, resolve);
        server.once('error', reject);
        listening.push(server);
      });
      origins.set(serverName, `http://${host}:${address.port}`);
    }
  } catch (error) {
    await close();
    throw error;
  }
  return {
    config: {
      version: 2,
      servers: options.servers.map((server_name) => ({
        server_name,
        base_url: origins.get(server_name) ?? '',
        // Every role, and the reference trust topology (the first two trust each other).
        roles: referenceRoles(options.servers, server_name, options.profile),
        driver: { kind: 'fedconn', provisioning_token: provisioningToken },
        // The reference checks TLS client certificates (in matrix-2014, FED-AUTH-06).
        capabilities: { client_certificates: true },
      })),
    },
    observer,
    close,
  };
}

/** https://<name> for a server name with an explicit port on loopback, else undefined. */
function loopbackOrigin(name: string): string | undefined {
  try {
    const url = new URL(`https://${name}`);
    return url.port !== '' && isLoopbackHost(url.hostname) ? url.origin : undefined;
  } catch {
    return undefined;
  }
}
