// fedconn as a malicious initiator against the reference client as responder:
// it forges credential chains for a domain it serves itself (an impostor
// homeserver publishing the forged AS credentials), builds establishment
// packages signed under them, seals them to the responder's real package key
// and enqueues them over HTTP; then it runs the responder and reads what it did.
import type { PhoenixDevice, PhoenixUserHandle } from '../../simulator/clients/phoenix/handle.ts';
import {
  generateEd25519KeyPair,
  type Ed25519KeyPair,
} from '../../simulator/protocol/crypto/ed25519.ts';
import { fork, type Rng } from '../../simulator/protocol/crypto/rng.ts';
import { decodeBase64, encodeUnpaddedBase64 } from '../../simulator/protocol/encoding/base64.ts';
import type {
  AsCredentialsResponse,
  ChainLevel,
} from '../../simulator/protocol/credentials/chain.ts';
import {
  createClientCredentialRequest,
  createSigningRequest,
  fingerprint,
  issueAsCredential,
  issueIntermediateCredential,
  signRequest,
  type AsCredential,
  type AsIntermediateCredential,
  type ClientCredential,
  type Credential,
  type CredentialType,
} from '../../simulator/protocol/credentials/credential.ts';
import type { ExpirationData } from '../../simulator/protocol/credentials/expiration.ts';
import { defaultWindows } from '../../simulator/protocol/credentials/testing.ts';
import {
  buildEstablishmentPackage,
  sealEstablishmentPackage,
  type ConnectionEstablishmentPackage,
  type SealedConnectionEstablishmentPackage,
} from '../../simulator/protocol/packages/establishment-package.ts';
import type { ConnectionPackage } from '../../simulator/protocol/packages/connection-package.ts';
import { populate } from '../../simulator/scenario.ts';
import { CheckFailure, expectThat, type CheckContext } from '../harness/check.ts';
import { AS, expectOk, firstServer, rngFor, send } from './support.ts';
import { hostNamed } from '../harness/peers.ts';

/** The HPKE info under which establishment packages are sealed (docs/binding.md). */
export const CEP_INFO = new TextEncoder().encode('fedconn-v1 ConnectionEstablishmentPackage');

/**
 * The name fedconn asks for the domain it serves itself (its AS credentials are whatever
 * the check forges); a real target gives another (localhost:PORT), see hostNamed.
 */
export const FORGED_DOMAIN = 'forged.example';
/** The forged sender of `domain`. */
export const forgedUser = (domain: string) => `@mallory:${domain}`;

export const TYPE_OF: Record<ChainLevel, CredentialType> = {
  as: 'AsCredential',
  intermediate: 'AsIntermediateCredential',
  client: 'ClientCredential',
};
export const LEVELS: readonly ChainLevel[] = ['as', 'intermediate', 'client'];

/** A chain fedconn forged: every key it holds, every credential, what its AS publishes. */
export interface Forged {
  readonly keys: Record<ChainLevel, Ed25519KeyPair>;
  readonly as: AsCredential;
  readonly intermediate: AsIntermediateCredential;
  readonly client: ClientCredential;
  readonly published: AsCredentialsResponse;
}

