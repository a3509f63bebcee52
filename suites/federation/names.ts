// Server names and discovery (FED-NAME-01..03, 05..12), checked on the sending side:
// fedconn controls the DNS records and .well-known answers of generated server names,
// makes the target's server contact them, and compares what it looked up and where it
// connected with the resolution the spec prescribes for the same world.
import fc from 'fast-check';
import {
  discoveryNameArb,
  discoveryTablesArb,
  dnsNameArb,
  invalidServerNameArb,
  ipv4Arb,
  portArb,
  validServerNameArb,
  type InvalidServerNameCase,
  type ValidServerNameCase,
} from '../../simulator/protocol/server-name/arbitraries.ts';
import {
  parseServerName,
  type DiscoveryTables,
  type Profile,
  type WellKnownFetch,
} from '../../simulator/protocol/server-name/index.ts';
import {
  checkProperty,
  defineCheck,
  eachOf,
  expectThat,
  type CheckContext,
} from '../harness/check.ts';
import {
  contact,
  controlledDns,
  destinationOf,
  expectConnection,
  expectNoContact,
  expectSrvOrder,
  freshTag,
  install,
  planFor,
  relabel,
  tlsServerNameOf,
  type Plan,
} from './names-support.ts';
import { answerOf, brief, jsonObject } from './support.ts';

/** An address every generated endpoint lives at; nothing answers there. */
const ENDPOINT_IP = '192.0.2.77';
const SRV_NODE = 'node.names.test';

/** A world in which a valid `name` resolves: its address record, or (2014) its SRV record. */
function worldFor(name: string, profile: Profile): DiscoveryTables {
  const parsed = parseServerName(name, profile);
  if (!parsed.ok || parsed.value.host.kind !== 'dns') return {};
  const host = parsed.value.host.name;
  if (profile === 'matrix-2014' && parsed.value.port === undefined) {
    return {
      srv: { [`_matrix._tcp.${host}`]: [{ target: SRV_NODE, port: 8448, priority: 0, weight: 0 }] },
      address: { [SRV_NODE]: [ENDPOINT_IP] },
    };
  }
  return { address: { [host]: [ENDPOINT_IP] } };
}

// A URL parser reads "010" as octal; such literals are valid names whose endpoint the
// simulated network cannot name, so valid cases leave them out.
const connectable = (c: ValidServerNameCase) =>
  !(c.host.kind === 'ipv4' && /(^|\.)0[0-9]/.test(c.host.address));

type NameCase =
  | { readonly valid: true; readonly input: string }
  | { readonly valid: false; readonly input: string; readonly why: string };

const validCase = (c: ValidServerNameCase): NameCase => ({ valid: true, input: c.input });
const invalidCase = (c: InvalidServerNameCase): NameCase => ({
  valid: false,
  input: c.input,
  why: `${c.why} (${c.kind})`,
});

/** Valid names are contacted where the plan leads; anything else is never contacted. */
async function grammarProperty(
  ctx: CheckContext,
  profile: Profile,
  cases: fc.Arbitrary<NameCase>,
  numRuns: number,
  /** Edge cases tried every time, whatever the seed, before the random ones. */
  fixed: readonly NameCase[] = [],
): Promise<void> {
  const judge = async (c: NameCase) => {
    const sender = ctx.instance.servers[0]?.serverName ?? 'the target';
    if (!c.valid) {
      expectNoContact(await contact(ctx, c.input), `${sender} (${c.why})`);
      return;
    }
    const tables = worldFor(c.input, profile);
    await install(ctx, tables);
    const plan = planFor(c.input, tables, profile);
    if (plan === undefined) throw new Error(`the generator made an invalid name: ${c.input}`);
    expectConnection(await contact(ctx, c.input), plan, `${sender}, valid name`);
  };
  if (fixed.length > 0) await checkProperty(ctx, [eachOf(...fixed)], judge, { numRuns: 0 });
  await checkProperty(ctx, [cases], judge, { numRuns });
}

