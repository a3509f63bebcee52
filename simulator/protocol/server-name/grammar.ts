// Server name grammar, in two profiles:
//
// - 'matrix-current': appendices § "Server Name" of today's spec:
//     server_name = hostname [ ":" port ]
//     port        = 1*5DIGIT
//     hostname    = IPv4address / "[" IPv6address "]" / dns-name
//     IPv4address = 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT
//     IPv6address = 2*45IPv6char
//     IPv6char    = DIGIT / %x41-46 / %x61-66 / ":" / "."
//     dns-name    = 1*255dns-char
//     dns-char    = DIGIT / ALPHA / "-" / "."
//   plus prose: "IPv4 literals must be a sequence of four decimal numbers in the range 0 to 255";
//   "IPv6 literals must be as specified by RFC3513, section 2.2"; DNS names "should follow the
//   conventional restrictions for internet hostnames"; server names "SHOULD be lower case" and
//   "SHOULD NOT exceed 230 characters".
//
// - 'matrix-2014': the first federation spec (2014):
//     server_name = dns_name [ ":" tls_port]
//     dns_name    = <host, see [RFC 3986], Section 3.2.2>
//     tls_port    = *DIGIT
//
// Every check runs in two phases. Phase 1 is exactly the profile's ABNF; phase 2 holds the
// checks that go beyond it (prose MUSTs, DNS/hostname limits, port range, things discovery
// cannot act on). Because phase 1 runs to completion first, a failure whose `basis` is not
// 'abnf' guarantees the input *matches* the ABNF: conformance suites can use that to grade a
// rejection (grammar violation vs. stricter-than-grammar decision).
//
// Server names are case-sensitive and are never normalised: `raw` is the input, host texts are
// slices of it.

import { err, ok, type Failure, type Result } from '../result.ts';

export const PROFILES = ['matrix-2014', 'matrix-current'] as const;
export type Profile = (typeof PROFILES)[number];

export const SERVER_NAME_FAILURE_KINDS = [
  /** The input is the empty string. */
  'empty',
  /** Nothing before the ':' of the port (":8448"). */
  'missing-host',
  /** A character no hostname alternative allows, or text after a bracketed literal. */
  'bad-character',
  /** Looks like an IPv6 address but is not in brackets ("::1", "1234:5678::abcd"). */
  'unbracketed-ipv6',
  /** A numeric (digits-and-dots) hostname that is not a valid dotted quad. */
  'bad-ipv4',
  /** A bracketed literal that is not a valid IPv6 address (or no closing bracket). */
  'bad-ipv6',
  /** 2014 only: an RFC 3986 IPvFuture literal ("[v1.x]"); grammatical, but no way to connect. */
  'ip-future',
  /** A DNS name with an empty label ("a..b", ".a", "a."). */
  'empty-label',
  /** A DNS label longer than 63 characters (RFC 1035 §2.3.4). */
  'label-too-long',
  /** A DNS name longer than 255 characters. */
  'too-long',
  /** The port is not digits (or is empty, or has more than 5 digits in the current profile). */
  'bad-port',
  /** The port is numeric but above 65535. */
  'port-out-of-range',
] as const;
export type ServerNameFailureKind = (typeof SERVER_NAME_FAILURE_KINDS)[number];

export const RULE_BASES = [
  /** The text does not match the profile's ABNF. */
  'abnf',
  /** A MUST in the prose next to the grammar (IPv4 range, RFC 3513 IPv6 form). */
  'prose',
  /** The grammar admits it but DNS / RFC 1123 hostname rules do not. */
  'hostname-rules',
  /** TCP ports are 16-bit (RFC 793); the ABNF alone allows 99999 (current) or any length (2014). */
  'port-range',
  /** Grammatical, but the discovery procedure has nothing to act on. */
  'discovery',
] as const;
export type RuleBasis = (typeof RULE_BASES)[number];

export interface ServerNameFailure extends Failure<ServerNameFailureKind> {
  /** Which rule the rejection rests on; anything but 'abnf' means the ABNF itself matched. */
  readonly basis: RuleBasis;
}