/** A valid chain for `domain` (its user `userId`, by default mallory), with keys and windows as given. */
export async function forgeChain(
  rng: Rng,
  now: number,
  domain: string,
  options: {
    readonly userId?: string;
    readonly device?: string;
    readonly keys?: Partial<Record<ChainLevel, Ed25519KeyPair>>;
    readonly windows?: Partial<Record<ChainLevel, ExpirationData>>;
  } = {},
): Promise<Forged> {
  const windows = { ...defaultWindows(now), ...options.windows };
  const keys = {
    as: options.keys?.as ?? (await generateEd25519KeyPair(fork(rng, 'as'))),
    intermediate:
      options.keys?.intermediate ?? (await generateEd25519KeyPair(fork(rng, 'intermediate'))),
    client: options.keys?.client ?? (await generateEd25519KeyPair(fork(rng, 'client'))),
  };
  const as = await issueAsCredential({
    key: keys.as,
    domain,
    expiration: windows.as,
  });
  const intermediate = await issueIntermediateCredential({
    key: keys.intermediate,
    asKey: keys.as,
    asCredential: as,
    expiration: windows.intermediate,
  });
  const request = await createClientCredentialRequest({
    key: keys.client,
    clientId: {
      user_id: options.userId ?? forgedUser(domain),
      client: options.device ?? 'device-1',
    },
    intermediate,
    expiration: windows.client,
  });
  const client = await signRequest('ClientCredential', keys.intermediate, request);
  return {
    keys,
    as,
    intermediate,
    client,
    published: {
      as_credentials: [as],
      as_intermediate_credentials: [intermediate],
      revoked_fingerprints: [],
    },
  };
}

/** Flips one bit of a signature (or any base64 field) and re-encodes it. */
export function flipped(text: string, bit: number): string {
  const bytes = decodeBase64(text);
  if (!bytes.ok) throw new Error(`not base64: ${text}`);
  const copy = bytes.value.slice();
  const index = Math.floor(bit / 8) % copy.length;
  copy[index] = (copy[index] ?? 0) ^ (1 << (bit % 8));
  return encodeUnpaddedBase64(copy);
}

/** What one forged delivery carries: the sender's credential and key, and what its AS publishes. */
export interface Delivery {
  readonly published: AsCredentialsResponse;
  readonly credential: ClientCredential;
  readonly key: Ed25519KeyPair;
  /** Changes the signed package before it is sealed (CONN-CEP-04). */
  readonly tamper?: (
    cep: ConnectionEstablishmentPackage,
  ) => Promise<ConnectionEstablishmentPackage>;
}

export const deliveryOf = (f: Forged): Delivery => ({
  published: f.published,
  credential: f.client,
  key: f.keys.client,
});

/** The responder, the impostor AS of a forged domain, and the responder's package key and queue. */
export interface Stage {
  readonly ctx: CheckContext;
  /** The domain of the impostor AS, and its sender. */
  readonly domain: string;
  readonly sender: string;
  readonly user: PhoenixUserHandle;
  readonly responder: PhoenixDevice;
  readonly encryptionKey: Uint8Array;
  readonly queueUrl: string;
  readonly rng: Rng;
  /** Every name the responder's decision policy was shown. */
  readonly shown: string[];
  /** What the impostor AS publishes from now on. */
  publish(published: AsCredentialsResponse): void;
  now(): number;
}

