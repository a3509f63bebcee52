// What the connection checks share: raw HTTP calls that report the status
// instead of throwing, and registration of users, clients and aliases through
// the binding's endpoints (docs/binding.md, Part 1), with keys fedconn holds.
import type { Ed25519KeyPair } from '../../simulator/protocol/crypto/ed25519.ts';
import { generateEd25519KeyPair } from '../../simulator/protocol/crypto/ed25519.ts';
import { fork, seededRng, type Rng } from '../../simulator/protocol/crypto/rng.ts';
import { encodeUnpaddedBase64 } from '../../simulator/protocol/encoding/base64.ts';
import { buildRequest } from '../../simulator/clients/phoenix/env.ts';
import { signWithLabel } from '../../simulator/protocol/labels.ts';
import { narrowed, type Narrowing } from '../../simulator/protocol/narrowing.ts';
import { fedconnSigHeader, signedRequestContent } from '../../simulator/protocol/request-auth.ts';
import type { AsCredentialsResponse } from '../../simulator/protocol/credentials/chain.ts';
import {
  createClientCredentialRequest,
  type AsIntermediateCredential,
  type ClientCredential,
} from '../../simulator/protocol/credentials/credential.ts';
import {
  createConnectionPackage,
  createConnectionPackagePayload,
  type ConnectionPackage,
  type ConnectionPackagePayload,
} from '../../simulator/protocol/packages/connection-package.ts';
import type { ExpirationData } from '../../simulator/protocol/credentials/expiration.ts';
import { expectThat, type CheckContext } from '../harness/check.ts';
import type { TargetServer } from '../harness/target.ts';

export const AS = '/_fedconn/v1/as';
export const QS = '/_fedconn/v1/qs';
const DAY = 24 * 60 * 60 * 1000;
const MINUTE = 60 * 1000;

export interface Signer {
  readonly key: Ed25519KeyPair;
  readonly keyRef: string;
}

export interface Outcome {
  readonly status: number;
  readonly body: unknown;
}

/** One request to the target; never throws on a non-2xx answer. */
export async function send(
  ctx: CheckContext,
  url: string,
  options: {
    readonly method?: string;
    readonly body?: unknown;
    readonly signer?: Signer;
    readonly bearer?: string;
  } = {},
): Promise<Outcome> {
  return outcomeOf(
    await ctx.instance.transport(
      await buildRequest(ctx.instance.clock.now(), url, { ...options, signal: ctx.signal }),
    ),
  );
}

/**
 * A POST whose Fedconn-Sig signature the signer's own key made over the wrong fields of
 * the signed request (simulator/protocol/narrowing.ts); the request itself is whole.
 */
export async function sendNarrowed(
  ctx: CheckContext,
  url: string,
  body: unknown,
  signer: Signer,
  narrowing: Narrowing,
): Promise<Outcome> {
  const ts = ctx.instance.clock.now();
  const signed = signedRequestContent({
    keyRef: signer.keyRef,
    method: 'POST',
    url: new URL(url),
    ts,
    content: body,
  });
  const sig = await signWithLabel(signer.key, 'ClientRequest', narrowed({ ...signed }, narrowing));
  const request = await buildRequest(ts, url, { body, signal: ctx.signal });
  request.headers.set('authorization', fedconnSigHeader(signer.keyRef, ts, sig));
  return outcomeOf(await ctx.instance.transport(request));
}

async function outcomeOf(response: Response): Promise<Outcome> {
  const text = await response.text();
  let body: unknown = undefined;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = text.slice(0, 200);
  }
  return { status: response.status, body };
}

export const refused = (o: Outcome) => o.status >= 400 && o.status < 500;
export const show = (o: Outcome) =>
  `${o.status} ${(JSON.stringify(o.body) as string | undefined) ?? ''}`;

/** Fails unless the call succeeded (2xx); `what` names the step. */
export function expectOk(o: Outcome, what: string): void {
  expectThat(o.status >= 200 && o.status < 300, `${what} failed`, '2xx', show(o));
}

/** Fails unless the call was refused with a 4xx. */
export function expectRefused(o: Outcome, what: string): void {
  expectThat(refused(o), `${what} was not refused`, 'a 4xx refusal', show(o));
}

/** A check's randomness: derived from its seed and a label. */
export const rngFor = (ctx: CheckContext, label: string): Rng => fork(seededRng(ctx.seed), label);

export function firstServer(ctx: CheckContext): TargetServer {
  const server = ctx.instance.servers[0];
  if (server === undefined) throw new Error('the target has no servers');
  return server;
}

export async function fetchCredentials(
  ctx: CheckContext,
  server: TargetServer,
): Promise<AsCredentialsResponse> {
  const o = await send(ctx, `${server.origin}${AS}/credentials`);
  expectOk(o, `GET ${AS}/credentials on ${server.serverName}`);
  return o.body as AsCredentialsResponse;
}

