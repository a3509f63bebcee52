import { isIPv6 } from 'node:net';

import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';

import { unwrap } from '../result.ts';
import {
  dnsNameArb,
  invalidServerNameArb,
  ipv6Arb,
  badIpv6Arb,
  validServerNameArb,
} from './arbitraries.ts';
import {
  ADVISORY_KINDS,
  PROFILES,
  RULE_BASES,
  SERVER_NAME_FAILURE_KINDS,
  hostText,
  isIpv6Address,
  parseServerName,
  type AdvisoryKind,
  type Profile,
  type RuleBasis,
  type ServerNameFailureKind,
} from './index.ts';

const RUNS = { numRuns: 300 } as const;

describe('spec examples', () => {
  // appendices § "Server Name": "Examples of valid server names are: ..."
  const examples = [
    ['matrix.org', { kind: 'dns', name: 'matrix.org' }, undefined],
    ['matrix.org:8888', { kind: 'dns', name: 'matrix.org' }, 8888],
    ['1.2.3.4', { kind: 'ipv4', address: '1.2.3.4' }, undefined],
    ['1.2.3.4:1234', { kind: 'ipv4', address: '1.2.3.4' }, 1234],
    ['[1234:5678::abcd]', { kind: 'ipv6', address: '1234:5678::abcd' }, undefined],
    ['[1234:5678::abcd]:5678', { kind: 'ipv6', address: '1234:5678::abcd' }, 5678],
  ] as const;

  for (const profile of PROFILES) {
    for (const [input, host, port] of examples) {
      test(`${profile}: ${input}`, () => {
        const name = unwrap(parseServerName(input, profile));
        expect(name.raw).toBe(input);
        expect(name.host).toEqual(host);
        expect(name.port).toBe(port);
        expect(name.advisories).toEqual([]);
      });
    }
  }

  test('the upper-case IPv6 example (later spec drafts) parses, with a SHOULD advisory', () => {
    const name = unwrap(parseServerName('[2001:DB8:0:0:8:800:200C:417A]:5678', 'matrix-current'));
    expect(name.host).toEqual({ kind: 'ipv6', address: '2001:DB8:0:0:8:800:200C:417A' });
    expect(name.advisories.map((a) => a.kind)).toEqual(['upper-case']);
  });
});

