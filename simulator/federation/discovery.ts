// Directories: how a homeserver turns a server_name into where to send requests.
//
// `resolvingDirectory` runs the real resolution algorithm of the server's profile
// (simulator/protocol/server-name `resolve`): for today's profile, a name without a
// port first fetches https://<hostname>/.well-known/matrix/server through the
// transport (cached by its Cache-Control, errors for at most an hour), then SRV
// `_matrix-fed._tcp` / `_matrix._tcp` and address records from the DNS; for 2014, A
// records with the port or the `_matrix._tcp` SRV record. The outcome is an origin
// `https://<ip>:<port>` plus the Host header to send.
//
// The FED-NAME mutants of the reference (grammar, order, caching, Host and TLS server
// name) live here, applied per resolving server. `scopedDirectory` lets a federation
// resolve some names statically (its own servers) and the rest by the algorithm.
//
// Modelling note: the .well-known fetch is addressed to `https://<hostname>` on the
// network directly, standing in for "resolve <hostname>, connect on 443"; the
// simulator registers every homeserver under its server_name for this purpose.
import type { Directory, MatrixProfile } from '../homeserver/context.ts';
import { MATRIX_MUTANTS } from './mutants.ts';
import type { Clock } from '../net/clock.ts';
import { authority, type DnsResolver } from '../net/dns.ts';
import type { Transport } from '../net/transport.ts';
import { fail, ok, type Failure, type Result } from '../protocol/result.ts';
import {
  interpretWellKnown,
  parseServerName,
  resolve,
  wellKnownCacheTtl,
  type DiscoveryView,
  type ResolvedEndpoint,
  type ResolveFailureKind,
  type ServerName,
  type ServerNameFailure,
  type WellKnownFetch,
} from '../protocol/server-name/index.ts';

/** Where to send a request for a server, and how. */
export interface Endpoint {
  /** Base URL to send to, `https://<ip>:<port>` (or `https://<server_name>` when static). */
  readonly origin: string;
  /** The Host header to send (the server name or delegated name, never an SRV target). */
  readonly hostHeader: string;
  /** The name the certificate must be valid for, sent as TLS server name (SNI). */
  readonly tlsServerName?: string;
  /** The full resolution, when the directory resolved the name. */
  readonly resolution?: ResolvedEndpoint;
}

export type DiscoveryFailureKind = 'invalid-server-name' | ResolveFailureKind;

/** A Directory that can also say which Host header to send. */
export interface ResolvingDirectory extends Directory {
  endpointOf(serverName: string): Promise<Result<Endpoint, Failure<DiscoveryFailureKind>>>;
}

export function isResolvingDirectory(directory: Directory): directory is ResolvingDirectory {
  return 'endpointOf' in directory && typeof directory.endpointOf === 'function';
}

/** At most this many redirects are followed for .well-known; more counts as a loop. */
export const MAX_WELL_KNOWN_REDIRECTS = 5;

export interface ResolvingDirectoryOptions {
  readonly dns: DnsResolver;
  /** For .well-known fetches; should carry the fetching server's identity. */
  readonly transport: Transport;
  readonly clock: Clock;
  readonly profile: MatrixProfile;
  /** Mutants of the resolving server (MATRIX_MUTANTS, FED-NAME-*). */
  readonly mutants?: ReadonlySet<string>;
}

