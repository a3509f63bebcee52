// fast-check generators for server names and discovery worlds, shared by this module's tests
// and (later) the conformance suites. Valid generators carry the expected parse; invalid ones
// carry the expected failure kind and rule basis for the given profile.

import * as fc from 'fast-check';

import type { Host, Profile, RuleBasis, ServerNameFailureKind } from './grammar.ts';
import type { DiscoveryTables, SrvRecord, WellKnownFetch } from './resolution.ts';

export interface ValidServerNameCase {
  readonly input: string;
  readonly host: Host;
  readonly port?: number;
}

export interface InvalidServerNameCase {
  readonly input: string;
  readonly kind: ServerNameFailureKind;
  readonly basis: RuleBasis;
  /** Which generator produced it, for readable counterexamples. */
  readonly why: string;
}

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const HEX = '0123456789abcdef';

const charFrom = (chars: string): fc.Arbitrary<string> => fc.constantFrom(...Array.from(chars));
const alnum = charFrom(LOWER + DIGITS);
const ldh = charFrom(LOWER + DIGITS + '-');
const letter = charFrom(LOWER);

/** A hostname label: letters/digits/hyphens, 1-63 characters, no hyphen at either edge. */
export const labelArb: fc.Arbitrary<string> = fc.oneof(
  alnum,
  fc
    .tuple(alnum, fc.string({ unit: ldh, maxLength: 61 }), alnum)
    .map(([first, middle, last]) => first + middle + last),
);

/**
 * A DNS name valid in both profiles: labels plus an all-letter top label (so it can never look
 * like an IPv4 literal), at most 255 characters. Some upper case is mixed in when `upperCase`.
 */
export function dnsNameArb(options: { readonly upperCase?: boolean } = {}): fc.Arbitrary<string> {
  const name = fc
    .tuple(
      fc.array(labelArb, { maxLength: 4 }),
      fc.string({ unit: letter, minLength: 1, maxLength: 10 }),
    )
    .map(([labels, top]) => [...labels, top].join('.'))
    .filter((n) => n.length <= 255);
  if (options.upperCase !== true) return name;
  return fc.tuple(name, fc.array(fc.boolean(), { minLength: 1, maxLength: 8 })).map(([n, flips]) =>
    Array.from(n)
      .map((c, i) => (flips[i % flips.length] === true ? c.toUpperCase() : c))
      .join(''),
  );
}

/** A DNS name of exactly `length` characters: letters, with a dot every 50th character. */
export function dnsNameOfLength(length: number): fc.Arbitrary<string> {
  return fc.string({ unit: letter, minLength: length, maxLength: length }).map((s) =>
    Array.from(s)
      .map((c, i) => (i % 50 === 49 && i < length - 1 ? '.' : c))
      .join(''),
  );
}

const octets = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));

/** A dotted-quad IPv4 literal without leading zeros (valid in both profiles). */
export const ipv4Arb: fc.Arbitrary<string> = octets.map((o) => o.join('.'));

/** A dotted quad whose octets may carry leading zeros ("010"): current profile only. */
export const paddedIpv4Arb: fc.Arbitrary<string> = fc
  .tuple(octets, fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)))
  .map(([o, pad]) =>
    o
      .map((n, i) => String(n).padStart(Math.min(3, String(n).length + (pad[i] ?? 0)), '0'))
      .join('.'),
  );

/**
 * An IPv6 address in RFC 3513 text form (no brackets): full, "::"-compressed anywhere (one or
 * more zero pieces), optionally with an embedded IPv4 tail, 1-4 digit pieces, mixed case.
 */
export const ipv6Arb: fc.Arbitrary<string> = fc
  .record({
    pieces: fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), {
      minLength: 8,
      maxLength: 8,
    }),
    pad: fc.array(fc.nat(3), { minLength: 8, maxLength: 8 }),
    upper: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
    ipv4Tail: fc.boolean(),
    gap: fc.option(fc.tuple(fc.nat(7), fc.nat(7)), { nil: undefined }),
  })
  .map(({ pieces, pad, upper, ipv4Tail, gap }) => {
    const count = ipv4Tail ? 6 : 8;
    const hex = pieces.slice(0, count).map((p, i) => {
      const digits = p.toString(16);
      const padded = digits.padStart(Math.min(4, digits.length + (pad[i] ?? 0)), '0');
      return upper[i] === true ? padded.toUpperCase() : padded;
    });
    const p6 = pieces[6] ?? 0;
    const p7 = pieces[7] ?? 0;
    const tail = ipv4Tail ? [[p6 >> 8, p6 & 255, p7 >> 8, p7 & 255].join('.')] : [];
    if (gap === undefined) return [...hex, ...tail].join(':');
    const start = gap[0] % count;
    const length = 1 + (gap[1] % (count - start));
    return `${hex.slice(0, start).join(':')}::${[...hex.slice(start + length), ...tail].join(':')}`;
  });

