// The requests and answers a check's verdict rests on, as they crossed the wire, so a
// failure on a real server can be replayed with curl by the server's maintainers.
import { bodyOf } from './request-body.ts';
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
  /** The answer's content type, as it came. */
  readonly answerType?: string;
  readonly answer?: string;
  /** Why no answer came (a network error), when none did. */
  readonly error?: string;
}

const LIMIT = 4000;
const KEPT = ['authorization', 'content-type'];
const clip = (text: string) => (text.length > LIMIT ? `${text.slice(0, LIMIT)}…` : text);

// Secrets stay out of reports, which are archived and shared: bearer tokens (fedconn's
// provisioning token, access tokens) and JSON fields that hold tokens, passwords or
// shared secrets. Signatures stay: they are what a replay or a reader needs.
const SECRET_FIELD = /token|password|secret/i;
const REDACTED = '<redacted>';

/** `value` with the secrets of a header replaced. */
export function redactHeader(name: string, value: string): string {
  return name === 'authorization' && /^bearer\s/i.test(value) ? `Bearer ${REDACTED}` : value;
}

/** A JSON body with the values of secret-holding fields replaced; other text as it is. */
export function redactBody(text: string): string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return text;
  }
  const found = { secrets: 0 };
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== 'object') return v;
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => {
        if (SECRET_FIELD.test(k) && typeof x === 'string') {
          found.secrets++;
          return [k, REDACTED];
        }
        return [k, walk(x)];
      }),
    );
  };
  const redacted = walk(value);
  return found.secrets > 0 ? JSON.stringify(redacted) : text;
}

/**
 * Redacted and clipped when first read, not when recorded: a check sends hundreds of
 * requests and a report shows the last few of a failing one. Large bodies are redacted at
 * once, so the log never holds more than a few KiB of any one in clear.
 */
const LAZY_UP_TO = 16_384;

function redactedLater<T extends object>(entry: T, field: 'body' | 'answer', text: string): T {
  if (text.length > LAZY_UP_TO) return Object.assign(entry, { [field]: clip(redactBody(text)) });
  let value: string | undefined;
  Object.defineProperty(entry, field, {
    enumerable: true,
    configurable: true,
    get: () => (value ??= clip(redactBody(text))),
  });
  return entry;
}

async function record(
  log: Exchange[],
  direction: Exchange['direction'],
  request: Request,
  send: (request: Request) => Promise<Response>,
): Promise<Response> {
  const headers: Record<string, string> = {};
  for (const name of KEPT) {
    const value = request.headers.get(name);
    if (value !== null) headers[name] = redactHeader(name, value);
  }
  const text = new TextDecoder().decode(await bodyOf(request));
  const base = (): Exchange => {
    const entry = { direction, method: request.method, url: request.url, headers };
    return text === '' ? entry : redactedLater(entry, 'body', text);
  };
  try {
    const response = await send(request);
    // The answer's body is read beside the caller, never before it: a body that stalls or
    // breaks must reach the check as it would unrecorded.
    const answerType = response.headers.get('content-type');
    const entry: { -readonly [K in keyof Exchange]: Exchange[K] } = Object.assign(base(), {
      status: response.status,
      ...(answerType === null ? {} : { answerType }),
    });
    log.push(entry);
    response
      .clone()
      .text()
      .then(
        (text) => {
          redactedLater(entry, 'answer', text);
        },
        (error: unknown) => {
          entry.answer = `(the body broke off: ${String(error)})`;
        },
      );
    return response;
  } catch (error) {
    log.push(Object.assign(base(), { error: String(error) }));
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
