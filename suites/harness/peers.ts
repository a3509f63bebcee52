// Peers a check names up front (a forged domain the reference client is pointed at):
// the simulator gives the name asked for, a real target the name its servers can reach
// (localhost:PORT), so checks build user ids and credentials from the name given.
import type { Handler } from '../../simulator/net/transport.ts';
import type { CheckContext } from './check.ts';

/** Hosts `handler` as a peer server, preferably named `preferred`; returns the name it got. */
export async function hostNamed(
  ctx: CheckContext,
  preferred: string,
  handler: Handler,
): Promise<string> {
  const hostPeer = ctx.instance.hostPeer;
  if (hostPeer === undefined) throw new Error('this target cannot host peer servers');
  return hostPeer(preferred, () => Promise.resolve(handler));
}
