// What the client-side acceptance checks share (CONN-TRUST, CONN-JOIN on the
// reference client): an initiator and a responder of fedconn's reference client,
// within one homeserver or across two, the responder's transport wrapped so that
// every request it sends (and what its queue fetches return) is recorded, and the
// connection group as the initiator's DS serves it.
import type { PhoenixUserHandle } from '../../simulator/clients/phoenix/handle.ts';
import type { Transport } from '../../simulator/net/transport.ts';
import { populate, type Population } from '../../simulator/scenario.ts';
import type { CheckContext } from '../harness/check.ts';
import type { TargetServer } from '../harness/target.ts';
import { connectionGroupOnDs } from './race-support.ts';

/** One request the responder sent, and the body of the answer. */
export interface Sent {
  readonly method: string;
  readonly origin: string;
  readonly path: string;
  readonly answer: string;
}

export const describeSent = (s: Sent) => `${s.method} ${s.origin}${s.path}`;

/** A transport that records every request through it (answers are cloned, not consumed). */
export function recording(base: Transport): { transport: Transport; log: Sent[] } {
  const log: Sent[] = [];
  const transport: Transport = async (request) => {
    const url = new URL(request.url);
    const response = await base(request);
    const answer = await response.clone().text();
    log.push({ method: request.method, origin: url.origin, path: url.pathname, answer });
    return response;
  };
  return { transport, log };
}

/** How a failure names where the two users live. */
export const across = (sameServer: boolean): string =>
  sameServer ? 'one homeserver' : 'two homeservers';

export function serverAt(ctx: CheckContext, i: number): TargetServer {
  const server = ctx.instance.servers[i % ctx.instance.servers.length];
  if (server === undefined) throw new Error('the target has no servers');
  return server;
}

export interface Pair {
  readonly initiator: PhoenixUserHandle;
  readonly responder: PhoenixUserHandle;
  readonly initiators: Population;
  readonly responders: Population;
  /** Every request the responder's clients sent since the pair was made. */
  readonly log: Sent[];
  readonly initiatorServer: TargetServer;
  readonly responderServer: TargetServer;
}

/**
 * An initiator on the first server and a responder on the same one or the
 * second, with their own devices; the responder's requests are recorded from the
 * end of its registration on.
 */
export async function makePair(
  ctx: CheckContext,
  label: string,
  options: {
    readonly sameServer: boolean;
    readonly initiatorDevices: number;
    readonly responderDevices: number;
  },
): Promise<Pair> {
  const initiatorServer = serverAt(ctx, 0);
  const responderServer = options.sameServer ? initiatorServer : serverAt(ctx, 1);
  const prefix = `${ctx.instance.namespace}${label}-`;
  const initiators = await populate(ctx.instance.env(`${label} initiator`), {
    servers: [initiatorServer.serverName],
    usersPerServer: 1,
    devicesPerUser: options.initiatorDevices,
    profile: ctx.instance.profile,
    userPrefix: `${prefix}i`,
  });
  const base = ctx.instance.env(`${label} responder`);
  const recorder = recording(base.transport);
  let recordingOn = false;
  const transport: Transport = (request) =>
    recordingOn ? recorder.transport(request) : base.transport(request);
  const responders = await populate(
    { ...base, transport },
    {
      servers: [responderServer.serverName],
      usersPerServer: 1,
      devicesPerUser: options.responderDevices,
      profile: ctx.instance.profile,
      userPrefix: `${prefix}r`,
    },
  );
  recordingOn = true;
  const [initiator] = initiators.users;
  const [responder] = responders.users;
  if (initiator === undefined || responder === undefined) throw new Error('no users');
  return {
    initiator,
    responder,
    initiators,
    responders,
    log: recorder.log,
    initiatorServer,
    responderServer,
  };
}

/** The connection group as the initiator's DS serves it: how many leaves and CredentialInfos. */
export async function groupOnDs(
  ctx: CheckContext,
  pair: Pair,
  groupId: string,
): Promise<{ readonly leaves: number; readonly credentialInfos: number }> {
  const { leaves, credentialInfos } = await connectionGroupOnDs(
    ctx,
    pair.initiator.primary,
    groupId,
  );
  return { leaves: leaves.length, credentialInfos };
}

/** The initiator connects to the responder by user id, or by `alias` (registered here). */
export async function connectTo(pair: Pair, alias?: string): Promise<string> {
  if (alias === undefined) return pair.initiator.primary.connect({ userId: pair.responder.userId });
  await pair.responder.primary.registerAlias(alias, 1);
  return pair.initiator.primary.connect({ alias, server: pair.responderServer.serverName });
}

/** Runs the responder's clients, then the initiator's, until nothing changes. */
export async function settlePair(pair: Pair): Promise<void> {
  await pair.responders.settle();
  await pair.initiators.settle();
}
