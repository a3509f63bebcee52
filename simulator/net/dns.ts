// A virtual DNS for the simulator: address records (A and AAAA in one list), SRV
// records (`_matrix-fed._tcp.<name>`, `_matrix._tcp.<name>`) and CNAME aliases.
// It answers the lookups server-name resolution makes (simulator/protocol/
// server-name `DiscoveryView`), so homeservers find each other by the real
// algorithm. Records can change at run time, as a zone can, and every lookup is
// kept in a query log so a scenario can see what a resolver asked.
import type { SrvRecord } from '../protocol/server-name/index.ts';

/** The lookups resolution needs; VirtualDns implements it, a real resolver could too. */
export interface DnsResolver {
  /** AAAA and A answers with CNAMEs followed; the first is preferred. */
  address(name: string): readonly string[];
  /** SRV records for a full owner name such as `_matrix-fed._tcp.example.org`. */
  srv(owner: string): readonly SrvRecord[];
  /** The canonical name when `name` is an alias, else undefined. */
  cname(name: string): string | undefined;
}

export interface DnsRecords {
  readonly address?: Readonly<Record<string, readonly string[]>>;
  readonly srv?: Readonly<Record<string, readonly SrvRecord[]>>;
  readonly cname?: Readonly<Record<string, string>>;
}

export interface DnsQuery {
  readonly type: 'address' | 'srv' | 'cname';
  readonly name: string;
}

/** Resolvers give up on alias chains this long (loops included), as real ones do. */
export const MAX_CNAME_CHAIN = 8;

// DNS names compare case-insensitively (RFC 4343); a trailing dot names the same node.
const key = (name: string): string => name.toLowerCase().replace(/\.$/, '');

export class VirtualDns implements DnsResolver {
  readonly #address = new Map<string, readonly string[]>();
  readonly #srv = new Map<string, readonly SrvRecord[]>();
  readonly #cname = new Map<string, string>();
  readonly #queries: DnsQuery[] = [];

  constructor(records: DnsRecords = {}) {
    for (const [name, addresses] of Object.entries(records.address ?? {})) {
      this.setAddress(name, addresses);
    }
    for (const [owner, srv] of Object.entries(records.srv ?? {})) this.setSrv(owner, srv);
    for (const [alias, canonical] of Object.entries(records.cname ?? {})) {
      this.setCname(alias, canonical);
    }
  }

  /** Replaces the A/AAAA records of `name`; an empty list removes them. */
  setAddress(name: string, addresses: readonly string[]): this {
    if (addresses.length === 0) this.#address.delete(key(name));
    else this.#address.set(key(name), [...addresses]);
    return this;
  }

  /** Replaces the SRV records of `owner` (for example `_matrix-fed._tcp.example.org`). */
  setSrv(owner: string, records: readonly SrvRecord[]): this {
    if (records.length === 0) this.#srv.delete(key(owner));
    else
      this.#srv.set(
        key(owner),
        records.map((r) => ({ ...r })),
      );
    return this;
  }

  /** Makes `alias` a CNAME of `canonical`; undefined removes the alias. */
  setCname(alias: string, canonical: string | undefined): this {
    if (canonical === undefined) this.#cname.delete(key(alias));
    else this.#cname.set(key(alias), canonical);
    return this;
  }

  address(name: string): readonly string[] {
    this.#queries.push({ type: 'address', name });
    // Follow the alias chain like a stub resolver; a loop or an over-long chain answers nothing.
    let current = key(name);
    for (let hops = 0; hops <= MAX_CNAME_CHAIN; hops++) {
      const canonical = this.#cname.get(current);
      if (canonical === undefined) return this.#address.get(current) ?? [];
      current = key(canonical);
    }
    return [];
  }

  srv(owner: string): readonly SrvRecord[] {
    this.#queries.push({ type: 'srv', name: owner });
    return this.#srv.get(key(owner)) ?? [];
  }

  cname(name: string): string | undefined {
    this.#queries.push({ type: 'cname', name });
    return this.#cname.get(key(name));
  }

  /** Every lookup made so far, in order. */
  get queries(): readonly DnsQuery[] {
    return [...this.#queries];
  }
}

/** `host:port` as it appears in a URL authority (IPv6 in brackets). */
export function authority(ip: string, port: number): string {
  return `${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
}
