// Test-only provisioning of the identity service, behind the provisioning token: bind
// 3PIDs, issue access tokens, rotate and retire peppers, and drive a hash push to
// another server. Real identity services do these through email/SMS validation,
// OpenID registration and their own schedules; the suite needs them on demand.
import type { Context, Hono } from 'hono';
import type { HomeserverContext } from '../../homeserver/context.ts';
import { fail, readJson } from '../../homeserver/http.ts';
import { provisioningDenied } from '../../federation/provisioning.ts';
import { pushHashes } from './push-out.ts';
import type { IdentityState } from './state.ts';
import {
  bindRequestSchema,
  PROVISION_PREFIX,
  pushDriveRequestSchema,
  retireRequestSchema,
  rotateRequestSchema,
  tokenRequestSchema,
} from './wire.ts';

export function addProvisioningRoutes(
  app: Hono,
  ctx: HomeserverContext,
  state: IdentityState,
): void {
  // The same guard as the other Matrix-side provisioning endpoints (keys, well-known).
  const guarded =
    (handler: (c: Context) => Promise<Response>) =>
    async (c: Context): Promise<Response> =>
      provisioningDenied(ctx, c) ?? handler(c);

  app.post(
    `${PROVISION_PREFIX}/bind`,
    guarded(async (c) => {
      const body = await readJson(c, bindRequestSchema);
      if (!body.ok) return body.error;
      state.bind(body.value);
      return c.json(body.value);
    }),
  );

  app.post(
    `${PROVISION_PREFIX}/token`,
    guarded(async (c) => {
      const body = await readJson(c, tokenRequestSchema);
      if (!body.ok) return body.error;
      const { user_id, expires_in_ms } = body.value;
      const expiresAt = expires_in_ms === undefined ? null : ctx.clock.now() + expires_in_ms;
      const token = state.issueToken(user_id, expiresAt);
      return c.json({ token, user_id, expires_at: expiresAt });
    }),
  );

  app.post(
    `${PROVISION_PREFIX}/pepper/rotate`,
    guarded(async (c) => {
      const body = await readJson(c, rotateRequestSchema);
      if (!body.ok) return body.error;
      const rotated = state.rotate(body.value.lookup_pepper);
      if (!rotated.ok) return fail('M_CONFLICT', rotated.error.detail);
      return c.json(rotated.value);
    }),
  );

  app.post(
    `${PROVISION_PREFIX}/pepper/retire`,
    guarded(async (c) => {
      const body = await readJson(c, retireRequestSchema);
      if (!body.ok) return body.error;
      const retired = state.retire(body.value.pepper);
      if (retired.ok) return c.json(retired.value);
      switch (retired.error.kind) {
        case 'current-pepper':
          return fail('M_INVALID_PARAM', retired.error.detail);
        case 'unknown-pepper':
          return fail('M_NOT_FOUND', retired.error.detail);
      }
    }),
  );

  app.post(
    `${PROVISION_PREFIX}/push`,
    guarded(async (c) => {
      const body = await readJson(c, pushDriveRequestSchema);
      if (!body.ok) return body.error;
      const pushed = await pushHashes(ctx, state, body.value);
      if (!pushed.ok) return fail('M_NOT_FOUND', `${pushed.unbound} is not bound here`);
      return c.json(pushed.report);
    }),
  );
}
