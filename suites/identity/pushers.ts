// Who pushes hashes to the identity service under test (MSC4004 POST /lookups): a
// pusher is either another server of the target, made to push by its driver, or
// fedconn itself playing a peer server, for targets that trust pushers by source
// address (ToM's allowlist): it signs like a server and sends from the address the
// target declares it trusts, or from one it does not.
import {
  generateEd25519KeyPair,
  type Ed25519KeyPair,
} from '../../simulator/protocol/crypto/ed25519.ts';
import { seededRng } from '../../simulator/protocol/crypto/rng.ts';
import { xMatrixHeader } from '../../simulator/federation/x-matrix.ts';
import type { Transport } from '../../simulator/net/transport.ts';
import { CheckSkipped, type CheckContext } from '../harness/check.ts';
import type { TargetServer } from '../harness/target.ts';
import {
  bind,
  hashDetails,
  IS_PREFIX,
  issueToken,
  names,
  readAnswer,
  sha256Hash,
  userId,
  type Answer,
} from './support.ts';

export interface PushOutcome {
  /** The receiver's answer status; undefined when the push never got an answer. */
  readonly status: number | undefined;
  /** What happened, step by step, for a failure to show. */
  readonly report: unknown;
}

export interface Pusher {
  /** The server name the pusher pushes under. */
  readonly serverName: string;
  /** How a failure names it. */
  readonly describe: string;
  /** A fedconn peer (true) or a server of the target (false). */
  readonly peer: boolean;
  /** `n` fresh addresses the pusher holds bindings for. */
  hold(ctx: CheckContext, label: string, n: number): Promise<string[]>;
  /** Pushes the hashes of `addresses` (held by it) to `to`, under `pepper` or `to`'s current one. */
  push(
    ctx: CheckContext,
    to: TargetServer,
    addresses: readonly string[],
    pepper?: string,
  ): Promise<PushOutcome>;
  /** Pushes `content` exactly as given, correctly signed by the pusher, to `to`. */
  pushContent(
    ctx: CheckContext,
    to: TargetServer,
    content: Readonly<Record<string, unknown>>,
  ): Promise<PushOutcome>;
  /** Sends a push request exactly as given, from the pusher's own address. */
  send(
    ctx: CheckContext,
    to: TargetServer,
    content: unknown,
    authorization: string | null,
  ): Promise<Answer>;
  /** The peer's signing key (fedconn's peers only). */
  readonly key: { readonly keyId: string; readonly pair: Ed25519KeyPair } | undefined;
}

const LOOKUPS = `${IS_PREFIX}/lookups`;

function sender(transport: Transport, from: string): Pusher['send'] {
  return async (ctx, to, content, authorization) => {
    // The simulator models a request's source address by this header; real HTTP ignores it.
    const headers = new Headers({ 'content-type': 'application/json', 'x-fedconn-from': from });
    if (authorization !== null) headers.set('authorization', authorization);
    return readAnswer(
      await transport(
        new Request(`${to.origin}${LOOKUPS}`, {
          method: 'POST',
          headers,
          body: JSON.stringify(content),
          signal: ctx.signal,
        }),
      ),
    );
  };
}

/** Another server of the target, which pushes its own bindings when its driver says so. */
function targetPusher(ctx: CheckContext, server: TargetServer, describe: string): Pusher {
  return {
    serverName: server.serverName,
    describe,
    peer: false,
    key: undefined,
    async hold(c, label, n) {
      const { word } = names(c, label);
      const addresses: string[] = [];
      for (let i = 0; i < n; i++) {
        const address = `${c.instance.namespace}${word()}@example.org`;
        await bind(c, server, address, userId(c, server, `p${i}${word()}`));
        addresses.push(address);
      }
      return addresses;
    },
    async push(c, to, addresses, pepper) {
      const result = await server.driver.call(
        'identity.push',
        {
          destination: to.serverName,
          addresses: addresses.map((address) => ({ address, medium: 'email' })),
          ...(pepper === undefined ? {} : { pepper }),
        },
        c.signal,
      );
      return { status: result.status, report: result.report };
    },
    async pushContent(c, to, content) {
      const result = await server.driver.call(
        'identity.push_raw',
        { destination: to.serverName, content },
        c.signal,
      );
      return { status: result.status, report: result.report };
    },
    send: sender(ctx.instance.transport, server.serverName),
  };
}

