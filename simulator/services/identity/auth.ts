// Who is asking the identity service. Users present an IS access token
// (`Authorization: Bearer`; the query-string access_token was removed in v1.20).
// Servers present an X-Matrix signature; only hash_details and the hash push
// accept them, and only from servers this one trusts.
import type { Context } from 'hono';
import { isMutant, type HomeserverContext } from '../../homeserver/context.ts';
import { IDENTITY_SERVER_MUTANTS as M } from './mutants.ts';
import { fail } from '../../homeserver/http.ts';
import { authenticateServer } from '../../federation/inbound.ts';
import { parseXMatrix, verifyXMatrix } from '../../federation/x-matrix.ts';
import { matrixProfile, remoteKeyLookup } from '../../federation/remote-keys.ts';
import type { IdentityState } from './state.ts';

export type Caller =
  | { readonly kind: 'user'; readonly userId: string }
  | { readonly kind: 'server'; readonly serverName: string };

type Authenticated<T> = { ok: true; value: T } | { ok: false; error: Response };

const unauthorized = (why: string): { ok: false; error: Response } => ({
  ok: false,
  error: fail('M_UNAUTHORIZED', why),
});

function bearerToken(ctx: HomeserverContext, c: Context): string | undefined {
  const header = c.req.header('authorization') ?? '';
  // The mutant reads a token out of any scheme ("Basic <token>", a bare token).
  if (isMutant(ctx, M.lenientBearerParsing)) return header.trim().split(/\s+/).pop() || undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** A user with a valid, unexpired IS access token. */
export function authenticateUser(
  ctx: HomeserverContext,
  state: IdentityState,
  c: Context,
): Authenticated<Extract<Caller, { kind: 'user' }>> {
  const token = bearerToken(ctx, c);
  if (token === undefined) return unauthorized('an identity service access token is required');
  const userId = state.tokenUser(token, ctx.clock.now());
  if (userId === undefined) return unauthorized('unknown or expired access token');
  return { ok: true, value: { kind: 'user', userId } };
}

export const isTrusted = (ctx: HomeserverContext, serverName: string): boolean =>
  ctx.config.trustedIdentityServers.includes(serverName);

/**
 * A trusted server proven by its X-Matrix signature over the request (`content` is the
 * parsed body, or undefined for none). A bad signature is 401; a good signature from a
 * server outside trustedIdentityServers is 403.
 */
export async function authenticateTrustedServer(
  ctx: HomeserverContext,
  c: Context,
  content: unknown,
  mutations: PushAuthMutations = {},
): Promise<Authenticated<Extract<Caller, { kind: 'server' }>>> {
  const verdict = await mutatedAuthentication(ctx, c, content, mutations);
  if (!verdict.ok) return { ok: false, error: verdict.response };
  if (!isTrusted(ctx, verdict.origin) && mutations.acceptUntrusted !== true) {
    return {
      ok: false,
      error: fail('M_FORBIDDEN', `${verdict.origin} is not a trusted identity server here`),
    };
  }
  return { ok: true, value: { kind: 'server', serverName: verdict.origin } };
}

/** Deliberate weaknesses of push authentication, for the reference's mutants only. */
export interface PushAuthMutations {
  readonly acceptUntrusted?: boolean;
  readonly trustClaimedOrigin?: boolean;
  readonly ignoreDestination?: boolean;
  /** Also take a signature over the request without this field (narrowing.ts). */
  readonly uncovered?: string;
}

async function mutatedAuthentication(
  ctx: HomeserverContext,
  c: Context,
  content: unknown,
  mutations: PushAuthMutations,
): Promise<{ ok: true; origin: string } | { ok: false; response: Response }> {
  const header = c.req.header('authorization') ?? null;
  if (mutations.trustClaimedOrigin === true) {
    const claimed = parseXMatrix(header);
    if (claimed.ok) return { ok: true, origin: claimed.value.origin };
  }
  if (mutations.ignoreDestination === true || mutations.uncovered !== undefined) {
    const url = new URL(c.req.url);
    const verdict = await verifyXMatrix({
      header,
      method: c.req.method,
      uri: url.pathname + url.search,
      content,
      ownServerName: ctx.config.serverName,
      lookup: remoteKeyLookup(ctx),
      originProfile: matrixProfile(ctx),
      mutations: {
        ...(mutations.ignoreDestination === true ? { ignoreDestination: true } : {}),
        ...(mutations.uncovered === undefined ? {} : { uncovered: mutations.uncovered }),
      },
    });
    if (verdict.ok) return { ok: true, origin: verdict.value };
    return { ok: false, response: fail('M_UNAUTHORIZED', verdict.error.detail, {}, 401) };
  }
  return authenticateServer(ctx, c, content);
}

/** A user by token, or a trusted server by signature, told apart by the auth scheme. */
export async function authenticateUserOrServer(
  ctx: HomeserverContext,
  state: IdentityState,
  c: Context,
): Promise<Authenticated<Caller>> {
  const header = c.req.header('authorization') ?? '';
  if (/^\s*X-Matrix\s/i.test(header)) return authenticateTrustedServer(ctx, c, undefined);
  return authenticateUser(ctx, state, c);
}
