// The observer records what each server could know: every request it received
// and every row it stored, in one global order. Privacy rules and researchers
// ask questions of these views; nothing here changes how servers behave.
import { encodeUnpaddedBase64 } from '../protocol/encoding/base64.ts';
import type { Clock } from './clock.ts';
import { bodyOf } from './request-body.ts';

export interface RecordedRequest {
  readonly kind: 'request';
  readonly seq: number;
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The body as parsed JSON, or `{ bytes: base64 }` when it is not JSON. */
  readonly body: unknown;
  /** The answer's status, in a view seen from the wire (the server's own views omit it). */
  readonly status?: number;
}

export interface RecordedRow {
  readonly kind: 'row';
  readonly seq: number;
  readonly at: number;
  readonly table: string;
  readonly op: 'put' | 'delete';
  readonly key: string;
  readonly value?: unknown;
}

export type RecordedEvent = RecordedRequest | RecordedRow;

export interface ServerView {
  readonly server: string;
  readonly events: readonly RecordedEvent[];
}

/** Turns stored values into plain JSON: bytes become base64 so views can be compared and printed. */
export function recordable(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: encodeUnpaddedBase64(value) };
  if (Array.isArray(value)) return value.map(recordable);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => typeof v !== 'function')
        .map(([k, v]) => [k, recordable(v)]),
    );
  }
  return value;
}

export interface ServerRecorder {
  readonly server: string;
  /**
   * False when this server is not observed: what it receives and stores is dropped, so
   * callers skip building records (a copy of every body and row) nobody will read.
   */
  readonly recording: boolean;
  /** Records a request; returns a function that adds its answer's status (wire views). */
  request(request: Omit<RecordedRequest, 'kind' | 'seq' | 'at'>): (status: number) => void;
  row(row: Omit<RecordedRow, 'kind' | 'seq' | 'at'>): void;
}

/** Where servers record what they see: an Observer, or a switch between observers. */
export interface Recording {
  recorder(server: string): ServerRecorder;
}

/**
 * Records into whichever observer is current, or nowhere: long-lived servers (fedconn's
 * own homeservers beside a server under test) whose views belong to one check at a time.
 */
export class SwitchedRecording implements Recording {
  #current: Recording | undefined;

  /** Where recordings go from now on; undefined drops them. */
  switchTo(current: Recording | undefined): void {
    this.#current = current;
  }

  recorder(server: string): ServerRecorder {
    return {
      server,
      recording: true,
      request: (r) => this.#current?.recorder(server).request(r) ?? (() => undefined),
      row: (r) => {
        this.#current?.recorder(server).row(r);
      },
    };
  }
}

/** A server nobody observes: it records nothing. */
const unobserved = (server: string): ServerRecorder => ({
  server,
  recording: false,
  request: () => () => undefined,
  row: () => undefined,
});

export class Observer implements Recording {
  #seq = 0;
  readonly #views = new Map<string, RecordedEvent[]>();

  /**
   * @param observed the servers whose views are recorded (a researcher's choice, for runs
   *   too large to record everything); every server when undefined, as conformance checks
   *   need. An unobserved server's view is empty.
   */
  constructor(
    private readonly clock: Clock,
    private readonly observed?: ReadonlySet<string>,
  ) {}

  recorder(server: string): ServerRecorder {
    if (this.observed !== undefined && !this.observed.has(server)) return unobserved(server);
    const events = this.#views.get(server) ?? [];
    this.#views.set(server, events);
    return {
      server,
      recording: true,
      request: (r) => {
        const event: RecordedRequest = {
          kind: 'request',
          seq: this.#seq++,
          at: this.clock.now(),
          ...r,
        };
        // Its place, not a search: a view seen from the wire takes a status per request.
        const i = events.push(event) - 1;
        return (status) => {
          if (events[i] === event) events[i] = { ...event, status };
        };
      },
      row: (r) => events.push({ kind: 'row', seq: this.#seq++, at: this.clock.now(), ...r }),
    };
  }

  view(server: string): ServerView {
    return { server, events: [...(this.#views.get(server) ?? [])] };
  }

  views(): readonly ServerView[] {
    return [...this.#views.keys()].map((s) => this.view(s));
  }
}

/** Headers worth keeping in a view; transport noise is dropped. */
const KEPT_HEADERS = new Set(['authorization', 'content-type', 'x-fedconn-from']);

/** What a view keeps of a request: method, path, query, the kept headers and the body. */
export async function requestRecord(
  request: Request,
): Promise<Omit<RecordedRequest, 'kind' | 'seq' | 'at'>> {
  const url = new URL(request.url);
  const bytes = await bodyOf(request);
  let body: unknown = null;
  if (bytes.length > 0) {
    try {
      body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as unknown;
    } catch {
      body = { bytes: encodeUnpaddedBase64(bytes) };
    }
  }
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    if (KEPT_HEADERS.has(name)) headers[name] = value;
  });
  return { method: request.method, path: url.pathname, query: url.search, headers, body };
}

/** Wraps a handler so that every request it receives is recorded before it is handled. */
export function observed(
  recorder: ServerRecorder,
  handler: (request: Request) => Promise<Response>,
): (request: Request) => Promise<Response> {
  if (!recorder.recording) return handler;
  return async (request) => {
    recorder.request(await requestRecord(request));
    return handler(request);
  };
}

/**
 * A server's view as seen from the wire (a server in another process): every request
 * fedconn sends to one of the target's servers is recorded in that server's view, in
 * order, with its time and its answer's status. `serverOf` names the server a URL is
 * for, undefined for anything else.
 */
export function observeWire(
  observer: Observer,
  serverOf: (url: URL) => string | undefined,
): (next: (request: Request) => Promise<Response>) => (request: Request) => Promise<Response> {
  return (next) => async (request) => {
    const server = serverOf(new URL(request.url));
    const recorder = server === undefined ? undefined : observer.recorder(server);
    if (recorder?.recording !== true) return next(request);
    const answered = recorder.request(await requestRecord(request));
    const response = await next(request);
    answered(response.status);
    return response;
  };
}
