// fedconn's peers (impostors, fake remote servers) as real HTTPS servers on loopback,
// so a homeserver in another process can reach them as it reaches any other server:
// by a server name with an explicit port (`localhost:PORT`), which needs no DNS,
// .well-known or SRV, and over TLS, since homeservers never federate in plain HTTP.
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { loopbackIdentity } from './self-signed.ts';
import type { Handler } from './transport.ts';

export interface HostedPeer {
  /** The name it is reachable under: `localhost:PORT`. */
  readonly serverName: string;
  /** Where fedconn itself reaches it: `https://127.0.0.1:PORT`. */
  readonly origin: string;
}

export interface LoopbackPeers {
  /**
   * Starts a peer. Its name holds the port it got, so the handler (which signs as that
   * name) is made once the server listens; requests before then get 503.
   */
  host(handlerFor: (serverName: string) => Promise<Handler>): Promise<HostedPeer>;
  /** Stops every peer and drops their connections. */
  close(): Promise<void>;
}

export function loopbackPeers(): LoopbackPeers {
  const servers: ServerType[] = [];
  return {
    async host(handlerFor) {
      const identity = await loopbackIdentity();
      const slot: { handler?: Handler } = {};
      const fetch = (request: Request) =>
        slot.handler === undefined
          ? new Response('starting', { status: 503 })
          : slot.handler(request).catch(
              (error: unknown) =>
                // A peer that throws is fedconn's bug; say so on the wire, not by hanging.
                new Response(`fedconn peer failed: ${String(error)}`, { status: 500 }),
            );
      const address = await new Promise<AddressInfo>((resolve, reject) => {
        const server = serve(
          {
            fetch,
            port: 0,
            hostname: '127.0.0.1',
            createServer,
            serverOptions: { key: identity.key, cert: identity.cert },
          },
          resolve,
        );
        server.once('error', reject);
        servers.push(server);
      });
      const serverName = `localhost:${address.port}`;
      slot.handler = await handlerFor(serverName);
      return { serverName, origin: `https://127.0.0.1:${address.port}` };
    },
    async close() {
      const closing = servers.splice(0);
      await Promise.all(
        closing.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => {
                resolve();
              });
              if ('closeAllConnections' in server) server.closeAllConnections();
            }),
        ),
      );
    },
  };
}
