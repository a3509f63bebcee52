import { describe, expect, test } from 'vitest';
import { Observer } from './observer.ts';
import { VirtualClock } from './clock.ts';
import { keyLock, latent } from './latent-store.ts';
import { Table } from './store.ts';

const table = () => new Table<number>('t', new Observer(new VirtualClock()).recorder('hs'));

describe('store latency and the lock that makes it safe', () => {
  test('with latency, two read-check-writes of one row both pass the check', async () => {
    const rows = latent(table(), { ms: 2 });
    await rows.write('epoch', 0);
    const bump = async () => {
      const epoch = await rows.read('epoch');
      if (epoch !== 0) return false;
      await rows.write('epoch', epoch + 1);
      return true;
    };
    expect(await Promise.all([bump(), bump()])).toEqual([true, true]);
  });

  test('under the key lock only the first passes, and other keys are not held up', async () => {
    const rows = latent(table(), { ms: 2 });
    const lock = keyLock();
    await rows.write('a', 0);
    await rows.write('b', 0);
    const order: string[] = [];
    const bump = (key: string) =>
      lock.run(key, async () => {
        order.push(`start ${key}`);
        const epoch = await rows.read(key);
        if (epoch !== 0) return false;
        await rows.write(key, epoch + 1);
        return true;
      });
    expect(await Promise.all([bump('a'), bump('a'), bump('b')])).toEqual([true, false, true]);
    // b started before a's first holder finished: the lock is per key.
    expect(order.slice(0, 2)).toEqual(['start a', 'start b']);
  });

  test('a failing holder releases the key', async () => {
    const lock = keyLock();
    await expect(lock.run('k', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await lock.run('k', () => Promise.resolve(7))).toBe(7);
  });
});