export interface RegisteredClient {
  readonly server: TargetServer;
  readonly userId: string;
  readonly client: string;
  readonly key: Ed25519KeyPair;
  readonly credential: ClientCredential;
  readonly signer: Signer;
}

/** Creates a user on `server` through provisioning. */
export async function createUser(
  ctx: CheckContext,
  server: TargetServer,
  localpart: string,
): Promise<string> {
  const userId = `@${ctx.instance.namespace}${localpart}:${server.serverName}`;
  const o = await send(ctx, `${server.origin}/_fedconn/v1/provision/users`, {
    body: { user_id: userId },
    bearer: server.provisioningToken,
  });
  expectOk(o, `provisioning user ${userId}`);
  return userId;
}

/** A client credential signing request for a fresh key, under the server's first intermediate. */
export async function clientRequest(
  ctx: CheckContext,
  server: TargetServer,
  userId: string,
  client: string,
  key: Ed25519KeyPair,
) {
  const creds = await fetchCredentials(ctx, server);
  const intermediate = creds.as_intermediate_credentials[0] as AsIntermediateCredential;
  const now = ctx.instance.clock.now();
  return createClientCredentialRequest({
    key,
    clientId: { user_id: userId, client },
    intermediate,
    expiration: {
      not_before: Math.max(now - DAY, intermediate.payload.expiration_data.not_before),
      not_after: Math.min(now + 30 * DAY, intermediate.payload.expiration_data.not_after),
    },
  });
}

/** Registers a client of an existing user with a key generated from `rng`. */
export async function registerClient(
  ctx: CheckContext,
  server: TargetServer,
  userId: string,
  client: string,
  rng: Rng,
): Promise<RegisteredClient> {
  const key = await generateEd25519KeyPair(fork(rng, `client key ${userId}/${client}`));
  const csr = await clientRequest(ctx, server, userId, client, key);
  const o = await send(ctx, `${server.origin}${AS}/clients`, {
    body: { csr },
    bearer: server.provisioningToken,
  });
  expectOk(o, `registering client ${client} of ${userId}`);
  const credential = (o.body as { client_credential: ClientCredential }).client_credential;
  return {
    server,
    userId,
    client,
    key,
    credential,
    signer: { key, keyRef: `client:${userId}/${client}` },
  };
}

/** A user with one registered client. */
export async function registerUser(
  ctx: CheckContext,
  server: TargetServer,
  localpart: string,
  rng: Rng,
): Promise<RegisteredClient> {
  const userId = await createUser(ctx, server, localpart);
  return registerClient(ctx, server, userId, 'device-1', rng);
}

export const lifetimeAround = (now: number, beforeMs = MINUTE, afterMs = 30 * DAY) => ({
  not_before: now - beforeMs,
  not_after: now + afterMs,
});

export async function makePackage(
  client: RegisteredClient,
  rng: Rng,
  lifetime: ExpirationData,
): Promise<ConnectionPackage> {
  const p = await createConnectionPackage({
    rng,
    lifetime,
    clientKey: client.key,
    clientCredential: client.credential,
  });
  return p.published;
}

export async function makePayload(
  rng: Rng,
  lifetime: ExpirationData,
): Promise<ConnectionPackagePayload> {
  return (await createConnectionPackagePayload({ rng, lifetime })).published;
}

export interface RegisteredAlias {
  readonly server: TargetServer;
  readonly alias: string;
  readonly key: Ed25519KeyPair;
  readonly signer: Signer;
  readonly url: string;
}

export const aliasName = (ctx: CheckContext, label: string): string =>
  `${ctx.instance.namespace}${label}`.toLowerCase().replace(/[^a-z0-9._=-]/g, '-');

/** Registers an alias with a fresh auth key (the PUT must succeed). */
export async function registerAlias(
  ctx: CheckContext,
  server: TargetServer,
  alias: string,
  rng: Rng,
): Promise<RegisteredAlias> {
  const key = await generateEd25519KeyPair(fork(rng, `alias key ${alias}`));
  const url = `${server.origin}${AS}/aliases/${encodeURIComponent(alias)}`;
  const o = await send(ctx, url, {
    method: 'PUT',
    body: { auth_key: encodeUnpaddedBase64(key.publicKey) },
  });
  expectOk(o, `registering alias ${alias}`);
  return { server, alias, key, signer: { key, keyRef: `alias:${alias}` }, url };
}

/** A sealed establishment package as the queues take it: opaque bytes of the right shape. */
export function sealedMessage(rng: Rng): { enc: string; ciphertext: string } {
  return {
    enc: encodeUnpaddedBase64(rng.bytes(32)),
    ciphertext: encodeUnpaddedBase64(rng.bytes(48)),
  };
}
