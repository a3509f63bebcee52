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
import {
  Agent as HttpAgent,
  request as httpRequest,
  type ClientRequest,
  type IncomingMessage,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import {
  brotliDecompress,
  constants as zlibConstants,
  gunzip,
  inflate,
  inflateRaw,
} from 'node:zlib';
import { knownBody } from './request-body.ts';
import { NetworkError, type Transport } from './transport.ts';

// Kept-alive connections, explicitly: a round trip on an open connection costs a fraction
// of one that opens it. Idle sockets do not keep the process alive, and are closed after
// 4 s idle (fetch's default), or before the server's own Keep-Alive timeout when it names
// one, so that a request rarely meets a connection the server is closing. A request that
// does is not sent again: a cut connection is what some checks make on purpose.
const IDLE_MS = 4000;
const agents = {
  http: new HttpAgent({ keepAlive: true, timeout: IDLE_MS }),
  https: new HttpsAgent({ keepAlive: true, timeout: IDLE_MS }),
  // Test federations on loopback present self-signed certificates; nothing there is a secret.
  unchecked: new HttpsAgent({ keepAlive: true, timeout: IDLE_MS, rejectUnauthorized: false }),
};

/** fetch's limit: more redirects than this is a network error. */
const MAX_REDIRECTS = 20;

/** What a redirect that turns a request into a GET leaves behind (the Fetch standard's list). */
const BODY_HEADERS = ['content-encoding', 'content-language', 'content-location', 'content-type'];

/** What does not follow a request to another origin (as with fetch). */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

// As undici inflates: a body cut short gives what came (sync flush), and "deflate" is
// zlib-wrapped or raw, told apart by its first byte.
const syncFlush = { finishFlush: zlibConstants.Z_SYNC_FLUSH };
const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);
const inflateRawAsync = promisify(inflateRaw);
const brotliAsync = promisify(brotliDecompress);
const inflaters: Record<string, (bytes: Buffer) => Promise<Buffer>> = {
  gzip: (b) => gunzipAsync(b, syncFlush),
  'x-gzip': (b) => gunzipAsync(b, syncFlush),
  deflate: (b) =>
    b.length > 0 && ((b[0] ?? 0) & 0x0f) === 0x08
      ? inflateAsync(b, syncFlush)
      : inflateRawAsync(b, syncFlush),
  br: (b) => brotliAsync(b, { finishFlush: zlibConstants.BROTLI_OPERATION_FLUSH }),
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
  const plain = boundTransport({ ...options, checkCertificates: true });
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
  /**
   * Check HTTPS certificates, as fetch does: for servers anywhere. Off (the default) for
   * the test federations on loopback this transport was first made for.
   */
  readonly checkCertificates?: boolean;
}): Transport {
  const from = options.localAddress === undefined ? '' : ` from ${options.localAddress}`;
  const httpsAgent = options.checkCertificates === true ? agents.https : agents.unchecked;
  return async (request) => {
    if (request.signal.aborted) throw new NetworkError('request aborted', request.url);
    let body: Buffer | undefined;
    try {
      const known = knownBody(request);
      const bytes =
        request.body === null
          ? undefined
          : known === undefined
            ? new Uint8Array(await request.arrayBuffer())
            : await known;
      body =
        bytes === undefined
          ? undefined
          : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (error) {
      throw new NetworkError(`the request's body cannot be read: ${String(error)}`, request.url);
    }
    // fetch's defaults where the request names none (not accept-encoding: we want no
    // compression, though a compressed answer is inflated).
    const headers = new Map<string, string>([
      ['accept', '*/*'],
      ['user-agent', 'fedconn'],
    ]);
    request.headers.forEach((value, name) => {
      headers.set(name, value);
    });
    let url = new URL(request.url);
    let method = request.method;
    const deadline = Date.now() + options.timeoutMs;
    for (let redirects = 0; ; redirects++) {
      const answer = await exchange(url, method, headers, body);
      const location = answer.headers.get('location');
      if (!isRedirect(answer.status) || location === null || request.redirect === 'manual') {
        return responseOf(method, answer);
      }
      if (request.redirect === 'error') {
        throw new NetworkError(`redirected (${answer.status}) where none was allowed`, url.href);
      }
      if (redirects === MAX_REDIRECTS) {
        throw new NetworkError(`more than ${MAX_REDIRECTS} redirects`, request.url);
      }
      const next = URL.canParse(location, url.href) ? new URL(location, url) : undefined;
      if (next === undefined || (next.protocol !== 'http:' && next.protocol !== 'https:')) {
        throw new NetworkError(
          `redirected to ${JSON.stringify(location)}, which is no http(s) URL`,
          url.href,
        );
      }
      // As fetch does: 303, and 301 or 302 after a POST, turn into a GET without a body;
      // credentials do not follow a request to another origin.
      if (
        answer.status === 303 ||
        ((answer.status === 301 || answer.status === 302) && method === 'POST')
      ) {
        method = method === 'HEAD' ? 'HEAD' : 'GET';
        body = undefined;
        for (const name of BODY_HEADERS) headers.delete(name);
      }
      if (next.origin !== url.origin) for (const name of CREDENTIAL_HEADERS) headers.delete(name);
      headers.delete('host');
      url = next;
    }

    /** One request and its answer; the deadline is the whole request's, redirects included. */
    function exchange(
      to: URL,
      verb: string,
      head: ReadonlyMap<string, string>,
      content: Buffer | undefined,
    ): Promise<Answer> {
      return new Promise<Answer>((resolve, reject) => {
        let req: ClientRequest;
        try {
          const send = to.protocol === 'https:' ? httpsRequest : httpRequest;
          req = send(
            to,
            {
              method: verb,
              headers: {
                ...Object.fromEntries(head),
                ...(content === undefined ? {} : { 'content-length': String(content.length) }),
              },
              agent: to.protocol === 'https:' ? httpsAgent : agents.http,
              ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
            },
            onResponse,
          );
        } catch (error) {
          // node:http refuses some requests fetch's Headers let through (a control
          // character in a header value, say) before anything is sent.
          reject(new NetworkError(`request${from} failed: ${String(error)}`, request.url));
          return;
        }
        let settled = false;
        let answered = false;
        let late = false;
        const settle = (outcome: () => void) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          request.signal.removeEventListener('abort', onAbort);
          outcome();
        };
        const onAbort = () => {
          req.destroy();
          settle(() => {
            reject(new NetworkError('request aborted', request.url));
          });
        };
        req.on('error', (error) => {
          // Once answered, a failure belongs to the body (readAnswer).
          if (answered) return;
          settle(() => {
            reject(new NetworkError(`request${from} failed: ${String(error)}`, request.url));
          });
        });
        const timer = setTimeout(
          () => {
            if (answered) {
              // The status line came in time, the body did not: it breaks off (as a body
              // fetch hands on and the server then stalls), which is not a silent server.
              late = true;
              req.destroy();
              return;
            }
            req.destroy();
            settle(() => {
              reject(
                new NetworkError(
                  `no answer within ${options.timeoutMs} ms`,
                  request.url,
                  'timeout',
                ),
              );
            });
          },
          Math.max(0, deadline - Date.now()),
        );
        request.signal.addEventListener('abort', onAbort, { once: true });
        req.end(content);

        function onResponse(res: IncomingMessage) {
          answered = true;
          void readAnswer(res, () =>
            late ? `no whole body within ${options.timeoutMs} ms` : undefined,
          ).then((answer) => {
            settle(() => {
              resolve(answer);
            });
          });
        }
      });
    }
  };
}

