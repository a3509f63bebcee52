// fedconn as the responder of fedconn's reference client as initiator: it
// registers a responder user whose clients' package keys it holds, lets the
// reference client connect to it, records every request the initiator sent,
// dequeues and opens what reached each responder client, and reads the
// connection group the initiator created on its DS (CONN-CEP, CLIENT role).
import type { PhoenixUserHandle } from '../../simulator/clients/phoenix/handle.ts';
import type { ClientEnv } from '../../simulator/clients/phoenix/env.ts';
import type { HpkeKeyPair } from '../../simulator/protocol/crypto/hpke.ts';
import { fork, type Rng } from '../../simulator/protocol/crypto/rng.ts';
import { decodeBase64, encodeUnpaddedBase64 } from '../../simulator/protocol/encoding/base64.ts';
import type { AsCredentialsResponse } from '../../simulator/protocol/credentials/chain.ts';
import { userDomain, type ClientId } from '../../simulator/protocol/credentials/credential.ts';
import { createConnectionPackage } from '../../simulator/protocol/packages/connection-package.ts';
import {
  openCredentialInfo,
  verifyCredentialInfo,
} from '../../simulator/protocol/packages/credential-info.ts';
import {
  openEstablishmentPackage,
  type ConnectionEstablishmentPackage,
} from '../../simulator/protocol/packages/establishment-package.ts';
import { decodeRatchetTree } from '../../simulator/protocol/mls/wire.ts';
import { populate } from '../../simulator/scenario.ts';
import type { CheckContext } from '../harness/check.ts';
import type { TargetServer } from '../harness/target.ts';
import { DS } from './race-mls.ts';
import {
  AS,
  createUser,
  expectOk,
  fetchCredentials,
  lifetimeAround,
  registerClient,
  send,
  show,
  type RegisteredClient,
} from './support.ts';

/** One request the initiator sent: method, server and path, and the JSON body if any. */
export interface Sent {
  readonly method: string;
  readonly host: string;
  readonly path: string;
  /** The key reference of a Fedconn-Sig signature, if the request was signed. */
  readonly keyRef: string | undefined;
  readonly body: unknown;
}

/** A client environment whose transport records every request before sending it. */
export function recordingEnv(ctx: CheckContext, label: string): { env: ClientEnv; log: Sent[] } {
  const base = ctx.instance.env(label);
  const log: Sent[] = [];
  const env: ClientEnv = {
    ...base,
    transport: async (request) => {
      const url = new URL(request.url);
      const text = request.body === null ? '' : await request.clone().text();
      let body: unknown = undefined;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        body = text;
      }
      const keyRef = /key="([^"]*)"/.exec(request.headers.get('authorization') ?? '')?.[1];
      log.push({
        method: request.method,
        host: url.host,
        path: decodeURIComponent(url.pathname),
        keyRef,
        body,
      });
      return base.transport(request);
    },
  };
  return { env, log };
}

/** A reference user on `server` with `devices` clients, whose requests are recorded. */
export async function referenceUser(
  ctx: CheckContext,
  server: TargetServer,
  label: string,
  devices: number,
): Promise<{ user: PhoenixUserHandle; log: Sent[] }> {
  const { env, log } = recordingEnv(ctx, label);
  const population = await populate(env, {
    servers: [server.serverName],
    usersPerServer: 1,
    devicesPerUser: devices,
    profile: ctx.instance.profile,
    userPrefix: `${ctx.instance.namespace}${label}-`,
  });
  const user = population.users[0];
  if (user === undefined) throw new Error(`no user ${label}`);
  return { user, log };
}

/** A responder client fedconn registered, with the private keys of the packages it published. */
export interface HeldClient {
  readonly registered: RegisteredClient;
  readonly packageKeys: readonly HpkeKeyPair[];
}

export interface HeldResponder {
  readonly userId: string;
  readonly clients: readonly HeldClient[];
}

/** A responder user with `devices` clients, each publishing `packages` packages through fedconn. */
export async function heldResponder(
  ctx: CheckContext,
  server: TargetServer,
  localpart: string,
  devices: number,
  rng: Rng,
  packages = 2,
): Promise<HeldResponder> {
  const userId = await createUser(ctx, server, localpart);
  const clients: HeldClient[] = [];
  for (let d = 1; d <= devices; d++) {
    const registered = await registerClient(ctx, server, userId, `device-${d}`, rng);
    const made = [];
    for (let p = 0; p < packages; p++) {
      made.push(
        await createConnectionPackage({
          rng: fork(rng, `package ${userId} ${d} ${p}`),
          lifetime: lifetimeAround(ctx.instance.clock.now()),
          clientKey: registered.key,
          clientCredential: registered.credential,
        }),
      );
    }
    expectOk(
      await send(ctx, `${server.origin}${AS}/connection_packages`, {
        body: { connection_packages: made.map((m) => m.published) },
        signer: registered.signer,
      }),
      `publishing the packages of ${userId}/device-${d}`,
    );
    clients.push({ registered, packageKeys: made.map((m) => m.decryptionKey) });
  }
  return { userId, clients };
}

