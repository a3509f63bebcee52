import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';

import { unwrap } from '../result.ts';
import { SRV_TARGETS, WORLD_HOSTS, discoveryNameArb, discoveryTablesArb } from './arbitraries.ts';
import {
  PROFILES,
  RESOLVE_FAILURE_KINDS,
  RULES,
  WELL_KNOWN_DEFAULT_TTL_MS,
  WELL_KNOWN_ERROR_MAX_TTL_MS,
  WELL_KNOWN_INVALID_KINDS,
  WELL_KNOWN_MAX_TTL_MS,
  interpretWellKnown,
  orderSrv,
  parseServerName,
  resolve,
  staticView,
  wellKnownCacheTtl,
  type DiscoveryTables,
  type Profile,
  type ResolveFailureKind,
  type ResolveOptions,
  type Rule,
  type Step,
  type WellKnownFetch,
} from './index.ts';

const HOUR = 3_600_000;

const ok200 = (body: unknown): WellKnownFetch => ({
  kind: 'response',
  status: 200,
  body: typeof body === 'string' ? body : JSON.stringify(body),
});
const delegateTo = (server: string): WellKnownFetch => ok200({ 'm.server': server });
const srv = (target: string, port = 8443, priority = 10, weight = 5) => ({
  target,
  port,
  priority,
  weight,
});

/** One line per lookup, so a table row can state the whole trace. */
function trace(steps: readonly Step[]): string[] {
  return steps.map((s) => {
    switch (s.lookup) {
      case 'well-known':
        return `well-known ${s.host} -> ${s.outcome}`;
      case 'srv':
        return `srv ${s.name}`;
      case 'cname':
        return `cname ${s.name}`;
      case 'address':
        return `address${s.family === 'ipv4' ? '(A)' : ''} ${s.name}`;
    }
  });
}

type Expectation =
  | {
      readonly ip: string;
      readonly port: number;
      readonly hostHeader: string;
      readonly tlsName: string;
      readonly rule: Rule;
      readonly trace: readonly string[];
    }
  | { readonly fails: ResolveFailureKind; readonly rule: Rule; readonly trace: readonly string[] };

interface Row {
  readonly title: string;
  readonly name: string;
  readonly profile: Profile;
  readonly world: DiscoveryTables;
  readonly options?: ResolveOptions;
  readonly expect: Expectation;
}

// A world where everything exists, so each row shows which parts a rule consults and which it
// must ignore. Rows override pieces of it.
const FULL: DiscoveryTables = {
  wellKnown: { 'example.org': delegateTo('delegated.example.com') },
  srv: {
    '_matrix-fed._tcp.example.org': [srv('fed.srv.test')],
    '_matrix._tcp.example.org': [srv('legacy.srv.test', 8444)],
    '_matrix-fed._tcp.delegated.example.com': [srv('dfed.srv.test', 8445)],
    '_matrix._tcp.delegated.example.com': [srv('dlegacy.srv.test', 8446)],
  },
  address: {
    'example.org': ['2001:db8::10', '192.0.2.10'],
    'delegated.example.com': ['192.0.2.20'],
    'fed.srv.test': ['192.0.2.30'],
    'legacy.srv.test': ['192.0.2.31'],
    'dfed.srv.test': ['192.0.2.32'],
    'dlegacy.srv.test': ['192.0.2.33'],
  },
};
const without = (
  world: DiscoveryTables,
  srvNames: readonly string[],
  addressNames: readonly string[] = [],
): DiscoveryTables => ({
  ...world,
  srv: Object.fromEntries(Object.entries(world.srv ?? {}).filter(([k]) => !srvNames.includes(k))),
  address: Object.fromEntries(
    Object.entries(world.address ?? {}).filter(([k]) => !addressNames.includes(k)),
  ),
});
const NO_WELL_KNOWN: DiscoveryTables = { ...FULL, wellKnown: {} };
const WK = 'well-known example.org -> ';

