// The guard of the test-only provisioning endpoints of the Matrix services (keys,
// .well-known, rooms): `Authorization: Bearer <provisioningToken>`, else 401.
import type { Context } from 'hono';
import type { HomeserverContext } from '../homeserver/context.ts';
import { denyWithoutToken } from '../homeserver/http.ts';

/** The 401 to answer when `c` does not carry the server's provisioning token, else undefined. */
export const provisioningDenied = (ctx: HomeserverContext, c: Context): Response | undefined =>
  denyWithoutToken(c, ctx.config.provisioningToken);
