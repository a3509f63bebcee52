// Faults as transport middleware, so they apply to every target. Each fault
// takes a predicate choosing the requests it affects and draws its random
// choices from an injected Rng, so a seed reproduces the same faults.
import type { Rng } from '../protocol/crypto/rng.ts';
import type { Clock } from './clock.ts';
import { NetworkError, type Middleware } from './transport.ts';

export type RequestPredicate = (request: Request) => boolean;
export const always: RequestPredicate = () => true;

/** A uniform draw in [0, 1) from the rng. */
export function uniform(rng: Rng): number {
  const b = rng.bytes(4);
  // >>> 0 keeps the 32-bit value unsigned; a plain << 24 would go negative.
  return (
    ((((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0)) >>> 0) / 2 ** 32
  );
}

/** Loses requests with probability p: the caller sees a network error, the server nothing. */
export function drop(options: { rng: Rng; p: number; when?: RequestPredicate }): Middleware {
  const when = options.when ?? always;
  return (next) => async (request) => {
    if (when(request) && uniform(options.rng) < options.p) {
      throw new NetworkError('dropped by fault injection', request.url);
    }
    return next(request);
  };
}

/** Loses the response after the server processed the request: the classic lost acknowledgement. */
export function dropResponse(options: {
  rng: Rng;
  p: number;
  when?: RequestPredicate;
}): Middleware {
  const when = options.when ?? always;
  return (next) => async (request) => {
    const response = await next(request);
    if (when(request) && uniform(options.rng) < options.p) {
      throw new NetworkError('response dropped by fault injection', request.url);
    }
    return response;
  };
}

/** Delays requests by a random time in [min, max] ms of the clock; concurrent requests reorder. */
export function delay(options: {
  rng: Rng;
  clock: Clock;
  minMs: number;
  maxMs: number;
  when?: RequestPredicate;
}): Middleware {
  const when = options.when ?? always;
  return (next) => async (request) => {
    if (when(request)) {
      const ms =
        options.minMs + Math.floor(uniform(options.rng) * (options.maxMs - options.minMs + 1));
      await options.clock.sleep(ms, request.signal);
    }
    return next(request);
  };
}

/** Delivers a request twice with probability p; the caller sees the second answer. */
export function duplicate(options: { rng: Rng; p: number; when?: RequestPredicate }): Middleware {
  const when = options.when ?? always;
  return (next) => async (request) => {
    if (!when(request) || uniform(options.rng) >= options.p) return next(request);
    const copy = request.clone();
    await next(request)
      .then((r) => r.arrayBuffer())
      .catch(() => undefined);
    return next(copy);
  };
}

/** Rewrites matching requests before delivery (an on-path attacker). */
export function tamper(options: {
  when?: RequestPredicate;
  rewrite: (request: Request) => Promise<Request>;
}): Middleware {
  const when = options.when ?? always;
  return (next) => async (request) =>
    next(when(request) ? await options.rewrite(request) : request);
}

/**
 * Splits the network: a request from a client or server inside `side` to an origin
 * outside it (or the reverse) fails. The sender is named by the `x-fedconn-from`
 * header the simulator's transports add; while `isActive()` is false nothing is cut.
 */
export function partition(options: {
  side: ReadonlySet<string>;
  isActive: () => boolean;
}): Middleware {
  return (next) => async (request) => {
    if (options.isActive()) {
      const from = request.headers.get('x-fedconn-from') ?? '';
      const to = new URL(request.url).host;
      if (options.side.has(from) !== options.side.has(to)) {
        throw new NetworkError(`partitioned: ${from} cannot reach ${to}`, request.url);
      }
    }
    return next(request);
  };
}