const CURRENT_ROWS: readonly Row[] = [
  {
    title: 'step 1: IPv4 literal, default port, no lookups',
    name: '1.2.3.4',
    profile: 'matrix-current',
    world: FULL,
    expect: {
      ip: '1.2.3.4',
      port: 8448,
      hostHeader: '1.2.3.4',
      tlsName: '1.2.3.4',
      rule: 'step-1',
      trace: [],
    },
  },
  {
    title: 'step 1: IPv6 literal with port; Host keeps brackets and port, cert for the IP',
    name: '[2001:db8::1]:8449',
    profile: 'matrix-current',
    world: FULL,
    expect: {
      ip: '2001:db8::1',
      port: 8449,
      hostHeader: '[2001:db8::1]:8449',
      tlsName: '2001:db8::1',
      rule: 'step-1',
      trace: [],
    },
  },
  {
    title: 'step 2: hostname with port -> AAAA/A, given port, Host with port',
    name: 'example.org:8449',
    profile: 'matrix-current',
    world: FULL,
    expect: {
      ip: '2001:db8::10',
      port: 8449,
      hostHeader: 'example.org:8449',
      tlsName: 'example.org',
      rule: 'step-2',
      trace: ['address example.org'],
    },
  },
  {
    title: 'step 2: no address is unresolvable (no fallback to .well-known or SRV)',
    name: 'example.org:8449',
    profile: 'matrix-current',
    world: without(FULL, [], ['example.org']),
    expect: { fails: 'unresolvable', rule: 'step-2', trace: ['address example.org'] },
  },
  {
    title: 'step 3.1: delegated IPv4 literal, default port, Host is the IP',
    name: 'example.org',
    profile: 'matrix-current',
    world: { ...FULL, wellKnown: { 'example.org': delegateTo('192.0.2.7') } },
    expect: {
      ip: '192.0.2.7',
      port: 8448,
      hostHeader: '192.0.2.7',
      tlsName: '192.0.2.7',
      rule: 'step-3.1',
      trace: [`${WK}delegated`],
    },
  },
  {
    title: 'step 3.1: delegated IPv6 literal with port',
    name: 'example.org',
    profile: 'matrix-current',
    world: { ...FULL, wellKnown: { 'example.org': delegateTo('[2001:db8::7]:9000') } },
    expect: {
      ip: '2001:db8::7',
      port: 9000,
      hostHeader: '[2001:db8::7]:9000',
      tlsName: '2001:db8::7',
      rule: 'step-3.1',
      trace: [`${WK}delegated`],
    },
  },
  {
    title: 'step 3.2: delegated hostname:port -> AAAA/A, Host <delegated_hostname>:<port>',
    name: 'example.org',
    profile: 'matrix-current',
    world: { ...FULL, wellKnown: { 'example.org': delegateTo('delegated.example.com:9000') } },
    expect: {
      ip: '192.0.2.20',
      port: 9000,
      hostHeader: 'delegated.example.com:9000',
      tlsName: 'delegated.example.com',
      rule: 'step-3.2',
      trace: [`${WK}delegated`, 'address delegated.example.com'],
    },
  },
  {
    title: 'step 3.2: delegated hostname without address is unresolvable',
    name: 'example.org',
    profile: 'matrix-current',
    world: {
      ...without(FULL, [], ['delegated.example.com']),
      wellKnown: { 'example.org': delegateTo('delegated.example.com:9000') },
    },
    expect: {
      fails: 'unresolvable',
      rule: 'step-3.2',
      trace: [`${WK}delegated`, 'address delegated.example.com'],
    },
  },
  {
    title: 'step 3.3: delegated hostname -> _matrix-fed._tcp SRV; Host and cert stay delegated',
    name: 'example.org',
    profile: 'matrix-current',
    world: FULL,
    expect: {
      ip: '192.0.2.32',
      port: 8445,
      hostHeader: 'delegated.example.com',
      tlsName: 'delegated.example.com',
      rule: 'step-3.3',
      trace: [
        `${WK}delegated`,
        'srv _matrix-fed._tcp.delegated.example.com',
        'address dfed.srv.test',
      ],
    },
  },
  {
    title: 'step 3.4 [deprecated]: no _matrix-fed record -> _matrix._tcp SRV',
    name: 'example.org',
    profile: 'matrix-current',
    world: without(FULL, ['_matrix-fed._tcp.delegated.example.com']),
    expect: {
      ip: '192.0.2.33',
      port: 8446,
      hostHeader: 'delegated.example.com',
      tlsName: 'delegated.example.com',
      rule: 'step-3.4',
      trace: [
        `${WK}delegated`,
        'srv _matrix-fed._tcp.delegated.example.com',
        'srv _matrix._tcp.delegated.example.com',
        'address dlegacy.srv.test',
      ],
    },
  },
  {
    title: 'step 3.5: no SRV for the delegated hostname -> AAAA/A, port 8448',
    name: 'example.org',
    profile: 'matrix-current',
    world: without(FULL, [
      '_matrix-fed._tcp.delegated.example.com',
      '_matrix._tcp.delegated.example.com',
    ]),
    expect: {
      ip: '192.0.2.20',
      port: 8448,
      hostHeader: 'delegated.example.com',
      tlsName: 'delegated.example.com',
      rule: 'step-3.5',
      trace: [
        `${WK}delegated`,
        'srv _matrix-fed._tcp.delegated.example.com',
        'srv _matrix._tcp.delegated.example.com',
        'address delegated.example.com',
      ],
    },
  },
  {
    title: 'step 3.5: ... and no address is unresolvable (no return to step 4)',
    name: 'example.org',
    profile: 'matrix-current',
    world: without(
      FULL,
      ['_matrix-fed._tcp.delegated.example.com', '_matrix._tcp.delegated.example.com'],
      ['delegated.example.com'],
    ),
    expect: {
      fails: 'unresolvable',
      rule: 'step-3.5',
      trace: [
        `${WK}delegated`,
        'srv _matrix-fed._tcp.delegated.example.com',
        'srv _matrix._tcp.delegated.example.com',
        'address delegated.example.com',
      ],
    },
  },
  {
    title: 'step 4: .well-known error -> _matrix-fed._tcp.<hostname>; Host/cert = hostname',
    name: 'example.org',
    profile: 'matrix-current',
    world: NO_WELL_KNOWN,
    expect: {
      ip: '192.0.2.30',
      port: 8443,
      hostHeader: 'example.org',
      tlsName: 'example.org',
      rule: 'step-4',
      trace: [`${WK}fetch-error`, 'srv _matrix-fed._tcp.example.org', 'address fed.srv.test'],
    },
  },
  {
    title: 'step 5 [deprecated]: then _matrix._tcp.<hostname>',
    name: 'example.org',
    profile: 'matrix-current',
    world: without(NO_WELL_KNOWN, ['_matrix-fed._tcp.example.org']),
    expect: {
      ip: '192.0.2.31',
      port: 8444,
      hostHeader: 'example.org',
      tlsName: 'example.org',
      rule: 'step-5',
      trace: [
        `${WK}fetch-error`,
        'srv _matrix-fed._tcp.example.org',
        'srv _matrix._tcp.example.org',
        'address legacy.srv.test',
      ],
    },
  },
  {
    title: 'step 6: no SRV -> AAAA/A of the hostname, port 8448',
    name: 'example.org',
    profile: 'matrix-current',
    world: without(NO_WELL_KNOWN, ['_matrix-fed._tcp.example.org', '_matrix._tcp.example.org']),
    expect: {
      ip: '2001:db8::10',
      port: 8448,
      hostHeader: 'example.org',
      tlsName: 'example.org',
      rule: 'step-6',
      trace: [
        `${WK}fetch-error`,
        'srv _matrix-fed._tcp.example.org',
        'srv _matrix._tcp.example.org',
        'address example.org',
      ],
    },
  },
  {
    title: 'step 6: an empty world is unresolvable',
    name: 'example.org',
    profile: 'matrix-current',
    world: {},
    expect: {
      fails: 'unresolvable',
      rule: 'step-6',
      trace: [
        `${WK}fetch-error`,
        'srv _matrix-fed._tcp.example.org',
        'srv _matrix._tcp.example.org',
        'address example.org',
      ],
    },
  },
  {
    title: 'SRV: a lone "." target means "decidedly not available"; no fall-through',
    name: 'example.org',
    profile: 'matrix-current',
    world: { ...NO_WELL_KNOWN, srv: { ...FULL.srv, '_matrix-fed._tcp.example.org': [srv('.')] } },
    expect: {
      fails: 'srv-targets-unusable',
      rule: 'step-4',
      trace: [`${WK}fetch-error`, 'srv _matrix-fed._tcp.example.org'],
    },
  },
  {
    title: 'SRV: records found but no target has an address; _matrix._tcp is not consulted',
    name: 'example.org',
    profile: 'matrix-current',
    world: without(FULL, [], ['dfed.srv.test']),
    expect: {
      fails: 'srv-targets-unusable',
      rule: 'step-3.3',
      trace: [
        `${WK}delegated`,
        'srv _matrix-fed._tcp.delegated.example.com',
        'address dfed.srv.test',
      ],
    },
  },
  {
    title: 'SRV: lowest priority first, heaviest weight first, next target if no address',
    name: 'example.org',
    profile: 'matrix-current',
    world: {
      ...NO_WELL_KNOWN,
      srv: {
        '_matrix-fed._tcp.example.org': [
          srv('legacy.srv.test', 1, 20, 100),
          srv('fed.srv.test', 2, 10, 0),
          srv('gone.srv.test', 3, 10, 50),
        ],
      },
    },
    expect: {
      ip: '192.0.2.30',
      port: 2,
      hostHeader: 'example.org',
      tlsName: 'example.org',
      rule: 'step-4',
      trace: [
        `${WK}fetch-error`,
        'srv _matrix-fed._tcp.example.org',
        'address gone.srv.test',
        'address fed.srv.test',
      ],
    },
  },
  {
    title: 'SRV: a target that is a CNAME is skipped (RFC 2782) by default',
    name: 'example.org',
    profile: 'matrix-current',
    world: { ...NO_WELL_KNOWN, cname: { 'fed.srv.test': 'real.srv.test' } },
    expect: {
      fails: 'srv-targets-unusable',
      rule: 'step-4',
      trace: [`${WK}fetch-error`, 'srv _matrix-fed._tcp.example.org', 'cname fed.srv.test'],
    },
  },
  {
    title: "SRV: ... or followed with srvTargetAlias: 'follow'",
    name: 'example.org',
    profile: 'matrix-current',
    world: { ...NO_WELL_KNOWN, cname: { 'fed.srv.test': 'real.srv.test' } },
    options: { srvTargetAlias: 'follow' },
    expect: {
      ip: '192.0.2.30',
      port: 8443,
      hostHeader: 'example.org',
      tlsName: 'example.org',
      rule: 'step-4',
      trace: [
        `${WK}fetch-error`,
        'srv _matrix-fed._tcp.example.org',
        'cname fed.srv.test',
        'address fed.srv.test',
      ],
    },
  },
  {
    title: '.well-known is parsed as JSON whatever its Content-Type',
    name: 'example.org',
    profile: 'matrix-current',
    world: {
      ...FULL,
      wellKnown: {
        'example.org': {
          kind: 'response',
          status: 200,
          headers: { 'content-type': 'text/html' },
          body: '{"m.server": "192.0.2.7:1", "extra": [1, 2]}',
        },
      },
    },
    expect: {
      ip: '192.0.2.7',
      port: 1,
      hostHeader: '192.0.2.7:1',
      tlsName: '192.0.2.7',
      rule: 'step-3.1',
      trace: [`${WK}delegated`],
    },
  },
  {
    title: 'delegation is not recursive: the delegated name’s own .well-known is not fetched',
    name: 'example.org',
    profile: 'matrix-current',
    world: {
      ...FULL,
      wellKnown: {
        'example.org': delegateTo('delegated.example.com'),
        'delegated.example.com': delegateTo('192.0.2.99'),
      },
    },
    expect: {
      ip: '192.0.2.32',
      port: 8445,
      hostHeader: 'delegated.example.com',
      tlsName: 'delegated.example.com',
      rule: 'step-3.3',
      trace: [
        `${WK}delegated`,
        'srv _matrix-fed._tcp.delegated.example.com',
        'address dfed.srv.test',
      ],
    },
  },
];

