// `fedconn serve`: the reference homeservers as real HTTP servers on loopback.
// The handlers are the very ones the simulator hosts in-process; only the
// world around them changes: real time, real HTTP between servers, a static
// directory built from the ports the servers got.
import { serve as listen, type ServerType } from '@hono/node-server';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fork, seededRng } from '../protocol/crypto/rng.ts';
import { OffsetClock } from '../net/clock.ts';
import { withClockApi } from './clock-api.ts';
import { Observer, type Recording } from '../net/observer.ts';
import type { StoreLatency } from '../net/latent-store.ts';
import { compose, type Middleware } from '../net/transport.ts';
import { TestNetwork } from '../net/test-network.ts';
import { MATRIX_MUTANTS } from '../federation/mutants.ts';
import { resolvingDirectory, scopedDirectory } from '../federation/discovery.ts';
import { withTestNetworkApi } from './test-network-api.ts';
import { httpTransport, isLoopbackHost, withLoopbackHttps } from '../net/http.ts';
import { withKnownBody } from '../net/request-body.ts';
import { loopbackIdentity } from '../net/self-signed.ts';
import type { PhoenixProfile } from '../homeserver/context.ts';
import { createHomeserver, type Service } from '../homeserver/homeserver.ts';
import { referenceTrust } from '../homeserver/sim-federation.ts';
import { referenceRoles, type TargetConfig } from './target-config.ts';

/** One reference homeserver to serve: its name, and the Phoenix profile it runs. */
export interface ServedServer {
  readonly name: string;
  readonly profile: PhoenixProfile;
}

/** `names`, each in `profile`. */
export const inProfile = (names: readonly string[], profile: PhoenixProfile): ServedServer[] =>
  names.map((name) => ({ name, profile }));

export interface ServeOptions {
  /**
   * The servers, in config order. Servers of one profile form one trust topology (the
   * first two of each profile trust each other's identity service), as in the simulator.
   */
  readonly servers: readonly ServedServer[];
  readonly seed: string | number;
  readonly services: readonly Service[];
  readonly host?: string;
  /** First port; servers take consecutive ports. 0 lets the system choose. */
  readonly basePort?: number;
  readonly timeoutMs?: number;
  readonly mutants?: readonly string[];
  /**
   * Serve HTTPS (a certificate made at run time) under the names `localhost:PORT`, which
   * a real homeserver reaches without DNS: the reference as one member of a federation
   * with servers that are not fedconn's. `servers` then only counts them.
   */
  readonly tls?: boolean;
  /**
   * Servers that are not fedconn's, by server name, with the origin they listen on (a
   * server under test beside fedconn's own): reached there, whatever their name.
   */
  readonly others?: ReadonlyMap<string, string>;
  /**
   * Where the servers record what they see; by default the federation's own observer
   * (`ServedFederation.observer`), which then holds every view since the start.
   */
  readonly recording?: Recording;
  /** Latency of each store operation (net/latent-store.ts); none when absent. */
  readonly storeLatency?: StoreLatency;
}

export interface ServedFederation {
  readonly config: TargetConfig;
  readonly observer: Observer;
  close(): Promise<void>;
}