export const portArb: fc.Arbitrary<number> = fc.integer({ min: 0, max: 65535 });

// Port text, possibly with leading zeros (the 5-digit limit applies in the current profile).
function portTextArb(profile: Profile): fc.Arbitrary<{ text: string; port: number }> {
  return fc.tuple(portArb, fc.nat(4)).map(([port, pad]) => {
    const digits = String(port);
    const width =
      profile === 'matrix-current' ? Math.min(5, digits.length + pad) : digits.length + pad;
    return { text: digits.padStart(width, '0'), port };
  });
}

const SUB_DELIMS_ETC = "_~!$&'()*+,;=";

/** 2014 only: an RFC 3986 reg-name using characters a hostname would not (accepted + advisory). */
export const regNameArb: fc.Arbitrary<string> = fc
  .tuple(
    fc.array(
      fc.array(
        fc.oneof(
          charFrom(LOWER + DIGITS + '-' + SUB_DELIMS_ETC),
          fc.tuple(charFrom(HEX), charFrom(HEX)).map(([a, b]) => `%${a}${b}`),
        ),
        { minLength: 1, maxLength: 20 },
      ),
      { minLength: 1, maxLength: 3 },
    ),
    fc.string({ unit: letter, minLength: 1, maxLength: 6 }),
  )
  .map(([labels, top]) => [...labels.map((l) => l.join('')), top].join('.'));

type HostCase = { readonly text: string; readonly host: Host };

/** Valid server names with the host and port a parser must report. */
export function validServerNameArb(profile: Profile): fc.Arbitrary<ValidServerNameCase> {
  const hosts: fc.Arbitrary<HostCase>[] = [
    (profile === 'matrix-current' ? paddedIpv4Arb : ipv4Arb).map((a) => ({
      text: a,
      host: { kind: 'ipv4', address: a },
    })),
    ipv6Arb.map((a) => ({ text: `[${a}]`, host: { kind: 'ipv6', address: a } })),
    dnsNameArb({ upperCase: true }).map((n) => ({ text: n, host: { kind: 'dns', name: n } })),
    fc
      .integer({ min: 200, max: 255 })
      .chain(dnsNameOfLength)
      .map((n) => ({ text: n, host: { kind: 'dns', name: n } })),
  ];
  if (profile === 'matrix-2014') {
    hosts.push(regNameArb.map((n) => ({ text: n, host: { kind: 'dns', name: n } })));
  }
  return fc
    .tuple(fc.oneof(...hosts), fc.option(portTextArb(profile), { nil: undefined }))
    .map(([{ text, host }, port]) =>
      port === undefined
        ? { input: text, host }
        : { input: `${text}:${port.text}`, host, port: port.port },
    );
}

// Characters neither grammar allows in a hostname ("%" is excluded: 2014 allows "%XX").
const BAD_IN_BOTH = [' ', '/', '@', '#', '?', 'é', '"', '<', '>', '\\', '^', '`', '{', '|', '}'];
const BAD_ALSO = ['\t', '\n', '\u0000', '€', '😀', 'ı', 'ａ'];
// Characters RFC 3986 reg-name allows but the current dns-char does not.
const BAD_IN_CURRENT_ONLY = [...Array.from(SUB_DELIMS_ETC), '%'];

const insertAt = (text: string, at: number, piece: string): string => {
  const i = at % (text.length + 1);
  return text.slice(0, i) + piece + text.slice(i);
};

const hexPiece = fc
  .tuple(fc.integer({ min: 0, max: 0xffff }), fc.nat(3))
  .map(([n, pad]) => n.toString(16).padStart(Math.min(4, n.toString(16).length + pad), '0'));