// Every kind of invalid .well-known response falls through to step 4.
const INVALID_WELL_KNOWN: readonly (readonly [string, WellKnownFetch])[] = [
  ['fetch-error', { kind: 'error', reason: 'redirect-loop' }],
  ['not-200', { kind: 'response', status: 404, body: '{"m.server":"192.0.2.7"}' }],
  ['bad-json', ok200('<html>not json</html>')],
  ['not-an-object', ok200('["m.server"]')],
  ['missing-m.server', ok200({ 'm.homeserver': 'x' })],
  ['m.server-not-a-string', ok200({ 'm.server': 8448 })],
  ['bad-m.server', ok200({ 'm.server': 'localhost:http' })],
];
const FALL_THROUGH_ROWS: readonly Row[] = INVALID_WELL_KNOWN.map(([kind, fetch]) => ({
  title: `invalid .well-known (${kind}) skips to step 4`,
  name: 'example.org',
  profile: 'matrix-current',
  world: { ...FULL, wellKnown: { 'example.org': fetch } },
  expect: {
    ip: '192.0.2.30',
    port: 8443,
    hostHeader: 'example.org',
    tlsName: 'example.org',
    rule: 'step-4',
    trace: [`${WK}${kind}`, 'srv _matrix-fed._tcp.example.org', 'address fed.srv.test'],
  },
}));