/** The receiver's current pepper, read as a fresh user of it. */
export async function currentPepper(ctx: CheckContext, at: TargetServer, label: string) {
  const token = await issueToken(ctx, at, userId(ctx, at, `is${label}`));
  return (await hashDetails(ctx, at, token)).lookup_pepper;
}

/** fedconn as a peer server sending from `localAddress`, with a key of its own. */
async function peerPusher(
  ctx: CheckContext,
  localAddress: string,
  label: string,
  describe: string,
): Promise<Pusher> {
  const transportFrom = ctx.instance.transportFrom;
  if (transportFrom === undefined) throw new Error('the target cannot send from chosen addresses');
  const transport = transportFrom(localAddress);
  const serverName = `${ctx.instance.namespace}${label}.peer.fedconn.test`;
  const key = {
    keyId: 'ed25519:fedconn',
    pair: await generateEd25519KeyPair(seededRng(`${ctx.seed}/${label} key`)),
  };
  const send = sender(transport, serverName);
  const pushContent: Pusher['pushContent'] = async (c, to, content) => {
    const authorization = await xMatrixHeader(
      { method: 'POST', uri: LOOKUPS, origin: serverName, destination: to.serverName, content },
      key,
    );
    const answer = await send(c, to, content, authorization);
    return {
      status: answer.status,
      report: { from: localAddress, sent: content, answer },
    };
  };
  return {
    serverName,
    describe,
    peer: true,
    key,
    hold(c, l, n) {
      // A peer holds its own users' 3PIDs: nothing to bind anywhere.
      const { word } = names(c, `${label}/${l}`);
      return Promise.resolve(
        Array.from({ length: n }, () => `${c.instance.namespace}${word()}@example.org`),
      );
    },
    pushContent,
    async push(c, to, addresses, pepper) {
      const used = pepper ?? (await currentPepper(c, to, `${label}pepper`));
      return pushContent(c, to, {
        algorithm: 'sha256',
        pepper: used,
        mappings: { [serverName]: addresses.map((a) => sha256Hash(a, 'email', used)) },
      });
    },
    send,
  };
}

const hasPush = async (server: TargetServer) => (await server.driver.verbs()).has('identity.push');

/** A pusher that `to` trusts, or a skip saying what to declare. */
export async function trustedPusher(ctx: CheckContext, to: TargetServer): Promise<Pusher> {
  const identity = to.roles.identity;
  for (const server of ctx.instance.servers) {
    if (server.serverName === to.serverName) continue;
    if (identity?.trusts.includes(server.serverName) === true && (await hasPush(server)))
      return targetPusher(ctx, server, `${server.serverName}, which ${to.serverName} trusts`);
  }
  const address = identity?.trusted_addresses[0];
  if (address !== undefined && ctx.instance.transportFrom !== undefined) {
    return peerPusher(
      ctx,
      address,
      'trusted',
      `fedconn's peer pushing from ${address}, an address ${to.serverName} trusts`,
    );
  }
  throw new CheckSkipped(
    `needs a pusher that ${to.serverName} trusts: declare roles.identity.trusts naming another server of the config whose driver can identity.push, or roles.identity.trusted_addresses (fedconn then pushes as a peer from that address)`,
  );
}

/** A pusher that `to` does not trust, or a skip saying what to declare. */
export async function untrustedPusher(ctx: CheckContext, to: TargetServer): Promise<Pusher> {
  const identity = to.roles.identity;
  for (const server of ctx.instance.servers) {
    if (
      server.serverName === to.serverName ||
      identity?.trusts.includes(server.serverName) === true
    )
      continue;
    if (await hasPush(server))
      return targetPusher(
        ctx,
        server,
        `${server.serverName}, which ${to.serverName} does not trust`,
      );
  }
  // Only where trust is by address does the address alone make a peer untrusted.
  const trusted = identity?.trusted_addresses ?? [];
  if (trusted.length > 0 && ctx.instance.transportFrom !== undefined) {
    const address = ['127.0.0.1', '127.0.0.3', '127.0.0.4'].find((a) => !trusted.includes(a));
    if (address !== undefined)
      return peerPusher(
        ctx,
        address,
        'untrusted',
        `fedconn's peer pushing from ${address}, an address ${to.serverName} does not trust`,
      );
  }
  throw new CheckSkipped(
    `needs a pusher that ${to.serverName} does not trust: declare a third server that the others do not trust (leave it out of their roles.identity.trusts), whose driver can identity.push`,
  );
}