/** A responder on the first server and the impostor AS of a forged domain. */
export async function stage(ctx: CheckContext, label: string): Promise<Stage> {
  const server = firstServer(ctx);
  const population = await populate(ctx.instance.env(`responder ${label}`), {
    servers: [server.serverName],
    usersPerServer: 1,
    devicesPerUser: 1,
    profile: ctx.instance.profile,
    userPrefix: `${ctx.instance.namespace}${label}-`,
  });
  const user = population.users[0];
  if (user === undefined) throw new Error('no responder');
  const shown: string[] = [];
  user.decide = (name) => {
    shown.push(name);
    return true;
  };
  let published: AsCredentialsResponse = {
    as_credentials: [],
    as_intermediate_credentials: [],
    revoked_fingerprints: [],
  };
  const domain = await hostNamed(ctx, FORGED_DOMAIN, (request) => {
    const path = new URL(request.url).pathname;
    if (request.method === 'GET' && path === `${AS}/credentials`) {
      return Promise.resolve(Response.json(published));
    }
    return Promise.resolve(
      Response.json({ errcode: 'M_NOT_FOUND', error: 'not served by fedconn' }, { status: 404 }),
    );
  });
  const fetched = await send(
    ctx,
    `${server.origin}${AS}/users/${encodeURIComponent(user.userId)}/connection_packages`,
  );
  expectOk(fetched, `fetching a connection package of ${user.userId}`);
  const found = (fetched.body as { connection_packages: ConnectionPackage[] })
    .connection_packages[0];
  if (found === undefined) throw new Error(`${user.userId} has no connection package`);
  const key = decodeBase64(found.payload.encryption_key);
  if (!key.ok) throw new Error('the connection package has no base64 encryption key');
  const { client } = found.client_credential.payload.client_id;
  const s: Stage = {
    ctx,
    domain,
    sender: forgedUser(domain),
    user,
    responder: user.primary,
    encryptionKey: key.value,
    queueUrl: `${server.origin}${AS}/clients/${encodeURIComponent(user.userId)}/${encodeURIComponent(client)}/queue`,
    rng: rngFor(ctx, `responder ${label}`),
    shown,
    publish: (p) => {
      published = p;
    },
    now: () => ctx.instance.clock.now(),
  };
  // Control: an uncorrupted forged chain is accepted, so a rejection below is the corruption's.
  const control = await forgeChain(fork(s.rng, 'control'), s.now(), domain);
  const events = await deliverAndRun(s, deliveryOf(control), 'control');
  expectThat(
    events.some((e) => e.type === 'offer-shown'),
    `control: the responder did not show a valid establishment package from ${s.sender}`,
    'an offer-shown event',
    events,
  );
  shown.length = 0;
  return s;
}

let sealing = 0;

/** Builds, signs (and tampers) the package, seals it to the responder's key. */
export async function sealedFor(
  s: Stage,
  d: Delivery,
): Promise<SealedConnectionEstablishmentPackage> {
  const r = fork(s.rng, `package ${sealing++}`);
  let cep = await buildEstablishmentPackage({
    senderKey: d.key,
    senderCredential: d.credential,
    groupId: r.bytes(16),
    groupStateEarKey: r.bytes(32),
    credentialEarKey: r.bytes(32),
  });
  if (d.tamper !== undefined) cep = await d.tamper(cep);
  const sealed = await sealEstablishmentPackage({
    cep,
    encryptionKey: s.encryptionKey,
    rng: fork(r, 'seal'),
  });
  if (!sealed.ok) throw new Error(`cannot seal: ${sealed.error.detail}`);
  return sealed.value;
}

/** Enqueues a message for the responder over HTTP. */
export async function enqueue(s: Stage, message: unknown, what: string): Promise<void> {
  expectOk(await send(s.ctx, s.queueUrl, { body: { message } }), `enqueuing ${what}`);
}

/** Runs the responder over its queues; returns the events this run added. */
export async function runResponder(s: Stage, what: string): Promise<PhoenixDevice['events']> {
  const mark = s.responder.events.length;
  try {
    await s.responder.processQueues();
  } catch (error) {
    throw new CheckFailure(`${what}: the responder failed while processing its queue`, {
      expected: 'every queued message processed',
      actual: error instanceof Error ? error.message : String(error),
    });
  }
  return s.responder.events.slice(mark);
}

export async function deliverAndRun(
  s: Stage,
  d: Delivery,
  what: string,
): Promise<PhoenixDevice['events']> {
  s.publish(d.published);
  await enqueue(s, await sealedFor(s, d), what);
  return runResponder(s, what);
}

/**
 * Delivers the forged package and fails unless the responder rejected it with a
 * reason `accepts` takes, joined no group and showed nothing to its user.
 */
