// The guard of the test-only provisioning endpoints of the Matrix services (keys,
// .well-known, rooms): `Authorization: Bearer <provisioningToken>`, else 401.
import type { Context } from 'hono';
import type { HomeserverContext } from '../homeserver/context.ts';
import { fail, isProvisioner } from '../homeserver/http.ts';

/** The 401 to answer when `c` does not carry the provisioning token, else undefined. */
export function provisioningDenied(ctx: HomeserverContext, c: Context): Response | undefined {
  if (isProvisioner(c, ctx.config.provisioningToken)) return undefined;
  return c.req.header('authorization') === undefined
    ? fail('M_MISSING_TOKEN', 'provisioning needs Authorization: Bearer <token>')
    : fail('M_UNKNOWN_TOKEN', 'wrong provisioning token');
}
