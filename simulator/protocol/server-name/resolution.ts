// Server name resolution as a *plan*: given a parsed server name and a view of the world (what
// .well-known and DNS would answer), which lookups a conforming server makes, in which order,
// and which IP, port, Host header and certificate name it ends up with. No I/O happens here;
// the view is plain data behind functions, so every outcome is reproducible.
//
// 'matrix-current' follows server-server-api § "Resolving server names" (steps 1-6, with
// sub-steps 3.1-3.5). 'matrix-2014' follows the 2014 text: "If the port is present then the
// server is discovered by looking up an A record for the DNS name and connecting to the
// specified TLS port. If the port is absent then the server is discovered by looking up a
// `_matrix._tcp` SRV record for the DNS name."

import { err, ok, type Failure, type Result } from '../result.ts';
import {
  isIpv4Address,
  isIpv6Address,
  parseServerName,
  type Profile,
  type ServerName,
} from './grammar.ts';

/** "8448 if no port is given" (current steps 1, 3.1, 3.5, 6). The 2014 text has no default. */
export const DEFAULT_PORT = 8448;

export interface SrvRecord {
  readonly target: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

/**
 * The outcome of `GET https://<hostname>/.well-known/matrix/server`, after the view has followed
 * 30x redirects ("redirection loops should be avoided": a loop is reported as an error).
 * The body is raw text because the spec says to parse it as JSON whatever its Content-Type.
 */
export type WellKnownFetch =
  | {
      readonly kind: 'response';
      readonly status: number;
      readonly body: string;
      readonly headers?: Readonly<Record<string, string>>;
    }
  | {
      readonly kind: 'error';
      readonly reason: 'network' | 'tls' | 'timeout' | 'redirect-loop';
    };

/** What the world would answer. Every function must be pure for the plan to be reproducible. */
export interface DiscoveryView {
  readonly wellKnown: (hostname: string) => WellKnownFetch;
  /** SRV records for a full owner name such as `_matrix-fed._tcp.example.org`. */
  readonly srv: (name: string) => readonly SrvRecord[];
  /** AAAA and A answers, with any CNAME chain already followed; first is preferred. */
  readonly address: (name: string) => readonly string[];
  /**
   * The canonical name if `name` is an alias (CNAME), else undefined. Optional: when present,
   * the plan can enforce RFC 2782 ("the name MUST NOT be an alias") for SRV targets.
   */
  readonly cname?: (name: string) => string | undefined;
}

export interface ResolveOptions {
  /**
   * What to do with an SRV target that is a CNAME (only checked when the view has `cname`).
   * 'skip' (default) treats it as unusable, per RFC 2782; 'follow' uses it anyway, as stub
   * resolvers commonly do, and the step is still recorded.
   */
  readonly srvTargetAlias?: 'skip' | 'follow';
}

export const WELL_KNOWN_INVALID_KINDS = [
  'fetch-error',
  'not-200',
  'bad-json',
  'not-an-object',
  'missing-m.server',
  'm.server-not-a-string',
  'bad-m.server',
] as const;
export type WellKnownInvalidKind = (typeof WELL_KNOWN_INVALID_KINDS)[number];

export type Step =
  | {
      readonly lookup: 'well-known';
      readonly host: string;
      readonly outcome: 'delegated' | WellKnownInvalidKind;
    }
  | { readonly lookup: 'srv'; readonly name: string; readonly records: readonly SrvRecord[] }
  | { readonly lookup: 'cname'; readonly name: string; readonly alias: string | undefined }
  | {
      readonly lookup: 'address';
      readonly name: string;
      /** 'ipv4' for the 2014 profile, whose text says "an A record". */
      readonly family: 'any' | 'ipv4';
      readonly addresses: readonly string[];
    };

interface RuleInfo {
  readonly profile: Profile;
  readonly deprecated: boolean;
  readonly summary: string;
}

/** Every rule that can decide a resolution, with the spec's own numbering. */
export const RULES = {
  'step-1': {
    profile: 'matrix-current',
    deprecated: false,
    summary: 'IP literal: that IP with the given port or 8448; certificate for the IP',
  },
  'step-2': {
    profile: 'matrix-current',
    deprecated: false,
    summary: 'hostname with explicit port: CNAME/AAAA/A and the given port',
  },
  'step-3.1': {
    profile: 'matrix-current',
    deprecated: false,
    summary: '.well-known delegates to an IP literal: that IP with the delegated port or 8448',
  },
  'step-3.2': {
    profile: 'matrix-current',
    deprecated: false,
    summary: '.well-known delegates to hostname:port: CNAME/AAAA/A and the delegated port',
  },
  'step-3.3': {
    profile: 'matrix-current',
    deprecated: false,
    summary: '.well-known delegates to a hostname: SRV _matrix-fed._tcp.<delegated_hostname>',
  },
  'step-3.4': {
    profile: 'matrix-current',
    deprecated: true,
    summary: '.well-known delegates to a hostname: SRV _matrix._tcp.<delegated_hostname>',
  },
  'step-3.5': {
    profile: 'matrix-current',
    deprecated: false,
    summary: '.well-known delegates to a hostname without SRV: CNAME/AAAA/A and port 8448',
  },
  'step-4': {
    profile: 'matrix-current',
    deprecated: false,
    summary: 'no valid .well-known: SRV _matrix-fed._tcp.<hostname>',
  },
  'step-5': {
    profile: 'matrix-current',
    deprecated: true,
    summary: 'no valid .well-known: SRV _matrix._tcp.<hostname>',
  },
  'step-6': {
    profile: 'matrix-current',
    deprecated: false,
    summary: 'no valid .well-known and no SRV: CNAME/AAAA/A and port 8448',
  },
  '2014-port': {
    profile: 'matrix-2014',
    deprecated: false,
    summary: 'port present: A record for the DNS name and the specified TLS port',
  },
  '2014-srv': {
    profile: 'matrix-2014',
    deprecated: false,
    summary: 'port absent: SRV _matrix._tcp.<dns_name>',
  },
} as const satisfies Record<string, RuleInfo>;
export type Rule = keyof typeof RULES;

export interface ResolvedEndpoint {
  /** The address to connect to (IPv6 without brackets). */
  readonly ip: string;
  readonly port: number;
  /** The `Host` header to send. */
  readonly hostHeader: string;
  /** The name (or IP address) the server's certificate must be valid for. Never an SRV target. */
  readonly tlsName: string;
  readonly tlsNameKind: 'ip' | 'dns';
  /**
   * How the certificate is authenticated. 2014 had no name rule: the client checked that "the
   * TLS certificate in the JSON [/_matrix/key/v1] matches the TLS server certificate".
   */
  readonly certificateCheck: 'x509-name' | 'published-key-v1';
  readonly rule: Rule;
  readonly steps: readonly Step[];
  /** The `m.server` delegation, when a valid .well-known decided the outcome. */
  readonly delegatedTo?: ServerName;
  /** The SRV target that supplied ip and port, when an SRV rule decided the outcome. */
  readonly srvTarget?: string;
}

export const RESOLVE_FAILURE_KINDS = [
  /** The host the deciding rule names has no usable address. */
  'unresolvable',
  /** SRV records exist, so later rules do not apply, but no target is usable. */
  'srv-targets-unusable',
  /** 2014: no `_matrix._tcp` SRV record, and the 2014 text says nothing more. */
  'no-srv-record',
  /** 2014: an IP literal without a port; there is no DNS name to look an SRV record up for. */
  'ip-literal-without-port',
] as const;
export type ResolveFailureKind = (typeof RESOLVE_FAILURE_KINDS)[number];

export interface ResolveFailure extends Failure<ResolveFailureKind> {
  /** The rule that was being applied when resolution gave up. */
  readonly rule: Rule;
  readonly steps: readonly Step[];
}

type Resolution = Result<ResolvedEndpoint, ResolveFailure>;

/** Interprets a .well-known response; invalid responses are data, never exceptions. */
export function interpretWellKnown(
  fetch: WellKnownFetch,
): Result<ServerName, Failure<WellKnownInvalidKind>> {
  const invalid = (kind: WellKnownInvalidKind, detail: string) => err({ kind, detail });
  if (fetch.kind === 'error') return invalid('fetch-error', fetch.reason);
  if (fetch.status !== 200) return invalid('not-200', `status ${fetch.status}`);
  // "servers parsing the response should assume that the body is JSON regardless of type":
  // the Content-Type header is deliberately not consulted.
  let body: unknown;
  try {
    body = JSON.parse(fetch.body);
  } catch {
    return invalid('bad-json', 'the body is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return invalid('not-an-object', 'the body is not a JSON object');
  }
  if (!Object.hasOwn(body, 'm.server')) return invalid('missing-m.server', 'no "m.server"');
  const server: unknown = (body as Record<string, unknown>)['m.server'];
  if (typeof server !== 'string') return invalid('m.server-not-a-string', typeof server);
  // "The delegated server name uses the same grammar as server names"; a value outside it is
  // "invalid data", which "should not result in discovery failure": fall through to step 4.
  const parsed = parseServerName(server, 'matrix-current');
  if (!parsed.ok) return invalid('bad-m.server', `${parsed.error.kind}: ${parsed.error.detail}`);
  return parsed;
}

/** Plans the resolution of `name` under `profile` against `view`. Never throws (unless the view does). */
export function resolve(
  name: ServerName,
  view: DiscoveryView,
  profile: Profile,
  options: ResolveOptions = {},
): Resolution {
  const planner = new Planner(view, options);
  switch (profile) {
    case 'matrix-current':
      return planner.current(name);
    case 'matrix-2014':
      return planner.matrix2014(name);
  }
}

type SrvOutcome =
  | { readonly kind: 'not-found' }
  | { readonly kind: 'unusable'; readonly detail: string }
  | { readonly kind: 'found'; readonly target: string; readonly ip: string; readonly port: number };

// Holds the trace while one plan is built; never outlives a `resolve` call.
class Planner {
  private readonly steps: Step[] = [];

  constructor(
    private readonly view: DiscoveryView,
    private readonly options: ResolveOptions,
  ) {}

  current(name: ServerName): Resolution {
    const { host } = name;
    // Step 1: "The Host header in the request should be set to the server name, including the
    // port if the server name included one" - that is the raw server name.
    if (host.kind !== 'dns') {
      return this.done({
        ip: host.address,
        port: name.port ?? DEFAULT_PORT,
        hostHeader: name.raw,
        tlsName: host.address,
        tlsNameKind: 'ip',
        rule: 'step-1',
      });
    }
    // Step 2: "a Host header of the original server name (with port)"; certificate for the
    // hostname.
    if (name.port !== undefined) {
      return this.viaAddress(host.name, name.port, name.raw, host.name, 'step-2', 'any');
    }
    // Step 3: .well-known, only for a hostname without a port.
    const verdict = interpretWellKnown(this.view.wellKnown(host.name));
    this.steps.push({
      lookup: 'well-known',
      host: host.name,
      outcome: verdict.ok ? 'delegated' : verdict.error.kind,
    });
    if (verdict.ok) {
      const delegated = verdict.value;
      const d = delegated.host;
      // 3.1: "a Host header containing the IP address, including the port if one was
      // provided" - the raw delegated name, which keeps IPv6 brackets as HTTP requires.
      if (d.kind !== 'dns') {
        return this.done(
          {
            ip: d.address,
            port: delegated.port ?? DEFAULT_PORT,
            hostHeader: delegated.raw,
            tlsName: d.address,
            tlsNameKind: 'ip',
            rule: 'step-3.1',
          },
          { delegatedTo: delegated },
        );
      }
      // 3.2: "a Host header of <delegated_hostname>:<delegated_port>".
      if (delegated.port !== undefined) {
        return this.viaAddress(
          d.name,
          delegated.port,
          delegated.raw,
          d.name,
          'step-3.2',
          'any',
          delegated,
        );
      }
      // 3.3-3.5, with <delegated_hostname> in the Host header and the certificate.
      return this.srvChain(d.name, ['step-3.3', 'step-3.4', 'step-3.5'], delegated);
    }
    // Steps 4-6: "If the /.well-known request resulted in an error response" - which, per
    // step 3, includes every invalid response ("skip to step 4").
    return this.srvChain(host.name, ['step-4', 'step-5', 'step-6']);
  }

  matrix2014(name: ServerName): Resolution {
    const { host } = name;
    // The 2014 text gives no Host header or certificate-name rule. We send the server name as
    // Host (what https://<server_name>/ would send) and record the certificate as checked
    // against the one published at /_matrix/key/v1, which is what the text asks for.
    if (name.port !== undefined) {
      // An IP literal has no A record to look up: "looking up an A record" for it yields itself.
      if (host.kind !== 'dns') {
        return this.done({
          ip: host.address,
          port: name.port,
          hostHeader: name.raw,
          tlsName: host.address,
          tlsNameKind: 'ip',
          rule: '2014-port',
          certificateCheck: 'published-key-v1',
        });
      }
      return this.viaAddress(host.name, name.port, name.raw, host.name, '2014-port', 'ipv4');
    }
    if (host.kind !== 'dns') {
      return this.fail(
        'ip-literal-without-port',
        '2014-srv',
        'the 2014 text has no default port, and an IP literal has no SRV record',
      );
    }
    const srv = this.trySrv(`_matrix._tcp.${host.name}`, 'ipv4');
    switch (srv.kind) {
      case 'found':
        return this.done(
          {
            ip: srv.ip,
            port: srv.port,
            hostHeader: name.raw,
            tlsName: host.name,
            tlsNameKind: 'dns',
            rule: '2014-srv',
            certificateCheck: 'published-key-v1',
          },
          { srvTarget: srv.target },
        );
      case 'unusable':
        return this.fail('srv-targets-unusable', '2014-srv', srv.detail);
      case 'not-found':
        // Divergence: the 2014 text stops here; it has neither the later "port 8448 via
        // AAAA/A" fallback nor any other. We fail rather than invent one.
        return this.fail(
          'no-srv-record',
          '2014-srv',
          `no SRV record for _matrix._tcp.${host.name}`,
        );
    }
  }

  // _matrix-fed._tcp, then the deprecated _matrix._tcp, then AAAA/A on port 8448. Host header and
  // certificate name are always `hostname`, never an SRV target ("DNS is insecure").
  private srvChain(
    hostname: string,
    rules: readonly [Rule, Rule, Rule],
    delegatedTo?: ServerName,
  ): Resolution {
    const [fedRule, legacyRule, addressRule] = rules;
    const extra = delegatedTo === undefined ? {} : { delegatedTo };
    for (const [service, rule] of [
      ['_matrix-fed._tcp', fedRule],
      ['_matrix._tcp', legacyRule],
    ] as const) {
      const srv = this.trySrv(`${service}.${hostname}`, 'any');
      switch (srv.kind) {
        case 'found':
          return this.done(
            {
              ip: srv.ip,
              port: srv.port,
              hostHeader: hostname,
              tlsName: hostname,
              tlsNameKind: 'dns',
              rule,
            },
            { ...extra, srvTarget: srv.target },
          );
        case 'unusable':
          // The next rule applies only if a record "was not found"; records were found.
          return this.fail('srv-targets-unusable', rule, srv.detail);
        case 'not-found':
          continue;
      }
    }
    return this.viaAddress(
      hostname,
      DEFAULT_PORT,
      hostname,
      hostname,
      addressRule,
      'any',
      delegatedTo,
    );
  }

  private trySrv(name: string, family: 'any' | 'ipv4'): SrvOutcome {
    const records = this.view.srv(name);
    this.steps.push({ lookup: 'srv', name, records });
    if (records.length === 0) return { kind: 'not-found' };
    const skipped: string[] = [];
    for (const record of orderSrv(records)) {
      // RFC 2782: 'A Target of "." means that the service is decidedly not available'.
      if (record.target === '.' || record.target === '') {
        skipped.push('"." (service not available)');
        continue;
      }
      if (this.view.cname !== undefined) {
        const alias = this.view.cname(record.target);
        this.steps.push({ lookup: 'cname', name: record.target, alias });
        if (alias !== undefined && (this.options.srvTargetAlias ?? 'skip') === 'skip') {
          skipped.push(`${record.target} (a CNAME, forbidden by RFC 2782)`);
          continue;
        }
      }
      const ip = this.firstAddress(record.target, family);
      if (ip !== undefined) return { kind: 'found', target: record.target, ip, port: record.port };
      skipped.push(`${record.target} (no address)`);
    }
    return { kind: 'unusable', detail: `no usable target for ${name}: ${skipped.join(', ')}` };
  }

  private viaAddress(
    lookupName: string,
    port: number,
    hostHeader: string,
    tlsName: string,
    rule: Rule,
    family: 'any' | 'ipv4',
    delegatedTo?: ServerName,
  ): Resolution {
    const ip = this.firstAddress(lookupName, family);
    if (ip === undefined) {
      return this.fail(
        'unresolvable',
        rule,
        `no ${family === 'ipv4' ? 'A' : 'AAAA/A'} record for ${lookupName}`,
      );
    }
    return this.done(
      {
        ip,
        port,
        hostHeader,
        tlsName,
        tlsNameKind: 'dns',
        rule,
        ...(RULES[rule].profile === 'matrix-2014'
          ? { certificateCheck: 'published-key-v1' as const }
          : {}),
      },
      delegatedTo === undefined ? {} : { delegatedTo },
    );
  }

  // The first address the view lists: address selection (RFC 6724, Happy Eyeballs) is out of
  // scope. The 2014 profile only takes A records, i.e. IPv4 addresses.
  private firstAddress(name: string, family: 'any' | 'ipv4'): string | undefined {
    const addresses = this.view.address(name);
    this.steps.push({ lookup: 'address', name, family, addresses });
    return addresses.find((a) => (family === 'ipv4' ? isIpv4Address(a) : isIpAddress(a)));
  }

  private done(
    core: Omit<ResolvedEndpoint, 'steps' | 'certificateCheck'> & {
      readonly certificateCheck?: ResolvedEndpoint['certificateCheck'];
    },
    extra: { readonly delegatedTo?: ServerName; readonly srvTarget?: string } = {},
  ): Resolution {
    return ok({
      ...core,
      certificateCheck: core.certificateCheck ?? 'x509-name',
      ...extra,
      steps: [...this.steps],
    });
  }

  private fail(kind: ResolveFailureKind, rule: Rule, detail: string): Resolution {
    return err({ kind, rule, detail, steps: [...this.steps] });
  }
}

function isIpAddress(text: string): boolean {
  return isIpv4Address(text) || isIpv6Address(text);
}

/**
 * RFC 2782 order: lowest priority first. Within a priority the RFC picks randomly in proportion
 * to weight; a plan must be deterministic, so we take the heaviest first and, on ties, the
 * order the view returned (the sort is stable).
 */
export function orderSrv(records: readonly SrvRecord[]): readonly SrvRecord[] {
  return [...records].sort((a, b) => a.priority - b.priority || b.weight - a.weight);
}

// ---------------------------------------------------------------------------------------------
// .well-known caching

const HOUR_MS = 3_600_000;
export const WELL_KNOWN_DEFAULT_TTL_MS = 24 * HOUR_MS;
export const WELL_KNOWN_MAX_TTL_MS = 48 * HOUR_MS;
export const WELL_KNOWN_ERROR_MAX_TTL_MS = HOUR_MS;

/**
 * How long to cache a .well-known result, in ms. The spec: "respect the cache control headers
 * ... or use a sensible default ... 24 hours", "a maximum cache time ... 48 hours", "Errors are
 * recommended to be cached for up to an hour". `ok` is false for any invalid response (fetch
 * error, non-200, bad body), which the spec groups as errors in steps 3-4.
 *
 * Decisions: `max-age` (token or quoted; first occurrence wins, RFC 9111 §4.2.1) is capped at
 * 48 h (1 h for errors); `no-store` and a bare `no-cache` mean 0 (do not reuse); without a usable
 * max-age the default is 24 h, or the full hour for errors. `Expires`, `s-maxage` and the
 * encouraged exponential back-off are not modelled (the last needs the failure history).
 */
export function wellKnownCacheTtl(
  responseHeaders: Readonly<Record<string, string | readonly string[] | undefined>>,
  ok: boolean,
): number {
  const cap = ok ? WELL_KNOWN_MAX_TTL_MS : WELL_KNOWN_ERROR_MAX_TTL_MS;
  const fallback = ok ? WELL_KNOWN_DEFAULT_TTL_MS : WELL_KNOWN_ERROR_MAX_TTL_MS;
  const directives = cacheControl(responseHeaders);
  if (directives.has('no-store') || directives.get('no-cache') === null) return 0;
  const maxAge = directives.get('max-age');
  if (maxAge === undefined || maxAge === null || !/^[0-9]+$/.test(maxAge)) return fallback;
  return Math.min(Number(maxAge) * 1000, cap);
}

// Directive name (lower case) -> argument (unquoted) or null when it has none; first one wins.
function cacheControl(
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
): ReadonlyMap<string, string | null> {
  const values = Object.entries(headers)
    .filter(([name]) => name.toLowerCase() === 'cache-control')
    .flatMap(([, value]) =>
      value === undefined ? [] : typeof value === 'string' ? [value] : value,
    );
  const directives = new Map<string, string | null>();
  for (const part of values.join(',').split(',')) {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (name === '' || directives.has(name)) continue;
    const arg =
      eq === -1
        ? null
        : part
            .slice(eq + 1)
            .trim()
            .replace(/^"(.*)"$/, '$1');
    directives.set(name, arg);
  }
  return directives;
}

// ---------------------------------------------------------------------------------------------

export interface DiscoveryTables {
  readonly wellKnown?: Readonly<Record<string, WellKnownFetch>>;
  readonly srv?: Readonly<Record<string, readonly SrvRecord[]>>;
  readonly address?: Readonly<Record<string, readonly string[]>>;
  /** alias -> canonical name; when given, the view exposes `cname`. */
  readonly cname?: Readonly<Record<string, string>>;
}

/** A view backed by lookup tables; anything missing is a network error or an empty answer. */
export function staticView(tables: DiscoveryTables): DiscoveryView {
  const get = <V>(table: Readonly<Record<string, V>> | undefined, key: string): V | undefined =>
    table !== undefined && Object.hasOwn(table, key) ? table[key] : undefined;
  const base: DiscoveryView = {
    wellKnown: (hostname) =>
      get(tables.wellKnown, hostname) ?? { kind: 'error', reason: 'network' },
    srv: (name) => get(tables.srv, name) ?? [],
    address: (name) => get(tables.address, name) ?? [],
  };
  const aliases = tables.cname;
  return aliases === undefined ? base : { ...base, cname: (name) => get(aliases, name) };
}
