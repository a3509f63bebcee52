// Test support for the identity service: a three-server federation (hs1 and hs2
// trust each other, hs3 is trusted by nobody) and small helpers that speak the
// binding through the simulated network, as any client would.
import { z } from 'zod';
import { currentSigningKey } from '../../federation/signing-keys.ts';
import { expectOk, jsonCaller, type CallOptions } from '../../federation/test-support.ts';
import type { Service } from '../../homeserver/homeserver.ts';
import {
  createSimFederation,
  PROVISIONING_TOKEN,
  type SimFederation,
} from '../../homeserver/sim-federation.ts';
import type { RecordedEvent } from '../../net/observer.ts';
import { keysService } from '../keys/index.ts';
import { identityService, IS_PREFIX, PROVISION_PREFIX } from './index.ts';

export type { CallOptions };

/** What identity tests compare: status and body (the headers stay out of the way). */
export interface Answer {
  readonly status: number;
  readonly body: unknown;
}

export const HS1 = 'hs1.example';
export const HS2 = 'hs2.example';
export const HS3 = 'hs3.example';

export interface IdentityFederation {
  readonly fed: SimFederation;
  call(server: string, path: string, options?: CallOptions): Promise<Answer>;
  provision(server: string, op: string, body: unknown): Promise<Answer>;
  bind(server: string, address: string, medium: string, userId: string): Promise<void>;
  token(server: string, userId: string): Promise<string>;
  hashDetails(server: string, token: string): Promise<HashDetailsBody>;
  rotate(server: string, pepper?: string): Promise<PepperBody>;
  /** Index of the next event in the global order (for "nothing happened since" checks). */
  mark(): number;
  /** Events of `server` at or after `mark`. */
  eventsSince(server: string, mark: number): readonly RecordedEvent[];
}

const hashDetailsBody = z.object({
  lookup_pepper: z.string(),
  algorithms: z.array(z.string()),
  alt_lookup_peppers: z.array(z.string()).optional(),
});
export type HashDetailsBody = z.output<typeof hashDetailsBody>;
const pepperBody = z.object({ lookup_pepper: z.string(), alt_lookup_peppers: z.array(z.string()) });
export type PepperBody = z.output<typeof pepperBody>;

export async function createIdentityFederation(
  seed: string | number,
  services: readonly Service[] = [identityService, keysService],
): Promise<IdentityFederation> {
  const fed = await createSimFederation({
    seed,
    profile: 'aliases',
    servers: [
      { serverName: HS1, trustedIdentityServers: [HS2] },
      { serverName: HS2, trustedIdentityServers: [HS1] },
      { serverName: HS3 },
    ],
    services,
  });
  // The signing-key table is created on first use; create it now, so that the rows a
  // test sees after its mark are the ones its own requests caused.
  for (const server of fed.servers.values()) currentSigningKey(server.ctx);

  const federationCall = jsonCaller(fed);
  const call = async (server: string, path: string, options?: CallOptions): Promise<Answer> => {
    const { status, body } = await federationCall(server, path, options);
    return { status, body };
  };

  const provision = (server: string, op: string, body: unknown) =>
    call(server, `${PROVISION_PREFIX}/${op}`, { body, token: PROVISIONING_TOKEN });

  return {
    fed,
    call,
    provision,
    bind: async (server, address, medium, userId) => {
      expectOk('bind', await provision(server, 'bind', { address, medium, user_id: userId }));
    },
    token: async (server, userId) => {
      const body = expectOk('token', await provision(server, 'token', { user_id: userId }));
      return z.object({ token: z.string() }).parse(body).token;
    },
    hashDetails: async (server, token) =>
      hashDetailsBody.parse(
        expectOk('hash_details', await call(server, `${IS_PREFIX}/hash_details`, { token })),
      ),
    rotate: async (server, pepper) =>
      pepperBody.parse(
        expectOk(
          'rotate',
          await provision(
            server,
            'pepper/rotate',
            pepper === undefined ? {} : { lookup_pepper: pepper },
          ),
        ),
      ),
    mark: () =>
      fed.observer
        .views()
        .reduce((next, view) => Math.max(next, (view.events.at(-1)?.seq ?? -1) + 1), 0),
    eventsSince: (server, mark) => fed.observer.view(server).events.filter((e) => e.seq >= mark),
  };
}
