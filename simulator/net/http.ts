// An HTTP transport on node:http. fetch is the other one; this one is for what fetch
// cannot do or does slowly:
// - requests that leave from a chosen local address (127.0.0.2, say), for servers that
//   trust peers by source address (fedconn plays such a peer);
// - HTTPS to servers on loopback whose certificates are self-signed (fedconn's peers, a
//   test homeserver's federation port), which is how test federations run;
// - plain HTTP, where a round trip through fetch costs about twice one through node:http
//   on a kept-alive connection (bench/README.md, "Figures").
// What fetch does on its own is done here too: redirects are followed as the request
// asks, and a compressed answer is inflated. Same per-request timeout as fetch's transport.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { brotliDecompress, gunzip, inflate } from 'node:zlib';
import { knownBody } from './request-body.ts';
import { NetworkError, type Transport } from './transport.ts';

// Kept-alive connections, explicitly: a round trip on an open connection costs a fraction
// of one that opens it. Idle sockets do not keep the process alive, and are closed after
// 4 s idle (fetch's default), or before the server's own Keep-Alive timeout when it names
// one, so that a request rarely meets a connection the server is closing. A request that
// does is not sent again: a cut connection is what some checks make on purpose.
const IDLE_MS = 4000;
const agents = {
  'http:': new HttpAgent({ keepAlive: true, timeout: IDLE_MS }),
  // Test federations present self-signed certificates; nothing here is a secret.
  'https:': new HttpsAgent({ keepAlive: true, timeout: IDLE_MS, rejectUnauthorized: false }),
};

/** fetch's limit: more redirects than this is a network error. */
const MAX_REDIRECTS = 20;

const inflaters: Record<string, (bytes: Buffer) => Promise<Buffer>> = {
  gzip: promisify(gunzip),
  'x-gzip': promisify(gunzip),
  deflate: promisify(inflate),
  br: promisify(brotliDecompress),
};

interface Answer {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly body: Buffer;
  /** Why the body broke off after the status line, if it did. */
  readonly broken?: string;
}

/**
 * Real HTTP with a per-request timeout, for targets outside the process: plain HTTP on
 * node:http (kept-alive connections), HTTPS through fetch, which checks certificates.
 */
export function httpTransport(options: { readonly timeoutMs: number }): Transport {
  const plain = boundTransport(options);
  const secure = fetchTransport(options);
  return (request) => (request.url.startsWith('http:') ? plain(request) : secure(request));
}

/** fetch with a per-request timeout. */
function fetchTransport(options: { readonly timeoutMs: number }): Transport {
  return async (request) => {
    const controller = new AbortController();
    const signal = AbortSignal.any([request.signal, controller.signal]);
    let timer: NodeJS.Timeout | undefined;
    // Our own timer, raced against fetch: the request gives up in time even where a
    // Node version's fetch does not honour its abort signal while waiting for headers.
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(
          new NetworkError(`no answer within ${options.timeoutMs} ms`, request.url, 'timeout'),
        );
      }, options.timeoutMs);
    });
    try {
      return await Promise.race([fetch(request, { signal }), timeout]);
    } catch (error) {
      if (error instanceof NetworkError) throw error;
      if (controller.signal.aborted && !request.signal.aborted) {
        throw new NetworkError(`no answer within ${options.timeoutMs} ms`, request.url, 'timeout');
      }
      throw new NetworkError(`request failed: ${String(error)}`, request.url);
    } finally {
      clearTimeout(timer);
    }
  };
}

