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
// Modelling note: the .well-known fetch is addressed to `https://<hostname>` on the
// network directly, standing in for "resolve <hostname>, connect on 443"; the
// simulator registers every homeserver under its server_name for this purpose.
import type { Directory, MatrixProfile } from '../homeserver/context.ts';
import type { Clock } from '../net/clock.ts';
import { authority, type DnsResolver } from '../net/dns.ts';
import type { Transport } from '../net/transport.ts';
import { fail, ok, type Failure, type Result } from '../protocol/result.ts';
import {
  interpretWellKnown,
  parseServerName,
  resolve,
  wellKnownCacheTtl,
  type ResolvedEndpoint,
  type ResolveFailureKind,
  type WellKnownFetch,
} from '../protocol/server-name/index.ts';

/** Where to send a request for a server, and how. */
export interface Endpoint {
  /** Base URL to send to, `https://<ip>:<port>` (or `https://<server_name>` when static). */
  readonly origin: string;
  /** The Host header to send (the server name or delegated name, never an SRV target). */
  readonly hostHeader: string;
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
}

export function resolvingDirectory(options: ResolvingDirectoryOptions): ResolvingDirectory {
  const { dns, transport, clock, profile } = options;
  const wellKnownCache = new Map<string, { fetch: WellKnownFetch; expires: number }>();

  async function wellKnown(hostname: string): Promise<WellKnownFetch> {
    const now = clock.now();
    const cached = wellKnownCache.get(hostname);
    if (cached !== undefined && cached.expires > now) return cached.fetch;
    const fetched = await fetchWellKnown(transport, hostname);
    const headers = fetched.kind === 'response' ? (fetched.headers ?? {}) : {};
    const ttl = wellKnownCacheTtl(headers, interpretWellKnown(fetched).ok);
    if (ttl > 0) wellKnownCache.set(hostname, { fetch: fetched, expires: now + ttl });
    return fetched;
  }

  async function endpointOf(
    serverName: string,
  ): Promise<Result<Endpoint, Failure<DiscoveryFailureKind>>> {
    const name = parseServerName(serverName, profile);
    if (!name.ok) return fail('invalid-server-name', name.error.detail);
    // resolve() is synchronous over a view; the only remote answer it may need is the
    // .well-known of a port-less DNS name (today's profile), so fetch that first.
    const needsWellKnown =
      profile === 'matrix-current' &&
      name.value.host.kind === 'dns' &&
      name.value.port === undefined;
    const host = name.value.host.kind === 'dns' ? name.value.host.name : '';
    const fetched: WellKnownFetch = needsWellKnown
      ? await wellKnown(host)
      : { kind: 'error', reason: 'network' };
    const resolution = resolve(
      name.value,
      {
        wellKnown: () => fetched,
        srv: (owner) => dns.srv(owner),
        address: (n) => dns.address(n),
        cname: (n) => dns.cname(n),
      },
      profile,
    );
    if (!resolution.ok) return fail(resolution.error.kind, resolution.error.detail);
    const { ip, port, hostHeader } = resolution.value;
    return ok({
      origin: `https://${authority(ip, port)}`,
      hostHeader,
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
