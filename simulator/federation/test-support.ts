// Test support for the Matrix side: a federation of reference homeservers running the
// keys, .well-known and rooms services, helpers that speak the binding through the
// simulated network as a test client would, and impostors (FakeServer) on the same
// network.
import { z } from 'zod';
import type { Service } from '../homeserver/homeserver.ts';
import {
  createSimFederation,
  PROVISIONING_TOKEN,
  type SimFederation,
  type SimFederationOptions,
} from '../homeserver/sim-federation.ts';
import { keysService } from '../services/keys/index.ts';
import { roomsService, ROOMS_PROVISION_PREFIX } from '../services/rooms/index.ts';
import { wellKnownService, type WellKnownOption } from '../services/well-known/index.ts';
import { createFakeServer, type FakeServer, type FakeServerOptions } from './testing.ts';

export const HS1 = 'hs1.example';
export const HS2 = 'hs2.example';
export const HS3 = 'hs3.example';

export interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Headers;
}

export interface CallOptions {
  readonly method?: string;
  /** JSON-encoded unless it is already a string or bytes. */
  readonly body?: unknown;
  readonly token?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface MatrixFederation {
  readonly fed: SimFederation;
  call(server: string, path: string, options?: CallOptions): Promise<Answer>;
  /** A provisioning call (with the token). */
  provision(server: string, method: string, path: string, body?: unknown): Promise<Answer>;
  createRoom(server: string, creator: string, joinRule?: 'public' | 'invite'): Promise<string>;
  invite(server: string, roomId: string, sender: string, userId: string): Promise<Answer>;
  join(server: string, roomId: string, userId: string, via?: string | string[]): Promise<Answer>;
  /** The room as `server` holds it, or undefined when it is not in the room. */
  room(server: string, roomId: string): Promise<RoomView | undefined>;
  fake(serverName: string, options?: Partial<FakeServerOptions>): Promise<FakeServer>;
}

const roomViewSchema = z.object({
  room_id: z.string(),
  room_version: z.string(),
  state: z.array(z.record(z.string(), z.unknown())),
  members: z.record(z.string(), z.string()),
  servers: z.array(z.string()),
});
export type RoomView = z.output<typeof roomViewSchema>;

function encodeBody(body: unknown): string | Uint8Array | undefined {
  if (body === undefined) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  return JSON.stringify(body);
}

/**
 * Plain HTTP calls into a simulated federation for tests: the body is JSON unless
 * it is already text or bytes, and the answer body is parsed JSON or the raw text.
 */
export function jsonCaller(fed: Pick<SimFederation, 'transport' | 'originOf'>) {
  return async (server: string, path: string, options: CallOptions = {}): Promise<Answer> => {
    const headers = new Headers(options.headers);
    if (options.token !== undefined) headers.set('authorization', `Bearer ${options.token}`);
    const body = encodeBody(options.body);
    if (body !== undefined && !headers.has('content-type')) {
      headers.set('content-type', 'application/json');
    }
    const response = await fed.transport(
      new Request(`${fed.originOf(server)}${path}`, {
        method: options.method ?? (body === undefined ? 'GET' : 'POST'),
        headers,
        ...(body === undefined ? {} : { body }),
      }),
    );
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text) as unknown;
    } catch {
      // Keep the text: the test will say what came back.
    }
    return { status: response.status, body: parsed, headers: response.headers };
  };
}

export function expectOk(what: string, answer: Pick<Answer, 'status' | 'body'>): unknown {
  if (answer.status !== 200) {
    throw new Error(`${what} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  }
  return answer.body;
}

export const MATRIX_SERVICES: readonly Service[] = [keysService, roomsService];

export interface MatrixFederationOptions extends Partial<
  Omit<SimFederationOptions, 'seed' | 'services'>
> {
  readonly wellKnown?: Readonly<Record<string, WellKnownOption>>;
  readonly services?: readonly Service[];
}

export async function createMatrixFederation(
  seed: string | number,
  options: MatrixFederationOptions = {},
): Promise<MatrixFederation> {
  const { wellKnown, services, ...rest } = options;
  const fed = await createSimFederation({
    profile: 'multi-device',
    servers: [{ serverName: HS1 }, { serverName: HS2 }, { serverName: HS3 }],
    ...rest,
    seed,
    services: services ?? [...MATRIX_SERVICES, wellKnownService(wellKnown ?? {})],
  });

  const call = jsonCaller(fed);

  const provision = (server: string, method: string, path: string, body?: unknown) =>
    call(server, path, { method, body, token: PROVISIONING_TOKEN });
  const enc = encodeURIComponent;

  return {
    fed,
    call,
    provision,
    createRoom: async (server, creator, joinRule = 'invite') => {
      const body = expectOk(
        'create room',
        await provision(server, 'POST', ROOMS_PROVISION_PREFIX, {
          creator,
          join_rule: joinRule,
        }),
      );
      return z.object({ room_id: z.string() }).parse(body).room_id;
    },
    invite: (server, roomId, sender, userId) =>
      provision(server, 'POST', `${ROOMS_PROVISION_PREFIX}/${enc(roomId)}/invite`, {
        sender,
        user_id: userId,
      }),
    join: (server, roomId, userId, via) =>
      provision(server, 'POST', `${ROOMS_PROVISION_PREFIX}/${enc(roomId)}/join`, {
        user_id: userId,
        ...(via === undefined ? {} : { via }),
      }),
    room: async (server, roomId) => {
      const answer = await provision(server, 'GET', `${ROOMS_PROVISION_PREFIX}/${enc(roomId)}`);
      if (answer.status === 404) return undefined;
      return roomViewSchema.parse(expectOk('room', answer));
    },
    fake: (serverName, fakeOptions = {}) =>
      createFakeServer({
        serverName,
        network: fed.network,
        transport: fed.transport,
        now: () => fed.clock.now(),
        ...fakeOptions,
      }),
  };
}