const ROWS_2014: readonly Row[] = [
  {
    title: '2014 port present: A record (AAAA ignored) and the given port; no SRV, no .well-known',
    name: 'example.org:8448',
    profile: 'matrix-2014',
    world: FULL,
    expect: {
      ip: '192.0.2.10',
      port: 8448,
      hostHeader: 'example.org:8448',
      tlsName: 'example.org',
      rule: '2014-port',
      trace: ['address(A) example.org'],
    },
  },
  {
    title: '2014 port present: only AAAA records is unresolvable',
    name: 'example.org:8448',
    profile: 'matrix-2014',
    world: { address: { 'example.org': ['2001:db8::10'] } },
    expect: { fails: 'unresolvable', rule: '2014-port', trace: ['address(A) example.org'] },
  },
  {
    title: '2014 port present on an IP literal: no lookup',
    name: '[2001:db8::1]:8448',
    profile: 'matrix-2014',
    world: FULL,
    expect: {
      ip: '2001:db8::1',
      port: 8448,
      hostHeader: '[2001:db8::1]:8448',
      tlsName: '2001:db8::1',
      rule: '2014-port',
      trace: [],
    },
  },
  {
    title: '2014 port absent: _matrix._tcp SRV only (no .well-known, no _matrix-fed)',
    name: 'example.org',
    profile: 'matrix-2014',
    world: FULL,
    expect: {
      ip: '192.0.2.31',
      port: 8444,
      hostHeader: 'example.org',
      tlsName: 'example.org',
      rule: '2014-srv',
      trace: ['srv _matrix._tcp.example.org', 'address(A) legacy.srv.test'],
    },
  },
  {
    title: '2014 port absent, no SRV record: fails (the text has no fallback)',
    name: 'example.org',
    profile: 'matrix-2014',
    world: without(FULL, ['_matrix._tcp.example.org']),
    expect: { fails: 'no-srv-record', rule: '2014-srv', trace: ['srv _matrix._tcp.example.org'] },
  },
  {
    title: '2014 port absent, SRV target without A record',
    name: 'example.org',
    profile: 'matrix-2014',
    world: without(FULL, [], ['legacy.srv.test']),
    expect: {
      fails: 'srv-targets-unusable',
      rule: '2014-srv',
      trace: ['srv _matrix._tcp.example.org', 'address(A) legacy.srv.test'],
    },
  },
  {
    title: '2014 IP literal without port: nothing to look up, no default port',
    name: '1.2.3.4',
    profile: 'matrix-2014',
    world: FULL,
    expect: { fails: 'ip-literal-without-port', rule: '2014-srv', trace: [] },
  },
];