export function resolvingDirectory(options: ResolvingDirectoryOptions): ResolvingDirectory {
  const { dns, transport, clock, profile } = options;
  const mutants = options.mutants ?? new Set<string>();
  const wellKnownCache = new Map<string, { fetch: WellKnownFetch; expires: number }>();

  async function wellKnown(hostname: string): Promise<WellKnownFetch> {
    const now = clock.now();
    const cached = wellKnownCache.get(hostname);
    if (cached !== undefined && cached.expires > now) return cached.fetch;
    const fetched = await fetchWellKnown(transport, hostname);
    const headers = fetched.kind === 'response' ? (fetched.headers ?? {}) : {};
    const ttl = mutants.has(MATRIX_MUTANTS.neverCacheWellKnown)
      ? 0
      : wellKnownCacheTtl(headers, interpretWellKnown(fetched).ok);
    if (ttl > 0) wellKnownCache.set(hostname, { fetch: fetched, expires: now + ttl });
    return fetched;
  }

  async function endpointOf(
    serverName: string,
  ): Promise<Result<Endpoint, Failure<DiscoveryFailureKind>>> {
    const name = mutatedParse(serverName, profile, mutants);
    if (!name.ok) return fail('invalid-server-name', name.error.detail);
    let target = name.value;
    if (
      mutants.has(MATRIX_MUTANTS.port8448InsteadOfSrv) &&
      profile === 'matrix-2014' &&
      target.port === undefined
    ) {
      target = { ...target, port: 8448 };
    }
    const host = target.host.kind === 'dns' ? target.host.name : '';
    // resolve() is synchronous over a view; the only remote answer it may need is the
    // .well-known of a port-less DNS name (today's profile), so fetch that first.
    const needsWellKnown =
      profile === 'matrix-current' &&
      target.host.kind === 'dns' &&
      (target.port === undefined || mutants.has(MATRIX_MUTANTS.wellKnownForNamesWithPorts)) &&
      !mutants.has(MATRIX_MUTANTS.ignoreWellKnown);
    const fetched: WellKnownFetch = needsWellKnown
      ? await wellKnown(host)
      : { kind: 'error', reason: 'network' };
    const verdict = interpretWellKnown(fetched);
    if (
      mutants.has(MATRIX_MUTANTS.failOnBadWellKnown) &&
      !verdict.ok &&
      verdict.error.kind !== 'fetch-error' &&
      verdict.error.kind !== 'not-200'
    ) {
      return fail('unresolvable', `.well-known of ${host} is invalid: ${verdict.error.detail}`);
    }
    if (needsWellKnown && target.port !== undefined && verdict.ok) {
      // FED-NAME-08 mutant: a delegation overrides the explicit port.
      target = { host: target.host, raw: host, advisories: [] };
    }
    const view: DiscoveryView = {
      wellKnown: () => fetched,
      srv: (owner) => dns.srv(owner),
      address: (n) => dns.address(n),
      cname: (n) => dns.cname(n),
    };
    const resolution = resolve(
      target,
      mutants.has(MATRIX_MUTANTS.legacySrvFirst) && verdict.ok ? legacyFirst(view) : view,
      profile,
    );
    if (!resolution.ok) return fail(resolution.error.kind, resolution.error.detail);
    const { ip, port, srvTarget } = resolution.value;
    const wrongName = mutants.has(MATRIX_MUTANTS.srvTargetAsHost) ? srvTarget : undefined;
    return ok({
      origin: `https://${authority(ip, port)}`,
      hostHeader: wrongName ?? resolution.value.hostHeader,
      tlsServerName: wrongName ?? resolution.value.tlsName,
      resolution: resolution.value,
    });
  }

  return {
    endpointOf,
    async originOf(serverName) {
      const endpoint = await endpointOf(serverName);
      return endpoint.ok ? endpoint.value.origin : undefined;
    },
  };
}

/**
 * A Directory that resolves the names `inScope` accepts through `resolving` and every
 * other name through `fallback` (the simulator's static names), sending those with the
 * Host header their URL implies.
 */
export function scopedDirectory(
  resolving: ResolvingDirectory,
  fallback: Directory,
  inScope: (serverName: string) => boolean,
): ResolvingDirectory {
  async function endpointOf(
    serverName: string,
  ): Promise<Result<Endpoint, Failure<DiscoveryFailureKind>>> {
    if (inScope(serverName)) return resolving.endpointOf(serverName);
    const origin = await fallback.originOf(serverName);
    if (origin === undefined) return fail('unresolvable', `unknown server ${serverName}`);
    return ok({ origin, hostHeader: new URL(origin).host });
  }
  return {
    endpointOf,
    async originOf(serverName) {
      const endpoint = await endpointOf(serverName);
      return endpoint.ok ? endpoint.value.origin : undefined;
    },
  };
}

