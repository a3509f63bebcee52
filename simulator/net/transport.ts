// One HTTP surface: every service is a fetch-style handler (Request -> Response),
// and every outbound call goes through an injectable Transport of the same shape.
// The simulator routes requests to in-process handlers by origin; against real
// servers the transport is fetch. Faults and adversaries are middleware.

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

/** Real HTTP with a per-request timeout, for targets outside the process. */
export function httpTransport(options: { readonly timeoutMs: number }): Transport {
  return async (request) => {
    const signal = AbortSignal.any([request.signal, AbortSignal.timeout(options.timeoutMs)]);
    try {
      return await fetch(request, { signal });
    } catch (error) {
      if (signal.aborted && !request.signal.aborted) {
        throw new NetworkError(`no answer within ${options.timeoutMs} ms`, request.url, 'timeout');
      }
      throw new NetworkError(`request failed: ${String(error)}`, request.url);
    }
  };
}