export const grammar2014 = defineCheck({
  name: 'a server contacts every 2014 server name (RFC 3986 host, digit port) and no other string',
  rules: ['FED-NAME-01'],
  profiles: ['matrix-2014'],
  needs: ['dns'],
  async run(ctx) {
    controlledDns(ctx);
    const cases = fc.oneof(
      validServerNameArb('matrix-2014').filter(connectable).map(validCase),
      // "example.org:" matches tls_port = *DIGIT; the suite reads it as unresolvable, but the
      // text does not forbid reading it as no port, so it is not held against the target.
      invalidServerNameArb('matrix-2014')
        .filter((c) => !(c.kind === 'bad-port' && c.basis === 'discovery'))
        .map(invalidCase),
      fc
        .tuple(dnsNameArb(), fc.constantFrom(...NON_NUMERIC_PORTS))
        .map(([h, p]) => ({ valid: false, input: `${h}:${p}`, why: 'non-numeric port' }) as const),
    );
    await grammarProperty(
      ctx,
      'matrix-2014',
      cases,
      50,
      NON_NUMERIC_PORTS.map((p) => ({
        valid: false,
        input: `port.example:${p}`,
        why: 'non-numeric port',
      })),
    );
  },
});

const NON_NUMERIC_PORTS = ['http', 'https', '80a', ' 80', '+80', '0x50'] as const;

const NUMERIC_RANGES = new Set(['bad-ipv4', 'port-out-of-range']);
const LIMIT_PORTS = [65535, 1, 8448] as const;
const EDGE_PORTS = [65535, 99999, 65536] as const;
const portCase = (host: string, port: number): NameCase =>
  port > 65535
    ? { valid: false, input: `${host}:${port}`, why: 'port over 65535' }
    : { valid: true, input: `${host}:${port}` };
const isRangeCase = (c: InvalidServerNameCase) =>
  NUMERIC_RANGES.has(c.kind) || (c.kind === 'bad-ipv6' && c.basis === 'prose');

export const grammarCurrent = defineCheck({
  name: 'a server contacts every hostname[:port] of IPv4, bracketed IPv6 or DNS form, and no malformed name',
  rules: ['FED-NAME-02'],
  profiles: ['matrix-current'],
  needs: ['dns'],
  async run(ctx) {
    controlledDns(ctx);
    const invalid = invalidServerNameArb('matrix-current').filter((c) => !isRangeCase(c));
    const cases = fc.oneof(
      validServerNameArb('matrix-current').filter(connectable).map(validCase),
      invalid.map(invalidCase),
      // The forms the statement names: unbracketed IPv6 and over-long names.
      invalid
        .filter((c) => c.kind === 'unbracketed-ipv6' || c.kind === 'too-long')
        .map(invalidCase),
    );
    await grammarProperty(ctx, 'matrix-current', cases, 50);
  },
});

export const numericRanges = defineCheck({
  name: 'a server never contacts names with IPv4 octets over 255, non-RFC 3513 IPv6 or ports over 65535',
  rules: ['FED-NAME-03'],
  profiles: ['matrix-current'],
  needs: ['dns'],
  async run(ctx) {
    controlledDns(ctx);
    const cases = fc.oneof(
      invalidServerNameArb('matrix-current').filter(isRangeCase).map(invalidCase),
      // The limits themselves are names.
      fc
        .tuple(
          fc.oneof(ipv4Arb, fc.constant('255.255.255.255'), fc.constant('0.0.0.0')),
          fc.constantFrom(...LIMIT_PORTS),
        )
        .map(([ip, port]) => ({ valid: true, input: `${ip}:${port}` }) as const),
      fc
        .tuple(dnsNameArb(), fc.constantFrom(...EDGE_PORTS))
        .map(([host, port]) => portCase(host, port)),
    );
    await grammarProperty(ctx, 'matrix-current', cases, 50, [
      ...['255.255.255.255', '0.0.0.0'].flatMap((ip) =>
        LIMIT_PORTS.map((port) => ({ valid: true, input: `${ip}:${port}` }) as const),
      ),
      ...EDGE_PORTS.map((port) => portCase('port.example', port)),
    ]);
  },
});

