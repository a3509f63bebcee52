// A client under test in a process of its own, driven through the client driver protocol
// (docs/client-driver.md): JSON lines on its stdin and stdout, the framing of the command
// driver. fedconn plays every server the client talks to; the client reaches them over
// loopback HTTP through the gateway, so a client in any language can be judged.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import {
  CLIENT_PROTOCOL,
  CLIENT_VERBS,
  clientVerbResults,
  helloResult,
  userDecideArgs,
  type ClientVerb,
  type ClientVerbArgs,
  type ClientVerbResult,
} from '../../../simulator/clients/shim/protocol.ts';
import type { Transport } from '../../../simulator/net/transport.ts';
import { SetupFailed } from '../check.ts';
import { JsonLinesError, startJsonLines } from '../json-lines.ts';
import { startGateway, type Gateway } from './gateway.ts';
import type { ClientUnderTest, IdentityLookupRequest, IdentityLookupResult } from './index.ts';

/** How long `hello` may take at least, whatever `timeout_ms` says. */
const HELLO_TIMEOUT_MS = 30_000;

/** A client driver config file (`fedconn run --client FILE`). */
export const clientDriverConfig = z.strictObject({
  /** How reports name the client when its hello gives no better name. */
  name: z.string().min(1).optional(),
  command: z.array(z.string()).min(1, 'must name the program to start'),
  cwd: z.string().optional(),
  env: z.record(z.string(), z.string()).optional(),
  timeout_ms: z.number().int().min(100).optional(),
});
export type ClientDriverConfig = z.infer<typeof clientDriverConfig>;

/** Reads and checks a config file; errors name the file and the field. */
export function readClientDriverConfig(file: string): ClientDriverConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`--client ${file}: cannot read it (${(error as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`--client ${file}: not JSON (${(error as Error).message})`);
  }
  const parsed = clientDriverConfig.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `--client ${file}: ${issue?.path.join('.') || 'the file'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  // A relative cwd is the config file's neighbour, where its program lives.
  const cwd = resolve(dirname(file), parsed.data.cwd ?? '.');
  return { ...parsed.data, cwd };
}

/** What the Phoenix mirror (phoenix-driven.ts) needs of the process. */
export interface ClientDriver {
  call<V extends ClientVerb>(
    verb: V,
    args: ClientVerbArgs<V>,
    signal?: AbortSignal,
  ): Promise<ClientVerbResult<V>>;
  /** Whether the client listed `verb` in its hello answer. */
  knows(verb: ClientVerb): boolean;
  /** Who answers the client's `user.decide` questions for `userId` of `world`. */
  onDecide(
    world: string,
    userId: string,
    decide: ((sender: string) => boolean | Promise<boolean>) | undefined,
  ): void;
}

/** A failure of the process or the protocol: the check errors, it is no verdict. */
export class ClientDriverFailed extends SetupFailed {
  constructor(verb: string, detail: string) {
    super(`client driver: ${verb} failed: ${detail}`);
    this.name = 'ClientDriverFailed';
  }
}

/** The client answered `ok: false`: what it did, for the check to judge (not a setup error). */
export class ClientRefused extends Error {
  constructor(verb: string, detail: string) {
    super(`the client answered ${verb} with ${detail}`);
    this.name = 'ClientRefused';
  }
}

export interface DrivenClient extends ClientUnderTest {
  readonly driver: ClientDriver;
  readonly verbs: ReadonlySet<ClientVerb>;
}

