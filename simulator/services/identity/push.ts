// POST /_matrix/identity/v2/lookups (MSC4004): a trusted server declares the hashes
// of 3PIDs it holds, made with this server's pepper. MSC4004 only says "reserved to
// trusted servers"; fedconn requires proof by an X-Matrix signature (IS-PUSH-02),
// never an address or a claimed name. Order of checks, so that an untrusted caller
// learns nothing and leaves nothing: body is JSON (needed to check the signature) ->
// signature (401) -> trust (403) -> shape, algorithm, pepper, own hashes only -> store.
import type { Context } from 'hono';
import { z } from 'zod';
import { isMutant, type HomeserverContext } from '../../homeserver/context.ts';
import { IDENTITY_SERVER_MUTANTS as M } from './mutants.ts';
import { errorResponse, fail } from '../../homeserver/http.ts';
import { decodeJsonBody } from '../../protocol/wire/body.ts';
import { authenticateTrustedServer } from './auth.ts';
import { invalidPepper } from './lookup.ts';
import type { IdentityState } from './state.ts';
import { MAX_PUSHED_HASHES, pushRequestSchema, SHA256_HASH } from './wire.ts';

export async function handlePush(
  ctx: HomeserverContext,
  state: IdentityState,
  c: Context,
): Promise<Response> {
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  const json = decodeJsonBody(bytes, z.unknown());
  if (!json.ok) return errorResponse(json.error);
  if (isMutant(ctx, M.storeBeforeAuthorising)) {
    // The mutant stores what the request claims before any check at all.
    const early = pushRequestSchema.safeParse(json.value);
    if (early.success) {
      for (const [server, hashes] of Object.entries(early.data.mappings)) {
        state.recordPush(server, early.data.pepper, hashes);
      }
    }
  }
  const caller = await authenticateTrustedServer(ctx, c, json.value, {
    acceptUntrusted: isMutant(ctx, M.acceptUntrustedPush),
    trustClaimedOrigin: isMutant(ctx, M.trustClaimedOrigin),
    ignoreDestination: isMutant(ctx, M.skipPushDestination),
    ...(isMutant(ctx, M.pushSignatureWithoutContent) ? { uncovered: 'content' } : {}),
  });
  if (!caller.ok) return caller.error;
  const origin = caller.value.serverName;

  const body = decodeJsonBody(bytes, pushRequestSchema);
  if (!body.ok) return errorResponse(body.error);
  const { algorithm, pepper, mappings } = body.value;
  // Pushing `none` would hand this server the cleartext addresses of another server's users.
  if (algorithm !== 'sha256' && !isMutant(ctx, M.acceptAnyPushAlgorithm)) {
    return fail('M_INVALID_PARAM', `pushes use sha256, not ${JSON.stringify(algorithm)}`);
  }
  // Only the current pepper: a hash made with an alternative pepper would stop matching
  // at its retirement, and one made with another server's pepper never matches.
  if (pepper !== state.peppers.lookup_pepper && !isMutant(ctx, M.ignorePushPepper)) {
    return invalidPepper(state, 'pushed hashes must use the current lookup_pepper');
  }
  const servers = Object.keys(mappings);
  if (isMutant(ctx, M.acceptForeignMappings)) {
    for (const [server, hashes] of Object.entries(mappings))
      state.recordPush(server, pepper, hashes);
    return c.json({});
  }
  const foreign = servers.find((server) => server !== origin);
  if (foreign !== undefined) {
    // A trusted server vouches for its own users only; naming another server would let it
    // redirect lookups for that server's users (conversation hijacking).
    return fail('M_FORBIDDEN', `${origin} may only declare its own hashes, not ${foreign}'s`);
  }
  const hashes = mappings[origin] ?? [];
  if (hashes.length > MAX_PUSHED_HASHES) {
    return fail('M_TOO_LARGE', `${hashes.length} hashes; at most ${MAX_PUSHED_HASHES} per push`);
  }
  const bad = hashes.find((hash) => !SHA256_HASH.test(hash));
  if (bad !== undefined && !isMutant(ctx, M.acceptMalformedPushedHashes)) {
    return fail('M_INVALID_PARAM', `${JSON.stringify(bad)} is not a sha256 lookup hash`);
  }
  state.recordPush(origin, pepper, hashes);
  return c.json({});
}