export const namesCaseSensitive = defineCheck({
  name: 'a server addresses "Example.org" and "example.org" each by its own name',
  rules: ['FED-NAME-05'],
  profiles: ['matrix-current'],
  needs: ['dns'],
  async run(ctx) {
    controlledDns(ctx);
    const names = fc
      .tuple(dnsNameArb({ upperCase: true }), portArb)
      .filter(([host]) => /[A-Z]/.test(host))
      .map(([host, port]) => ({ host, port }));
    await checkProperty(
      ctx,
      [names],
      async ({ host, port }) => {
        const tag = freshTag(ctx);
        for (const name of [`${tag}.${host}:${port}`, `${tag}.${host.toLowerCase()}:${port}`]) {
          await install(ctx, worldFor(name, 'matrix-current'));
          const attempt = await contact(ctx, name);
          const first = attempt.connections[0];
          const seen = first === undefined ? 'no connection' : first;
          expectThat(
            first !== undefined && destinationOf(first) === name && first.host === name,
            `a request for ${name} was not addressed to exactly that name`,
            `X-Matrix destination and Host ${name}`,
            typeof seen === 'string'
              ? seen
              : `destination ${destinationOf(seen) ?? '(none)'}, Host ${seen.host}`,
          );
        }
      },
      { numRuns: 12 },
    );
  },
});

export const ownNamesRecommended = defineCheck({
  name: 'the target names its servers, and signs its keys, with lower-case names of at most 230 characters',
  rules: ['FED-NAME-06'],
  profiles: ['matrix-current'],
  async run(ctx) {
    for (const s of ctx.instance.servers) {
      const answer = await answerOf(
        await ctx.instance.transport(
          new Request(`${s.origin}/_matrix/key/v2/server`, { signal: ctx.signal }),
        ),
      );
      const published = jsonObject.safeParse(answer.body).data?.server_name;
      expectThat(
        answer.status === 200 && typeof published === 'string',
        `${s.serverName}: no key document naming the server`,
        '200 {"server_name", ...}',
        brief(answer),
      );
      for (const name of new Set([s.serverName, published])) {
        const parsed = parseServerName(name, 'matrix-current');
        const advice = parsed.ok
          ? parsed.value.advisories.filter(
              (a) => a.kind === 'upper-case' || a.kind === 'longer-than-230',
            )
          : [];
        expectThat(
          parsed.ok && advice.length === 0,
          `${s.serverName}: the server name ${JSON.stringify(name)} goes against the recommendation`,
          'a valid server name, lower case, at most 230 characters',
          parsed.ok ? advice.map((a) => a.detail).join('; ') : parsed.error.detail,
        );
      }
    }
  },
});

// CNAMEs are left out: the target's DNS follows them for address lookups, which the
// plan's table view does not model.
const tablesArb: fc.Arbitrary<DiscoveryTables> = discoveryTablesArb.map(
  ({ wellKnown, srv, address }) => ({
    ...(wellKnown === undefined ? {} : { wellKnown }),
    ...(srv === undefined ? {} : { srv }),
    ...(address === undefined ? {} : { address }),
  }),
);

/** A generated world, renamed for this run, and its plan; `keep` filters on name and plan. */
function worlds(
  profile: Profile,
  keep: (name: string, plan: Plan) => boolean,
  tables: fc.Arbitrary<DiscoveryTables> = tablesArb,
  names: fc.Arbitrary<string> = discoveryNameArb,
) {
  return fc.tuple(names, tables).filter(([name, t]) => {
    const plan = planFor(name, t, profile);
    return plan !== undefined && keep(name, plan);
  });
}