export async function startDrivenClient(config: ClientDriverConfig): Promise<DrivenClient> {
  const deciders = new Map<string, (sender: string) => boolean | Promise<boolean>>();
  const process = startJsonLines({
    command: config.command,
    timeoutMs: config.timeout_ms ?? 30_000,
    ...(config.cwd === undefined ? {} : { cwd: config.cwd }),
    ...(config.env === undefined ? {} : { env: config.env }),
    async onRequest(verb, args) {
      if (verb !== 'user.decide') throw new Error(`fedconn answers only user.decide, not ${verb}`);
      const a = userDecideArgs.parse(args);
      const decide = deciders.get(`${a.world}\n${a.user_id}`);
      if (decide === undefined) throw new Error(`fedconn created no user ${a.user_id}`);
      return { accept: await decide(a.sender_user_id) };
    },
  });
  const close = () => process.close();

  let hello;
  try {
    // Starting may take longer than a verb (a runtime to load, a JIT to warm).
    const answer = await process.request(
      'hello',
      { protocol: CLIENT_PROTOCOL, verbs: CLIENT_VERBS },
      undefined,
      Math.max(config.timeout_ms ?? 30_000, HELLO_TIMEOUT_MS),
    );
    const parsed = helloResult.safeParse(answer);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ClientDriverFailed(
        'hello',
        `${process.shown} answered ${JSON.stringify(answer)}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`,
      );
    }
    hello = parsed.data;
  } catch (error) {
    await close();
    if (error instanceof JsonLinesError) throw new ClientDriverFailed('hello', error.message);
    throw error;
  }
  const verbs = new Set(CLIENT_VERBS.filter((v) => hello.verbs.includes(v)));

  const driver: ClientDriver = {
    knows: (verb) => verbs.has(verb),
    onDecide(world, userId, decide) {
      if (decide === undefined) deciders.delete(`${world}\n${userId}`);
      else deciders.set(`${world}\n${userId}`, decide);
    },
    async call(verb, args, signal) {
      if (!verbs.has(verb))
        throw new ClientDriverFailed(verb, `${process.shown} does not list it in its hello answer`);
      let answer: unknown;
      try {
        answer = await process.request(verb, args, signal);
      } catch (error) {
        if (!(error instanceof JsonLinesError)) throw error;
        // The client answered that it could not do it (a refusal, a server's error): the
        // check judges that, as it judges the reference client's thrown errors.
        if (error.code !== undefined && error.code !== 'unknown_verb')
          throw new ClientRefused(verb, error.message);
        throw new ClientDriverFailed(verb, error.message);
      }
      const parsed = clientVerbResults[verb].safeParse(answer);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new ClientDriverFailed(
          verb,
          `${process.shown} answered ${JSON.stringify(answer).slice(0, 300)}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`,
        );
      }
      return parsed.data as ClientVerbResult<typeof verb>;
    },
  };

  return {
    name: hello.name,
    driver,
    verbs,
    phoenix: verbs.has('phoenix.create_user'),
    ...(verbs.has('identity.lookup')
      ? { identity: { lookup: (request) => drivenLookup(driver, request) } }
      : {}),
    close,
  };
}

/** A loopback base URL for a server's base URL, keeping any path it has. */
async function exposed(gateway: Gateway, transport: Transport, baseUrl: string): Promise<string> {
  const url = new URL(baseUrl);
  const front = await gateway.expose(transport, url.origin);
  return `${front}${url.pathname.replace(/\/$/, '')}`;
}

/** One lookup, its servers on loopback ports that close when it is done. */
async function drivenLookup(
  driver: ClientDriver,
  request: IdentityLookupRequest,
): Promise<IdentityLookupResult> {
  const gateway = startGateway();
  try {
    return await lookupThrough(driver, gateway, request);
  } finally {
    await gateway.close();
  }
}

async function lookupThrough(
  driver: ClientDriver,
  gateway: Gateway,
  request: IdentityLookupRequest,
): Promise<IdentityLookupResult> {
  const access = async (s: { baseUrl: string; token: string }) => ({
    base_url: await exposed(gateway, request.transport, s.baseUrl),
    access_token: s.token,
  });
  const referrals: Record<string, { base_url: string; access_token: string }> = {};
  for (const [name, server] of request.referrals) referrals[name] = await access(server);
  const result = await driver.call('identity.lookup', {
    now: request.now,
    medium: request.medium,
    address: request.address,
    identity_server: await access(request.first),
    referrals,
  });
  switch (result.outcome) {
    case 'found':
      return { ok: true, userId: result.user_id };
    case 'not-found':
      return { ok: true, userId: undefined };
    case 'gave-up':
      return { ok: false, error: result.reason };
  }
}
