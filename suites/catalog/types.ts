// The vocabulary of the rule catalog. Everything that reports, filters or
// counts rules (CLI, reports, mutants, coverage) speaks these types.

export const LEVELS = ['MUST', 'SHOULD', 'MAY'] as const;
export type Level = (typeof LEVELS)[number];

/** Who a rule binds: a service of a homeserver, the federation layer, or a client. */
export const ROLES = ['AS', 'QS', 'DS', 'IS', 'FED', 'CLIENT'] as const;
export type Role = (typeof ROLES)[number];

/**
 * Profiles name the version of the protocol a rule belongs to. Where sources
 * disagree the suite names the profile instead of picking one silently.
 * - multi-device: the longer Phoenix seed (a package per client, race rules).
 * - aliases: the shorter Phoenix seed (packages under aliases, no credential).
 * - matrix-2014: the 2014 federation text in the seeds.
 * - matrix-current: today's Matrix specification (and MSC4004 on top).
 */
export const PROFILES = ['multi-device', 'aliases', 'matrix-2014', 'matrix-current'] as const;
export type Profile = (typeof PROFILES)[number];

/** Where a rule comes from: one entry of SOURCES plus the section inside it. */
export interface SourceRef {
  readonly doc: SourceId;
  readonly section: string;
}

export interface RuleSpec {
  readonly level: Level;
  readonly roles: readonly Role[];
  readonly profiles: readonly Profile[];
  readonly sources: readonly SourceRef[];
  /** The normative statement, in our own words. */
  readonly statement: string;
  /** How the suite checks the rule: the property, oracle or adversary used. */
  readonly checkedBy: string;
  /** Divergences between versions or implementations, written down rather than resolved silently. */
  readonly note?: string;
  /** Matrix room versions the checks speak, for rules judged on room events. */
  readonly roomVersions?: readonly string[];
  /** Set while no conformance check exists yet; shown everywhere as unchecked. */
  readonly planned?: true;
  /** A retired rule keeps its ID forever; the reason says why it no longer applies. */
  readonly retired?: string;
}

export interface FamilySpec {
  readonly title: string;
  /** The part of the protocol (see docs/spec.md) the family belongs to. */
  readonly part: Part;
  readonly summary: string;
}

export const PARTS = {
  connection: 'Part 1: Connection establishment',
  federation: 'Part 2: Server discovery and server keys',
  invite: 'Part 3: Invite/join dance',
  identity: 'Part 4: Identity service lookup',
} as const;
export type Part = keyof typeof PARTS;

/** Every document a rule may cite. Seeds are quoted by file; public specs by repo and commit. */
export const SOURCES = {
  'seed-multi-device': {
    title: 'Discovery and connection establishment (multi-device seed)',
    where: 'shared/seeds/001_617ca96d3df02967.txt',
  },
  'seed-aliases': {
    title: 'Discovery and connection establishment (aliases seed)',
    where: 'shared/seeds/000_57222bb6405e586e.txt',
  },
  'seed-spec-30': {
    title: 'Matrix SPEC-30 "Invite/join dance" (2014)',
    where: 'shared/seeds/002_77f294ae7458a0b0.txt',
  },
  'seed-federation-2014': {
    title: 'Matrix server-server API draft: server discovery, keys, authentication (2014)',
    where: 'shared/seeds/003_716843134a106ce1.txt',
  },
  'seed-msc4004': {
    title: 'MSC4004: unified view of identity service',
    where: 'shared/seeds/004_6ea0db81edf71741.txt',
  },
  'phnx-credentials': {
    title: 'Phoenix spec, credentials',
    where: 'phnx-im/docs@4cf0ad83 src/spec/authentication_service/credentials.md',
  },
  'phnx-as': {
    title: 'Phoenix spec, Authentication Service API',
    where: 'phnx-im/docs@4cf0ad83 src/spec/authentication_service.md',
  },
  'phnx-ds': {
    title: 'Phoenix spec, Delivery Service API and group state encryption',
    where:
      'phnx-im/docs@4cf0ad83 src/spec/delivery_service.md, delivery_service/group_state_encryption.md',
  },
  'phnx-qs': {
    title: 'Phoenix spec, Queuing Service API',
    where: 'phnx-im/docs@4cf0ad83 src/spec/queuing_service.md',
  },
  'phnx-threats': {
    title: 'Phoenix threat model and security guarantees',
    where:
      'phnx-im/docs@4cf0ad83 src/threat_model/**, authentication_service/security_guarantees.md',
  },
  'phnx-federation': {
    title: 'Phoenix spec, federation use cases',
    where: 'phnx-im/docs@4cf0ad83 src/spec/federation/use_cases.md',
  },
  'air-impl': {
    title: 'Air implementation (phnx-im/air), behaviour read from code',
    where: 'phnx-im/air@52e691fc (see shared/reference/phnx-air-notes.md §2.11, §3)',
  },
  'matrix-ss-api': {
    title: 'Matrix Server-Server API',
    where: 'matrix-org/matrix-spec@d0ba2aae content/server-server-api.md',
  },
  'matrix-appendices': {
    title: 'Matrix specification appendices',
    where: 'matrix-org/matrix-spec@d0ba2aae content/appendices.md',
  },
  'matrix-room-v5': {
    title: 'Matrix room version 5 signing requirements (MSC2076)',
    where: 'matrix-org/matrix-spec@d0ba2aae content/rooms/fragments/v5-signing-requirements.md',
  },
  'matrix-is-api': {
    title: 'Matrix Identity Service API v2',
    where: 'matrix-org/matrix-spec@d0ba2aae content/identity-service-api.md',
  },
  msc2134: {
    title: 'MSC2134: identity hash lookups',
    where: 'matrix-org/matrix-spec-proposals proposals/2134-identity-hash-lookup.md',
  },
  'matrix-practice': {
    title: 'De facto rules of Synapse, sytest and Complement',
    where: 'shared/reference/matrix-notes.md §A4, §B3',
  },
  'rfc8032-wycheproof': {
    title: 'RFC 8032 §5.1.7 (Ed25519 verification) and Wycheproof EdDSA vectors',
    where: 'RFC 8032; C2SP/wycheproof testvectors_v1/ed25519_test.json',
  },
} as const satisfies Record<string, { readonly title: string; readonly where: string }>;
export type SourceId = keyof typeof SOURCES;