const ALL_ROWS = [...CURRENT_ROWS, ...FALL_THROUGH_ROWS, ...ROWS_2014];

describe('resolution (table)', () => {
  for (const row of ALL_ROWS) {
    test(`${row.profile}: ${row.title}`, () => {
      const name = unwrap(parseServerName(row.name, row.profile));
      const result = resolve(name, staticView(row.world), row.profile, row.options);
      const e = row.expect;
      if ('fails' in e) {
        expect(result.ok).toBe(false);
        if (result.ok) return;
        expect([result.error.kind, result.error.rule]).toEqual([e.fails, e.rule]);
        expect(trace(result.error.steps)).toEqual(e.trace);
        return;
      }
      const endpoint = unwrap(result);
      expect({
        ip: endpoint.ip,
        port: endpoint.port,
        hostHeader: endpoint.hostHeader,
        tlsName: endpoint.tlsName,
        rule: endpoint.rule,
        trace: trace(endpoint.steps),
      }).toEqual(e);
      expect(endpoint.tlsNameKind).toBe(/^[0-9]|:/.test(e.tlsName) ? 'ip' : 'dns');
      expect(endpoint.certificateCheck).toBe(
        row.profile === 'matrix-2014' ? 'published-key-v1' : 'x509-name',
      );
    });
  }

  test('every rule decides at least one row, every failure kind is produced', () => {
    const decided = new Set<string>();
    const failed = new Set<string>();
    for (const row of ALL_ROWS) {
      const name = unwrap(parseServerName(row.name, row.profile));
      const result = resolve(name, staticView(row.world), row.profile, row.options);
      if (result.ok) decided.add(result.value.rule);
      else failed.add(result.error.kind);
    }
    expect([...decided].sort()).toEqual(Object.keys(RULES).sort());
    expect([...failed].sort()).toEqual([...RESOLVE_FAILURE_KINDS].sort());
  });

  test('the deprecated rules are exactly 3.4 and 5', () => {
    const deprecated = Object.entries(RULES).filter(([, info]) => info.deprecated);
    expect(deprecated.map(([rule]) => rule)).toEqual(['step-3.4', 'step-5']);
  });

  test('endpoints from a delegation carry it; SRV endpoints carry the target', () => {
    const name = unwrap(parseServerName('example.org', 'matrix-current'));
    const endpoint = unwrap(resolve(name, staticView(FULL), 'matrix-current'));
    expect(endpoint.delegatedTo?.raw).toBe('delegated.example.com');
    expect(endpoint.srvTarget).toBe('dfed.srv.test');
  });
});

