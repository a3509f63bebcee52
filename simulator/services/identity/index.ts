// The identity service of a homeserver, on the homeserver's own server_name: Matrix
// IS v2 lookup (hash_details, lookup, account) with MSC4004 federation (alternative
// peppers, third_party_mappings, trusted hash pushes), plus test-only provisioning.
// The HTTP binding is docs/binding-identity.part.md.
import type { Hono } from 'hono';
import { fork } from '../../protocol/crypto/rng.ts';
import { isMutant, type HomeserverContext } from '../../homeserver/context.ts';
import { fail, router } from '../../homeserver/http.ts';
import { handleAccount, handleHashDetails, handleLookup } from './lookup.ts';
import { addProvisioningRoutes } from './provisioning.ts';
import { handlePush } from './push.ts';
import { IdentityState } from './state.ts';
import { IDENTITY_SERVER_MUTANTS as M } from './mutants.ts';
import { IS_PREFIX } from './wire.ts';

export { IS_PREFIX, PROVISION_PREFIX } from './wire.ts';
export { IDENTITY_SERVER_MUTANTS, IDENTITY_SERVER_MUTANT_NAMES } from './mutants.ts';

export function identityService(ctx: HomeserverContext): Hono {
  const rng = fork(ctx.rng, 'identity service');
  const state = new IdentityState(
    ctx.recorder,
    { pepper: fork(rng, 'peppers'), token: fork(rng, 'access tokens') },
    {
      pepperWithUnderscore: isMutant(ctx, M.pepperWithUnderscore),
      standardBase64: isMutant(ctx, M.standardBase64),
      dropOldPeppers: isMutant(ctx, M.dropOldPeppers),
      acceptRetiredPepper: isMutant(ctx, M.acceptRetiredPepper),
      storeNothing: isMutant(ctx, M.storeNothing),
      refuseExpiringTokens: isMutant(ctx, M.refuseExpiringTokens),
    },
  );
  const app = router();
  app.get(`${IS_PREFIX}/hash_details`, (c) => handleHashDetails(ctx, state, c));
  app.post(`${IS_PREFIX}/lookup`, (c) => handleLookup(ctx, state, c));
  app.post(`${IS_PREFIX}/lookups`, (c) => handlePush(ctx, state, c));
  app.get(`${IS_PREFIX}/account`, (c) => handleAccount(ctx, state, c));
  addProvisioningRoutes(app, ctx, state);
  // A known path with the wrong method is 405 M_UNRECOGNIZED (Matrix), not 404.
  for (const path of ['hash_details', 'lookup', 'lookups', 'account']) {
    app.all(`${IS_PREFIX}/${path}`, (c) =>
      fail('M_UNRECOGNIZED', `${c.req.method} is not allowed on ${c.req.path}`, {}, 405),
    );
  }
  return app;
}
