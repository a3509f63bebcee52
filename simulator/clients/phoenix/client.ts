// A reference client (one device of a user). It registers with its AS, keeps a
// queue on its QS, publishes packages, and plays both roles of connection
// establishment: initiator (discover, create the group, send establishment
// packages) and responder (check the queue, verify, decide, join by external
// commit, add its siblings). Every step is an HTTP request through the injected
// transport, so the same client drives the simulator and real servers.
import { generateEd25519KeyPair, type Ed25519KeyPair } from '../../protocol/crypto/ed25519.ts';
import {
  hpkeKeyPairFromRaw,
  hpkeOpen,
  hpkeSeal,
  type HpkeKeyPair,
} from '../../protocol/crypto/hpke.ts';
import { fork, type Rng } from '../../protocol/crypto/rng.ts';
import {
  decodeBase64,
  decodeBase64Url,
  encodeUnpaddedBase64,
  encodeUnpaddedBase64Url,
} from '../../protocol/encoding/base64.ts';
import type { AsCredentialsResponse, ChainLeniency } from '../../protocol/credentials/chain.ts';
import {
  createClientCredentialRequest,
  userDomain,
  type ClientCredential,
  type ClientId,
} from '../../protocol/credentials/credential.ts';
import { decodeCredential } from '../../protocol/credentials/schema.ts';
import { sameCanonicalJson } from '../../protocol/encoding/canonical-json.ts';
import {
  createConnectionPackage,
  createConnectionPackagePayload,
  verifyConnectionPackage,
  verifyConnectionPackagePayload,
} from '../../protocol/packages/connection-package.ts';
import {
  createCredentialInfo,
  openCredentialInfo,
  sealCredentialInfo,
  verifyCredentialInfo,
  type CredentialInfo,
} from '../../protocol/packages/credential-info.ts';
import { VerifiedSignatures } from '../../protocol/credentials/verified-signatures.ts';
import { ok } from '../../protocol/result.ts';
import {
  buildEstablishmentPackage,
  openEstablishmentPackage,
  sealEstablishmentPackage,
  senderDomain,
  verifyEstablishmentPackage,
} from '../../protocol/packages/establishment-package.ts';
import {
  addClients,
  createConnectionGroup,
  createMember,
  decryptMessage,
  encryptMessage,
  exportGroupInfo,
  epochOf,
  membersOf,
  generateKeyPackage,
  joinByExternalCommit,
  joinByWelcome,
  processCommit,
  type ConnectionGroup,
  loadKeyPackage,
  storeKeyPackage,
  storedInitKey,
  type Member,
  type StoredKeyPackage,
} from '../../protocol/mls/index.ts';
import {
  decodeGroupInfo,
  decodeKeyPackage,
  decodeMessage,
  decodeRatchetTree,
  decodeWelcome,
  encodeGroupInfo,
  encodeMessage,
  encodeRatchetTree,
  encodeWelcome,
} from '../../protocol/mls/wire.ts';
import type { QueueMessage, QueueRef, StoredMessage } from '../../services/qs/queues.ts';
import { NetworkError } from '../../net/transport.ts';
import { call, RequestFailed, type ClientEnv } from './env.ts';
import type { GroupStatus, PhoenixDevice } from './handle.ts';
import { RESPONDER_CLIENT_MUTANTS, responderLeniency } from './mutants-responder.ts';
import { PRIVACY_CLIENT_MUTANTS as PRIV } from './mutants-privacy.ts';
import { pushedContent, TRUST_CLIENT_MUTANTS as TRUST, unverifiedUsers } from './mutants-trust.ts';
import {
  asPublished,
  INITIATOR_CLIENT_MUTANTS as INIT,
  usedDespite,
  withoutGroupIdInSignature,
} from './mutants-initiator.ts';
import {
  RACE_CLIENT_MUTANTS as RACE,
  createStrayGroup,
  isRaceMutant,
  siblingsToAdd,
} from './mutants-race.ts';

const DAY = 86_400_000;
const PACKAGE_LIFETIME = 30 * DAY;
const CREDENTIAL_LIFETIME = 90 * DAY;
const JOINER_INFO = new TextEncoder().encode('fedconn-v1 WelcomeBundle joiner info');

/** What the user of this client sees and what happened, for tests and researchers. */
export type ClientEvent =
  | { readonly type: 'offer-shown'; readonly groupId: string; readonly senderUserId: string }
  | { readonly type: 'offer-rejected'; readonly reason: string }
  | { readonly type: 'offer-declined'; readonly groupId: string; readonly senderUserId: string }
  | {
      readonly type: 'joined';
      readonly groupId: string;
      readonly via: 'external-commit' | 'welcome';
    }
  | { readonly type: 'join-failed'; readonly groupId: string; readonly reason: string }
  | { readonly type: 'offer-discarded'; readonly groupId: string; readonly reason: string }
  | { readonly type: 'member-rejected'; readonly groupId: string; readonly reason: string }
  | { readonly type: 'message'; readonly groupId: string; readonly text: string };

/** What one pass over a queue has fetched and judged (PhoenixClient's #pass). */
interface PassState {
  /** Each AS's published credentials, by server name. */
  readonly credentials: Map<string, Promise<AsCredentialsResponse>>;
  /** CredentialInfos judged good: by credential key, time and sealed bytes. */
  readonly infos: Map<string, { readonly info: CredentialInfo; readonly userId: string }>;
}

export interface GroupEntry {
  readonly id: string;
  readonly group: ConnectionGroup;
  readonly member: Member;
  readonly earKey: Uint8Array;
  readonly credentialKey: Uint8Array;
  /** The homeserver whose DS hosts the group (the initiator's). */
  readonly dsServer: string;
  /** Verified user ids of the members, by the order their CredentialInfos arrived. */
  readonly memberUsers: readonly string[];
}

/** Decision policy: whether to accept an establishment package from this user. */
export type Decide = (senderUserId: string) => boolean | Promise<boolean>;

