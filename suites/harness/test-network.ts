// The DNS and network of a real target whose servers declare the `test_network`
// capability (docs/drivers.md): records and routes go to every such server through
// its provisioning verbs, the answers fedconn serves come from one loopback peer that
// tells the addresses apart by the header the route adds, and the lookups and
// contacts are read back from the servers' logs.
import { ADDRESS_HEADER, type NetworkLog } from '../../simulator/net/test-network.ts';
import type { Handler, Transport } from '../../simulator/net/transport.ts';
import type { SrvRecord } from '../../simulator/protocol/server-name/index.ts';
import type { Contact, TargetDns } from './target.ts';
import { provisioningRequest } from './drivers/fedconn.ts';

const NETWORK = '/_fedconn/v1/provision/network';

export interface NetworkedServer {
  readonly serverName: string;
  readonly origin: string;
  readonly provisioningToken: string;
}

export function testNetworkDns(options: {
  readonly servers: readonly NetworkedServer[];
  readonly transport: Transport;
  /** Starts the peer that answers for the world; resolves to its origin. */
  readonly host: (handler: Handler) => Promise<string>;
}): TargetDns {
  const answers = new Map<string, Handler>();
  let peer: Promise<string> | undefined;
  const call = async (server: NetworkedServer, method: string, path: string, body?: unknown) => {
    const response = await options.transport(
      provisioningRequest({ ...server, method, path, body }),
    );
    const text = await response.text();
    if (!response.ok) {
      throw new Error(
        `${method} ${path} on ${server.serverName} (test network) answered ${response.status}: ${text.slice(0, 200)}`,
      );
    }
    return JSON.parse(text) as unknown;
  };
  const update = async (body: unknown) => {
    for (const s of options.servers) await call(s, 'POST', NETWORK, body);
  };
  const logs = async () => {
    const all: NetworkLog[] = [];
    for (const s of options.servers)
      all.push((await call(s, 'GET', `${NETWORK}/log`)) as NetworkLog);
    return all;
  };
  const world: Handler = (request) => {
    const address = request.headers.get(ADDRESS_HEADER) ?? '';
    const handler = answers.get(address);
    return handler === undefined
      ? Promise.resolve(new Response('nothing is served at this address', { status: 502 }))
      : handler(request);
  };
  return {
    setAddress: (name, addresses) => update({ address: { [name]: addresses } }),
    setSrv: (owner, records: readonly SrvRecord[]) => update({ srv: { [owner]: records } }),
    async serve(authority, handler) {
      const address = new URL(`https://${authority}`).host;
      answers.set(address, handler);
      peer ??= options.host(world);
      await update({ routes: { [authority]: await peer } });
    },
    lookups: async () => (await logs()).flatMap((l) => l.lookups),
    contacts: async () => (await logs()).flatMap((l): Contact[] => [...l.contacts]),
  };
}