/** Installs a renamed copy of the world, contacts the name, and returns both sides. */
async function attemptIn(
  ctx: CheckContext,
  name: string,
  tables: DiscoveryTables,
  profile: Profile,
) {
  const world = relabel(tables, name, freshTag(ctx));
  await install(ctx, world.tables);
  const plan = planFor(world.name, world.tables, profile);
  if (plan === undefined) throw new Error(`relabelling made ${world.name} invalid`);
  return { attempt: await contact(ctx, world.name), plan };
}

const portless = (name: string) => {
  const parsed = parseServerName(name, 'matrix-current');
  return parsed.ok && parsed.value.host.kind === 'dns' && parsed.value.port === undefined;
};

export const resolution2014 = defineCheck({
  name: 'a 2014 server finds name:port by its A record and a port-less name by its _matrix._tcp SRV record',
  rules: ['FED-NAME-07'],
  profiles: ['matrix-2014'],
  needs: ['dns'],
  async run(ctx) {
    controlledDns(ctx);
    await checkProperty(
      ctx,
      [worlds('matrix-2014', () => true)],
      async ([name, tables]) => {
        const { attempt, plan } = await attemptIn(ctx, name, tables, 'matrix-2014');
        expectThat(
          attempt.wellKnownFetches.length === 0,
          `the 2014 server fetched .well-known for ${attempt.name}`,
          'no .well-known fetch (2014 has none)',
          attempt.wellKnownFetches.map((c) => c.url).join(', '),
        );
        expectSrvOrder(attempt, plan, '2014 resolution');
        expectConnection(attempt, plan, '2014 resolution');
      },
      { numRuns: 30 },
    );
  },
});

export const literalsAndPortsDirect = defineCheck({
  name: 'an IP literal is used as is and a hostname with a port through its address records, without .well-known or SRV',
  rules: ['FED-NAME-08'],
  profiles: ['matrix-current'],
  needs: ['dns'],
  async run(ctx) {
    controlledDns(ctx);
    await checkProperty(
      ctx,
      [worlds('matrix-current', (name) => !portless(name))],
      async ([name, tables]) => {
        const { attempt, plan } = await attemptIn(ctx, name, tables, 'matrix-current');
        expectThat(
          attempt.wellKnownFetches.length === 0,
          `the server fetched .well-known for ${attempt.name}`,
          'no .well-known fetch for an IP literal or a name with a port',
          attempt.wellKnownFetches.map((c) => c.url).join(', '),
        );
        expectSrvOrder(attempt, plan, 'IP literal or explicit port');
        expectConnection(attempt, plan, 'IP literal or explicit port');
      },
      { numRuns: 25 },
    );
  },
});

const delegated = (plan: Plan) => {
  const steps = plan.ok ? plan.value.steps : plan.error.steps;
  return steps[0]?.lookup === 'well-known' && steps[0].outcome === 'delegated';
};

export const wellKnownDelegationFollowed = defineCheck({
  name: 'a port-less hostname is looked up at .well-known first, and its delegation resolved by sub-steps 3.1-3.5 in order',
  rules: ['FED-NAME-09'],
  profiles: ['matrix-current'],
  needs: ['dns'],
  async run(ctx) {
    controlledDns(ctx);
    // Every world where the name's .well-known delegates, to any kind of name.
    const tables = fc.tuple(tablesArb, discoveryNameArb).map(([t, to]): DiscoveryTables => ({
      ...t,
      wellKnown: {
        ...t.wellKnown,
        'example.org': { kind: 'response', status: 200, body: JSON.stringify({ 'm.server': to }) },
      },
    }));
    await checkProperty(
      ctx,
      [
        worlds(
          'matrix-current',
          (n, plan) => portless(n) && delegated(plan),
          tables,
          fc.constant('example.org'),
        ),
      ],
      async ([name, t]) => {
        const { attempt, plan } = await attemptIn(ctx, name, t, 'matrix-current');
        expectThat(
          attempt.wellKnownFetches.length === 1,
          `the server did not look ${attempt.name} up at .well-known first`,
          `one GET https://${attempt.name}/.well-known/matrix/server`,
          `${attempt.wellKnownFetches.length} fetches`,
        );
        expectSrvOrder(attempt, plan, 'delegation');
        expectConnection(attempt, plan, 'delegation');
      },
      { numRuns: 30 },
    );
  },
});

