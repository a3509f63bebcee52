// Waiting for what a server does in the background. In the simulator every request a
// server makes has been made by the time the request that caused it returns; a real
// server sends transactions, key fetches and joins asynchronously, so a check that
// looks for one polls for a while before it concludes there is none.
import { setTimeout as sleep } from 'node:timers/promises';
import type { CheckContext } from './check.ts';

/** How long a real server gets to do what a check waits for. */
export const BACKGROUND_MS = 10_000;
const POLL_MS = 100;

/**
 * Resolves true once `condition` holds, false when it has not held within `withinMs`
 * of real time (at once where time is virtual: there is nothing to wait for).
 */
export async function eventually(
  ctx: CheckContext,
  condition: () => boolean | Promise<boolean>,
  withinMs = BACKGROUND_MS,
): Promise<boolean> {
  if (await condition()) return true;
  // Only the simulator's time is virtual; a real target's clock moves on its own too.
  if (ctx.target.kind === 'sim') return false;
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    await sleep(POLL_MS, undefined, { signal: ctx.signal });
    if (await condition()) return true;
  }
  return false;
}