// Table: input, then the expected [kind, basis] under matrix-current and matrix-2014 (null when
// that profile accepts the input). Every failure kind and every basis appears at least once.
type Expected = readonly [ServerNameFailureKind, RuleBasis] | null;
const REJECTIONS: readonly (readonly [string, Expected, Expected])[] = [
  ['', ['empty', 'abnf'], ['empty', 'discovery']],
  [':8448', ['missing-host', 'abnf'], ['missing-host', 'discovery']],
  ['localhost:http', ['bad-port', 'abnf'], ['bad-port', 'abnf']],
  ['example.org:', ['bad-port', 'abnf'], ['bad-port', 'discovery']],
  ['example.org:123456', ['bad-port', 'abnf'], ['port-out-of-range', 'port-range']],
  ['example.org:65536', ['port-out-of-range', 'port-range'], ['port-out-of-range', 'port-range']],
  ['example.org:99999', ['port-out-of-range', 'port-range'], ['port-out-of-range', 'port-range']],
  ['example.org:80:90', ['bad-port', 'abnf'], ['bad-port', 'abnf']],
  ['1.2.3.256', ['bad-ipv4', 'prose'], ['bad-ipv4', 'hostname-rules']],
  ['999.999.999.999', ['bad-ipv4', 'prose'], ['bad-ipv4', 'hostname-rules']],
  ['01.2.3.4', null, ['bad-ipv4', 'hostname-rules']],
  ['1.2.3.4.5', ['bad-ipv4', 'hostname-rules'], ['bad-ipv4', 'hostname-rules']],
  ['1.2.3', ['bad-ipv4', 'hostname-rules'], ['bad-ipv4', 'hostname-rules']],
  ['8448', ['bad-ipv4', 'hostname-rules'], ['bad-ipv4', 'hostname-rules']],
  ['1.2.3.0004', ['bad-ipv4', 'hostname-rules'], ['bad-ipv4', 'hostname-rules']],
  ['1234:5678::abcd', ['unbracketed-ipv6', 'abnf'], ['unbracketed-ipv6', 'abnf']],
  ['::1', ['unbracketed-ipv6', 'abnf'], ['unbracketed-ipv6', 'abnf']],
  ['[1::2::3]', ['bad-ipv6', 'prose'], ['bad-ipv6', 'abnf']],
  ['[1:2:3:4:5:6:7:8:9]', ['bad-ipv6', 'prose'], ['bad-ipv6', 'abnf']],
  ['[12345::1]', ['bad-ipv6', 'prose'], ['bad-ipv6', 'abnf']],
  ['[::ffff:1.2.3.256]', ['bad-ipv6', 'prose'], ['bad-ipv6', 'abnf']],
  ['[::1.2.3.04]', ['bad-ipv6', 'prose'], ['bad-ipv6', 'abnf']],
  ['[::1', ['bad-ipv6', 'abnf'], ['bad-ipv6', 'abnf']],
  ['[]', ['bad-ipv6', 'abnf'], ['bad-ipv6', 'abnf']],
  ['[fe80::1%25eth0]', ['bad-ipv6', 'abnf'], ['bad-ipv6', 'abnf']],
  ['[v1.fe80::a+en1]', ['bad-ipv6', 'abnf'], ['ip-future', 'discovery']],
  ['[::1]x', ['bad-character', 'abnf'], ['bad-character', 'abnf']],
  ['exa mple.org', ['bad-character', 'abnf'], ['bad-character', 'abnf']],
  ['ex_ample.org', ['bad-character', 'abnf'], null],
  ['ex%4gample.org', ['bad-character', 'abnf'], ['bad-character', 'abnf']],
  ['例え.jp', ['bad-character', 'abnf'], ['bad-character', 'abnf']],
  ['a..b', ['empty-label', 'hostname-rules'], ['empty-label', 'hostname-rules']],
  ['.example.org', ['empty-label', 'hostname-rules'], ['empty-label', 'hostname-rules']],
  ['example.org.', ['empty-label', 'hostname-rules'], ['empty-label', 'hostname-rules']],
  [
    `${'a'.repeat(64)}.org`,
    ['label-too-long', 'hostname-rules'],
    ['label-too-long', 'hostname-rules'],
  ],
  [`${'a.'.repeat(128)}org`, ['too-long', 'abnf'], ['too-long', 'hostname-rules']],
];

const tableRows = REJECTIONS.flatMap(([input, current, y2014]) =>
  (
    [
      ['matrix-current', current],
      ['matrix-2014', y2014],
    ] as const
  ).map(([profile, expected]) => ({ input, profile, expected })),
);

describe('rejections (table)', () => {
  for (const { input, profile, expected } of tableRows) {
    const label = JSON.stringify(input.slice(0, 40));
    test(`${profile}: ${label} -> ${expected === null ? 'accepted' : expected.join(' / ')}`, () => {
      const result = parseServerName(input, profile);
      if (expected === null) {
        expect(result.ok).toBe(true);
        return;
      }
      expect(result.ok ? 'accepted' : [result.error.kind, result.error.basis]).toEqual(expected);
      if (!result.ok) expect(result.error.detail).not.toBe('');
    });
  }

  test('every failure kind and every basis is produced by the table', () => {
    const kinds = new Set<string>();
    const bases = new Set<string>();
    for (const { input, profile } of tableRows) {
      const result = parseServerName(input, profile);
      if (!result.ok) {
        kinds.add(result.error.kind);
        bases.add(result.error.basis);
      }
    }
    expect([...kinds].sort()).toEqual([...SERVER_NAME_FAILURE_KINDS].sort());
    expect([...bases].sort()).toEqual([...RULE_BASES].sort());
  });

  test('01.2.3.4 is a padded IPv4 literal today (with an advisory)', () => {
    const current = unwrap(parseServerName('01.2.3.4', 'matrix-current'));
    expect(current.host).toEqual({ kind: 'ipv4', address: '01.2.3.4' });
    expect(current.advisories.map((a) => a.kind)).toEqual(['ipv4-leading-zero']);
  });

  test('sytest "Non-numeric ports in server names are rejected": localhost:http', () => {
    expect(parseServerName('localhost:http', 'matrix-current')).toMatchObject({
      ok: false,
      error: { kind: 'bad-port' },
    });
  });
});

