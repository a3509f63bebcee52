// fedconn's own homeservers beside a server under test. The connection rules need a
// federation: users on two homeservers, a DS that delivers to another server's QS,
// discovery across servers. A target that declares one Phoenix homeserver of a profile
// gets a second one from fedconn: the reference, served over HTTPS on loopback as
// `localhost:PORT` (as `fedconn serve --tls` serves it), reaching the target's servers
// at their base_url. What the target sends it is in its view, which fedconn sees whole.
import type { PhoenixProfile } from '../../simulator/homeserver/context.ts';
import { SwitchedRecording } from '../../simulator/net/observer.ts';
import { serveFederation } from '../../simulator/serve/serve.ts';
import {
  phoenixProfilesOf,
  type ServerConfig,
  type TargetConfig,
} from '../../simulator/serve/target-config.ts';
import type { Service } from '../../simulator/homeserver/homeserver.ts';

export interface Members {
  /** The target's servers, then fedconn's (one per profile that had a single server). */
  readonly config: TargetConfig;
  /** The server names fedconn plays. */
  readonly names: ReadonlySet<string>;
  /** Where fedconn's servers record what they see: the open check's observer. */
  readonly recording: SwitchedRecording;
  close(): Promise<void>;
}

/** The Phoenix profiles in which the target declares a single homeserver. */
export function profilesWantingMembers(config: TargetConfig): PhoenixProfile[] {
  return phoenixProfilesOf(config).filter(
    (p) => config.servers.filter((s) => s.roles.phoenix?.profile === p).length === 1,
  );
}

/**
 * Starts one reference homeserver for each profile in which the target declares a single
 * one, or returns undefined where none is wanted. fedconn's servers declare the Phoenix
 * roles only: they make the federation whole and are never what a Matrix or identity
 * rule judges.
 */
export async function startMembers(
  config: TargetConfig,
  options: { readonly services: readonly Service[]; readonly timeoutMs?: number },
): Promise<Members | undefined> {
  const wanted = profilesWantingMembers(config);
  if (wanted.length === 0) return undefined;
  const recording = new SwitchedRecording();
  const served = await serveFederation({
    servers: wanted.map((profile, i) => ({ name: `fedconn-member-${i + 1}`, profile })),
    // Fixed, so a member's keys are the same from run to run.
    seed: 'fedconn member',
    services: options.services,
    tls: true,
    others: new Map(config.servers.map((s) => [s.server_name, new URL(s.base_url).origin])),
    recording,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  const members: ServerConfig[] = served.config.servers.map((s) => ({
    ...s,
    roles: s.roles.phoenix === undefined ? {} : { phoenix: s.roles.phoenix },
    // The member's clock moves with the target's; name resolution is not a Phoenix matter.
    capabilities: { clock: true },
  }));
  return {
    config: { version: config.version, servers: [...config.servers, ...members] },
    names: new Set(members.map((s) => s.server_name)),
    recording,
    close: () => served.close(),
  };
}

/** How reports name fedconn's servers: `localhost:PORT (multi-device)`. */
export const describeMembers = (config: TargetConfig, names: ReadonlySet<string>): string =>
  config.servers
    .filter((s) => names.has(s.server_name))
    .map((s) => `${s.server_name} (${s.roles.phoenix?.profile ?? 'no profile'})`)
    .join(', ');