export const ADVISORY_KINDS = [
  /** current: "SHOULD NOT exceed 230 characters" (whole server name). */
  'longer-than-230',
  /** current: "SHOULD be lower case" (includes IPv6 hex digits). */
  'upper-case',
  /** current: "010" is decimal 10 to the spec but octal 8 to inet_aton-style parsers. */
  'ipv4-leading-zero',
  /** A label outside RFC 1123 hostname conventions (2014: non-LDH reg-name characters, either
   * profile: a hyphen at a label edge). The current prose says DNS names "should" follow them. */
  'not-a-hostname',
] as const;
export type AdvisoryKind = (typeof ADVISORY_KINDS)[number];

/** A SHOULD-level observation: the name is accepted, but a suite may want to report it. */
export interface Advisory {
  readonly kind: AdvisoryKind;
  readonly detail: string;
}

export type Host =
  | { readonly kind: 'ipv4'; readonly address: string }
  | { readonly kind: 'ipv6'; readonly address: string }
  | { readonly kind: 'dns'; readonly name: string };

export interface ServerName {
  readonly host: Host;
  /** Numeric value; absent when the name has no port. */
  readonly port?: number;
  /** The input, unchanged (server names are case-sensitive and never normalised). */
  readonly raw: string;
  readonly advisories: readonly Advisory[];
}

type Parsed = Result<ServerName, ServerNameFailure>;

const MAX_PORT = 65535;
const MAX_DNS_NAME = 255;
const MAX_LABEL = 63;
const RECOMMENDED_MAX = 230;

const reject = (kind: ServerNameFailureKind, basis: RuleBasis, detail: string): Parsed =>
  err({ kind, basis, detail });

/** Parses a server name under the given profile. Never throws. */
export function parseServerName(input: string, profile: Profile): Parsed {
  switch (profile) {
    case 'matrix-current':
      return parseCurrent(input);
    case 'matrix-2014':
      return parse2014(input);
  }
}

/** The hostname as it appears in the server name (IPv6 keeps its brackets). */
export function hostText(host: Host): string {
  switch (host.kind) {
    case 'ipv4':
      return host.address;
    case 'ipv6':
      return `[${host.address}]`;
    case 'dns':
      return host.name;
  }
}

// ---------------------------------------------------------------------------------------------
// Splitting host and port (shared): brackets first, because an IPv6 literal contains ':'.

interface Split {
  readonly hostText: string;
  readonly bracketed: boolean;
  readonly portText: string | undefined;
}

const IPV6_CHARS = /^[0-9A-Fa-f:.]+$/;

function split(input: string): Result<Split, ServerNameFailure> {
  if (input.startsWith('[')) {
    const close = input.indexOf(']');
    if (close === -1) {
      return err({ kind: 'bad-ipv6', basis: 'abnf', detail: 'IPv6 literal has no closing "]"' });
    }
    const rest = input.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) {
      return err({
        kind: 'bad-character',
        basis: 'abnf',
        detail: `expected ":" or the end after "]", found ${describe(rest)}`,
      });
    }
    return ok({
      hostText: input.slice(1, close),
      bracketed: true,
      portText: rest === '' ? undefined : rest.slice(1),
    });
  }
  const colon = input.indexOf(':');
  if (colon === -1) return ok({ hostText: input, bracketed: false, portText: undefined });
  // Neither grammar lets a hostname contain ':', so a whole input that is a valid IPv6 address
  // is one someone forgot to bracket, not a host with a strange port ("::1:8448" included).
  if (IPV6_CHARS.test(input) && ipv6Problem(input) === undefined) {
    return err({
      kind: 'unbracketed-ipv6',
      basis: 'abnf',
      detail: 'IPv6 literals must be enclosed in "[" "]"',
    });
  }
  return ok({
    hostText: input.slice(0, colon),
    bracketed: false,
    portText: input.slice(colon + 1),
  });
}

// ---------------------------------------------------------------------------------------------
// matrix-current

const DNS_CHAR = /[0-9A-Za-z.-]/;
const DOTTED_QUAD_ABNF = /^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$/;
const IPV6_ABNF = /^[0-9A-Fa-f:.]{2,45}$/;
const PORT_ABNF = /^[0-9]{1,5}$/;

