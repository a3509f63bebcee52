// The .well-known service: GET /.well-known/matrix/server answers a server's
// delegation setting, so other servers find it by the real resolution algorithm.
// The setting is per server: given when the service is built
// (`wellKnownService({ 'hs2.example': { delegate: 'fed.hs2.example' } })`) and
// changeable at run time through PUT /_fedconn/v1/provision/well-known, including
// deliberately broken answers (status, body, headers) to exercise FED-NAME-10.
import type { Hono } from 'hono';
import { z } from 'zod';
import type { HomeserverContext } from '../../homeserver/context.ts';
import type { Service } from '../../homeserver/homeserver.ts';
import { fail, readJson, router } from '../../homeserver/http.ts';
import { provisioningDenied } from '../../federation/provisioning.ts';
import { Table } from '../../net/store.ts';
import { parseServerName } from '../../protocol/server-name/index.ts';

export const WELL_KNOWN_PATH = '/.well-known/matrix/server';
export const WELL_KNOWN_PROVISION_PATH = '/_fedconn/v1/provision/well-known';

/**
 * What GET /.well-known/matrix/server answers:
 * - `none`: 404 M_NOT_FOUND, no delegation (the default);
 * - `delegate`: 200 {"m.server": delegate}, with optional Cache-Control;
 * - `raw`: exactly this status, body text and headers (malformed answers on purpose).
 */
export type WellKnownSetting =
  | { readonly kind: 'none' }
  | { readonly kind: 'delegate'; readonly delegate: string; readonly cacheControl?: string }
  | {
      readonly kind: 'raw';
      readonly status: number;
      readonly body: string;
      readonly headers?: Readonly<Record<string, string>>;
    };

/** Shorthand accepted by wellKnownService: a delegated name, or a full setting. */
export type WellKnownOption = string | WellKnownSetting;

const settingSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('none') }),
  z.strictObject({
    kind: z.literal('delegate'),
    // Served as given: a delegation that is not a server name is how a test makes an
    // invalid .well-known; the provisioning answer says so in `valid`.
    delegate: z.string().max(1024),
    cache_control: z.string().max(1024).optional(),
  }),
  z.strictObject({
    kind: z.literal('raw'),
    // 204, 205 and 304 cannot carry a body.
    status: z
      .int()
      .min(200)
      .max(599)
      .refine((s) => ![204, 205, 304].includes(s), 'a status that cannot carry a body'),
    body: z.string().max(65536),
    headers: z
      .record(
        z.string().regex(/^(?!content-length$|transfer-encoding$)[a-z0-9-]+$/i),
        z
          .string()
          .regex(/^[\t\x20-\x7e]*$/)
          .max(1024),
      )
      .optional(),
  }),
]);

const normalise = (option: WellKnownOption): WellKnownSetting =>
  typeof option === 'string' ? { kind: 'delegate', delegate: option } : option;

function answer(setting: WellKnownSetting): Response {
  switch (setting.kind) {
    case 'none':
      return fail('M_NOT_FOUND', 'this server does not delegate');
    case 'delegate':
      return Response.json(
        { 'm.server': setting.delegate },
        setting.cacheControl === undefined
          ? {}
          : { headers: { 'cache-control': setting.cacheControl } },
      );
    case 'raw':
      return new Response(setting.body, {
        status: setting.status,
        headers: setting.headers ?? {},
      });
  }
}

/** The service, with the initial delegation of each server that has one. */
export function wellKnownService(initial: Readonly<Record<string, WellKnownOption>> = {}): Service {
  return (ctx: HomeserverContext): Hono => {
    const settings = new Table<WellKnownSetting>('well_known', ctx.recorder);
    const own = initial[ctx.config.serverName];
    if (own !== undefined) settings.put('m.server', normalise(own));
    const current = (): WellKnownSetting => settings.get('m.server') ?? { kind: 'none' };

    const app = router();
    app.get(WELL_KNOWN_PATH, () => answer(current()));
    app.put(WELL_KNOWN_PROVISION_PATH, async (c) => {
      const denied = provisioningDenied(ctx, c);
      if (denied !== undefined) return denied;
      const body = await readJson(c, settingSchema);
      if (!body.ok) return body.error;
      const setting: WellKnownSetting =
        body.value.kind === 'delegate'
          ? {
              kind: 'delegate',
              delegate: body.value.delegate,
              ...(body.value.cache_control === undefined
                ? {}
                : { cacheControl: body.value.cache_control }),
            }
          : body.value.kind === 'raw'
            ? {
                kind: 'raw',
                status: body.value.status,
                body: body.value.body,
                ...(body.value.headers === undefined ? {} : { headers: body.value.headers }),
              }
            : { kind: 'none' };
      settings.put('m.server', setting);
      const valid =
        setting.kind === 'delegate' && parseServerName(setting.delegate, 'matrix-current').ok;
      return c.json({ kind: setting.kind, valid });
    });
    app.all(WELL_KNOWN_PATH, (c) =>
      fail('M_UNRECOGNIZED', `${c.req.method} is not allowed on ${c.req.path}`, {}, 405),
    );
    return app;
  };
}