describe('interpretWellKnown', () => {
  test('every invalid kind, and a valid delegation', () => {
    const kinds = INVALID_WELL_KNOWN.map(([, fetch]) => {
      const result = interpretWellKnown(fetch);
      return result.ok ? 'valid' : result.error.kind;
    });
    expect(kinds).toEqual([...WELL_KNOWN_INVALID_KINDS]);
    expect(unwrap(interpretWellKnown(delegateTo('matrix.org:443'))).port).toBe(443);
  });

  test.prop([fc.string({ maxLength: 200 }), fc.integer({ min: 100, max: 599 })], {
    numRuns: 300,
  })('never throws on arbitrary bodies and statuses', (body, status) => {
    const result = interpretWellKnown({ kind: 'response', status, body });
    if (status !== 200) expect(result).toMatchObject({ ok: false, error: { kind: 'not-200' } });
  });
});

describe('orderSrv', () => {
  test.prop(
    [
      fc.array(
        fc.record({
          target: fc.string({ maxLength: 3 }),
          port: fc.nat(65535),
          priority: fc.nat(5),
          weight: fc.nat(5),
        }),
        { maxLength: 8 },
      ),
    ],
    { numRuns: 200 },
  )('priority ascending, then weight descending, stable, a permutation', (records) => {
    const ordered = orderSrv(records);
    expect([...ordered].sort(cmp)).toEqual([...records].sort(cmp));
    for (let i = 1; i < ordered.length; i++) {
      const a = ordered[i - 1];
      const b = ordered[i];
      if (a === undefined || b === undefined) continue;
      expect(a.priority < b.priority || (a.priority === b.priority && a.weight >= b.weight)).toBe(
        true,
      );
    }
  });
  const cmp = (a: object, b: object) => JSON.stringify(a).localeCompare(JSON.stringify(b));
});

