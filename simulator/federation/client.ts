// Outbound federation requests: resolve the destination through the directory,
// sign with X-Matrix using the server's current key, send through the homeserver's
// transport.
import { isMutant, type HomeserverContext } from '../homeserver/context.ts';
import { clientCertificateHeader, TLS_CLIENT_CERTIFICATE_HEADER } from '../net/tls.ts';
import { NetworkError } from '../net/transport.ts';
import { isResolvingDirectory } from './discovery.ts';
import { MATRIX_MUTANTS } from './mutants.ts';
import { knownServerKeys, matrixProfile } from './remote-keys.ts';
import { currentSigningKey } from './signing-keys.ts';
import { serverCertificate } from './tls-certificate.ts';
import { xMatrixHeader } from './x-matrix.ts';

/**
 * The TLS server name (SNI) a request is sent with, as the simulator models TLS: the
 * name the sender will check the peer's certificate against (simulator/net/tls.ts).
 */
export const TLS_SERVER_NAME_HEADER = 'x-fedconn-tls-server-name';

/** Where requests for `serverName` go: base URL and, when resolved, Host header and SNI. */
export interface Located {
  readonly origin: string;
  readonly hostHeader?: string;
  readonly tlsServerName?: string;
}

/** Resolves `serverName` through the server's directory; undefined (with why) when it cannot. */
export async function locateServer(
  ctx: HomeserverContext,
  serverName: string,
): Promise<{ ok: true; value: Located } | { ok: false; detail: string }> {
  try {
    if (isResolvingDirectory(ctx.directory)) {
      const endpoint = await ctx.directory.endpointOf(serverName);
      if (!endpoint.ok) return { ok: false, detail: endpoint.error.detail };
      const { origin, hostHeader, tlsServerName } = endpoint.value;
      return {
        ok: true,
        value: { origin, hostHeader, ...(tlsServerName === undefined ? {} : { tlsServerName }) },
      };
    }
    const origin = await ctx.directory.originOf(serverName);
    if (origin === undefined) return { ok: false, detail: 'unknown server' };
    // A name the URL parser refuses (such as "a.1") cannot be reached either.
    return { ok: true, value: { origin: new URL(origin).origin } };
  } catch (error) {
    return { ok: false, detail: String(error) };
  }
}

/** A request to `located`, with its Host header when there is one. */
export function requestTo(located: Located, uri: string, init: RequestInit = {}): Request {
  const headers = new Headers(init.headers);
  if (located.hostHeader !== undefined) headers.set('host', located.hostHeader);
  if (located.tlsServerName !== undefined) {
    headers.set(TLS_SERVER_NAME_HEADER, located.tlsServerName);
  }
  return new Request(new URL(uri, located.origin), { ...init, headers });
}

/**
 * Sends a signed federation request. Throws NetworkError when the destination cannot be
 * resolved or reached (as fetch would); any HTTP answer is returned as is.
 *
 * matrix-2014 (Response Authentication, FED-AUTH-05): nothing is sent to a server before
 * it is authenticated, that is before its /_matrix/key/v1 document has been validated
 * against the certificate its connection presents (the modelled TLS handshake: the key
 * fetch carries no request data).
 */
export async function federationRequest(
  ctx: HomeserverContext,
  named: string,
  method: string,
  uri: string,
  content?: unknown,
): Promise<Response> {
  const destination = ctx.config.mutants.has(MATRIX_MUTANTS.lowerCaseNames)
    ? named.toLowerCase()
    : named;
  const located = await locateServer(ctx, destination);
  if (!located.ok) {
    throw new NetworkError(`cannot resolve ${destination}: ${located.detail}`, uri);
  }
  if (
    matrixProfile(ctx) === 'matrix-2014' &&
    !isMutant(ctx, MATRIX_MUTANTS.sendBeforeAuthenticating) &&
    (await knownServerKeys(ctx, destination, [], located.value)) === undefined
  ) {
    throw new NetworkError(`cannot authenticate ${destination}: no valid key document`, uri);
  }
  const url = new URL(uri, located.value.origin);
  // Sign the URI exactly as the receiver will read it back from the request URL.
  const signedUri = url.pathname + url.search;
  const authorization = await xMatrixHeader(
    {
      method,
      uri: signedUri,
      origin: ctx.config.serverName,
      destination,
      ...(content === undefined ? {} : { content }),
    },
    currentSigningKey(ctx),
  );
  const headers: Record<string, string> = { authorization, 'content-type': 'application/json' };
  // matrix-2014 (Client TLS Certificates, FED-AUTH-06): present our own certificate.
  if (matrixProfile(ctx) === 'matrix-2014') {
    headers[TLS_CLIENT_CERTIFICATE_HEADER] = clientCertificateHeader(serverCertificate(ctx));
  }
  return ctx.transport(
    requestTo(located.value, signedUri, {
      method,
      headers,
      ...(content === undefined ? {} : { body: JSON.stringify(content) }),
    }),
  );
}