/** What a client's user shares with all its clients. */
export interface UserShared {
  readonly userId: string;
  readonly serverName: string;
  readonly friendshipToken: string;
  readonly friendshipKey: Uint8Array;
  readonly profile: 'multi-device' | 'aliases';
  decide: Decide;
  /** The user's other clients, for adding them to a connection group. */
  siblingsOf(client: PhoenixClient): readonly PhoenixClient[];
}

export class PhoenixClient implements PhoenixDevice {
  readonly events: ClientEvent[] = [];
  readonly groups = new Map<string, GroupEntry>();
  #key!: Ed25519KeyPair;
  #credential!: ClientCredential;
  /** How many times this client has polled its QS queue. */
  #qsPolls = 0;
  /** What the current pass over a queue has fetched and judged already (see #pass). */
  #passState: PassState | undefined;
  /** How many passes are running now (see #pass). */
  #passes = 0;
  #queueKey!: Ed25519KeyPair;
  #queue!: QueueRef;
  #asSince = 0;
  #qsSince = 0;
  readonly #packageKeys = new Map<string, HpkeKeyPair>();
  /** Published KeyPackages, kept encoded until a Welcome names one (see StoredKeyPackage). */
  readonly #keyPackages: StoredKeyPackage[] = [];
  readonly #aliases = new Map<string, Ed25519KeyPair>();
  /** Groups this client joined by external commit but whose siblings it has not added yet. */
  readonly #siblingsOwed = new Set<string>();
  /** Groups whose join failed (kept only by the CONN-RACE-06 mutant that ignores their Welcome). */
  readonly #lostRaces = new Set<string>();
  readonly #rng: Rng;
  /** Credential signatures this device has verified: each is verified once. */
  readonly #verified = new VerifiedSignatures();
  #draws = 0;

  constructor(
    readonly env: ClientEnv,
    readonly user: UserShared,
    readonly clientId: ClientId,
  ) {
    this.#rng = fork(env.rng, `client ${clientId.user_id}/${clientId.client}`);
  }

  /** A fresh child rng for each use, so adding a step never shifts another's randomness. */
  #next(label: string): Rng {
    return fork(this.#rng, `${label} ${this.#draws++}`);
  }

  get queue(): QueueRef {
    return this.#queue;
  }

  get credential(): ClientCredential {
    return this.#credential;
  }