/** Bracketed contents that are not RFC 3513 / RFC 3986 IPv6 addresses. */
export const badIpv6Arb: fc.Arbitrary<{ readonly text: string; readonly why: string }> = fc.oneof(
  fc
    .array(hexPiece, { minLength: 9, maxLength: 9 })
    .map((p) => ({ text: p.join(':'), why: '9 pieces' })),
  fc
    .array(hexPiece, { minLength: 1, maxLength: 7 })
    .map((p) => ({ text: p.join(':'), why: 'too few pieces, no "::"' })),
  fc
    .tuple(hexPiece, hexPiece, hexPiece)
    .map(([a, b, c]) => ({ text: `${a}::${b}::${c}`, why: 'two "::"' })),
  fc
    .array(hexPiece, { minLength: 8, maxLength: 8 })
    .map((p) => ({ text: `${p.join(':')}::`, why: '8 pieces and "::"' })),
  fc
    .tuple(
      fc.array(hexPiece, { minLength: 7, maxLength: 7 }),
      fc.integer({ min: 0x10000, max: 0xfffff }),
    )
    .map(([p, big]) => ({ text: [...p, big.toString(16)].join(':'), why: '5-digit piece' })),
  fc.tuple(ipv4Arb, fc.nat(3), fc.integer({ min: 256, max: 999 })).map(([v4, i, big]) => {
    const parts = v4.split('.');
    parts[i] = String(big);
    return { text: `::ffff:${parts.join('.')}`, why: 'IPv4 tail octet > 255' };
  }),
  ipv4Arb.map((v4) => ({ text: `::${v4}.1`, why: 'IPv4 tail with 5 octets' })),
  ipv4Arb.map((v4) => ({ text: `::0${v4}`, why: 'IPv4 tail with a leading zero' })),
  ipv4Arb.map((v4) => ({ text: `${v4}::`, why: 'IPv4 part not last' })),
  fc
    .array(hexPiece, { minLength: 7, maxLength: 7 })
    .map((p) => ({ text: `:${p.join(':')}`, why: 'leading single ":"' })),
  fc.constantFrom(
    { text: ':::', why: '":::"' },
    { text: '1:2', why: 'too few pieces' },
    { text: 'g::1', why: 'non-hex piece' },
    { text: 'fe80::1%eth0', why: 'zone index' },
    { text: '', why: 'empty literal' },
    { text: ':', why: 'single colon' },
    { text: '1.2.3.4', why: 'bare IPv4 in brackets' },
  ),
);

function ipv6Basis(profile: Profile, text: string): RuleBasis {
  // The current ABNF only constrains the characters and length; RFC 3513 is prose. RFC 3986's
  // IPv6address is a complete grammar, so every malformed literal is an ABNF failure in 2014.
  return profile === 'matrix-current' && /^[0-9A-Fa-f:.]{2,45}$/.test(text) ? 'prose' : 'abnf';
}