export async function serveFederation(options: ServeOptions): Promise<ServedFederation> {
  const host = options.host ?? '127.0.0.1';
  const root = seededRng(options.seed);
  // Real time, which fedconn may move on (capability `clock`): one clock for every server.
  const clock = new OffsetClock();
  const observer = new Observer(clock);
  const origins = new Map<string, string>();
  // Its own servers by the ports they got; any other server named with a port on this
  // machine's loopback (fedconn's peers, a homeserver under test: `localhost:8448`) at
  // https://<name>, as a homeserver resolves a name with an explicit port.
  const others = options.others ?? new Map<string, string>();
  const directory = {
    originOf: (name: string) =>
      Promise.resolve(origins.get(name) ?? others.get(name) ?? loopbackOrigin(name)),
  };
  // Names outside the served servers, the others and loopback resolve in each server's
  // test network.
  const isFixed = (name: string) =>
    origins.has(name) || others.has(name) || loopbackOrigin(name) !== undefined;
  const directOrigins = new Set<string>([...others.values()].map((o) => new URL(o).origin));
  const outside = (url: URL) => isLoopbackHost(url.hostname) || directOrigins.has(url.origin);

  const timeoutMs = options.timeoutMs ?? 10_000;
  const transport = withLoopbackHttps(httpTransport({ timeoutMs }), timeoutMs);
  // A fresh random token per run: provisioning must not be guessable on a shared machine.
  const provisioningToken = Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString(
    'base64url',
  );
  const profileOf = (i: number) => options.servers[i]?.profile ?? 'multi-device';
  // The names of the servers in server i's profile, in order.
  const sameProfile = (names: readonly string[], i: number) =>
    names.filter((_, j) => profileOf(j) === profileOf(i));
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
    // Listen first: with TLS a server's name holds its port, and every server must know
    // every name (its trust topology) before it is made.
    const identity = options.tls === true ? await loopbackIdentity() : undefined;
    const slots: { handler?: (request: Request) => Promise<Response> }[] = [];
    const names: string[] = [];
    for (const [i, { name: requested }] of options.servers.entries()) {
      const slot: (typeof slots)[number] = {};
      slots.push(slot);
      const fetch = (request: Request) =>
        slot.handler === undefined
          ? new Response('starting', { status: 503 })
          : bodyReadOnce(request).then(slot.handler);
      const port =
        options.basePort === undefined || options.basePort === 0 ? 0 : options.basePort + i;
      const address = await new Promise<AddressInfo>((resolve, reject) => {
        const server =
          identity === undefined
            ? listen({ fetch, port, hostname: host }, resolve)
            : listen(
                {
                  fetch,
                  port,
                  hostname: host,
                  createServer: createHttpsServer,
                  serverOptions: { key: identity.key, cert: identity.cert },
                },
                resolve,
              );
        server.once('error', reject);
        listening.push(server);
      });
      const name =
        identity !== undefined
          ? `localhost:${address.port}`
          : // A configuration mutant, as in the simulator: the last server under an upper-case name.
            i === options.servers.length - 1 &&
              options.mutants?.includes(MATRIX_MUTANTS.upperCaseServerName) === true
            ? requested.toUpperCase()
            : requested;
      names.push(name);
      origins.set(name, `${identity === undefined ? 'http' : 'https'}://${host}:${address.port}`);
      directOrigins.add(new URL(origins.get(name) ?? '').origin);
    }
    for (const [i, serverName] of names.entries()) {
      const profile = profileOf(i);
      const network = new TestNetwork(serverName, outside);
      const mutants = new Set(options.mutants ?? []);
      // Stamped as the sim stamps them, so a contact names the server that made it.
      const outbound = compose(transport, stamp(serverName), network.middleware);
      const homeserver = await createHomeserver({
        config: {
          serverName,
          profile,
          provisioningToken,
          trustedIdentityServers: referenceTrust(sameProfile(names, i), serverName),
          mutants,
        },
        clock,
        // Keyed by the requested name, so the same seed gives the same keys with or without TLS.
        rng: fork(root, `server ${options.servers[i]?.name ?? serverName}`),
        transport: outbound,
        observer: options.recording ?? observer,
        directory: scopedDirectory(
          resolvingDirectory({
            dns: network.dns,
            transport: outbound,
            clock,
            profile: 'matrix-current',
            mutants,
          }),
          directory,
          (name) => !isFixed(name),
        ),
        services: options.services,
        ...(options.storeLatency === undefined ? {} : { storeLatency: options.storeLatency }),
      });
      const slot = slots[i];
      if (slot !== undefined)
        slot.handler = withClockApi(
          clock,
          provisioningToken,
          withTestNetworkApi(network, provisioningToken, homeserver.fetch),
        );
    }
  } catch (error) {
    await close();
    throw error;
  }
  const names = [...origins.keys()];
  return {
    config: {
      version: 2,
      servers: names.map((server_name, i) => ({
        server_name,
        base_url: origins.get(server_name) ?? '',
        // Every role, and the reference trust topology (the first two of a profile trust each other).
        roles: referenceRoles(sameProfile(names, i), server_name, profileOf(i)),
        driver: { kind: 'fedconn', provisioning_token: provisioningToken },
        // The reference checks TLS client certificates (in matrix-2014, FED-AUTH-06), and
        // resolves other names in a test network fedconn provisions (FED-NAME), and lets
        // fedconn move its clock.
        capabilities: { client_certificates: true, test_network: 'matrix-current', clock: true },
      })),
    },
    observer,
    close,
  };
}

/**
 * The request with its body read from the connection once, up front: the observer, the
 * exchange log and the handler then all take these bytes (net/request-body.ts), where
 * each would otherwise make the adapter build a body stream and tee it.
 */
async function bodyReadOnce(request: Request): Promise<Request> {
  // Without a body (GET, HEAD: known empty by net/request-body.ts), or with a method the
  // Request constructor refuses (TRACE, CONNECT): on as the adapter made it.
  if (
    request.method === 'GET' ||
    request.method === 'HEAD' ||
    FORBIDDEN_METHODS.has(request.method)
  )
    return request;
  const bytes = new Uint8Array(await request.arrayBuffer());
  const copy = new Request(request.url, {
    method: request.method,
    headers: request.headers,
    body: bytes,
  });
  return withKnownBody(copy, bytes);
}

const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);

/** Marks requests as sent by `serverName`, as the simulator's servers mark theirs. */
const stamp =
  (serverName: string): Middleware =>
  (next) =>
  (request) => {
    const stamped = new Request(request);
    stamped.headers.set('x-fedconn-from', serverName);
    return next(stamped);
  };

/** https://<name> for a server name with an explicit port on loopback, else undefined. */
function loopbackOrigin(name: string): string | undefined {
  try {
    const url = new URL(`https://${name}`);
    return url.port !== '' && isLoopbackHost(url.hostname) ? url.origin : undefined;
  } catch {
    return undefined;
  }
}
