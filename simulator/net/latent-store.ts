// Storage with latency, and the lock that makes it safe. The reference's Table answers
// at once, so a handler that reads a row, checks it and writes it back can never be
// interleaved with another request. A real server's database answers later: between
// the check and the write, another request to the same row can run. A LatentTable
// waits a set time (real time: it is about the event loop, not protocol time) before
// each read and write, so concurrent requests overlap at the server the way they do
// at one backed by an asynchronous store; KeyLock is how the reference keeps the
// check and the write together (phnx-ds: the DS locks the group, then checks the epoch).
import type { Table } from './store.ts';

/**
 * The latency races at a server are judged with (ms): enough for a request that
 * arrives while another waits on the store to reach the same row before its write.
 */
export const RACE_STORE_LATENCY_MS = 3;

/** How long each store operation waits; shared by the servers of a federation. */
export interface StoreLatency {
  ms: number;
}

export interface LatentTable<V> {
  read(key: string): Promise<V | undefined>;
  write(key: string, value: V): Promise<void>;
}

const wait = (latency: StoreLatency | undefined): Promise<void> =>
  latency === undefined || latency.ms <= 0
    ? Promise.resolve()
    : new Promise((resolve) => setTimeout(resolve, latency.ms));

export function latent<V>(table: Table<V>, latency: StoreLatency | undefined): LatentTable<V> {
  return {
    async read(key) {
      await wait(latency);
      return table.get(key);
    },
    async write(key, value) {
      await wait(latency);
      table.put(key, value);
    },
  };
}

/** Runs work for one key at a time, in arrival order; other keys proceed freely. */
export interface KeyLock {
  run<T>(key: string, work: () => Promise<T>): Promise<T>;
}

export function keyLock(): KeyLock {
  const tails = new Map<string, Promise<unknown>>();
  return {
    run(key, work) {
      const previous = tails.get(key) ?? Promise.resolve();
      const result = previous.then(() => work());
      const tail = result.catch(() => undefined);
      tails.set(key, tail);
      // The last holder forgets the key, so the map holds only keys in use.
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return result;
    },
  };
}