export function boundTransport(options: {
  /** Where requests leave from; the system's choice when absent. */
  readonly localAddress?: string;
  readonly timeoutMs: number;
}): Transport {
  const from = options.localAddress === undefined ? '' : ` from ${options.localAddress}`;
  return async (request) => {
    const known = knownBody(request);
    const bytes =
      request.body === null
        ? undefined
        : known === undefined
          ? new Uint8Array(await request.arrayBuffer())
          : await known;
    let body =
      bytes === undefined
        ? undefined
        : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    let url = new URL(request.url);
    let method = request.method;
    const deadline = Date.now() + options.timeoutMs;
    for (let redirects = 0; ; redirects++) {
      const answer = await exchange(url, method, headers, body);
      const location = answer.headers.get('location');
      if (answer.status < 200 || answer.status > 599) {
        throw new NetworkError(
          `answered with status ${answer.status}, outside 200 to 599`,
          url.href,
        );
      }
      if (!isRedirect(answer.status) || location === null || request.redirect === 'manual') {
        return new Response(noBody(method, answer.status) ? null : bodyOfAnswer(answer), {
          status: answer.status,
          // A reason phrase the Fetch API would refuse is left out, not fatal.
          statusText: /^[\t\x20-\x7e]*$/.test(answer.statusText) ? answer.statusText : '',
          headers: answer.headers,
        });
      }
      if (request.redirect === 'error') {
        throw new NetworkError(`redirected (${answer.status}) where none was allowed`, url.href);
      }
      if (redirects === MAX_REDIRECTS) {
        throw new NetworkError(`more than ${MAX_REDIRECTS} redirects`, request.url);
      }
      const next = new URL(location, url);
      // As fetch does: 303, and 301 or 302 after a POST, turn into a GET without a body;
      // credentials do not follow a request to another origin.
      if (
        answer.status === 303 ||
        ((answer.status === 301 || answer.status === 302) && method === 'POST')
      ) {
        method = method === 'HEAD' ? 'HEAD' : 'GET';
        body = undefined;
        delete headers['content-type'];
      }
      if (next.origin !== url.origin) delete headers['authorization'];
      delete headers['host'];
      url = next;
    }

    function exchange(
      to: URL,
      verb: string,
      head: Record<string, string>,
      content: Buffer | undefined,
    ): Promise<Answer> {
      const left = deadline - Date.now();
      return new Promise<Answer>((resolve, reject) => {
        const fail = (error: NetworkError) => {
          clearTimeout(timer);
          request.signal.removeEventListener('abort', onAbort);
          reject(error);
        };
        const timer = setTimeout(() => {
          req.destroy();
          fail(
            new NetworkError(`no answer within ${options.timeoutMs} ms`, request.url, 'timeout'),
          );
        }, left);
        const onAbort = () => {
          req.destroy();
          fail(new NetworkError('request aborted', request.url));
        };
        let answered = false;
        const send = to.protocol === 'https:' ? httpsRequest : httpRequest;
        const req = send(
          to,
          {
            method: verb,
            headers:
              content === undefined ? head : { ...head, 'content-length': String(content.length) },
            agent: to.protocol === 'https:' ? agents['https:'] : agents['http:'],
            ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
          },
          (res) => {
            answered = true;
            void readAnswer(res).then((answer) => {
              clearTimeout(timer);
              request.signal.removeEventListener('abort', onAbort);
              resolve(answer);
            });
          },
        );
        if (request.signal.aborted) {
          onAbort();
          return;
        }
        request.signal.addEventListener('abort', onAbort, { once: true });
        req.on('error', (error) => {
          // Once answered, a failure belongs to the body (readAnswer).
          if (answered) return;
          fail(new NetworkError(`request${from} failed: ${String(error)}`, request.url));
        });
        req.end(content);
      });
    }
  };
}

/**
 * The whole answer. One that breaks off after its status line is still an answer, as with
 * fetch: status and headers stand, and reading the body fails (`broken`).
 */
async function readAnswer(res: IncomingMessage): Promise<Answer> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (typeof value === 'string') headers.set(name, value);
    else if (Array.isArray(value)) for (const v of value) headers.append(name, v);
  }
  const status = res.statusCode ?? 502;
  const chunks: Buffer[] = [];
  let body: Buffer;
  try {
    for await (const chunk of res) chunks.push(chunk as Buffer);
    body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    // We send no accept-encoding, so a server should not compress; one that does anyway is
    // inflated as fetch would (gzip, deflate, br; others are left as they are), the
    // encoding applied last undone first.
    const encodings = (headers.get('content-encoding') ?? '')
      .split(',')
      .map((e) => e.trim().toLowerCase())
      .reverse();
    for (const encoding of encodings) {
      const inflater = inflaters[encoding];
      if (inflater === undefined) break;
      body = await inflater(body);
    }
  } catch (error) {
    return {
      status,
      statusText: res.statusMessage ?? '',
      headers,
      body: Buffer.concat(chunks),
      broken: error instanceof Error ? error.message : String(error),
    };
  }
  return { status, statusText: res.statusMessage ?? '', headers, body };
}

/** The body of a Response: the bytes, or those that came and then the failure. */
function bodyOfAnswer(answer: Answer): Buffer | ReadableStream<Uint8Array> {
  const { broken, body } = answer;
  if (broken === undefined) return body;
  // The failure comes to whoever reads, as from fetch: one that only cancels sees none.
  let sent = body.length === 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent) {
        controller.error(new TypeError(`terminated: ${broken}`));
        return;
      }
      sent = true;
      controller.enqueue(new Uint8Array(body));
    },
  });
}

const isRedirect = (status: number) => [301, 302, 303, 307, 308].includes(status);

const noBody = (method: string, status: number) =>
  method === 'HEAD' || status === 204 || status === 205 || status === 304;

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
