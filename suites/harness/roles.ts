// Which rules apply to a target: each server declares the roles it implements
// (Phoenix AS/QS/DS in one profile, Matrix federation in some Matrix profiles, an
// identity service with or without MSC4004), and a check applies where at least one
// server implements a role the check exercises. A rule none of whose checks apply is
// `n/a`: never pass, never fail, not counted as checked.
import { getRule, type Profile, type Role, type RuleId } from '../catalog/index.ts';
import type { ServerRoles } from '../../simulator/serve/target-config.ts';
import { clientKindOf } from './clients/index.ts';

export interface TargetRoles {
  readonly servers: readonly { readonly serverName: string; readonly roles: ServerRoles }[];
  /** Whether a client is under test (the simulator's reference client, or `--client`). */
  readonly client: boolean;
  /** The kinds of client it is (default: both, as the reference is). */
  readonly clientKinds?: readonly ('identity' | 'phoenix')[];
  /**
   * Whether the servers are judged too (default true). With `--client` only the client
   * is: the servers are fedconn's own, there to judge it against.
   */
  readonly serversUnderTest?: boolean;
}

/** Families that exist only with MSC4004 on top of the identity service API v2. */
const MSC4004_FAMILIES: ReadonlySet<string> = new Set(['IS-FED', 'IS-PUSH']);

export interface Exercised {
  readonly roles: readonly Role[];
  readonly rules: readonly RuleId[];
}

function needsMsc4004(rules: readonly RuleId[]): boolean {
  return rules.every((id) => MSC4004_FAMILIES.has(getRule(id).family));
}

/** Does a server with `roles` implement `role`, for checks of `rules`, in `profile`? */
export function implementsRole(
  roles: ServerRoles,
  role: Role,
  profile: Profile,
  rules: readonly RuleId[],
): boolean {
  switch (role) {
    case 'AS':
    case 'QS':
    case 'DS':
      return roles.phoenix?.profile === profile;
    case 'FED':
      return (
        (profile === 'matrix-2014' || profile === 'matrix-current') &&
        roles.federation?.profiles.includes(profile) === true
      );
    case 'IS':
      return roles.identity !== undefined && (!needsMsc4004(rules) || roles.identity.msc4004);
    case 'CLIENT':
      // A server is never the client; the client role is the target's (see TargetRoles.client).
      return false;
  }
}

/** What to declare so that a role applies, for n/a reasons. */
function declaration(role: Role, profile: Profile, rules: readonly RuleId[]): string {
  switch (role) {
    case 'AS':
    case 'QS':
    case 'DS':
      return `Phoenix ${role} in profile ${profile} (roles.phoenix.profile "${profile}")`;
    case 'FED':
      return `Matrix federation in ${profile} (roles.federation.profiles)`;
    case 'IS':
      return needsMsc4004(rules)
        ? 'an identity service with MSC4004 (roles.identity.msc4004 true)'
        : 'an identity service (roles.identity)';
    case 'CLIENT':
      return 'a client under test (fedconn’s reference client on the sim target, or `--client`)';
  }
}

export type Applicability =
  | { readonly applies: true; readonly servers: readonly string[] }
  | { readonly applies: false; readonly reason: string };

/** Whether a check exercising `exercised` applies to the target in `profile`, and on which servers. */
export function applicability(
  target: TargetRoles,
  exercised: Exercised,
  profile: Profile,
): Applicability {
  // The client under test talks to every server; a server role needs servers that have it.
  if (target.client && exercised.roles.includes('CLIENT')) {
    const kind = exercised.rules.every((id) => clientKindOf(getRule(id).family) === 'identity')
      ? 'identity'
      : 'phoenix';
    if ((target.clientKinds ?? ['identity', 'phoenix']).includes(kind))
      return { applies: true, servers: [...new Set(target.servers.map((s) => s.serverName))] };
    if (target.serversUnderTest === false)
      return { applies: false, reason: `the client under test is not a ${kind} client` };
  }
  if (target.serversUnderTest === false) {
    return {
      applies: false,
      reason: 'only the client is under test (--client): the servers are fedconn’s own',
    };
  }
  const servers = target.servers
    .filter((s) =>
      exercised.roles.some((r) => implementsRole(s.roles, r, profile, exercised.rules)),
    )
    .map((s) => s.serverName);
  if (servers.length > 0) return { applies: true, servers: [...new Set(servers)] };
  const wanted = [...new Set(exercised.roles.map((r) => declaration(r, profile, exercised.rules)))];
  return {
    applies: false,
    reason: `no server of the target implements ${wanted.join(' or ')}`,
  };
}

/** The roles a check exercises: those it names, or else every role of its rules. */
export function exercisedBy(check: {
  readonly rules: readonly RuleId[];
  readonly roles?: readonly Role[];
}): Exercised {
  const roles = check.roles ?? [...new Set(check.rules.flatMap((id) => getRule(id).roles))];
  return { roles, rules: check.rules };
}
