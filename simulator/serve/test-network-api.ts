// The provisioning verbs of a served server's test network (docs/drivers.md,
// capability `test_network`): fedconn sets the DNS records and routes of the world the
// server resolves names in, and reads back what it looked up and where it connected.
//   POST /_fedconn/v1/provision/network      {address?, srv?, routes?}  merged in
//   GET  /_fedconn/v1/provision/network/log  {lookups, contacts}
import { z } from 'zod';
import { fail } from '../homeserver/http.ts';
import type { Handler } from '../net/transport.ts';
import type { TestNetwork } from '../net/test-network.ts';
import { isLoopbackHost } from '../net/bound-http.ts';

export const NETWORK_PATH = '/_fedconn/v1/provision/network';

const srvRecord = z.strictObject({
  target: z.string(),
  port: z.number().int().min(0).max(65535),
  priority: z.number().int().min(0).max(65535),
  weight: z.number().int().min(0).max(65535),
});

// Addresses of the world are IP literals, never this machine's loopback: a server told
// to connect there would leave the test network for a real local port.
const address = z
  .union([z.ipv4(), z.ipv6()], { error: 'must be an IPv4 or IPv6 address' })
  .refine((ip) => !isLoopbackHost(ip.includes(':') ? `[${ip}]` : ip), 'must not be loopback');

// A route leads to a fedconn peer on this machine's loopback, nowhere else.
const loopbackOrigin = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .refine((u) => isLoopbackHost(new URL(u).hostname), 'must be on loopback (a fedconn peer)');

const update = z.strictObject({
  address: z.record(z.string(), z.array(address)).optional(),
  srv: z.record(z.string(), z.array(srvRecord)).optional(),
  routes: z.record(z.string(), loopbackOrigin).optional(),
});

/** Whether `authority` is exactly a host[:port], as a URL gives it back. */
function isAuthority(authority: string): boolean {
  try {
    const url = new URL(`https://${authority}`);
    return (
      url.host === authority.toLowerCase() || `${url.hostname}:443` === authority.toLowerCase()
    );
  } catch {
    return false;
  }
}

/** `handler`, with the test network's verbs in front of it (provisioning token required). */
export function withTestNetworkApi(
  network: TestNetwork,
  provisioningToken: string,
  handler: Handler,
): Handler {
  return async (request) => {
    const path = new URL(request.url).pathname;
    if (path !== NETWORK_PATH && path !== `${NETWORK_PATH}/log`) return handler(request);
    const authorization = request.headers.get('authorization');
    if (authorization === null)
      return fail('M_MISSING_TOKEN', 'provisioning needs Authorization: Bearer <token>');
    if (authorization !== `Bearer ${provisioningToken}`)
      return fail('M_UNKNOWN_TOKEN', 'wrong provisioning token');
    if (path === `${NETWORK_PATH}/log`) {
      if (request.method !== 'GET') return fail('M_UNRECOGNIZED', `${request.method} ${path}`);
      return Response.json(network.log());
    }
    if (request.method !== 'POST') return fail('M_UNRECOGNIZED', `${request.method} ${path}`);
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return fail('M_NOT_JSON', 'the body is not JSON');
    }
    const parsed = update.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return fail(
        'M_BAD_JSON',
        `${issue?.path.join('.') ?? '(body)'}: ${issue?.message ?? 'invalid'}`,
      );
    }
    // Everything is checked before anything is applied: a refused update changes nothing.
    for (const authority of Object.keys(parsed.data.routes ?? {})) {
      if (!isAuthority(authority))
        return fail('M_BAD_JSON', `routes: ${JSON.stringify(authority)} is not a host[:port]`);
    }
    for (const [name, addresses] of Object.entries(parsed.data.address ?? {}))
      network.dns.setAddress(name, addresses);
    for (const [owner, records] of Object.entries(parsed.data.srv ?? {}))
      network.dns.setSrv(owner, records);
    for (const [authority, origin] of Object.entries(parsed.data.routes ?? {}))
      network.route(authority, origin);
    return Response.json({});
  };
}
