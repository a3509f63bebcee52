// Peers under a fixed name: checks whose scenario names the server up front (a forged
// domain the reference client is pointed at) host it here rather than through a name
// the target picks.
import type { Handler } from '../../simulator/net/transport.ts';
import type { CheckContext } from './check.ts';

/** Hosts `handler` as the server `name`; fails where the target cannot give that name. */
export async function hostAt(ctx: CheckContext, name: string, handler: Handler): Promise<void> {
  const hostPeer = ctx.instance.hostPeer;
  if (hostPeer === undefined) throw new Error('this target cannot host peer servers');
  const given = await hostPeer(name, () => Promise.resolve(handler));
  if (given !== name) {
    throw new Error(
      `this check needs a peer named ${name}; the ${ctx.target.kind} target gave ${given}`,
    );
  }
}