  #own(path: string): string {
    return `${this.env.originOf(this.user.serverName)}${path}`;
  }

  #at(serverName: string, path: string): string {
    return `${this.env.originOf(serverName)}${path}`;
  }

  #signer() {
    return { key: this.#key, keyRef: `client:${this.clientId.user_id}/${this.clientId.client}` };
  }

  // --- Registration ---------------------------------------------------------------

  async register(options: { keyPackages?: number } = {}): Promise<void> {
    this.#key = await generateEd25519KeyPair(this.#next('client key'));
    const published = await this.#asCredentials(this.user.serverName);
    const intermediate = decodeCredential(
      'AsIntermediateCredential',
      published.as_intermediate_credentials[0],
    );
    if (!intermediate.ok)
      throw new Error(`own AS publishes no usable intermediate: ${intermediate.error.detail}`);
    const now = this.env.clock.now();
    const window = intermediate.value.payload.expiration_data;
    const csr = await createClientCredentialRequest({
      key: this.#key,
      clientId: this.clientId,
      intermediate: intermediate.value,
      expiration: {
        not_before: now - DAY,
        not_after: Math.min(now + CREDENTIAL_LIFETIME, window.not_after),
      },
    });
    const registered = await call<{ client_credential: ClientCredential }>(
      this.env,
      this.#own('/_fedconn/v1/as/clients'),
      { body: { csr }, bearer: this.env.provisioningTokenOf(this.user.serverName) },
    );
    this.#credential = registered.client_credential;
    this.#queueKey = this.env.mutants?.has(PRIV.queueKeyIsClientKey)
      ? this.#key
      : await generateEd25519KeyPair(this.#next('queue key'));
    const created = await call<{ queue_id: string }>(
      this.env,
      this.#own('/_fedconn/v1/qs/queues'),
      {
        body: { auth_key: encodeUnpaddedBase64(this.#queueKey.publicKey) },
      },
    );
    this.#queue = { server: this.user.serverName, queue_id: created.queue_id };
    await this.publishKeyPackages(options.keyPackages ?? 3);
  }

  /** KeyPackages on the QS, each with its own leaf key and a CredentialInfo sealed to the user's friendship key. */
  async publishKeyPackages(count: number): Promise<void> {
    const entries = [];
    this.#keyPackages.length = 0;
    for (let i = 0; i < count; i++) {
      const member = await createMember(this.#next('pseudonym').bytes(16), this.#next('member'));
      const bundle = await generateKeyPackage(member);
      const info = await createCredentialInfo({
        clientKey: this.#key,
        clientCredential: this.#credential,
        leafSignatureKey: member.signaturePublicKey,
      });
      const stored = storeKeyPackage(bundle);
      this.#keyPackages.push(stored);
      entries.push({
        key_package: encodeUnpaddedBase64(stored.encoded),
        encrypted_info: sealCredentialInfo(this.user.friendshipKey, info, this.#next('seal')),
      });
    }
    await call(this.env, this.#own(`/_fedconn/v1/qs/queues/${this.#queue.queue_id}/key_packages`), {
      body: { friendship_token: this.user.friendshipToken, key_packages: entries },
      signer: { key: this.#queueKey, keyRef: `queue:${this.#queue.queue_id}` },
    });
  }

  async publishConnectionPackages(count: number): Promise<void> {
    const now = this.env.clock.now();
    const packages = [];
    for (let i = 0; i < count; i++) {
      const p = await createConnectionPackage({
        rng: this.#next('package'),
        lifetime: { not_before: now - 60_000, not_after: now + PACKAGE_LIFETIME },
        clientKey: this.#key,
        clientCredential: this.#credential,
      });
      this.#packageKeys.set(p.published.payload.encryption_key, p.decryptionKey);
      packages.push(asPublished(this.env.mutants, p.published));
    }
    await call(this.env, this.#own('/_fedconn/v1/as/connection_packages'), {
      body: { connection_packages: packages },
      signer: this.#signer(),
    });
  }

  /** Registers an alias with its own auth key and publishes bare payloads under it. */
  async registerAlias(alias: string, payloads: number): Promise<void> {
    const mutant = (name: string) => this.env.mutants?.has(name) === true;
    const authKey = mutant(PRIV.aliasKeyIsClientKey)
      ? this.#key
      : await generateEd25519KeyPair(
          mutant(PRIV.oneAuthKeyForAllAliases)
            ? fork(this.#rng, 'shared alias key')
            : this.#next('alias key'),
        );
    await call(this.env, this.#own(`/_fedconn/v1/as/aliases/${encodeURIComponent(alias)}`), {
      method: 'PUT',
      body: { auth_key: encodeUnpaddedBase64(authKey.publicKey) },
      ...(mutant(PRIV.registerAliasWithClientCredential) ? { signer: this.#signer() } : {}),
    });
    this.#aliases.set(alias, authKey);
    const now = this.env.clock.now();
    const list = [];
    for (let i = 0; i < payloads; i++) {
      const p = await createConnectionPackagePayload({
        rng: mutant(PRIV.reuseEncryptionKey)
          ? fork(this.#rng, 'shared alias payload')
          : this.#next('alias payload'),
        lifetime: { not_before: now - 60_000, not_after: now + PACKAGE_LIFETIME },
      });
      this.#packageKeys.set(p.published.encryption_key, p.decryptionKey);
      list.push(p.published);
    }
    await call(
      this.env,
      this.#own(`/_fedconn/v1/as/aliases/${encodeURIComponent(alias)}/connection_packages`),
      {
        body: { payloads: list },
        signer: { key: authKey, keyRef: `alias:${alias}` },
      },
    );
  }

  async #asCredentials(serverName: string): Promise<AsCredentialsResponse> {
    const pass = this.#passState?.credentials;
    const known = pass?.get(serverName);
    if (known !== undefined) return known;
    const fetched = call<AsCredentialsResponse>(
      this.env,
      this.#at(serverName, '/_fedconn/v1/as/credentials'),
    );
    if (pass === undefined) return fetched;
    pass.set(serverName, fetched);
    // A failed fetch is not remembered: the next message of the pass asks again.
    return fetched.catch((error: unknown) => {
      if (pass.get(serverName) === fetched) pass.delete(serverName);
      throw error;
    });
  }

  /**
   * Runs one pass over a queue with one answer per AS for its credential checks: every
   * message of a WelcomeBundle, commits and packages polled together is judged against
   * the same published credentials and revocations, and the next pass fetches them anew.
   * A CredentialInfo met again in the pass (each commit carries every member's) is taken
   * as judged the first time: the same bytes under the same key, against the same
   * credentials at the same time.
   */
  async #pass<T>(run: () => Promise<T>): Promise<T> {
    // Calls that overlap (a driver may start one before another ends) share one pass,
    // which ends with the last of them.
    if (this.#passes++ === 0) this.#passState = { credentials: new Map(), infos: new Map() };
    try {
      return await run();
    } finally {
      if (--this.#passes === 0) this.#passState = undefined;
    }
  }

  // --- Initiator ------------------------------------------------------------------

  /**
   * Discovers the responder by user id (`@user:server`) or alias (`alias@server`),
   * creates the connection group and sends the establishment package(s).
   * Returns the group id.
   */
  async connect(
    target: { readonly userId: string } | { readonly alias: string; readonly server: string },
  ): Promise<string> {
    const targets: { encryptionKey: Uint8Array; queueUrl: string }[] = [];
    if ('userId' in target) {
      const server = userDomain(target.userId);
      if (server === undefined) throw new Error(`not a user id: ${target.userId}`);
      const found = await call<{ connection_packages: unknown[] }>(
        this.env,
        this.#at(
          server,
          `/_fedconn/v1/as/users/${encodeURIComponent(target.userId)}/connection_packages`,
        ),
        this.env.mutants?.has(PRIV.authenticateDiscovery) === true
          ? { signer: this.#signer() }
          : {},
      );
      const published = await this.#asCredentials(server);
      for (const value of found.connection_packages) {
        const verified = await verifyConnectionPackage({
          value,
          now: this.env.clock.now(),
          published,
          expectedUserId: target.userId,
          memo: this.#verified,
          ...packageLeniency(this.env.mutants),
        });
        const used = verified.ok
          ? {
              encryptionKey: verified.value.encryptionKey,
              client: verified.value.client.clientId.client,
            }
          : usedDespite(this.env.mutants, verified.error.kind, value, false);
        if (used === undefined)
          throw new Error(
            `connection package rejected: ${verified.ok ? '' : `${verified.error.kind}: ${verified.error.detail}`}`,
          );
        const { client } = used;
        targets.push({
          encryptionKey: used.encryptionKey,
          queueUrl: this.#at(
            server,
            `/_fedconn/v1/as/clients/${encodeURIComponent(target.userId)}/${encodeURIComponent(client)}/queue`,
          ),
        });
      }
    } else {
      const found = await call<{ connection_package: unknown }>(
        this.env,
        this.#at(
          target.server,
          `/_fedconn/v1/as/aliases/${encodeURIComponent(target.alias)}/connection_package`,
        ),
        this.env.mutants?.has(PRIV.authenticateDiscovery) === true
          ? { signer: this.#signer() }
          : {},
      );
      const verified = verifyConnectionPackagePayload(
        found.connection_package,
        this.env.clock.now(),
      );
      const used = verified.ok
        ? verified.value
        : usedDespite(this.env.mutants, verified.error.kind, found.connection_package, true);
      if (used === undefined)
        throw new Error(
          `alias payload rejected: ${verified.ok ? '' : `${verified.error.kind}: ${verified.error.detail}`}`,
        );
      targets.push({
        encryptionKey: used.encryptionKey,
        queueUrl: this.#at(
          target.server,
          `/_fedconn/v1/as/aliases/${encodeURIComponent(target.alias)}/queue`,
        ),
      });
    }

    const groupIdBytes = this.#next('group id').bytes(16);
    const id = encodeUnpaddedBase64Url(groupIdBytes);
    const earKey = (
      this.env.mutants?.has(INIT.reuseEarKey) === true
        ? fork(this.#rng, 'shared ear key')
        : this.#next('ear key')
    ).bytes(32);
    const credentialKey = this.#next('credential key').bytes(32);
    const member = await createMember(this.#next('pseudonym').bytes(16), this.#next('member'));
    const group = await createConnectionGroup(groupIdBytes, member);
    const info = await createCredentialInfo({
      clientKey: this.#key,
      clientCredential: this.#credential,
      leafSignatureKey: member.signaturePublicKey,
    });
    const exported = await exportGroupInfo(group);
    await call(this.env, this.#own('/_fedconn/v1/ds/groups'), {
      body: {
        group_id: id,
        ear_key: encodeUnpaddedBase64(earKey),
        group_info: encodeUnpaddedBase64(encodeGroupInfo(exported.groupInfo)),
        ratchet_tree: encodeUnpaddedBase64(encodeRatchetTree(exported.ratchetTree)),
        credential_infos: [sealCredentialInfo(credentialKey, info, this.#next('seal'))],
        queue: this.#queue,
      },
    });
    this.groups.set(id, {
      id,
      group,
      member,
      earKey,
      credentialKey,
      dsServer: this.user.serverName,
      memberUsers: [this.user.userId],
    });
    // The connection group holds all of the initiator's clients (CONN-CEP-07); both seeds
    // describe it as the group of all clients of both users.
    if (this.env.mutants?.has(INIT.groupWithoutSiblings) !== true) await this.#addSiblings(id);

    const built = await buildEstablishmentPackage({
      senderKey: this.#key,
      senderCredential: this.#credential,
      groupId: groupIdBytes,
      groupStateEarKey: earKey,
      credentialEarKey: credentialKey,
    });
    const cep =
      this.env.mutants?.has(INIT.signatureOmitsGroupId) === true
        ? await withoutGroupIdInSignature(built, this.#key)
        : built;
    const recipients =
      this.env.mutants?.has(INIT.sendToFirstClientOnly) === true ? targets.slice(0, 1) : targets;
    for (const t of recipients) {
      const sealed = await sealEstablishmentPackage({
        cep,
        encryptionKey: t.encryptionKey,
        rng: this.#next('cep'),
      });
      if (!sealed.ok)
        throw new Error(`cannot seal the establishment package: ${sealed.error.detail}`);
      const message =
        this.env.mutants?.has(PRIV.sendPackageInClear) === true
          ? {
              enc: sealed.value.enc,
              ciphertext: encodeUnpaddedBase64(new TextEncoder().encode(JSON.stringify(cep))),
            }
          : sealed.value;
      await call(this.env, t.queueUrl, {
        body: { message },
        ...(this.env.mutants?.has(PRIV.signDeliveryWithClientKey) === true
          ? { signer: this.#signer() }
          : {}),
      });
    }
    return id;
  }

  // --- Responder ------------------------------------------------------------------

  /**
   * Processes the client's own AS queue (establishment packages), then its QS queue.
   * Alias queues are not polled here: whoever drives the client polls them apart
   * (pollAliasQueue), so that the AS cannot link an alias to the client whose signed
   * poll it follows (ALIAS-UNLINK-01).
   */
  async processQueues(): Promise<void> {
    return this.#pass(() => this.#processQueues());
  }

  async #processQueues(): Promise<void> {
    // Back after an outage while adding the siblings: add them now (CONN-RACE-03/05).
    if (!isRaceMutant(this.env, RACE.forgetSiblingsAfterOutage)) {
      for (const id of this.#siblingsOwed) {
        await this.#addSiblings(id);
        this.#siblingsOwed.delete(id);
      }
    }
    const direct = await call<{ messages: { seq: number; message: unknown }[] }>(
      this.env,
      this.#own(`/_fedconn/v1/as/queue?since=${this.#asSince}`),
      { signer: this.#signer() },
    );
    const qsPolls = this.#qsPolls;
    for (const m of direct.messages) {
      await this.#onEstablishmentPackage(m.message);
      this.#asSince = m.seq + 1;
    }
    if (this.env.mutants?.has(PRIV.pollAliasesWithOwnQueue) === true)
      for (const alias of this.#aliases.keys()) await this.pollAliasQueue(alias);
    // A package just made us check the QS queue (CONN-RACE-01): polling it again at once
    // would cost a signed request for what the next pass picks up anyway.
    if (this.#qsPolls === qsPolls) await this.processQsQueue();
  }

  /** The aliases this client registered. */
  get aliases(): readonly string[] {
    return [...this.#aliases.keys()];
  }

  /** Polls one alias queue, authenticated with that alias's own key only, and processes it. */
  async pollAliasQueue(alias: string): Promise<void> {
    return this.#pass(() => this.#pollAliasQueue(alias));
  }

  async #pollAliasQueue(alias: string): Promise<void> {
    const key = this.#aliases.get(alias);
    if (key === undefined) throw new Error(`not an alias of this client: ${alias}`);
    const queued = await call<{ messages: { seq: number; message: unknown }[] }>(
      this.env,
      this.#own(`/_fedconn/v1/as/aliases/${encodeURIComponent(alias)}/queue?since=0`),
      { signer: { key, keyRef: `alias:${alias}` } },
    );
    let since = 0;
    for (const m of queued.messages) {
      await this.#onEstablishmentPackage(m.message);
      since = m.seq + 1;
    }
    if (queued.messages.length > 0) {
      await call(
        this.env,
        this.#own(`/_fedconn/v1/as/aliases/${encodeURIComponent(alias)}/queue?since=${since}`),
        { signer: { key, keyRef: `alias:${alias}` } },
      );
    }
  }

  async #onEstablishmentPackage(sealed: unknown): Promise<void> {
    if (this.env.mutants?.has(TRUST.showPushedContent) === true)
      this.events.push(...(await pushedContent(sealed, this.#packageKeys.values())));
    // Find the package key that opens it; anything that opens under none is discarded (CONN-CEP-05).
    let opened;
    for (const key of this.#packageKeys.values()) {
      const attempt = await openEstablishmentPackage({ sealed, decryptionKey: key });
      if (attempt.ok) {
        opened = attempt.value;
        break;
      }
    }
    if (opened === undefined) {
      this.events.push({ type: 'offer-rejected', reason: 'opens under none of our package keys' });
      if (this.env.mutants?.has(RESPONDER_CLIENT_MUTANTS.abortOnUndecodable) === true)
        throw new Error('an undecodable queued message aborts the queue');
      return;
    }
    const groupBytes = decodeBase64(opened.connection_group_id);
    const id = groupBytes.ok ? encodeUnpaddedBase64Url(groupBytes.value) : '';
    // multi-device: first make sure our queue is empty; a WelcomeBundle for this group wins (CONN-RACE-01/02).
    if (this.user.profile === 'multi-device' && !isRaceMutant(this.env, RACE.skipQueueCheck)) {
      await this.processQsQueue();
      if (this.groups.has(id) && !isRaceMutant(this.env, RACE.ignoreWelcomeBundle)) {
        this.events.push({
          type: 'offer-discarded',
          groupId: id,
          reason: 'already joined through a WelcomeBundle',
        });
        return;
      }
    }
    const domain = senderDomain(opened);
    if (domain === undefined) {
      this.events.push({ type: 'offer-rejected', reason: 'sender user id has no server name' });
      return;
    }
    const verified = await verifyEstablishmentPackage({
      cep: opened,
      published: await this.#asCredentials(domain),
      now: this.env.clock.now(),
      memo: this.#verified,
      ...lenientOf(this.env),
    });
    if (!verified.ok) {
      const why =
        verified.error.chain === undefined
          ? verified.error.detail
          : `${verified.error.chain.level} ${verified.error.chain.kind}`;
      this.events.push({ type: 'offer-rejected', reason: `${verified.error.kind}: ${why}` });
      return;
    }
    const { groupStateEarKey, credentialEarKey } = verified.value;
    const senderUserId =
      this.env.mutants?.has(RESPONDER_CLIENT_MUTANTS.showDeviceName) === true
        ? verified.value.sender.clientId.client
        : verified.value.senderUserId;
    if (this.env.mutants?.has(TRUST.fetchProfileOnReceipt) === true)
      await call(
        this.env,
        this.#at(domain, `/_fedconn/v1/as/users/${encodeURIComponent(senderUserId)}/profile`),
      ).catch(() => undefined);
    if (this.env.mutants?.has(TRUST.prefetchCommitInfo) === true)
      await call(this.env, this.#at(domain, `/_fedconn/v1/ds/groups/${id}/external_commit_info`), {
        body: { ear_key: encodeUnpaddedBase64(groupStateEarKey) },
      }).catch(() => undefined);
    // Only the user name from the verified credential is shown (CONN-TRUST-02).
    this.events.push({ type: 'offer-shown', groupId: id, senderUserId });
    // A user asked over the client driver protocol answers later; one asked in-process
    // answers at once, without an extra tick that would reorder the race checks' requests.
    const decided = this.user.decide(senderUserId);
    if (!(decided instanceof Promise ? await decided : decided)) {
      this.events.push({ type: 'offer-declined', groupId: id, senderUserId });
      return;
    }
    const join = () =>
      this.#joinExternally(
        id,
        this.env.mutants?.has(TRUST.joinAtOwnDs) === true ? this.user.serverName : domain,
        groupStateEarKey,
        credentialEarKey,
        senderUserId,
      );
    let joined = await join();
    for (let retry = 0; !joined && retry < 2 && isRaceMutant(this.env, RACE.retryJoin); retry++)
      joined = await join();
    if (joined) {
      this.#siblingsOwed.add(id);
      await this.#addSiblings(id);
      this.#siblingsOwed.delete(id);
      return;
    }
    // Join failed: check the queue again; a WelcomeBundle for the group wins, else abort (CONN-RACE-04).
    if (this.user.profile === 'multi-device' && !isRaceMutant(this.env, RACE.abortWithoutRecheck)) {
      await this.processQsQueue();
      if (this.groups.has(id)) return;
    }
    this.events.push({
      type: 'offer-discarded',
      groupId: id,
      reason: 'join failed and no WelcomeBundle arrived',
    });
    if (isRaceMutant(this.env, RACE.loserIgnoresLateWelcome)) this.#lostRaces.add(id);
    if (isRaceMutant(this.env, RACE.loserCreatesOwnGroup)) {
      const origin = this.env.originOf(this.user.serverName);
      await createStrayGroup(this.env, origin, this.#queue, this.#next('stray group'));
    }
  }

  async #joinExternally(
    id: string,
    dsServer: string,
    earKey: Uint8Array,
    credentialKey: Uint8Array,
    senderUserId: string,
  ): Promise<boolean> {
    try {
      const info = await call<{
        group_info: string;
        ratchet_tree: string;
        credential_infos: string[];
      }>(this.env, this.#at(dsServer, `/_fedconn/v1/ds/groups/${id}/external_commit_info`), {
        body: { ear_key: encodeUnpaddedBase64(earKey) },
      });
      const members = await this.#verifyCredentialInfos(id, credentialKey, info.credential_infos);
      if (members === undefined) return false;
      if (!members.includes(senderUserId)) {
        this.events.push({
          type: 'join-failed',
          groupId: id,
          reason: 'the sender is not a member of the group',
        });
        return false;
      }
      const groupInfo = decodeB64(info.group_info, decodeGroupInfo);
      const tree = decodeB64(info.ratchet_tree, decodeRatchetTree);
      if (groupInfo === undefined || tree === undefined) {
        this.events.push({
          type: 'join-failed',
          groupId: id,
          reason: 'malformed external commit information',
        });
        return false;
      }
      const member = await createMember(this.#next('pseudonym').bytes(16), this.#next('member'));
      const groupIdBytes = decodeBase64Url(id);
      const join = await joinByExternalCommit(
        groupInfo,
        tree,
        member,
        groupIdBytes.ok ? { groupId: groupIdBytes.value } : {},
      );
      if (!join.ok) {
        this.events.push({
          type: 'join-failed',
          groupId: id,
          reason: `external join: ${join.error.kind}`,
        });
        return false;
      }
      const exported = await exportGroupInfo(join.value.group);
      const own = await createCredentialInfo({
        clientKey: this.#key,
        clientCredential: this.#credential,
        leafSignatureKey: member.signaturePublicKey,
      });
      await call(
        this.env,
        this.#at(dsServer, `/_fedconn/v1/ds/groups/${id}/join_connection_group`),
        {
          body: {
            ear_key: encodeUnpaddedBase64(earKey),
            commit: encodeUnpaddedBase64(encodeMessage(join.value.commit)),
            group_info: encodeUnpaddedBase64(encodeGroupInfo(exported.groupInfo)),
            ratchet_tree: encodeUnpaddedBase64(encodeRatchetTree(exported.ratchetTree)),
            credential_info: sealCredentialInfo(credentialKey, own, this.#next('seal')),
            queue: this.#queue,
          },
        },
      );
      this.groups.set(id, {
        id,
        group: join.value.group,
        member,
        earKey,
        credentialKey,
        dsServer,
        memberUsers: [...members, this.user.userId],
      });
      this.events.push({ type: 'joined', groupId: id, via: 'external-commit' });
      return true;
    } catch (error) {
      // Offline is not a failed join: the package stays queued for when the device is back (CONN-RACE-04/05).
      if (error instanceof NetworkError && !isRaceMutant(this.env, RACE.offlineJoinDiscardsPackage))
        throw error;
      this.events.push({ type: 'join-failed', groupId: id, reason: describe(error) });
      return false;
    }
  }

  /**
   * Opens and verifies every member's CredentialInfo; undefined (and an event) if any
   * fails. With `group`, each must vouch for a distinct leaf of it, one per leaf: a
   * valid CredentialInfo replayed for another leaf authenticates nobody (CONN-JOIN-07).
   * With `own`, the entry for our own leaf must name us and is not verified; in a pass,
   * an entry judged good earlier in the pass is not judged again (see #pass).
   */
  async #verifyCredentialInfos(
    id: string,
    credentialKey: Uint8Array,
    sealed: readonly string[],
    group?: ConnectionGroup,
    own?: Member,
  ): Promise<string[] | undefined> {
    const ownLeaf = own === undefined ? undefined : encodeUnpaddedBase64(own.signaturePublicKey);
    const users: string[] = [];
    const leaves =
      group === undefined
        ? undefined
        : new Set(membersOf(group).map((m) => encodeUnpaddedBase64(m.signaturePublicKey)));
    if (leaves !== undefined && leaves.size !== sealed.length) {
      this.events.push({
        type: 'member-rejected',
        groupId: id,
        reason: `${sealed.length} credential infos for ${leaves.size} leaves`,
      });
      return undefined;
    }
    const published = new Map<string, AsCredentialsResponse>();
    const judged = this.#passState?.infos;
    const keyPrefix = judged === undefined ? '' : encodeUnpaddedBase64(credentialKey);
    const judgedKey = (text: string, now: number) => `${keyPrefix} ${now} ${text}`;
    for (const text of sealed) {
      const known = judged?.get(judgedKey(text, this.env.clock.now()));
      const info = known === undefined ? openCredentialInfo(credentialKey, text) : ok(known.info);
      if (!info.ok) {
        this.events.push({
          type: 'member-rejected',
          groupId: id,
          reason: `credential info: ${info.error.kind}`,
        });
        return undefined;
      }
      if (leaves !== undefined && !leaves.delete(info.value.leaf_signature_key)) {
        this.events.push({
          type: 'member-rejected',
          groupId: id,
          reason: 'credential info for no leaf of the group, or for a leaf already vouched for',
        });
        return undefined;
      }
      // Our own leaf: we hold its private key, so there is nobody to authenticate, only a
      // check that the entry names us. Verifying it would cost our own domain's chain and
      // signatures we made ourselves (bench/mandatory-floor.md, section 4, item 2).
      if (info.value.leaf_signature_key === ownLeaf) {
        if (!sameCanonicalJson(info.value.client_credential, this.#credential)) {
          this.events.push({
            type: 'member-rejected',
            groupId: id,
            reason: 'the credential info for our own leaf names another client',
          });
          return undefined;
        }
        const userId = this.#credential.payload.client_id.user_id;
        judged?.set(judgedKey(text, this.env.clock.now()), { info: info.value, userId });
        users.push(userId);
        continue;
      }
      if (known !== undefined) {
        users.push(known.userId);
        continue;
      }
      const domain = userDomain(info.value.client_credential.payload.client_id.user_id) ?? '';
      let creds = published.get(domain);
      if (creds === undefined) {
        creds = await this.#asCredentials(domain);
        published.set(domain, creds);
      }
      const now = this.env.clock.now();
      const verified = await verifyCredentialInfo({
        info: info.value,
        published: creds,
        now,
        memo: this.#verified,
        ...(this.env.mutants?.has(TRUST.bindingWithoutLeafKey) === true
          ? { lenient: new Set(['uncovered LeafBinding leaf_signature_key'] as const) }
          : {}),
      });
      if (!verified.ok) {
        this.events.push({
          type: 'member-rejected',
          groupId: id,
          reason: `${verified.error.kind}: ${verified.error.detail}`,
        });
        return undefined;
      }
      judged?.set(judgedKey(text, now), {
        info: info.value,
        userId: verified.value.clientId.user_id,
      });
      users.push(verified.value.clientId.user_id);
    }
    return users;
  }

  /** Adds this user's other clients to the group by Welcome (CONN-RACE-03). */
  async #addSiblings(id: string): Promise<void> {
    const entry = this.groups.get(id);
    const all = this.user.siblingsOf(this);
    // The CONN-RACE-03 mutants add fewer, as the accepting client only (it owes the add).
    const siblings = this.#siblingsOwed.has(id) ? siblingsToAdd(this.env, all) : all;
    if (entry === undefined || siblings.length === 0) return;
    const claimed: { keyPackage: Uint8Array; info: CredentialInfo; queue: QueueRef }[] = [];
    for (const sibling of siblings) {
      const kp = await call<{ key_package: string; encrypted_info: string }>(
        this.env,
        this.#own('/_fedconn/v1/qs/key_packages/claim'),
        { body: { queue_id: sibling.queue.queue_id, friendship_token: this.user.friendshipToken } },
      );
      const keyPackage = decodeBase64(kp.key_package);
      const info = openCredentialInfo(this.user.friendshipKey, kp.encrypted_info);
      if (!keyPackage.ok || !info.ok) throw new Error('a sibling KeyPackage does not open');
      const verified = await verifyCredentialInfo({
        info: info.value,
        published: await this.#asCredentials(this.user.serverName),
        now: this.env.clock.now(),
        memo: this.#verified,
      });
      if (!verified.ok || verified.value.clientId.user_id !== this.user.userId) {
        throw new Error('a sibling KeyPackage carries a credential that is not our user’s');
      }
      claimed.push({ keyPackage: keyPackage.value, info: info.value, queue: sibling.queue });
    }
    const decoded = claimed.map((c) => decodeKeyPackage(c.keyPackage));
    const keyPackages = decoded.flatMap((d) => (d.ok ? [d.value] : []));
    if (keyPackages.length !== claimed.length) throw new Error('a sibling KeyPackage is malformed');
    const added = await addClients(entry.group, keyPackages);
    if (!added.ok)
      throw new Error(`cannot add siblings: ${added.error.kind}: ${added.error.detail}`);
    const exported = await exportGroupInfo(added.value.group);
    const joinerInfo = JSON.stringify({
      ear_key: encodeUnpaddedBase64(entry.earKey),
      credential_key: encodeUnpaddedBase64(entry.credentialKey),
      ds_server: entry.dsServer,
    });
    const addedEntries = [];
    for (const [i, c] of claimed.entries()) {
      const initKey = keyPackages[i]?.initKey ?? new Uint8Array();
      const sealed = await hpkeSeal({
        publicKey: initKey,
        plaintext: new TextEncoder().encode(joinerInfo),
        info: JOINER_INFO,
        rng: this.#next('joiner info'),
      });
      if (!sealed.ok) throw new Error(`cannot seal joiner info: ${sealed.error.detail}`);
      addedEntries.push({
        queue: c.queue,
        credential_info: sealCredentialInfo(entry.credentialKey, c.info, this.#next('seal')),
        encrypted_joiner_info: encodeUnpaddedBase64(
          concat(sealed.value.enc, sealed.value.ciphertext),
        ),
      });
    }
    await call(this.env, this.#at(entry.dsServer, `/_fedconn/v1/ds/groups/${id}/commit`), {
      body: {
        ear_key: encodeUnpaddedBase64(entry.earKey),
        commit: encodeUnpaddedBase64(encodeMessage(added.value.commit)),
        group_info: encodeUnpaddedBase64(encodeGroupInfo(exported.groupInfo)),
        ratchet_tree: encodeUnpaddedBase64(encodeRatchetTree(exported.ratchetTree)),
        sender_queue: this.#queue,
        welcome: encodeUnpaddedBase64(encodeWelcome(added.value.welcome)),
        added: addedEntries,
      },
    });
    this.groups.set(id, {
      ...entry,
      group: added.value.group,
      memberUsers: [
        ...entry.memberUsers,
        ...claimed.map((c) => c.info.client_credential.payload.client_id.user_id),
      ],
    });
  }

  // --- QS queue -----------------------------------------------------------------

  async processQsQueue(): Promise<void> {
    return this.#pass(() => this.#processQsQueue());
  }

  async #processQsQueue(): Promise<void> {
    this.#qsPolls++;
    const fetched = await call<{ messages: StoredMessage[] }>(
      this.env,
      this.#own(`/_fedconn/v1/qs/queues/${this.#queue.queue_id}/messages?since=${this.#qsSince}`),
      { signer: { key: this.#queueKey, keyRef: `queue:${this.#queue.queue_id}` } },
    );
    for (const m of fetched.messages) {
      await this.#onQueueMessage(m.message);
      this.#qsSince = m.seq + 1;
    }
  }

  async #onQueueMessage(message: QueueMessage): Promise<void> {
    switch (message.kind) {
      case 'welcome_bundle':
        await this.#onWelcomeBundle(message);
        return;
      case 'commit': {
        const entry = this.groups.get(message.group_id);
        const commit = decodeB64(message.commit, decodeMessage);
        if (entry === undefined || commit === undefined) return;
        const processed = await processCommit(entry.group, commit);
        if (!processed.ok) return;
        // Every member authenticates the members the commit brought (CONN-JOIN-07).
        const users =
          this.env.mutants?.has(TRUST.acceptAnyJoiner) === true
            ? unverifiedUsers(entry.credentialKey, message.credential_infos)
            : await this.#verifyCredentialInfos(
                entry.id,
                entry.credentialKey,
                message.credential_infos,
                processed.value,
                entry.member,
              );
        if (users === undefined) return;
        this.groups.set(entry.id, { ...entry, group: processed.value, memberUsers: users });
        return;
      }
      case 'application': {
        const entry = this.groups.get(message.group_id);
        const msg = decodeB64(message.message, decodeMessage);
        if (entry === undefined || msg === undefined) return;
        const decrypted = await decryptMessage(entry.group, msg);
        if (!decrypted.ok) return;
        this.groups.set(entry.id, { ...entry, group: decrypted.value.group });
        this.events.push({
          type: 'message',
          groupId: entry.id,
          text: new TextDecoder().decode(decrypted.value.plaintext),
        });
        return;
      }
    }
  }

  async #onWelcomeBundle(bundle: Extract<QueueMessage, { kind: 'welcome_bundle' }>): Promise<void> {
    if (this.groups.has(bundle.group_id) || this.#lostRaces.has(bundle.group_id)) return;
    const sealed = decodeBase64(bundle.encrypted_joiner_info);
    if (!sealed.ok || sealed.value.length < 33) return;
    const enc = sealed.value.subarray(0, 32);
    const ciphertext = sealed.value.subarray(32);
    for (const stored of this.#keyPackages) {
      const initKey = storedInitKey(stored);
      const opened = await hpkeOpen({
        keyPair: await hpkeKeyPairFromRaw(initKey.privateKey, initKey.publicKey),
        sealed: { enc, ciphertext },
        info: JOINER_INFO,
      });
      if (!opened.ok) continue;
      const joinerInfo = JSON.parse(new TextDecoder().decode(opened.value)) as {
        ear_key: string;
        credential_key: string;
        ds_server: string;
      };
      const welcome = decodeB64(bundle.welcome, decodeWelcome);
      const tree = decodeB64(bundle.ratchet_tree, decodeRatchetTree);
      const ear = decodeBase64(joinerInfo.ear_key);
      const credKey = decodeBase64(joinerInfo.credential_key);
      if (welcome === undefined || tree === undefined || !ear.ok || !credKey.ok) return;
      const kp = await loadKeyPackage(stored, initKey.publicPackage);
      // The QS hands its last KeyPackage out again and again: every group joined with it
      // must go on drawing from one owner, as before it was stored, not from a fresh replay.
      this.#keyPackages[this.#keyPackages.indexOf(stored)] = { ...stored, owner: kp.owner };
      const joined = await joinByWelcome(welcome, kp, tree);
      if (!joined.ok) return;
      const users = await this.#verifyCredentialInfos(
        bundle.group_id,
        credKey.value,
        bundle.credential_infos,
        joined.value,
        kp.owner,
      );
      if (users === undefined) return;
      this.groups.set(bundle.group_id, {
        id: bundle.group_id,
        group: joined.value,
        member: kp.owner,
        earKey: ear.value,
        credentialKey: credKey.value,
        dsServer: joinerInfo.ds_server,
        memberUsers: users,
      });
      this.events.push({ type: 'joined', groupId: bundle.group_id, via: 'welcome' });
      return;
    }
  }

  // --- Messages -------------------------------------------------------------------

  async send(groupId: string, text: string): Promise<void> {
    const entry = this.groups.get(groupId);
    if (entry === undefined) throw new Error(`not a member of group ${groupId}`);
    const encrypted = await encryptMessage(entry.group, new TextEncoder().encode(text));
    if (!encrypted.ok) throw new Error(`cannot encrypt: ${encrypted.error.kind}`);
    this.groups.set(groupId, { ...entry, group: encrypted.value.group });
    await call(this.env, this.#at(entry.dsServer, `/_fedconn/v1/ds/groups/${groupId}/messages`), {
      body: {
        ear_key: encodeUnpaddedBase64(entry.earKey),
        message: encodeUnpaddedBase64(encodeMessage(encrypted.value.message)),
        sender_queue: this.#queue,
      },
    });
  }

  groupStatus(groupId: string): GroupStatus | undefined {
    const entry = this.groups.get(groupId);
    return entry === undefined
      ? undefined
      : {
          epoch: epochOf(entry.group),
          members: membersOf(entry.group).length,
          ownSignatureKey: entry.member.signaturePublicKey,
        };
  }

  /** Messages this client received, per group. */
  received(groupId: string): string[] {
    return this.events.flatMap((e) =>
      e.type === 'message' && e.groupId === groupId ? [e.text] : [],
    );
  }
}

function decodeB64<T>(
  text: string,
  decode: (bytes: Uint8Array) => { ok: true; value: T } | { ok: false },
): T | undefined {
  const bytes = decodeBase64(text);
  if (!bytes.ok) return undefined;
  const decoded = decode(bytes.value);
  return decoded.ok ? decoded.value : undefined;
}

/** What the initiator's mutants loosen in verifyConnectionPackage. */
function packageLeniency(mutants: ReadonlySet<string> | undefined) {
  const lenient = new Set<ChainLeniency>();
  if (mutants?.has(RESPONDER_CLIENT_MUTANTS.skipUserCheck) === true) lenient.add('skip-user-check');
  if (mutants?.has(INIT.packageSignatureWithoutLifetime) === true)
    lenient.add('uncovered ConnectionPackage payload.lifetime');
  return lenient.size === 0 ? {} : { lenient };
}

/** The checks the reference client's responder mutants loosen (none without mutants). */
function lenientOf(env: ClientEnv) {
  const lenient = responderLeniency(env.mutants);
  return lenient === undefined ? {} : { lenient };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function describe(error: unknown): string {
  return error instanceof RequestFailed || error instanceof Error ? error.message : String(error);
}
