// One HTTP surface: every service is a fetch-style handler (Request -> Response),
// and every outbound call goes through an injectable Transport of the same shape.
// The simulator routes requests to in-process handlers by origin; against real
// servers it is real HTTP (net/http.ts). Faults and adversaries are middleware.

export type Handler = (request: Request) => Promise<Response>;
export type Transport = Handler;
export type Middleware = (next: Transport) => Transport;

/** Applies middleware outermost first: compose(t, a, b) sends through a, then b, then t. */
export function compose(transport: Transport, ...middleware: readonly Middleware[]): Transport {
  return middleware.reduceRight<Transport>((next, m) => m(next), transport);
}

/** The error a transport raises when a request cannot be delivered, like fetch's TypeError. */
export class NetworkError extends TypeError {
  constructor(
    message: string,
    readonly url: string,
    /** 'timeout' when the peer accepted but did not answer in time. */
    readonly kind: 'unreachable' | 'timeout' = 'unreachable',
  ) {
    super(message);
    this.name = 'NetworkError';
  }
}

/**
 * In-process network: origins (scheme://host[:port]) mapped to handlers. A request
 * to an unknown origin fails like an unreachable host. Handlers receive a fresh
 * Request so that nothing the caller holds can be changed after sending.
 */
export class SimNetwork {
  readonly #handlers = new Map<string, Handler>();

  register(origin: string, handler: Handler): void {
    const key = new URL(origin).origin;
    if (this.#handlers.has(key)) throw new Error(`origin ${key} is already registered`);
    this.#handlers.set(key, handler);
  }

  unregister(origin: string): void {
    this.#handlers.delete(new URL(origin).origin);
  }

  get origins(): readonly string[] {
    return [...this.#handlers.keys()];
  }

  readonly transport: Transport = async (request) => {
    const origin = new URL(request.url).origin;
    const handler = this.#handlers.get(origin);
    if (handler === undefined) throw new NetworkError(`no route to ${origin}`, request.url);
    return handler(request);
  };
}

/**
 * Stops waiting on a server that has already let a request time out: later requests
 * to that origin fail at once as timeouts, naming the first. A server that hangs then
 * costs one per-request timeout per run, not one per check, so the run ends in bounded
 * time with a verdict for every rule.
 */
export function giveUpOnSilent(): Middleware & { readonly timeouts: () => number } {
  const silent = new Map<string, string>();
  let timeouts = 0;
  const middleware: Middleware = (next) => async (request) => {
    const origin = new URL(request.url).origin;
    const first = silent.get(origin);
    if (first !== undefined) {
      timeouts++;
      throw new NetworkError(
        `${origin} gave no answer to an earlier request (${first}); fedconn does not wait on it again this run`,
        request.url,
        'timeout',
      );
    }
    try {
      return await next(request);
    } catch (error) {
      if (error instanceof NetworkError && error.kind === 'timeout') {
        timeouts++;
        silent.set(origin, `${request.method} ${new URL(request.url).pathname}: ${error.message}`);
      }
      throw error;
    }
  };
  return Object.assign(middleware, { timeouts: () => timeouts });
}