function parseCurrent(input: string): Parsed {
  // Phase 1: the ABNF.
  if (input === '') return reject('empty', 'abnf', 'a server name needs a hostname');
  const s = split(input);
  if (!s.ok) return s;
  const { hostText: h, bracketed, portText } = s.value;

  let shape: 'ipv6' | 'dotted-quad' | 'dns';
  if (bracketed) {
    if (!IPV6_ABNF.test(h)) {
      return reject('bad-ipv6', 'abnf', `IPv6address = 2*45IPv6char, got ${describe(h)}`);
    }
    shape = 'ipv6';
  } else {
    if (h === '') return reject('missing-host', 'abnf', 'nothing before ":"');
    const bad = firstOutside(h, DNS_CHAR);
    if (bad !== undefined) {
      return reject('bad-character', 'abnf', `${describe(bad)} is not a dns-char`);
    }
    if (DOTTED_QUAD_ABNF.test(h)) shape = 'dotted-quad';
    else if (h.length > MAX_DNS_NAME) {
      return reject('too-long', 'abnf', `dns-name = 1*255dns-char, got ${h.length} characters`);
    } else shape = 'dns';
  }
  if (portText !== undefined && !PORT_ABNF.test(portText)) {
    return reject('bad-port', 'abnf', `port = 1*5DIGIT, got ${describe(portText)}`);
  }

  // Phase 2: beyond the ABNF.
  let host: Host;
  switch (shape) {
    case 'ipv6': {
      const why = ipv6Problem(h);
      if (why !== undefined) return reject('bad-ipv6', 'prose', `not RFC 3513 §2.2 text: ${why}`);
      host = { kind: 'ipv6', address: h };
      break;
    }
    case 'dotted-quad': {
      const big = h.split('.').find((o) => Number(o) > 255);
      if (big !== undefined) {
        return reject('bad-ipv4', 'prose', `IPv4 octet ${big} is outside 0-255`);
      }
      host = { kind: 'ipv4', address: h };
      break;
    }
    case 'dns': {
      const problem = dnsNameProblem(h);
      if (problem !== undefined) return err(problem);
      host = { kind: 'dns', name: h };
      break;
    }
  }
  const port = portValue(portText);
  if (!port.ok) return port;

  const advisories: Advisory[] = [];
  if (input.length > RECOMMENDED_MAX) {
    advisories.push({
      kind: 'longer-than-230',
      detail: `${input.length} characters; server names SHOULD NOT exceed 230`,
    });
  }
  if (/[A-Z]/.test(input)) {
    advisories.push({ kind: 'upper-case', detail: 'server names SHOULD be lower case' });
  }
  if (host.kind === 'ipv4' && host.address.split('.').some((o) => o.length > 1 && o[0] === '0')) {
    advisories.push({
      kind: 'ipv4-leading-zero',
      detail: 'decimal per the spec, but octal to inet_aton-style parsers',
    });
  }
  if (host.kind === 'dns') advisories.push(...hyphenAdvisories(host.name));
  return ok(withPort({ host, raw: input, advisories }, port.value));
}

// Checks shared by both profiles for something that is syntactically a DNS name.
function dnsNameProblem(name: string): ServerNameFailure | undefined {
  // The ABNF lets "1.2.3.256", "1.2.3.4.5" and "8448" through as dns-name. RFC 1123 §2.1: "a
  // valid host name can never have the dotted-decimal form #.#.#.#", and a name made of digits
  // and dots is read as an address by many parsers (WHATWG URL, inet_aton), so we reject it
  // instead of guessing which the sender meant.
  if (/^[0-9.]+$/.test(name) && /[0-9]/.test(name)) {
    return {
      kind: 'bad-ipv4',
      basis: 'hostname-rules',
      detail: `${describe(name)} is numeric but not a dotted quad of 0-255 (RFC 1123 §2.1)`,
    };
  }
  const labels = name.split('.');
  // Empty labels: the ABNF allows "a..b", ".a" and "a."; the prose ("a series of labels
  // separated by '.'") and DNS (RFC 1035 §3.1: only the root label is empty) do not. A trailing
  // dot is the DNS root, which would give one server two names ("a.b" and "a.b.") under
  // case-sensitive string comparison, so it is rejected too.
  if (labels.some((l) => l === '')) {
    return {
      kind: 'empty-label',
      basis: 'hostname-rules',
      detail: `${describe(name)} has an empty label`,
    };
  }
  const long = labels.find((l) => l.length > MAX_LABEL);
  if (long !== undefined) {
    return {
      kind: 'label-too-long',
      basis: 'hostname-rules',
      detail: `a label of ${long.length} characters; DNS allows 63 (RFC 1035 §2.3.4)`,
    };
  }
  return undefined;
}