export async function expectRejected(
  s: Stage,
  d: Delivery,
  what: string,
  expected: string,
  accepts: (reason: string) => boolean,
): Promise<void> {
  const groupsBefore = s.responder.groups.size;
  const events = await deliverAndRun(s, d, what);
  const shownHere = s.shown.splice(0);
  const visible = events.filter((e) => e.type === 'offer-shown' || e.type === 'joined');
  expectThat(
    visible.length === 0 && shownHere.length === 0,
    `${what}: the responder showed the offer to its user`,
    'no offer-shown event, nothing shown to the decision policy',
    { events, shown: shownHere },
  );
  expectThat(
    s.responder.groups.size === groupsBefore,
    `${what}: the responder joined a group`,
    `${groupsBefore} groups`,
    [...s.responder.groups.keys()],
  );
  const rejected = events.flatMap((e) => (e.type === 'offer-rejected' ? [e.reason] : []));
  expectThat(
    rejected.length === 1 && accepts(rejected[0] ?? ''),
    `${what}: the responder did not reject the package with the right reason`,
    `one offer-rejected event: ${expected}`,
    events,
  );
}

/** The reason the reference client gives for a chain failure. */
export const chainReason = (level: ChainLevel, kind: string) =>
  `credential-rejected: ${level} ${kind}`;

/** Failure kinds of a signature that no longer verifies (flipped bits, another key). */
export const SIGNATURE_KINDS = [
  'bad-signature',
  'non-canonical-signature',
  'small-order-signature',
  'malformed-signature',
  'malformed-key',
  'non-canonical-key',
  'small-order-key',
  'bad-proof-of-possession',
  'label-mismatch',
] as const;

/**
 * Re-signs a credential after its body was changed: the issuer signature, and the
 * self-signature too when the subject's key is given.
 */
export async function reissue<P>(
  type: CredentialType,
  issuer: Ed25519KeyPair,
  credential: Credential<P>,
  subject?: Ed25519KeyPair,
): Promise<Credential<P>> {
  const request =
    subject === undefined
      ? credential
      : await createSigningRequest(type, subject, credential.payload);
  return signRequest(type, issuer, request);
}

/**
 * Replaces links of a forged chain and re-issues the links below them (new signer
 * fingerprints, signed by the original keys), so that only the change is wrong.
 */
export async function relinkForged(
  f: Forged,
  changed: {
    readonly as?: AsCredential;
    readonly intermediate?: AsIntermediateCredential;
    readonly client?: ClientCredential;
  },
): Promise<Forged> {
  const as = changed.as ?? f.as;
  let intermediate = changed.intermediate ?? f.intermediate;
  if (changed.as !== undefined && changed.intermediate === undefined) {
    intermediate = await reissue(
      'AsIntermediateCredential',
      f.keys.as,
      {
        ...intermediate,
        payload: { ...intermediate.payload, signer_fingerprint: fingerprint(as) },
      },
      f.keys.intermediate,
    );
  }
  let client = changed.client ?? f.client;
  if (changed.client === undefined && (changed.as ?? changed.intermediate) !== undefined) {
    client = await reissue(
      'ClientCredential',
      f.keys.intermediate,
      {
        ...client,
        payload: { ...client.payload, signer_fingerprint: fingerprint(intermediate) },
      },
      f.keys.client,
    );
  }
  return {
    ...f,
    as,
    intermediate,
    client,
    published: {
      ...f.published,
      as_credentials: [as],
      as_intermediate_credentials: [intermediate],
    },
  };
}

/** The credential of a forged chain at one level. */
export const linkOf = (f: Forged, level: ChainLevel): Credential<{ verifying_key: string }> =>
  level === 'as' ? f.as : level === 'intermediate' ? f.intermediate : f.client;

/** Relinks a forged chain with `credential` in place of the link at `level`. */
export const replaceLink = (
  f: Forged,
  level: ChainLevel,
  credential: Credential<unknown>,
): Promise<Forged> =>
  relinkForged(
    f,
    level === 'as'
      ? { as: credential as AsCredential }
      : level === 'intermediate'
        ? { intermediate: credential as AsIntermediateCredential }
        : { client: credential as ClientCredential },
  );

/** The key that issues the credential at `level` (the AS credential issues itself). */
export const issuerOf = (f: Forged, level: ChainLevel): Ed25519KeyPair =>
  level === 'client' ? f.keys.intermediate : f.keys.as;