/** Invalid server names, each with the failure kind and basis the profile must report. */
export function invalidServerNameArb(profile: Profile): fc.Arbitrary<InvalidServerNameCase> {
  const current = profile === 'matrix-current';
  const c = (
    why: string,
    kind: ServerNameFailureKind,
    basis: RuleBasis,
  ): ((input: string) => InvalidServerNameCase) => {
    return (input) => ({ input, kind, basis, why });
  };
  const withOptionalPort = (host: fc.Arbitrary<string>): fc.Arbitrary<string> =>
    fc
      .tuple(host, fc.option(portArb, { nil: undefined }))
      .map(([h, p]) => (p === undefined ? h : `${h}:${p}`));
  const host = fc.oneof(
    dnsNameArb(),
    ipv4Arb,
    ipv6Arb.map((a) => `[${a}]`),
  );

  const cases: fc.Arbitrary<InvalidServerNameCase>[] = [
    withOptionalPort(
      fc.tuple(octets, fc.nat(3), fc.integer({ min: 256, max: 999 })).map(([o, i, big]) => {
        const parts = o.map(String);
        parts[i] = String(big);
        return parts.join('.');
      }),
    ).map(c('octet > 255', 'bad-ipv4', current ? 'prose' : 'hostname-rules')),
    withOptionalPort(
      fc
        .array(fc.nat(255), { minLength: 1, maxLength: 8 })
        .filter((o) => o.length !== 4)
        .map((o) => o.join('.')),
    ).map(c('not four octets', 'bad-ipv4', 'hostname-rules')),
    withOptionalPort(
      fc
        .tuple(octets, fc.nat(3), fc.integer({ min: 1000, max: 99999 }))
        .map(([o, i, big]) => o.map((n, j) => (j === i ? big : n)).join('.')),
    ).map(c('octet with more than 3 digits', 'bad-ipv4', 'hostname-rules')),
    ipv6Arb.map(c('unbracketed IPv6', 'unbracketed-ipv6', 'abnf')),
    fc
      .tuple(host, fc.integer({ min: 65536, max: 99999 }))
      .map(([h, p]) => `${h}:${p}`)
      .map(c('port 65536-99999', 'port-out-of-range', 'port-range')),
    fc
      .tuple(host, fc.integer({ min: 100000, max: 99999999 }))
      .map(([h, p]) => `${h}:${p}`)
      .map(
        current
          ? c('port with 6+ digits', 'bad-port', 'abnf')
          : c('port with 6+ digits', 'port-out-of-range', 'port-range'),
      ),
    fc
      .tuple(
        host,
        fc.constantFrom(
          'http',
          'https',
          'abc',
          '80a',
          '-1',
          '+80',
          ' 80',
          '8 0',
          '0x50',
          '٨٤٤٨',
          '８４४८',
        ),
      )
      .map(([h, p]) => `${h}:${p}`)
      .map(c('non-numeric port', 'bad-port', 'abnf')),
    host
      .map((h) => `${h}:`)
      .map(
        current ? c('empty port', 'bad-port', 'abnf') : c('empty port', 'bad-port', 'discovery'),
      ),
    withOptionalPort(
      fc
        .tuple(dnsNameArb(), fc.nat(), fc.constantFrom('lead', 'double', 'trail'))
        .map(([n, at, where]) => {
          if (where === 'lead') return `.${n}`;
          if (where === 'trail') return `${n}.`;
          const dots = Array.from(n).flatMap((ch, i) => (ch === '.' ? [i] : []));
          const i = dots[at % Math.max(1, dots.length)];
          return i === undefined ? `${n}..${n}` : `${n.slice(0, i)}..${n.slice(i + 1)}`;
        })
        .filter((n) => n.length <= 255),
    ).map(c('empty label', 'empty-label', 'hostname-rules')),
    withOptionalPort(fc.integer({ min: 256, max: 400 }).chain(dnsNameOfLength)).map(
      c('dns name over 255', 'too-long', current ? 'abnf' : 'hostname-rules'),
    ),
    withOptionalPort(
      fc
        .tuple(fc.string({ unit: letter, minLength: 64, maxLength: 120 }), dnsNameArb())
        .map(([long, rest]) => `${long}.${rest}`)
        .filter((n) => n.length <= 255),
    ).map(c('label over 63', 'label-too-long', 'hostname-rules')),
    fc.constant('').map(current ? c('empty', 'empty', 'abnf') : c('empty', 'empty', 'discovery')),
    portArb
      .map((p) => `:${p}`)
      .map(
        current
          ? c('missing host', 'missing-host', 'abnf')
          : c('missing host', 'missing-host', 'discovery'),
      ),
    withOptionalPort(
      fc
        .tuple(dnsNameArb(), fc.nat(), fc.constantFrom(...BAD_IN_BOTH, ...BAD_ALSO))
        .map(([n, at, ch]) => insertAt(n, at, ch))
        .filter((n) => !n.startsWith('[')),
    ).map(c('bad character', 'bad-character', 'abnf')),
    withOptionalPort(badIpv6Arb.map(({ text }) => `[${text}]`)).map((input) => {
      const inner = input.slice(1, input.indexOf(']'));
      return {
        input,
        kind: 'bad-ipv6',
        basis: ipv6Basis(profile, inner),
        why: 'bad IPv6',
      } as const;
    }),
    ipv6Arb.map((a) => `[${a}`).map(c('unterminated IPv6', 'bad-ipv6', 'abnf')),
    fc
      .tuple(ipv6Arb, fc.constantFrom('x', '.', '8448', ' ', ']', '[::1]'))
      .map(([a, junk]) => `[${a}]${junk}`)
      .map(c('text after "]"', 'bad-character', 'abnf')),
    dnsNameArb()
      .map((n) => `${n}%4g`)
      .map(c('malformed percent-encoding', 'bad-character', 'abnf')),
  ];
  if (current) {
    cases.push(
      withOptionalPort(
        fc
          .tuple(dnsNameArb(), fc.nat(), fc.constantFrom(...BAD_IN_CURRENT_ONLY))
          .map(([n, at, ch]) => insertAt(n, at, ch)),
      ).map(c('reg-name character', 'bad-character', 'abnf')),
      fc.constantFrom('[v1.fe80::a+en1]', '[V7.x]').map(c('IPvFuture', 'bad-ipv6', 'abnf')),
    );
  } else {
    cases.push(
      withOptionalPort(fc.constantFrom('[v1.fe80::a+en1]', '[V7.x]', '[vF.a:b]')).map(
        c('IPvFuture', 'ip-future', 'discovery'),
      ),
    );
  }
  return fc.oneof(...cases);
}

