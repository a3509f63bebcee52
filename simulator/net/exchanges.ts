// The requests and answers a check's verdict rests on, as they crossed the wire, so a
// failure on a real server can be replayed with curl by the server's maintainers.
import type { Handler, Middleware } from './transport.ts';

export interface Exchange {
  /** Who sent it: fedconn (to the target) or the target (to one of fedconn's peers). */
  readonly direction: 'to target' | 'to peer';
  readonly method: string;
  readonly url: string;
  /** The headers that matter for a replay: authorization and content-type. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly status?: number;
  readonly answer?: string;
  /** Why no answer came (a network error), when none did. */
  readonly error?: string;
}

const LIMIT = 4000;
const KEPT = ['authorization', 'content-type'];
const clip = (text: string) => (text.length > LIMIT ? `${text.slice(0, LIMIT)}…` : text);

async function record(
  log: Exchange[],
  direction: Exchange['direction'],
  request: Request,
  send: (request: Request) => Promise<Response>,
): Promise<Response> {
  const headers: Record<string, string> = {};
  for (const name of KEPT) {
    const value = request.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  const text = request.body === null ? '' : await request.clone().text();
  const base = {
    direction,
    method: request.method,
    url: request.url,
    headers,
    ...(text === '' ? {} : { body: clip(text) }),
  };
  try {
    const response = await send(request);
    // The answer's body is read beside the caller, never before it: a body that stalls or
    // breaks must reach the check as it would unrecorded.
    const entry: { -readonly [K in keyof Exchange]: Exchange[K] } = {
      ...base,
      status: response.status,
    };
    log.push(entry);
    response
      .clone()
      .text()
      .then(
        (text) => {
          entry.answer = clip(text);
        },
        (error: unknown) => {
          entry.answer = `(the body broke off: ${String(error)})`;
        },
      );
    return response;
  } catch (error) {
    log.push({ ...base, error: String(error) });
    throw error;
  }
}

/** Records every request fedconn sends (and its answer) into `log`. */
export const recordSent =
  (log: Exchange[]): Middleware =>
  (next) =>
  (request) =>
    record(log, 'to target', request, next);

/** Records every request a peer of fedconn's receives (and what it answered) into `log`. */
export const recordReceived =
  (log: Exchange[], handler: Handler): Handler =>
  (request) =>
    record(log, 'to peer', request, handler);

const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

/** The exchange as a curl command line and the answer it got. */
export function curlOf(exchange: Exchange): string {
  const parts = ['curl', '-X', exchange.method, quote(exchange.url)];
  for (const [name, value] of Object.entries(exchange.headers)) {
    parts.push('-H', quote(`${name}: ${value}`));
  }
  if (exchange.body !== undefined) parts.push('--data-raw', quote(exchange.body));
  const answer =
    exchange.error !== undefined
      ? `no answer: ${exchange.error}`
      : `${exchange.status ?? '?'} ${exchange.answer ?? ''}`;
  return `${exchange.direction === 'to peer' ? '(sent by the target to fedconn) ' : ''}${parts.join(' ')}\n  -> ${answer}`;
}
