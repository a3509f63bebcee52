// Provisioning verbs that `fedconn serve` adds in front of a homeserver: requests for
// their paths go to the verbs' router, everything else to the homeserver untouched.
import type { Hono } from 'hono';
import type { Handler } from '../net/transport.ts';

export function inFront(api: Hono, paths: readonly string[], handler: Handler): Handler {
  const own = new Set(paths);
  return async (request) =>
    own.has(new URL(request.url).pathname) ? api.fetch(request) : handler(request);
}