// ---------------------------------------------------------------------------------------------
// Discovery worlds

/** Hostnames the discovery generators use; disjoint from SRV_TARGETS. */
export const WORLD_HOSTS = ['example.org', 'matrix.test', 'delegated.example.com'] as const;
/** SRV targets; never equal to a WORLD_HOSTS name, so "tlsName is never an SRV target" is exact. */
export const SRV_TARGETS = ['srv1.targets.invalid', 'srv2.targets.invalid', '.'] as const;
const WORLD_IPS = ['192.0.2.1', '198.51.100.7', '2001:db8::1', '2001:db8::2'] as const;

const worldNameArb: fc.Arbitrary<string> = fc
  .tuple(
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...WORLD_HOSTS) },
      { weight: 1, arbitrary: fc.constantFrom('192.0.2.9', '[2001:db8::9]') },
    ),
    // Mostly portless: those are the names that exercise .well-known and SRV.
    fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.constantFrom(443, 8448, 1234) },
    ),
  )
  .map(([h, p]) => (p === undefined ? h : `${h}:${p}`));

/** A server name string drawn from the world's hosts and literals, with or without a port. */
export const discoveryNameArb: fc.Arbitrary<string> = worldNameArb;

const wellKnownArb: fc.Arbitrary<WellKnownFetch> = fc.oneof(
  {
    weight: 3,
    arbitrary: worldNameArb.map((n) => ({
      kind: 'response' as const,
      status: 200,
      body: JSON.stringify({ 'm.server': n }),
    })),
  },
  fc.constantFrom('network', 'tls', 'timeout', 'redirect-loop').map((reason) => ({
    kind: 'error' as const,
    reason,
  })),
  fc.constantFrom(404, 500, 301, 204).map((status) => ({
    kind: 'response' as const,
    status,
    body: '{"m.server":"matrix.test"}',
  })),
  fc
    .constantFrom('not json', '[]', '{}', '{"m.server":5}', '{"m.server":"bad name!"}', '')
    .map((body) => ({ kind: 'response' as const, status: 200, body })),
);

const srvRecordArb: fc.Arbitrary<SrvRecord> = fc.record({
  target: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...SRV_TARGETS.filter((t) => t !== '.')) },
    { weight: 1, arbitrary: fc.constant('.') },
  ),
  port: fc.constantFrom(443, 8448, 8449),
  priority: fc.nat(3),
  weight: fc.nat(3),
});

function tableArb<V>(
  keys: readonly string[],
  value: fc.Arbitrary<V>,
): fc.Arbitrary<Readonly<Record<string, V>>> {
  return fc
    .tuple(...keys.map((k) => fc.option(value, { nil: undefined }).map((v) => [k, v] as const)))
    .map((entries) =>
      Object.fromEntries(entries.filter((e): e is readonly [string, V] => e[1] !== undefined)),
    );
}

/** Lookup tables over WORLD_HOSTS and SRV_TARGETS: any mix of answers, errors and gaps. */
export const discoveryTablesArb: fc.Arbitrary<DiscoveryTables> = fc
  .record({
    wellKnown: tableArb(WORLD_HOSTS, wellKnownArb),
    srv: tableArb(
      WORLD_HOSTS.flatMap((h) => [`_matrix-fed._tcp.${h}`, `_matrix._tcp.${h}`]),
      fc.array(srvRecordArb, { maxLength: 3 }),
    ),
    address: tableArb(
      [...WORLD_HOSTS, ...SRV_TARGETS],
      fc.array(fc.constantFrom(...WORLD_IPS), { minLength: 1, maxLength: 2 }),
    ),
    cname: fc.option(tableArb(SRV_TARGETS, fc.constant('canonical.targets.invalid')), {
      nil: undefined,
    }),
  })
  .map(({ cname, ...rest }) => (cname === undefined ? rest : { ...rest, cname }));
