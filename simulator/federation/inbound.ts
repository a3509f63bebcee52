// Authenticating inbound federation requests inside a Hono handler.
import type { Context } from 'hono';
import type { z } from 'zod';
import { isMutant, type HomeserverContext } from '../homeserver/context.ts';
import { errorResponse, fail } from '../homeserver/http.ts';
import { MAX_BODY_BYTES } from '../protocol/wire/body.ts';
import { matrixError } from '../protocol/wire/errors.ts';
import { MATRIX_MUTANTS } from './mutants.ts';
import { sameBytes } from '../protocol/mls/bytes.ts';
import { clientCertificate } from '../net/tls.ts';
import { knownServerKeys, matrixProfile, remoteKeyLookup } from './remote-keys.ts';
import { verifyXMatrix } from './x-matrix.ts';

/**
 * Verifies the X-Matrix header of the request in `c`. Returns the origin
 * server_name, or the response to send: 401 M_UNAUTHORIZED, or 400 M_UNAUTHORIZED
 * when the origin is not a server name at all (FED-NAME-04, as Synapse answers).
 * The body must be read by the caller first (as JSON, or undefined when empty)
 * because a request body is read once.
 */
export async function authenticateServer(
  ctx: HomeserverContext,
  c: Context,
  content: unknown,
): Promise<{ ok: true; origin: string } | { ok: false; response: Response }> {
  const url = new URL(c.req.url);
  const verdict = await verifyXMatrix({
    header: c.req.header('authorization') ?? null,
    method: c.req.method,
    uri: url.pathname + url.search,
    content,
    ownServerName: ctx.config.serverName,
    lookup: remoteKeyLookup(ctx),
    originProfile: matrixProfile(ctx),
    mutations: {
      acceptAnyOrigin: isMutant(ctx, MATRIX_MUTANTS.acceptAnyOrigin),
      ignoreDestination: isMutant(ctx, MATRIX_MUTANTS.ignoreDestination),
      skipSignature: isMutant(ctx, MATRIX_MUTANTS.skipRequestSignature),
      strictBase64: isMutant(ctx, MATRIX_MUTANTS.strictBase64Decoder),
      fixedSpelling: isMutant(ctx, MATRIX_MUTANTS.fixedHeaderSpelling),
      ...(isMutant(ctx, MATRIX_MUTANTS.requestSignatureWithoutContent)
        ? { uncovered: 'content' }
        : {}),
    },
  });
  if (verdict.ok) {
    const mismatch = await clientCertificateMismatch(ctx, c.req.raw, verdict.value);
    if (mismatch === undefined) return { ok: true, origin: verdict.value };
    return {
      ok: false,
      response: fail(
        'M_UNAUTHORIZED',
        `federation request not authenticated: ${mismatch}`,
        {},
        401,
      ),
    };
  }
  const claimed = claimedOrigin(content);
  if (
    (verdict.error.kind === 'missing' || verdict.error.kind === 'malformed') &&
    claimed !== undefined &&
    isMutant(ctx, MATRIX_MUTANTS.acceptUnsignedRequests)
  ) {
    return { ok: true, origin: claimed };
  }
  const message = `federation request not authenticated: ${verdict.error.detail}`;
  return {
    ok: false,
    response: fail(
      'M_UNAUTHORIZED',
      message,
      {},
      verdict.error.kind === 'invalid-origin' ? 400 : 401,
    ),
  };
}

/**
 * matrix-2014 (Client TLS Certificates, FED-AUTH-06): the reference checks a presented
 * client certificate against the tls_certificate of the origin's key/v1 document, and
 * says so (the sim target declares `clientCertificates`). Presenting none is allowed.
 * Returns why the certificate is refused, or undefined when it is not.
 */
async function clientCertificateMismatch(
  ctx: HomeserverContext,
  request: Request,
  origin: string,
): Promise<string | undefined> {
  if (matrixProfile(ctx) !== 'matrix-2014') return undefined;
  if (isMutant(ctx, MATRIX_MUTANTS.acceptAnyClientCertificate)) return undefined;
  const presented = clientCertificate(request);
  if (presented === undefined) return undefined;
  if (presented === 'unreadable') return 'the TLS client certificate is unreadable';
  // The keys were just fetched (or cached) to verify the signature.
  const published = (await knownServerKeys(ctx, origin))?.tlsCertificate;
  return published !== undefined && sameBytes(published, presented)
    ? undefined
    : `the TLS client certificate is not the certificate of ${origin}`;
}

/** The `origin` a request body claims (mutant FED-AUTH-01 believes it). */
function claimedOrigin(content: unknown): string | undefined {
  if (typeof content !== 'object' || content === null) return undefined;
  const origin = (content as Record<string, unknown>).origin;
  return typeof origin === 'string' ? origin : undefined;
}

export interface FederationRequest<T> {
  /** The authenticated origin server_name. */
  readonly origin: string;
  readonly body: T;
}

/**
 * Reads and authenticates a federation request with a JSON body (or none, for GET):
 * size limit, UTF-8 and JSON first (the signature covers the parsed content), then
 * X-Matrix, then the schema. Every failure is the Matrix error response to send.
 */
export async function readFederationRequest<S extends z.ZodType>(
  ctx: HomeserverContext,
  c: Context,
  schema: S,
): Promise<
  { ok: true; value: FederationRequest<z.output<S>> } | { ok: false; response: Response }
> {
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  let content: unknown = undefined;
  if (bytes.length > MAX_BODY_BYTES) {
    return refuse(
      fail('M_TOO_LARGE', `request body is ${bytes.length} bytes; the limit is ${MAX_BODY_BYTES}`),
    );
  }
  if (bytes.length > 0) {
    try {
      content = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch {
      return refuse(fail('M_NOT_JSON', 'request body is not UTF-8 JSON'));
    }
  }
  const auth = await authenticateServer(ctx, c, content);
  if (!auth.ok) return auth;
  const parsed = schema.safeParse(content);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue === undefined || issue.path.length === 0 ? '(root)' : issue.path.join('.');
    return refuse(
      errorResponse(matrixError('M_BAD_JSON', `request body: ${path}: ${issue?.message ?? ''}`)),
    );
  }
  return { ok: true, value: { origin: auth.origin, body: parsed.data } };
}

const refuse = (response: Response) => ({ ok: false as const, response });