/** FED-NAME-09 mutant: each `_matrix-fed._tcp` lookup asks `_matrix._tcp` first. */
function legacyFirst(view: DiscoveryView): DiscoveryView {
  const FED = '_matrix-fed._tcp.';
  return {
    ...view,
    srv: (owner) => {
      if (!owner.startsWith(FED)) return view.srv(owner);
      const legacy = view.srv(`_matrix._tcp.${owner.slice(FED.length)}`);
      return legacy.length > 0 ? legacy : view.srv(owner);
    },
  };
}

/** parseServerName, loosened by the grammar mutants (FED-NAME-01..03) of the server. */
function mutatedParse(
  serverName: string,
  profile: MatrixProfile,
  mutants: ReadonlySet<string>,
): Result<ServerName, ServerNameFailure> {
  const parsed = parseServerName(serverName, profile);
  if (parsed.ok) return parsed;
  const { kind, basis } = parsed.error;
  const lenient = (host: ServerName['host'], portText: string | undefined): ServerName => ({
    host,
    raw: serverName,
    advisories: [],
    ...(portText === undefined ? {} : { port: Number(portText) }),
  });
  if (
    mutants.has(MATRIX_MUTANTS.acceptNonNumericPort) &&
    profile === 'matrix-2014' &&
    kind === 'bad-port'
  ) {
    const bare = parseServerName(serverName.slice(0, serverName.lastIndexOf(':')), profile);
    if (bare.ok) return ok({ ...bare.value, raw: serverName });
  }
  if (mutants.has(MATRIX_MUTANTS.acceptUnbracketedIpv6) && kind === 'unbracketed-ipv6') {
    return ok(lenient({ kind: 'ipv6', address: serverName }, undefined));
  }
  if (
    mutants.has(MATRIX_MUTANTS.abnfOnly) &&
    profile === 'matrix-current' &&
    (basis === 'prose' || basis === 'port-range' || kind === 'bad-ipv4')
  ) {
    if (serverName.startsWith('[')) {
      const close = serverName.indexOf(']');
      const rest = serverName.slice(close + 1);
      return ok(
        lenient(
          { kind: 'ipv6', address: serverName.slice(1, close) },
          rest === '' ? undefined : rest.slice(1),
        ),
      );
    }
    const colon = serverName.indexOf(':');
    return colon === -1
      ? ok(lenient({ kind: 'dns', name: serverName }, undefined))
      : ok(lenient({ kind: 'dns', name: serverName.slice(0, colon) }, serverName.slice(colon + 1)));
  }
  return parsed;
}

/** GET https://<hostname>/.well-known/matrix/server, following redirects; never throws. */
export async function fetchWellKnown(
  transport: Transport,
  hostname: string,
): Promise<WellKnownFetch> {
  let url = `https://${hostname}/.well-known/matrix/server`;
  const seen = new Set<string>();
  for (let hop = 0; hop <= MAX_WELL_KNOWN_REDIRECTS; hop++) {
    if (seen.has(url)) break;
    seen.add(url);
    let response: Response;
    try {
      response = await transport(new Request(url, { redirect: 'manual' }));
    } catch {
      return { kind: 'error', reason: 'network' };
    }
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location !== null) {
      await response.body?.cancel();
      try {
        url = new URL(location, url).href;
      } catch {
        return { kind: 'error', reason: 'network' };
      }
      continue;
    }
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name] = value;
    });
    let body: string;
    try {
      body = await response.text();
    } catch {
      return { kind: 'error', reason: 'network' };
    }
    return { kind: 'response', status: response.status, body, headers };
  }
  return { kind: 'error', reason: 'redirect-loop' };
}