/** A Response of `answer`, with the status a server sent even where the Fetch API has none. */
function responseOf(method: string, answer: Answer): Response {
  const inRange = answer.status >= 200 && answer.status <= 599;
  const response = new Response(noBody(method, answer.status) ? null : bodyOfAnswer(answer), {
    status: inRange ? answer.status : 200,
    // A reason phrase the Fetch API would refuse is left out, not fatal.
    statusText: /^[\t\x20-\x7e]*$/.test(answer.statusText) ? answer.statusText : '',
    headers: answer.headers,
  });
  // fetch hands on a status outside 200 to 599 (999, say), which its constructor refuses:
  // set on this object, so that a check sees what the server sent (a clone would not).
  if (!inRange) {
    Object.defineProperties(response, {
      status: { value: answer.status },
      ok: { value: false },
    });
  }
  return response;
}

/**
 * The whole answer. One that breaks off after its status line is still an answer, as with
 * fetch: status and headers stand, and reading the body fails (`broken`).
 */
async function readAnswer(res: IncomingMessage, why: () => string | undefined): Promise<Answer> {
  // From the raw lines, so that a repeated header keeps every value, as fetch joins them.
  const headers = new Headers();
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
    try {
      headers.append(res.rawHeaders[i] ?? '', res.rawHeaders[i + 1] ?? '');
    } catch {
      // a header the Fetch API cannot hold is left out, as fetch leaves it
    }
  }
  const status = res.statusCode ?? 502;
  const statusText = res.statusMessage ?? '';
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of res) chunks.push(chunk as Buffer);
  } catch (error) {
    const broken = why() ?? (error instanceof Error ? error.message : String(error));
    return { status, statusText, headers, body: Buffer.concat(chunks), broken };
  }
  const raw = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
  // We send no accept-encoding, so a server should not compress; one that does anyway is
  // inflated as fetch would: gzip, deflate and br, the encoding applied last undone first,
  // and left as it came when any encoding is one fetch does not know.
  const encodings = (headers.get('content-encoding') ?? '')
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== '' && e !== 'identity')
    .reverse();
  if (encodings.some((e) => inflaters[e] === undefined)) {
    return { status, statusText, headers, body: raw };
  }
  let body = raw;
  try {
    for (const encoding of encodings) {
      const inflater = inflaters[encoding];
      if (inflater !== undefined) body = await inflater(body);
    }
  } catch (error) {
    return { status, statusText, headers, body: Buffer.alloc(0), broken: String(error) };
  }
  return { status, statusText, headers, body };
}

/** The body of a Response: the bytes, or those that came and then the failure. */
function bodyOfAnswer(answer: Answer): Buffer | ReadableStream<Uint8Array> {
  const { broken, body } = answer;
  if (broken === undefined) return body;
  // Pulled only when read (no queue ahead), so the failure comes to whoever reads, as from
  // fetch: one that only cancels sees none.
  let sent = body.length === 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (sent) {
          controller.error(new TypeError(`terminated: ${broken}`));
          return;
        }
        sent = true;
        controller.enqueue(new Uint8Array(body));
      },
    },
    { highWaterMark: 0 },
  );
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
