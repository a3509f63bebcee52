// hash_details and lookup (identity-service-api.md § Association lookup, MSC2134),
// with MSC4004's alt_lookup_peppers and third_party_mappings.
import type { Context } from 'hono';
import { isMutant, type HomeserverContext } from '../../homeserver/context.ts';
import { IDENTITY_SERVER_MUTANTS as M } from './mutants.ts';
import { fail, readJson } from '../../homeserver/http.ts';
import {
  isLookupAlgorithm,
  lookupHash,
  type LookupAlgorithm,
} from '../../protocol/identity/hash.ts';
import { authenticateUser, authenticateUserOrServer } from './auth.ts';
import type { IdentityState } from './state.ts';
import { lookupRequestSchema, MAX_LOOKUP_ADDRESSES, OFFERED_ALGORITHMS } from './wire.ts';

export interface HashDetails {
  readonly lookup_pepper: string;
  readonly algorithms: readonly string[];
  readonly alt_lookup_peppers?: readonly string[];
}

export interface LookupAnswer {
  readonly mappings: Readonly<Record<string, string>>;
  readonly third_party_mappings?: Readonly<Record<string, readonly string[]>>;
}

export function hashDetails(state: IdentityState): HashDetails {
  const { lookup_pepper, alt_lookup_peppers } = state.peppers;
  // alt_lookup_peppers is optional in MSC4004; it is sent only while a rotation is under way.
  return {
    lookup_pepper,
    algorithms: OFFERED_ALGORITHMS,
    ...(alt_lookup_peppers.length === 0 ? {} : { alt_lookup_peppers }),
  };
}

/** 400 M_INVALID_PEPPER with what the client should use instead (MSC2134). */
export function invalidPepper(state: IdentityState, why: string): Response {
  return fail('M_INVALID_PEPPER', why, {
    algorithm: 'sha256',
    lookup_pepper: state.peppers.lookup_pepper,
  });
}

/** The sha256 hash an entry of `addresses` stands for under `pepper`, if it stands for one. */
function entryHash(algorithm: LookupAlgorithm, pepper: string, entry: string): string | undefined {
  if (algorithm === 'sha256') return entry;
  const parts = /^(\S+) (\S+)$/.exec(entry);
  if (parts?.[1] === undefined || parts[2] === undefined) return undefined;
  const hashed = lookupHash({ algorithm: 'sha256', address: parts[1], medium: parts[2], pepper });
  return hashed.ok ? hashed.value : undefined;
}

function localUser(
  state: IdentityState,
  algorithm: LookupAlgorithm,
  pepper: string,
  entry: string,
): string | undefined {
  switch (algorithm) {
    case 'sha256':
      return state.userForHash(pepper, entry);
    case 'none': {
      // Sydent's rule: exactly "<address> <medium>"; anything else matches nothing.
      const parts = /^(\S+) (\S+)$/.exec(entry);
      if (parts?.[1] === undefined || parts[2] === undefined) return undefined;
      return state.binding(parts[2], parts[1])?.user_id;
    }
  }
}

/**
 * Answers a lookup whose algorithm and pepper were accepted. An entry is a mapping when
 * a local binding matches; otherwise it is listed under every trusted server that pushed
 * its hash under this pepper. Entries are reported as sent, so for `none` a third-party
 * entry is the cleartext the client sent (the server hashed it to match the pushes).
 */
export function answerLookup(
  state: IdentityState,
  algorithm: LookupAlgorithm,
  pepper: string,
  addresses: readonly string[],
): LookupAnswer {
  const mappings: Record<string, string> = {};
  const thirdParty = new Map<string, string[]>();
  for (const entry of addresses) {
    const user = localUser(state, algorithm, pepper, entry);
    if (user !== undefined) {
      mappings[entry] = user;
      continue;
    }
    const hash = entryHash(algorithm, pepper, entry);
    if (hash === undefined) continue;
    for (const server of state.pushedServers(pepper, hash)) {
      const entries = thirdParty.get(server) ?? [];
      if (!entries.includes(entry)) entries.push(entry);
      thirdParty.set(server, entries);
    }
  }
  // Sent only when non-empty, so answers stay byte-identical to plain v2 otherwise.
  return thirdParty.size === 0
    ? { mappings }
    : { mappings, third_party_mappings: Object.fromEntries(thirdParty) };
}

export async function handleHashDetails(
  ctx: HomeserverContext,
  state: IdentityState,
  c: Context,
): Promise<Response> {
  const caller = await authenticateUserOrServer(ctx, state, c);
  if (!caller.ok) return caller.error;
  const details = hashDetails(state);
  if (isMutant(ctx, M.offerOnlyNone)) return c.json({ ...details, algorithms: ['none'] });
  return c.json(details);
}

export async function handleLookup(
  ctx: HomeserverContext,
  state: IdentityState,
  c: Context,
): Promise<Response> {
  const caller = authenticateUser(ctx, state, c);
  if (!caller.ok && !isMutant(ctx, M.lookupWithoutAuthentication)) return caller.error;
  const body = await readJson(c, lookupRequestSchema);
  if (!body.ok) return body.error;
  const { pepper, addresses } = body.value;
  let { algorithm } = body.value;
  if (!isLookupAlgorithm(algorithm)) {
    if (!isMutant(ctx, M.unknownAlgorithmAsNone)) {
      return fail('M_INVALID_PARAM', `unsupported algorithm ${JSON.stringify(algorithm)}`);
    }
    algorithm = 'none';
  }
  const skipPepperCheck =
    isMutant(ctx, M.ignorePepper) || (algorithm === 'none' && isMutant(ctx, M.nonePepperUnchecked));
  // Checked for none too: MSC2134 requires the pepper whatever the algorithm.
  if (!skipPepperCheck && !state.acceptsPepper(pepper)) {
    const why = 'Unknown or invalid pepper - has it been rotated?';
    if (isMutant(ctx, M.bareInvalidPepper)) return fail('M_INVALID_PEPPER', why);
    return invalidPepper(state, why);
  }
  if (addresses.length > MAX_LOOKUP_ADDRESSES) {
    return fail(
      'M_TOO_LARGE',
      `${addresses.length} addresses; at most ${MAX_LOOKUP_ADDRESSES} per lookup`,
    );
  }
  const answer = answerLookup(state, algorithm as LookupAlgorithm, pepper, addresses);
  if (isMutant(ctx, M.omitThirdPartyMappings)) return c.json({ mappings: answer.mappings });
  if (isMutant(ctx, M.mapUnknownToEmpty)) {
    const mappings = Object.fromEntries(addresses.map((a) => [a, answer.mappings[a] ?? '']));
    return c.json({ ...answer, mappings });
  }
  return c.json(answer);
}

export function handleAccount(ctx: HomeserverContext, state: IdentityState, c: Context): Response {
  const caller = authenticateUser(ctx, state, c);
  if (!caller.ok) return caller.error;
  return c.json({ user_id: caller.value.userId });
}
