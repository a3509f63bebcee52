// Small helpers every router shares: reading a JSON body against a schema and
// answering with Matrix-style errors. Handlers stay plain Hono.
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { z } from 'zod';
import { knownBody } from '../net/request-body.ts';
import { decodeJsonBody } from '../protocol/wire/body.ts';
import { matrixError, type Errcode, type ErrorAnswer } from '../protocol/wire/errors.ts';
import type { Result } from '../protocol/result.ts';

export function errorResponse(answer: ErrorAnswer): Response {
  return Response.json(answer.body, { status: answer.status });
}

export function fail(
  errcode: Errcode,
  message: string,
  extra: Readonly<Record<string, unknown>> = {},
  status?: number,
): Response {
  return errorResponse(matrixError(errcode, message, extra, status));
}

export async function readJson<S extends z.ZodType>(
  c: Context,
  schema: S,
  what = 'request body',
): Promise<Result<z.output<S>, Response>> {
  // Bytes a recorder already read, or the client gave, spare reading the stream again.
  const bytes = (await knownBody(c.req.raw)) ?? new Uint8Array(await c.req.arrayBuffer());
  const decoded = decodeJsonBody(bytes, schema, { what });
  return decoded.ok ? decoded : { ok: false, error: errorResponse(decoded.error) };
}

/** A router whose unknown routes and uncaught errors still answer in Matrix style. */
export function router(): Hono {
  const app = new Hono();
  app.notFound((c) =>
    fail('M_UNRECOGNIZED', `unrecognised request: ${c.req.method} ${c.req.path}`),
  );
  app.onError((error) =>
    // A bug in a handler must not take the server down or leak a stack trace.
    fail('M_UNKNOWN', `internal error: ${error.message}`),
  );
  return app;
}

/** True when the request carries the provisioning token. */
export function isProvisioner(c: Context, token: string): boolean {
  return c.req.header('authorization') === `Bearer ${token}`;
}

/** The 401 to answer when `c` does not carry the provisioning `token`, else undefined. */
export function denyWithoutToken(c: Context, token: string): Response | undefined {
  if (isProvisioner(c, token)) return undefined;
  return c.req.header('authorization') === undefined
    ? fail('M_MISSING_TOKEN', 'provisioning needs Authorization: Bearer <token>')
    : fail('M_UNKNOWN_TOKEN', 'wrong provisioning token');
}

/** A router of test-only provisioning verbs: every request needs the provisioning token. */
export function provisioningRouter(token: string): Hono {
  const app = router();
  app.use(async (c: Context, next) => {
    const denied = denyWithoutToken(c, token);
    if (denied !== undefined) return denied;
    await next();
    return undefined;
  });
  return app;
}

/** 405 in Matrix style, with the methods the path does take. */
export function methodNotAllowed(c: Context, allowed: readonly string[]): Response {
  const response = fail('M_UNRECOGNIZED', `${c.req.method} ${c.req.path}: not allowed`, {}, 405);
  response.headers.set('allow', allowed.join(', '));
  return response;
}
