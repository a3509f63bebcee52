// Helpers the IS-* checks share: they speak the identity service API through the
// target's transport, as any client would, set up state through each server's driver,
// and compute lookup hashes with fedconn's own implementation of the spec (validated
// against the published vectors).
import { z } from 'zod';
import { seededRng, type Rng } from '../../simulator/protocol/crypto/rng.ts';
import { lookupHash } from '../../simulator/protocol/identity/hash.ts';
import { CheckFailure, type CheckContext } from '../harness/check.ts';
import type { Verb, VerbArgs, VerbResult } from '../harness/drivers/driver.ts';
import type { TargetServer } from '../harness/target.ts';
import { readAnswer, type Answer } from '../harness/answer.ts';

export const IS_PREFIX = '/_matrix/identity/v2';

export { readAnswer, type Answer } from '../harness/answer.ts';

export async function call(
  ctx: CheckContext,
  server: TargetServer,
  path: string,
  options: {
    readonly method?: string;
    readonly body?: unknown;
    readonly token?: string;
    readonly headers?: Readonly<Record<string, string>>;
  } = {},
): Promise<Answer> {
  const headers = new Headers(options.headers);
  if (options.token !== undefined) headers.set('authorization', `Bearer ${options.token}`);
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  if (body !== undefined) headers.set('content-type', 'application/json');
  const response = await ctx.instance.transport(
    new Request(`${server.origin}${path}`, {
      method: options.method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      signal: ctx.signal,
      ...(body === undefined ? {} : { body }),
    }),
  );
  return readAnswer(response);
}

export const userId = (ctx: CheckContext, server: TargetServer, local: string): string =>
  `@${ctx.instance.namespace}${local}:${server.serverName}`;

/** Sets up state through the server's driver; a verb it lacks makes the check skip. */
export function drive<V extends Verb>(
  ctx: CheckContext,
  server: TargetServer,
  verb: V,
  args: VerbArgs[V],
): Promise<VerbResult<V>> {
  return server.driver.call(verb, args, ctx.signal);
}

export async function bind(
  ctx: CheckContext,
  server: TargetServer,
  address: string,
  user: string,
  medium = 'email',
): Promise<void> {
  await drive(ctx, server, 'identity.bind', { address, medium, user_id: user });
}

export async function issueToken(
  ctx: CheckContext,
  server: TargetServer,
  user: string,
): Promise<string> {
  return (await drive(ctx, server, 'identity.token', { user_id: user })).token;
}

/** An access token that is no longer valid once `expiresInMs` have passed. */
export async function issueExpiringToken(
  ctx: CheckContext,
  server: TargetServer,
  user: string,
  expiresInMs: number,
): Promise<string> {
  return (
    await drive(ctx, server, 'identity.expiring_token', {
      user_id: user,
      expires_in_ms: expiresInMs,
    })
  ).token;
}

export const hashDetailsSchema = z.object({
  lookup_pepper: z.string(),
  algorithms: z.array(z.string()),
  alt_lookup_peppers: z.array(z.string()).optional(),
});
export type HashDetails = z.output<typeof hashDetailsSchema>;

export async function hashDetails(
  ctx: CheckContext,
  server: TargetServer,
  token: string,
): Promise<HashDetails> {
  const answer = await call(ctx, server, `${IS_PREFIX}/hash_details`, { token });
  const parsed = hashDetailsSchema.safeParse(answer.body);
  if (answer.status !== 200 || !parsed.success) {
    throw new CheckFailure(
      `${server.serverName}: hash_details did not answer a hash_details body`,
      {
        expected:
          '200 {lookup_pepper: string, algorithms: [string], alt_lookup_peppers?: [string]}',
        actual: `${answer.status} ${JSON.stringify(answer.body)}`,
      },
    );
  }
  return parsed.data;
}

export async function rotate(ctx: CheckContext, server: TargetServer): Promise<void> {
  await drive(ctx, server, 'identity.rotate_pepper', {});
}

export function lookup(
  ctx: CheckContext,
  server: TargetServer,
  token: string | undefined,
  request: { readonly algorithm: string; readonly pepper: string; readonly addresses: string[] },
): Promise<Answer> {
  return call(ctx, server, `${IS_PREFIX}/lookup`, {
    body: request,
    ...(token === undefined ? {} : { token }),
  });
}

export const lookupAnswerSchema = z.object({
  mappings: z.record(z.string(), z.string()),
  third_party_mappings: z.record(z.string(), z.array(z.string())).optional(),
});
export type LookupAnswer = z.output<typeof lookupAnswerSchema>;

/** A lookup that must be answered 200 with a lookup body. */
export async function lookupOk(
  ctx: CheckContext,
  server: TargetServer,
  token: string,
  request: { readonly algorithm: string; readonly pepper: string; readonly addresses: string[] },
): Promise<LookupAnswer> {
  const answer = await lookup(ctx, server, token, request);
  const parsed = lookupAnswerSchema.safeParse(answer.body);
  if (answer.status !== 200 || !parsed.success) {
    throw new CheckFailure(
      `${server.serverName}: a valid ${request.algorithm} lookup was refused`,
      {
        expected: '200 {mappings: {...}, third_party_mappings?: {...}}',
        actual: `${answer.status} ${JSON.stringify(answer.body)}`,
      },
    );
  }
  return parsed.data;
}

/** fedconn's own sha256 lookup hash (the spec's algorithm, checked against the vectors). */
export function sha256Hash(address: string, medium: string, pepper: string): string {
  const hashed = lookupHash({ algorithm: 'sha256', address, medium, pepper });
  if (!hashed.ok) throw new Error(`cannot hash ${address} ${medium}: ${hashed.error.detail}`);
  return hashed.value;
}

export const errcodeOf = (body: unknown): unknown =>
  typeof body === 'object' && body !== null ? (body as Record<string, unknown>).errcode : undefined;

/** A seeded source of names for one check, so the same seed gives the same addresses. */
export function names(ctx: CheckContext, label: string): { rng: Rng; word: () => string } {
  const rng = seededRng(`${ctx.seed}/${label}`);
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return {
    rng,
    word: () => Array.from(rng.bytes(10), (b) => alphabet.charAt(b % alphabet.length)).join(''),
  };
}

/** A pepper of [a-zA-Z0-9] from the seeded rng. */
export function generatedPepper(rng: Rng, length = 24): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(rng.bytes(length), (b) => alphabet.charAt(b % alphabet.length)).join('');
}

/** Expects a 4xx Matrix error with `errcode` and `status`. */
export function expectError(
  answer: Answer,
  status: number,
  errcode: string,
  message: string,
): void {
  if (answer.status !== status || errcodeOf(answer.body) !== errcode) {
    throw new CheckFailure(message, {
      expected: `${status} ${errcode}`,
      actual: `${answer.status} ${JSON.stringify(answer.body)}`,
    });
  }
}