describe('resolution properties over generated worlds', () => {
  const scenario = fc.tuple(discoveryNameArb, discoveryTablesArb, fc.constantFrom(...PROFILES));

  test.prop([scenario], { numRuns: 500 })('invariants of every plan', ([input, world, profile]) => {
    const name = unwrap(parseServerName(input, profile));
    const view = staticView(world);
    const result = resolve(name, view, profile);
    // Deterministic: the same world gives the same plan.
    expect(resolve(name, view, profile)).toEqual(result);

    const steps = result.ok ? result.value.steps : result.error.steps;
    const srvNames = steps.flatMap((s) => (s.lookup === 'srv' ? [s.name] : []));

    // _matrix-fed._tcp always before _matrix._tcp for the same name; never in 2014.
    srvNames.forEach((n, i) => {
      if (n.startsWith('_matrix._tcp.') && profile === 'matrix-current') {
        const fed = `_matrix-fed._tcp.${n.slice('_matrix._tcp.'.length)}`;
        expect(srvNames.slice(0, i)).toContain(fed);
      }
      if (profile === 'matrix-2014') expect(n.startsWith('_matrix-fed.')).toBe(false);
    });

    // An explicit port never triggers .well-known or SRV; an IP literal triggers nothing.
    if (name.port !== undefined) {
      expect(steps.filter((s) => s.lookup === 'well-known' || s.lookup === 'srv')).toEqual([]);
    }
    if (name.host.kind !== 'dns') expect(steps).toEqual([]);

    // At most one .well-known fetch, always first, and only in the current profile.
    const wellKnown = steps.filter((s) => s.lookup === 'well-known');
    expect(wellKnown.length).toBeLessThanOrEqual(profile === 'matrix-current' ? 1 : 0);
    if (wellKnown.length === 1) expect(steps[0]?.lookup).toBe('well-known');

    const rule = result.ok ? result.value.rule : result.error.rule;
    expect(RULES[rule].profile).toBe(profile);
    const delegated = wellKnown.some((s) => s.outcome === 'delegated');
    expect(rule.startsWith('step-3.')).toBe(delegated);

    if (result.ok) {
      const e = result.value;
      // The certificate name is the (delegated) hostname or IP, never an SRV target.
      const srvTargets = steps.flatMap((s) =>
        s.lookup === 'srv' ? s.records.map((r) => r.target) : [],
      );
      expect(srvTargets).not.toContain(e.tlsName);
      expect(SRV_TARGETS as readonly string[]).not.toContain(e.tlsName);
      if (e.srvTarget !== undefined) expect(e.tlsName).not.toBe(e.srvTarget);
      const hostnames = [
        name.host.kind === 'dns' ? name.host.name : name.host.address,
        ...(e.delegatedTo === undefined
          ? []
          : [
              e.delegatedTo.host.kind === 'dns'
                ? e.delegatedTo.host.name
                : e.delegatedTo.host.address,
            ]),
      ];
      expect(hostnames).toContain(e.tlsName);
      expect(e.port).toBeGreaterThanOrEqual(0);
      expect(e.port).toBeLessThanOrEqual(65535);
    }
  });

  test.prop([fc.constantFrom(...WORLD_HOSTS), discoveryTablesArb], { numRuns: 200 })(
    'without a port, the current profile always asks .well-known first',
    (host, world) => {
      const name = unwrap(parseServerName(host, 'matrix-current'));
      const result = resolve(name, staticView(world), 'matrix-current');
      const steps = result.ok ? result.value.steps : result.error.steps;
      expect(steps[0]).toMatchObject({ lookup: 'well-known', host });
    },
  );
});

