// Time as the simulator sees it. A VirtualClock is a discrete-event clock:
// `sleep` registers a timer, and a pump that runs once the event loop has
// drained pending work moves time to the earliest timer and fires it. So delays
// order events by virtual deadline, deterministically, and a simulated day
// passes in microseconds. The SystemClock is real time for `fedconn serve`.

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Resolves after `ms` of this clock's time; rejects with the signal's reason if aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(signal.reason as Error);
        return;
      }
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/**
 * Real time moved on by a settable offset: the clock of `fedconn serve`, whose servers let
 * fedconn move their time (capability `clock`), and fedconn's mirror of it on http targets.
 */
export class OffsetClock implements Clock {
  #offset = 0;

  get offset(): number {
    return this.#offset;
  }

  /** Sets how far ahead of real time this clock runs (never behind it). */
  setOffset(ms: number): void {
    if (!Number.isSafeInteger(ms) || ms < 0)
      throw new RangeError(`offset ${ms} ms: not a whole, non-negative number`);
    this.#offset = ms;
  }

  now(): number {
    return Date.now() + this.#offset;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return systemClock.sleep(ms, signal);
  }
}

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fire: () => void;
}

export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Timer[] = [];
  #pumping = false;

  constructor(start: number = Date.UTC(2026, 10, 22)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Moves time forward by `ms` at once, firing every timer due on the way, in order. */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('a clock never goes back');
    const target = this.#now + ms;
    for (;;) {
      const next = this.#timers[0];
      if (next === undefined || next.at > target) break;
      this.#timers.shift();
      this.#now = next.at;
      next.fire();
    }
    this.#now = target;
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.#timers.length;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(signal.reason as Error);
        return;
      }
      const timer: Timer = {
        at: this.#now + Math.max(0, ms),
        seq: this.#seq++,
        fire: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.#timers = this.#timers.filter((t) => t !== timer);
        reject(signal?.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      // Keep timers sorted by deadline, ties in creation order.
      const index = this.#timers.findIndex(
        (t) => t.at > timer.at || (t.at === timer.at && t.seq > timer.seq),
      );
      if (index < 0) this.#timers.push(timer);
      else this.#timers.splice(index, 0, timer);
      this.#schedulePump();
    });
  }

  #schedulePump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    // setImmediate runs after the microtasks of the current turn: everything that
    // could still register an earlier timer has had its chance.
    setImmediate(() => {
      this.#pumping = false;
      const next = this.#timers.shift();
      if (next === undefined) return;
      this.#now = Math.max(this.#now, next.at);
      next.fire();
      if (this.#timers.length > 0) this.#schedulePump();
    });
  }
}