/** .well-known answers that delegate nothing: errors, other statuses, bodies of every bad kind. */
const brokenWellKnownArb: fc.Arbitrary<WellKnownFetch> = fc.oneof(
  fc.constant<WellKnownFetch>({ kind: 'error', reason: 'network' }),
  fc
    .tuple(fc.constantFrom(404, 500, 301, 204, 403), fc.constant('{"m.server":"matrix.test"}'))
    .map(([status, body]): WellKnownFetch => ({ kind: 'response', status, body })),
  fc
    .constantFrom(
      'not json',
      '[]',
      '{}',
      '"matrix.test"',
      'null',
      '{"m.server":5}',
      '{"m.server":null}',
      '{"m.server":"bad name!"}',
      '{"m.server":"matrix.test:99999"}',
      '{"m.server":""}',
      '',
      '{"m.server":"matrix.test"',
    )
    .map((body): WellKnownFetch => ({ kind: 'response', status: 200, body })),
);

export const brokenWellKnownFallsThrough = defineCheck({
  name: 'a failed or invalid .well-known falls through to _matrix-fed._tcp, _matrix._tcp, then port 8448',
  rules: ['FED-NAME-10'],
  profiles: ['matrix-current'],
  needs: ['dns'],
  async run(ctx) {
    controlledDns(ctx);
    const tables = fc.tuple(tablesArb, brokenWellKnownArb).map(([t, broken]): DiscoveryTables => ({
      ...t,
      wellKnown: { ...t.wellKnown, 'example.org': broken },
    }));
    await checkProperty(
      ctx,
      [worlds('matrix-current', () => true, tables, fc.constant('example.org'))],
      async ([name, t]) => {
        const { attempt, plan } = await attemptIn(ctx, name, t, 'matrix-current');
        expectSrvOrder(attempt, plan, 'no valid .well-known');
        expectConnection(attempt, plan, 'no valid .well-known');
      },
      { numRuns: 30 },
    );
  },
});

export const hostAndCertificateName = defineCheck({
  name: 'requests carry the server name or delegated hostname as Host and TLS server name, never an SRV target',
  rules: ['FED-NAME-11'],
  profiles: ['matrix-current'],
  needs: ['dns'],
  async run(ctx) {
    controlledDns(ctx);
    const viaSrvOrDelegation = (_: string, plan: Plan) =>
      plan.ok && (plan.value.srvTarget !== undefined || plan.value.delegatedTo !== undefined);
    await checkProperty(
      ctx,
      [worlds('matrix-current', viaSrvOrDelegation)],
      async ([name, tables]) => {
        const { attempt, plan } = await attemptIn(ctx, name, tables, 'matrix-current');
        if (!plan.ok) throw new Error('the generator kept a world that does not resolve');
        const first = attempt.connections[0];
        const { hostHeader, tlsName, srvTarget } = plan.value;
        expectThat(
          first !== undefined && first.host === hostHeader && tlsServerNameOf(first) === tlsName,
          `a request for ${attempt.name} (${plan.value.rule}) named the wrong server`,
          `Host ${hostHeader}, TLS server name ${tlsName}${srvTarget === undefined ? '' : ` (not the SRV target ${srvTarget})`}`,
          first === undefined
            ? 'no connection'
            : `Host ${first.host}, TLS server name ${tlsServerNameOf(first) ?? '(none)'}`,
        );
      },
      { numRuns: 25 },
    );
  },
});