describe('wellKnownCacheTtl', () => {
  const TABLE: readonly (readonly [
    Readonly<Record<string, string | readonly string[]>>,
    boolean,
    number,
  ])[] = [
    [{}, true, 24 * HOUR],
    [{}, false, HOUR],
    [{ 'cache-control': 'max-age=3600' }, true, HOUR],
    [{ 'Cache-Control': 'public, max-age=604800' }, true, 48 * HOUR],
    [{ 'cache-control': 'max-age=7200' }, false, HOUR],
    [{ 'cache-control': 'max-age=60' }, false, 60_000],
    [{ 'cache-control': 'max-age="120"' }, true, 120_000],
    [{ 'cache-control': ['public', 'max-age=30'] }, true, 30_000],
    [{ 'cache-control': 'max-age=10, max-age=20' }, true, 10_000],
    [{ 'cache-control': 'max-age=0' }, true, 0],
    [{ 'cache-control': 'no-store' }, true, 0],
    [{ 'cache-control': 'no-cache' }, true, 0],
    [{ 'cache-control': 'no-cache="set-cookie", max-age=60' }, true, 60_000],
    [{ 'cache-control': 'max-age=soon' }, true, 24 * HOUR],
    [{ 'cache-control': 'max-age=-5' }, false, HOUR],
    [{ 'cache-control': 'max-age=99999999999999999999999' }, true, 48 * HOUR],
  ];
  for (const [headers, isOk, expected] of TABLE) {
    test(`${JSON.stringify(headers)} ok=${isOk} -> ${expected} ms`, () => {
      expect(wellKnownCacheTtl(headers, isOk)).toBe(expected);
    });
  }

  test('constants match the spec text (24 h default, 48 h max, errors up to 1 h)', () => {
    expect([WELL_KNOWN_DEFAULT_TTL_MS, WELL_KNOWN_MAX_TTL_MS, WELL_KNOWN_ERROR_MAX_TTL_MS]).toEqual(
      [24 * HOUR, 48 * HOUR, HOUR],
    );
  });

  test.prop([fc.string({ maxLength: 60 }), fc.boolean()], { numRuns: 300 })(
    'always within [0, 48 h], and [0, 1 h] for errors',
    (value, isOk) => {
      const ttl = wellKnownCacheTtl({ 'cache-control': value }, isOk);
      expect(ttl).toBeGreaterThanOrEqual(0);
      expect(ttl).toBeLessThanOrEqual(isOk ? 48 * HOUR : HOUR);
    },
  );
});
