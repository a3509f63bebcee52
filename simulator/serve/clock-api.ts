// The provisioning verb of a served federation's clock (docs/drivers.md, capability
// `clock`): fedconn moves the servers' time to check lifetimes, expiry and caching
// without waiting them out. The offset is absolute, so setting it on every server of
// one process (they share the clock) is the same as setting it once.
//   PUT /_fedconn/v1/provision/clock   {offset_ms}   -> {now}
//   GET /_fedconn/v1/provision/clock                 -> {offset_ms, now}
import { z } from 'zod';
import { fail } from '../homeserver/http.ts';
import type { OffsetClock } from '../net/clock.ts';
import type { Handler } from '../net/transport.ts';

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
  return async (request) => {
    if (new URL(request.url).pathname !== CLOCK_PATH) return handler(request);
    const authorization = request.headers.get('authorization');
    if (authorization === null)
      return fail('M_MISSING_TOKEN', 'provisioning needs Authorization: Bearer <token>');
    if (authorization !== `Bearer ${provisioningToken}`)
      return fail('M_UNKNOWN_TOKEN', 'wrong provisioning token');
    if (request.method === 'GET')
      return Response.json({ offset_ms: clock.offset, now: clock.now() });
    if (request.method !== 'PUT') return fail('M_UNRECOGNIZED', `${request.method} ${CLOCK_PATH}`);
    let value: unknown;
    try {
      value = await request.json();
    } catch {
      return fail('M_NOT_JSON', 'the body is not JSON');
    }
    const parsed = body.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return fail(
        'M_BAD_JSON',
        `${issue?.path.join('.') ?? '(body)'}: ${issue?.message ?? 'invalid'}`,
      );
    }
    clock.setOffset(parsed.data.offset_ms);
    return Response.json({ now: clock.now() });
  };
}
