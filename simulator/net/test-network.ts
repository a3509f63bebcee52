// A test network for one served homeserver: the DNS it resolves other servers'
// names through, where each address of that world really listens (a route to a
// peer fedconn runs on loopback), and a log of every lookup and every request it
// sent into the world, answered or not. It is what the simulator's virtual DNS and
// network give a server, for a server in another process (`fedconn serve`): the
// name-resolution rules (FED-NAME) are then judged on what the server looked up and
// where it connected. Requests to its fellow servers and to loopback peers never
// enter the world; an address with no route is refused at once, as nothing listens.
import { VirtualDns, type DnsQuery } from './dns.ts';
import { NetworkError, type Middleware } from './transport.ts';

/** Set on a routed request: the address the server connected to, for the peer behind the route. */
export const ADDRESS_HEADER = 'x-fedconn-address';

/** One request the server sent into the world, as it sent it (its URL names the address). */
export interface NetworkContact {
  readonly from: string;
  readonly url: string;
  /** The Host header as sent (the URL's authority when none was set). */
  readonly host: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface NetworkLog {
  readonly lookups: readonly DnsQuery[];
  readonly contacts: readonly NetworkContact[];
}

export class TestNetwork {
  readonly dns = new VirtualDns();
  readonly #routes = new Map<string, string>();
  readonly #contacts: NetworkContact[] = [];

  constructor(
    /** The server whose network this is. */
    readonly serverName: string,
    /** Origins outside the world: the server's fellow servers, fedconn's loopback peers. */
    readonly outside: (url: URL) => boolean,
  ) {}

  /** Requests to https://<authority> (an "ip:port", or a hostname on 443) go to `origin`. */
  route(authority: string, origin: string): void {
    this.#routes.set(new URL(`https://${authority}`).host, new URL(origin).origin);
  }

  log(): NetworkLog {
    return { lookups: this.dns.queries, contacts: [...this.#contacts] };
  }

  /** The server's outbound transport, with every request into the world logged and routed. */
  readonly middleware: Middleware = (next) => async (request) => {
    const url = new URL(request.url);
    if (this.outside(url)) return next(request);
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    this.#contacts.push({
      from: this.serverName,
      url: request.url,
      host: headers.host ?? url.host,
      headers,
    });
    const origin = this.#routes.get(url.host);
    if (origin === undefined) {
      throw new NetworkError(
        `connect ECONNREFUSED ${url.host}: nothing listens there in the test network`,
        request.url,
      );
    }
    const body = request.body === null ? undefined : await request.arrayBuffer();
    const routed = new Headers(request.headers);
    // The address was the world's; the Host header stays what the server chose.
    if (!routed.has('host')) routed.set('host', url.host);
    routed.set(ADDRESS_HEADER, url.host);
    return next(
      new Request(new URL(url.pathname + url.search, origin), {
        method: request.method,
        headers: routed,
        signal: request.signal,
        ...(body === undefined ? {} : { body }),
      }),
    );
  };
}
