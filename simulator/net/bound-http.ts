// An HTTP transport on node:http, for what fetch cannot do: requests that leave from a
// chosen local address (127.0.0.2, say), for servers that trust peers by source
// address (fedconn plays such a peer), and HTTPS to servers on loopback whose
// certificates are self-signed (fedconn's peers, a test homeserver's federation port),
// which is how test federations run. Same per-request timeout as the ordinary transport.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { NetworkError, type Transport } from './transport.ts';

export function boundTransport(options: {
  /** Where requests leave from; the system's choice when absent. */
  readonly localAddress?: string;
  readonly timeoutMs: number;
}): Transport {
  const from = options.localAddress === undefined ? '' : ` from ${options.localAddress}`;
  return async (request) => {
    const url = new URL(request.url);
    const body = request.body === null ? undefined : Buffer.from(await request.arrayBuffer());
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    if (body !== undefined) headers['content-length'] = String(body.length);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<Response>((resolve, reject) => {
      const timer = setTimeout(() => {
        req.destroy();
        reject(
          new NetworkError(`no answer within ${options.timeoutMs} ms`, request.url, 'timeout'),
        );
      }, options.timeoutMs);
      const onAbort = () => {
        clearTimeout(timer);
        req.destroy();
        reject(new NetworkError('request aborted', request.url));
      };
      const req = send(
        url,
        {
          method: request.method,
          headers,
          ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
          // Test federations present self-signed certificates; nothing here is a secret.
          rejectUnauthorized: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', (error) => {
            clearTimeout(timer);
            reject(new NetworkError(`request failed: ${String(error)}`, request.url));
          });
          res.on('end', () => {
            clearTimeout(timer);
            request.signal.removeEventListener('abort', onAbort);
            const responseHeaders = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              if (typeof value === 'string') responseHeaders.set(name, value);
              else if (Array.isArray(value)) for (const v of value) responseHeaders.append(name, v);
            }
            const status = res.statusCode ?? 502;
            const noBody = status === 204 || status === 304;
            resolve(
              new Response(noBody ? null : Buffer.concat(chunks), {
                status,
                headers: responseHeaders,
              }),
            );
          });
        },
      );
      request.signal.addEventListener('abort', onAbort, { once: true });
      req.on('error', (error) => {
        clearTimeout(timer);
        reject(new NetworkError(`request${from} failed: ${String(error)}`, request.url));
      });
      req.end(body);
    });
  };
}

/** Whether `hostname` (as URL gives it) is this machine's loopback. */
export const isLoopbackHost = (hostname: string): boolean =>
  hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);

/**
 * HTTPS to loopback (fedconn's peers, test homeservers: self-signed) through node:https
 * without certificate checks; everything else through `other` (fetch, which checks).
 */
export function withLoopbackHttps(other: Transport, timeoutMs: number): Transport {
  const loopback = boundTransport({ timeoutMs });
  return (request) => {
    const url = new URL(request.url);
    // A request that names its Host goes by node:http too, which sends the Host as named
    // where fetch would replace it: a client under test behind fedconn's loopback gateway
    // signed the host it connected to (suites/harness/clients/gateway.ts). Only to plain
    // http or loopback: to a remote https server that would skip the certificate check.
    const named =
      request.headers.has('host') && (url.protocol === 'http:' || isLoopbackHost(url.hostname));
    return (url.protocol === 'https:' && isLoopbackHost(url.hostname)) || named
      ? loopback(request)
      : other(request);
  };
}