const HOUR = 3_600_000;

type CacheCase =
  | { readonly kind: 'default' }
  | { readonly kind: 'max-age'; readonly seconds: number }
  | { readonly kind: 'no-store'; readonly header: string }
  | { readonly kind: 'failure'; readonly status: number };

/** How long the statement lets a .well-known answer be reused, and whether that is a floor. */
function lifetime(c: CacheCase): { readonly ms: number; readonly atLeast: boolean } {
  switch (c.kind) {
    case 'default':
      return { ms: 24 * HOUR, atLeast: true };
    case 'max-age':
      return { ms: Math.min(c.seconds * 1000, 48 * HOUR), atLeast: true };
    case 'no-store':
      return { ms: 0, atLeast: true };
    case 'failure':
      // "at most one hour": sooner is allowed too.
      return { ms: HOUR, atLeast: false };
  }
}

export const wellKnownCached = defineCheck({
  name: 'a .well-known answer is reused for its Cache-Control lifetime (24 h default, 48 h cap), a failure for at most an hour',
  rules: ['FED-NAME-12'],
  profiles: ['matrix-current'],
  needs: ['dns', 'virtual-time'],
  async run(ctx) {
    const dns = controlledDns(ctx);
    const advance = ctx.instance.advance;
    if (advance === undefined) throw new Error('this target cannot move time');
    const cases: fc.Arbitrary<CacheCase> = fc.oneof(
      fc.constant({ kind: 'default' } as const),
      fc
        .integer({ min: 60, max: 72 * 3600 })
        .map((seconds) => ({ kind: 'max-age', seconds }) as const),
      fc
        .constantFrom('no-store', 'no-cache', 'max-age=0')
        .map((header) => ({ kind: 'no-store', header }) as const),
      fc.constantFrom(404, 500).map((status) => ({ kind: 'failure', status }) as const),
    );
    await checkProperty(
      ctx,
      [cases, fc.constantFrom(0.5, 0.99, 1.01, 1.5)],
      async (c, factor) => {
        const host = `${freshTag(ctx)}.cache.names.test`;
        const headers: Record<string, string> =
          c.kind === 'max-age'
            ? { 'cache-control': `max-age=${c.seconds}` }
            : c.kind === 'no-store'
              ? { 'cache-control': c.header }
              : {};
        let fetches = 0;
        await dns.serve(host, () => {
          fetches++;
          return Promise.resolve(
            c.kind === 'failure'
              ? new Response('{"errcode":"M_NOT_FOUND"}', { status: c.status })
              : Response.json({ 'm.server': '[2001:db8::c]:8448' }, { headers }),
          );
        });
        await contact(ctx, host);
        const first = fetches;
        const { ms, atLeast } = lifetime(c);
        const elapsed = Math.round(ms * factor);
        await advance(elapsed);
        await contact(ctx, host);
        const refetched = fetches > first;
        const mustRefetch = elapsed >= ms;
        // Real time passes on top of the moved clock (requests, polls): a margin for it.
        const slack = ctx.target.kind === 'sim' ? 0 : 30_000;
        const mustNot = atLeast && elapsed + slack < ms;
        expectThat(
          first === 1 && (!mustRefetch || refetched) && (!mustNot || !refetched),
          `.well-known of ${host} (${JSON.stringify(headers)}${c.kind === 'failure' ? `, status ${c.status}` : ''}) was not cached as the statement says`,
          `one fetch, then ${mustRefetch ? 'a new fetch' : mustNot ? 'the cached answer' : 'either'} ${elapsed} ms later (lifetime ${ms} ms)`,
          `${first} fetch(es), then ${refetched ? 'a new fetch' : 'the cached answer'}`,
        );
      },
      { numRuns: 25 },
    );
  },
});
