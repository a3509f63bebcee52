// Loopback HTTP in front of the servers fedconn plays, for a client under test in another
// process: each (transport, origin) pair gets a port of its own on 127.0.0.1, and every
// request arriving there is handed to the transport as a request to the origin, with the
// path, query and headers the client sent. The Host header stays the one the client
// addressed, so a Fedconn-Sig signature (which covers the host) verifies as it would on a
// served server; the check's transport still sees the origin's URL, so faults, race
// scheduling and the observer work on the client's requests as on fedconn's own.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Transport } from '../../../simulator/net/transport.ts';

/** Headers about one hop of the connection, which a proxy does not pass on. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'upgrade',
  'proxy-connection',
  'te',
  'trailer',
]);

export interface Gateway {
  /** The loopback base URL (no trailing slash) whose requests reach `origin` over `transport`. */
  expose(transport: Transport, origin: string): Promise<string>;
  /** Stops every listener; requests in flight are cut. */
  close(): Promise<void>;
}

export function startGateway(): Gateway {
  const servers: Server[] = [];
  const bound = new WeakMap<Transport, Map<string, Promise<string>>>();
  // A check abandoned at its deadline may go on asking after its world ended: no listener
  // opened then would ever be closed.
  let closed = false;

  const listen = (transport: Transport, origin: string) =>
    new Promise<string>((resolve, reject) => {
      const server = createServer((req, res) => {
        void forward(transport, origin, req, res);
      });
      servers.push(server);
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        resolve(`http://127.0.0.1:${port}`);
      });
    });

  return {
    expose(transport, origin) {
      if (closed)
        return Promise.reject(new Error('the loopback gateway is closed (the check ended)'));
      const key = new URL(origin).origin;
      let byOrigin = bound.get(transport);
      if (byOrigin === undefined)
        bound.set(transport, (byOrigin = new Map<string, Promise<string>>()));
      let url = byOrigin.get(key);
      if (url === undefined) byOrigin.set(key, (url = listen(transport, key)));
      return url;
    },
    async close() {
      closed = true;
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => {
                resolve();
              });
              s.closeAllConnections();
            }),
        ),
      );
      servers.length = 0;
    },
  };
}

async function forward(
  transport: Transport,
  origin: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name)) continue;
      for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
    }
    const method = req.method ?? 'GET';
    const body = chunks.length === 0 ? undefined : Buffer.concat(chunks);
    const response = await transport(
      new Request(`${origin}${req.url ?? '/'}`, {
        method,
        headers,
        ...(body === undefined || method === 'GET' || method === 'HEAD' ? {} : { body }),
      }),
    );
    const out = Buffer.from(await response.arrayBuffer());
    const outHeaders: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      if (!HOP_BY_HOP.has(name)) outHeaders[name] = value;
    });
    res.writeHead(response.status, outHeaders).end(out);
  } catch {
    // The network failed the request (no route, a fault, an outage): the client sees its
    // connection cut with no answer, as a network error, not an answer of the server's
    // (a client retries after an outage but not after a refusal: CONN-RACE-04).
    res.destroy();
    req.socket.destroy();
  }
}
