// The provisioning verb of a served federation's clock (docs/drivers.md, capability
// `clock`): fedconn moves the servers' time to check lifetimes, expiry and caching
// without waiting them out. The offset is absolute, so setting it on every server of
// one process (they share the clock) is the same as setting it once.
//   PUT /_fedconn/v1/provision/clock   {offset_ms}   -> {now}
//   GET /_fedconn/v1/provision/clock                 -> {offset_ms, now}
import { z } from 'zod';
import { methodNotAllowed, provisioningRouter, readJson } from '../homeserver/http.ts';
import type { OffsetClock } from '../net/clock.ts';
import type { Handler } from '../net/transport.ts';
import { inFront } from './in-front.ts';

export const CLOCK_PATH = '/_fedconn/v1/provision/clock';

/** A century ahead at most: dates past that stop being dates (year 275760 and beyond). */
const MAX_OFFSET_MS = 100 * 365 * 86_400_000;
const body = z.strictObject({ offset_ms: z.number().int().min(0).max(MAX_OFFSET_MS) });

/** `handler`, with the clock verb in front of it (provisioning token required). */
export function withClockApi(
  clock: OffsetClock,
  provisioningToken: string,
  handler: Handler,
): Handler {
  const api = provisioningRouter(provisioningToken);
  api.get(CLOCK_PATH, (c) => c.json({ offset_ms: clock.offset, now: clock.now() }));
  api.put(CLOCK_PATH, async (c) => {
    const parsed = await readJson(c, body);
    if (!parsed.ok) return parsed.error;
    clock.setOffset(parsed.value.offset_ms);
    return c.json({ now: clock.now() });
  });
  api.all(CLOCK_PATH, (c) => methodNotAllowed(c, ['GET', 'PUT']));
  return inFront(api, [CLOCK_PATH], handler);
}