/** What one queued message is to a responder client: the package it opens to, or why not. */
export type Opened =
  | { readonly ok: true; readonly cep: ConnectionEstablishmentPackage }
  | { readonly ok: false; readonly why: string };

/** Opens a queued message with any of `keys`. */
export async function openWith(message: unknown, keys: readonly HpkeKeyPair[]): Promise<Opened> {
  let why = 'no package key';
  for (const decryptionKey of keys) {
    const opened = await openEstablishmentPackage({ sealed: message, decryptionKey });
    if (opened.ok) return { ok: true, cep: opened.value };
    why = `${opened.error.kind}: ${opened.error.detail}`;
  }
  return { ok: false, why };
}

/** Takes every message from a held client's AS queue (they are deleted from it). */
export async function takeQueued(ctx: CheckContext, held: HeldClient): Promise<readonly unknown[]> {
  const { server, signer, userId, client } = held.registered;
  const o = await send(ctx, `${server.origin}${AS}/queue?since=0`, { signer });
  expectOk(o, `dequeuing the queue of ${userId}/${client}`);
  const body = o.body as { messages?: { message: unknown }[]; next?: number };
  expectOk(
    await send(ctx, `${server.origin}${AS}/queue?since=${body.next ?? 0}`, { signer }),
    `acknowledging the queue of ${userId}/${client}`,
  );
  return (body.messages ?? []).map((m) => m.message);
}

/** The fields of an establishment package as bytes. */
export function cepKeys(cep: ConnectionEstablishmentPackage) {
  const b = (text: string) => {
    const d = decodeBase64(text);
    return d.ok ? d.value : new Uint8Array();
  };
  return {
    groupId: Buffer.from(b(cep.connection_group_id)).toString('base64url'),
    earKey: b(cep.connection_group_ear_key),
    credentialKey: b(cep.connection_group_credential_key),
  };
}

/** The group an establishment package names, as its sender's DS serves it to a joiner. */
export interface DsGroup {
  /** Leaves of the ratchet tree. */
  readonly leaves: number;
  /** The clients of the CredentialInfos, verified; or why they are not. */
  readonly members: readonly (ClientId | string)[];
}

/** Reads the named group from the DS of the package's sender with the package's keys. */
export async function groupNamedBy(
  ctx: CheckContext,
  cep: ConnectionEstablishmentPackage,
): Promise<DsGroup> {
  const domain = userDomain(cep.sender_client_credential.payload.client_id.user_id) ?? '';
  const ds = ctx.instance.servers.find((s) => s.serverName === domain);
  if (ds === undefined) throw new Error(`the sender's server ${domain} is not a target server`);
  const { groupId, earKey, credentialKey } = cepKeys(cep);
  const o = await send(ctx, `${ds.origin}${DS}/groups/${groupId}/external_commit_info`, {
    body: { ear_key: encodeUnpaddedBase64(earKey) },
  });
  expectOk(
    o,
    `reading group ${groupId} on ${domain}'s DS with the package's EAR key (${show(o).slice(0, 80)})`,
  );
  const body = o.body as { ratchet_tree: string; credential_infos: string[] };
  const treeBytes = decodeBase64(body.ratchet_tree);
  const tree = treeBytes.ok ? decodeRatchetTree(treeBytes.value) : undefined;
  if (tree?.ok !== true) throw new Error(`the DS of ${domain} serves an undecodable ratchet tree`);
  const published: AsCredentialsResponse = await fetchCredentials(ctx, ds);
  const members: (ClientId | string)[] = [];
  for (const sealed of body.credential_infos) {
    const info = openCredentialInfo(credentialKey, sealed);
    if (!info.ok) {
      members.push(`a CredentialInfo that does not open: ${info.error.kind}`);
      continue;
    }
    const verified = await verifyCredentialInfo({
      info: info.value,
      published,
      now: ctx.instance.clock.now(),
    });
    members.push(verified.ok ? verified.value.clientId : `rejected: ${verified.error.kind}`);
  }
  return {
    leaves: tree.value.filter((node) => node?.nodeType === 'leaf').length,
    members,
  };
}

/** `user/client` of a member, or the reason it is none. */
export const memberName = (m: ClientId | string) =>
  typeof m === 'string' ? m : `${m.user_id}/${m.client}`;