describe('profile differences and decisions', () => {
  test('2014 accepts RFC 3986 reg-name characters, flagged as not-a-hostname', () => {
    for (const input of ['ex_ample.org', 'a~b.org', 'ex%41mple.org:8448', "a!$&'()*+,;=.org"]) {
      const name = unwrap(parseServerName(input, 'matrix-2014'));
      expect(name.host).toEqual({ kind: 'dns', name: input.replace(/:8448$/, '') });
      expect(name.advisories.map((a) => a.kind)).toEqual(['not-a-hostname']);
      expect(parseServerName(input, 'matrix-current')).toMatchObject({
        ok: false,
        error: { kind: 'bad-character', basis: 'abnf' },
      });
    }
  });

  test('2014 tls_port = *DIGIT: any number of leading zeros, value still <= 65535', () => {
    expect(unwrap(parseServerName('example.org:000000008448', 'matrix-2014')).port).toBe(8448);
    expect(parseServerName('example.org:000000008448', 'matrix-current')).toMatchObject({
      ok: false,
      error: { kind: 'bad-port', basis: 'abnf' },
    });
    expect(unwrap(parseServerName('example.org:08448', 'matrix-current')).port).toBe(8448);
  });

  test('port 0 and 65535 are in range', () => {
    for (const profile of PROFILES) {
      expect(unwrap(parseServerName('example.org:0', profile)).port).toBe(0);
      expect(unwrap(parseServerName('example.org:65535', profile)).port).toBe(65535);
    }
  });

  test('no normalisation: case variants are different names, raw is kept', () => {
    const names = ['example.org', 'EXAMPLE.ORG', 'eXaMpLe.OrG'].map((n) =>
      unwrap(parseServerName(n, 'matrix-current')),
    );
    expect(names.map((n) => hostText(n.host))).toEqual([
      'example.org',
      'EXAMPLE.ORG',
      'eXaMpLe.OrG',
    ]);
    expect(new Set(names.map((n) => n.raw)).size).toBe(3);
  });

  test('dns names up to 255 characters; over 230 is only an advisory', () => {
    const name255 = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}`;
    expect(name255.length).toBe(255);
    const parsed = unwrap(parseServerName(name255, 'matrix-current'));
    expect(parsed.advisories.map((a) => a.kind)).toEqual(['longer-than-230']);
    // The 255 limit is on dns-name; the port may take the whole server name past it.
    expect(unwrap(parseServerName(`${name255}:8448`, 'matrix-current')).port).toBe(8448);
    expect(parseServerName(`${name255}e`, 'matrix-current')).toMatchObject({
      ok: false,
      error: { kind: 'too-long' },
    });
  });

  const ADVISORY_CASES: readonly (readonly [string, Profile, readonly AdvisoryKind[]])[] = [
    [
      `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(48)}`,
      'matrix-current',
      ['longer-than-230'],
    ],
    ['Matrix.org', 'matrix-current', ['upper-case']],
    ['010.0.0.1', 'matrix-current', ['ipv4-leading-zero']],
    ['-a.example.org', 'matrix-current', ['not-a-hostname']],
    ['a-.example.org', 'matrix-2014', ['not-a-hostname']],
    ['ex_ample.org', 'matrix-2014', ['not-a-hostname']],
    ['Matrix.org', 'matrix-2014', []],
  ];

  test('every advisory kind is produced, and advisories never fail a name', () => {
    const seen = new Set<string>();
    for (const [input, profile, kinds] of ADVISORY_CASES) {
      const name = unwrap(parseServerName(input, profile));
      expect(name.advisories.map((a) => a.kind)).toEqual(kinds);
      kinds.forEach((k) => seen.add(k));
    }
    expect([...seen].sort()).toEqual([...ADVISORY_KINDS].sort());
  });
});

describe('properties', () => {
  for (const profile of PROFILES) {
    test.prop([validServerNameArb(profile)], RUNS)(
      `${profile}: generated valid names parse and round-trip`,
      (c) => {
        const name = unwrap(parseServerName(c.input, profile));
        expect(name.raw).toBe(c.input);
        expect(name.host).toEqual(c.host);
        expect(name.port).toBe(c.port);
        expect(
          hostText(name.host) +
            (c.port === undefined ? '' : c.input.slice(c.input.lastIndexOf(':'))),
        ).toBe(c.input);
      },
    );

    test.prop([invalidServerNameArb(profile)], { numRuns: 600 })(
      `${profile}: generated invalid names fail with the expected kind and basis`,
      (c) => {
        const result = parseServerName(c.input, profile);
        expect(result.ok ? 'accepted' : [result.error.kind, result.error.basis]).toEqual([
          c.kind,
          c.basis,
        ]);
      },
    );

    test.prop([anyInput(profile)], { numRuns: 500 })(
      `${profile}: basis is 'abnf' exactly when the input does not match the ABNF`,
      (input) => {
        const result = parseServerName(input, profile);
        const matches =
          profile === 'matrix-current' ? matchesCurrentAbnf(input) : matches2014Abnf(input);
        if (result.ok) expect(matches).toBe(true);
        else expect(result.error.basis === 'abnf').toBe(!matches);
      },
    );

    test.prop([fc.string({ unit: 'binary', maxLength: 300 })], RUNS)(
      `${profile}: never throws, always a Result`,
      (input) => {
        const result = parseServerName(input, profile);
        expect(typeof result.ok).toBe('boolean');
      },
    );
  }

  test.prop(
    [
      fc.oneof(
        ipv6Arb,
        badIpv6Arb.map((b) => b.text),
        fc.string({
          unit: fc.constantFrom(...Array.from('0123456789abcdefABCDEF:.')),
          maxLength: 45,
        }),
      ),
    ],
    { numRuns: 500 },
  )('IPv6 validation agrees with node:net isIPv6 (RFC 3513 text form)', (text) => {
    const comparable = /^[0-9A-Fa-f:.]*$/.test(text);
    if (comparable) expect(isIpv6Address(text)).toBe(isIPv6(text));
    else expect(isIpv6Address(text)).toBe(false);
  });

  test.prop([dnsNameArb({ upperCase: true })], RUNS)(
    'upper case is an advisory in the current profile only',
    (n) => {
      const hasUpper = /[A-Z]/.test(n);
      const current = unwrap(parseServerName(n, 'matrix-current'));
      expect(current.advisories.some((a) => a.kind === 'upper-case')).toBe(hasUpper);
      const y2014 = unwrap(parseServerName(n, 'matrix-2014'));
      expect(y2014.advisories.some((a) => a.kind === 'upper-case')).toBe(false);
    },
  );
});

// Independent ABNF oracles, written as regular expressions straight from the grammars.
const CURRENT_ABNF =
  /^(?:[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|\[[0-9A-Fa-f:.]{2,45}\]|[0-9A-Za-z.-]{1,255})(?::[0-9]{1,5})?$/;

function matchesCurrentAbnf(input: string): boolean {
  return CURRENT_ABNF.test(input);
}

// RFC 3986 host = IP-literal / IPv4address / reg-name (IPv4address is a subset of reg-name);
// IPv6address is checked with node:net, which implements the same RFC 4291/3986 text form.
const HOST_2014 = /^(?:\[([^\]]*)\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)(?::[0-9]*)?$/;
const IP_FUTURE = /^[vV][0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+$/;

function matches2014Abnf(input: string): boolean {
  const m = HOST_2014.exec(input);
  if (m === null) return false;
  const literal = m[1];
  if (literal === undefined) return true;
  return (/^[0-9A-Fa-f:.]+$/.test(literal) && isIPv6(literal)) || IP_FUTURE.test(literal);
}

function anyInput(profile: Profile): fc.Arbitrary<string> {
  return fc.oneof(
    validServerNameArb(profile).map((c) => c.input),
    invalidServerNameArb(profile).map((c) => c.input),
    fc.string({
      unit: fc.constantFrom(...Array.from('0123456789abcdefvxAF:.[]-_%~ ')),
      maxLength: 50,
    }),
  );
}
