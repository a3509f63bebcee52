// The provisioning verbs of a served server's test network (docs/drivers.md,
// capability `test_network`): fedconn sets the DNS records and routes of the world the
// server resolves names in, and reads back what it looked up and where it connected.
//   POST /_fedconn/v1/provision/network      {address?, srv?, routes?}  merged in
//   GET  /_fedconn/v1/provision/network/log  {lookups, contacts}
import { z } from 'zod';
import { fail, methodNotAllowed, provisioningRouter, readJson } from '../homeserver/http.ts';
import { inFront } from './in-front.ts';
import type { Handler } from '../net/transport.ts';
import type { TestNetwork } from '../net/test-network.ts';
import { isLoopbackHost } from '../net/http.ts';

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
  const api = provisioningRouter(provisioningToken);
  api.get(`${NETWORK_PATH}/log`, (c) => c.json(network.log()));
  api.all(`${NETWORK_PATH}/log`, (c) => methodNotAllowed(c, ['GET']));
  api.post(NETWORK_PATH, async (c) => {
    const parsed = await readJson(c, update);
    if (!parsed.ok) return parsed.error;
    const { address, srv, routes } = parsed.value;
    // Everything is checked before anything is applied: a refused update changes nothing.
    for (const authority of Object.keys(routes ?? {})) {
      if (!isAuthority(authority))
        return fail('M_BAD_JSON', `routes: ${JSON.stringify(authority)} is not a host[:port]`);
    }
    for (const [name, addresses] of Object.entries(address ?? {}))
      network.dns.setAddress(name, addresses);
    for (const [owner, records] of Object.entries(srv ?? {})) network.dns.setSrv(owner, records);
    for (const [authority, origin] of Object.entries(routes ?? {}))
      network.route(authority, origin);
    return c.json({});
  });
  api.all(NETWORK_PATH, (c) => methodNotAllowed(c, ['POST']));
  return inFront(api, [NETWORK_PATH, `${NETWORK_PATH}/log`], handler);
}