function hyphenAdvisories(name: string): Advisory[] {
  return name.split('.').some((l) => l.startsWith('-') || l.endsWith('-'))
    ? [{ kind: 'not-a-hostname', detail: 'a label starts or ends with "-" (RFC 1123)' }]
    : [];
}

// ---------------------------------------------------------------------------------------------
// matrix-2014: RFC 3986 §3.2.2 host, *DIGIT port.

// RFC 3986: IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ); "v" is
// case-insensitive like every ABNF literal.
const IP_FUTURE = /^[vV][0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+$/;
// reg-name = *( unreserved / pct-encoded / sub-delims )
const REG_NAME_CHAR = /[A-Za-z0-9\-._~!$&'()*+,;=%]/;
const REG_NAME = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$/;
// RFC 3986 dec-octet has no leading zeros ("01" makes the host a reg-name).
const DEC_OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
const IPV4_STRICT = new RegExp(`^${DEC_OCTET}(?:\\.${DEC_OCTET}){3}$`);
const PORT_2014 = /^[0-9]*$/;

function parse2014(input: string): Parsed {
  // Phase 1: the ABNF. Note that it accepts the empty string (empty reg-name, no port).
  const s = split(input);
  if (!s.ok) return s;
  const { hostText: h, bracketed, portText } = s.value;

  let shape: 'ipv6' | 'ip-future' | 'reg-name';
  if (bracketed) {
    if (IP_FUTURE.test(h)) shape = 'ip-future';
    else if (IPV6_CHARS.test(h) && ipv6Problem(h) === undefined) shape = 'ipv6';
    else {
      const why =
        h === ''
          ? 'the literal is empty'
          : IPV6_CHARS.test(h)
            ? (ipv6Problem(h) ?? '')
            : 'characters outside IPv6address';
      return reject('bad-ipv6', 'abnf', `not an RFC 3986 IPv6address or IPvFuture: ${why}`);
    }
  } else {
    if (!REG_NAME.test(h)) {
      const bad = firstOutside(h, REG_NAME_CHAR);
      return reject(
        'bad-character',
        'abnf',
        bad === undefined
          ? `malformed percent-encoding in ${describe(h)}`
          : `${describe(bad)} is not allowed in an RFC 3986 reg-name`,
      );
    }
    shape = 'reg-name';
  }
  if (portText !== undefined && !PORT_2014.test(portText)) {
    return reject('bad-port', 'abnf', `tls_port = *DIGIT, got ${describe(portText)}`);
  }

  // Phase 2: beyond the ABNF.
  if (input === '') return reject('empty', 'discovery', 'an empty reg-name has nothing to look up');
  if (!bracketed && h === '') {
    return reject('missing-host', 'discovery', 'an empty reg-name has nothing to look up');
  }
  let host: Host;
  switch (shape) {
    case 'ip-future':
      return reject('ip-future', 'discovery', 'IPvFuture names no address family to connect to');
    case 'ipv6':
      host = { kind: 'ipv6', address: h };
      break;
    case 'reg-name': {
      if (IPV4_STRICT.test(h)) {
        host = { kind: 'ipv4', address: h };
        break;
      }
      const numeric = dnsNameProblem(h);
      if (numeric?.kind === 'bad-ipv4') return err(numeric);
      // RFC 3986 §3.2.2: names "should" be limited to 255 characters, as DNS requires.
      if (h.length > MAX_DNS_NAME) {
        return reject('too-long', 'hostname-rules', `${h.length} characters; DNS allows 255`);
      }
      if (numeric !== undefined) return err(numeric);
      host = { kind: 'dns', name: h };
      break;
    }
  }
  // "If the port is present then the server is discovered by ... connecting to the specified
  // TLS port": "example.org:" has a port that specifies nothing, and the 2014 text has no
  // default port for that branch. RFC 3986 §3.2.3 would read an empty port as "the default",
  // but treating it as absent would silently switch to the SRV branch, so it is rejected.
  if (portText === '') {
    return reject('bad-port', 'discovery', 'the port is present but empty (tls_port = *DIGIT)');
  }
  const port = portValue(portText);
  if (!port.ok) return port;

  // The 2014 text calls dns_name a "DNS name" and looks up A/SRV records for it, but RFC 3986
  // reg-name also admits "_", "~", sub-delims and %-escapes; accepted, not decoded, but flagged.
  const advisories: Advisory[] = [];
  if (host.kind === 'dns') {
    if (/[^0-9A-Za-z.-]/.test(host.name)) {
      advisories.push({
        kind: 'not-a-hostname',
        detail: 'reg-name characters outside letters, digits, "-" and "." (RFC 1123)',
      });
    } else advisories.push(...hyphenAdvisories(host.name));
  }
  return ok(withPort({ host, raw: input, advisories }, port.value));
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

function portValue(text: string | undefined): Result<number | undefined, ServerNameFailure> {
  if (text === undefined) return ok(undefined);
  // The current ABNF (1*5DIGIT) alone allows 99999 and 2014's *DIGIT allows any length; TCP
  // ports are 16-bit (RFC 793), so anything above 65535 cannot be connected to. Port 0 is in
  // range and accepted: it is a valid 16-bit value, though no server listens on it.
  const digits = text.replace(/^0+(?=.)/, '');
  if (digits.length > 5 || Number(digits) > MAX_PORT) {
    return err({
      kind: 'port-out-of-range',
      basis: 'port-range',
      detail: `port ${text} is above 65535`,
    });
  }
  return ok(Number(digits));
}

function withPort(
  name: { readonly host: Host; readonly raw: string; readonly advisories: readonly Advisory[] },
  port: number | undefined,
): ServerName {
  // exactOptionalPropertyTypes: leave `port` out rather than set it to undefined.
  return port === undefined ? name : { ...name, port };
}

/** RFC 3986 IPv4address: four dec-octets 0-255 without leading zeros. */
export function isIpv4Address(text: string): boolean {
  return IPV4_STRICT.test(text);
}

/** An IPv6 address in RFC 3513 §2.2 text form (no brackets, no zone). */
export function isIpv6Address(text: string): boolean {
  return IPV6_CHARS.test(text) && ipv6Problem(text) === undefined;
}

/**
 * Why `text` is not an IPv6 address in RFC 3513 §2.2 text form, or undefined if it is one.
 * Forms: eight 1-4 digit hex pieces; "::" at most once, standing for one or more zero pieces;
 * an IPv4 dotted quad as the last 32 bits. The dotted quad follows RFC 3986 dec-octet (no
 * leading zeros), as inet_pton does: RFC 3513's "standard IPv4 representation" is ambiguous.
 */
export function ipv6Problem(text: string): string | undefined {
  let pieces = text;
  if (text.includes('.')) {
    const lastColon = text.lastIndexOf(':');
    if (lastColon === -1) return 'an IPv4 part needs IPv6 pieces before it';
    const tail = text.slice(lastColon + 1);
    if (!IPV4_STRICT.test(tail)) return `${describe(tail)} is not a dotted quad of 0-255`;
    // The dotted quad fills the last two 16-bit pieces.
    pieces = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const gap = pieces.indexOf('::');
  if (gap !== -1 && pieces.indexOf('::', gap + 1) !== -1) return '"::" may appear only once';
  const groups =
    gap === -1
      ? pieces.split(':')
      : [pieces.slice(0, gap), pieces.slice(gap + 2)].flatMap((side) =>
          side === '' ? [] : side.split(':'),
        );
  const bad = groups.find((g) => !/^[0-9A-Fa-f]{1,4}$/.test(g));
  if (bad !== undefined) {
    return bad === ''
      ? 'an empty piece (stray ":")'
      : `piece ${describe(bad)} is not 1-4 hex digits`;
  }
  if (gap === -1 && groups.length !== 8) return `${groups.length} pieces, expected 8`;
  // "::" stands for at least one zero piece, so at most seven may be written around it.
  if (gap !== -1 && groups.length > 7) return `${groups.length} pieces around "::", at most 7`;
  return undefined;
}

function firstOutside(text: string, allowed: RegExp): string | undefined {
  // By code point, so a non-BMP character is reported whole.
  return Array.from(text).find((c) => !allowed.test(c));
}

function describe(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}
