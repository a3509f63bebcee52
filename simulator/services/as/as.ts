// The Authentication Service: users and their clients' credentials, connection
// packages under user ids and payloads under aliases, and the direct and alias
// queues through which establishment packages reach responders. See
// docs/binding.md, "Authentication Service".
import type { Context } from 'hono';
import { z } from 'zod';
import { fork } from '../../protocol/crypto/rng.ts';
import { decodeBase64, base64Text } from '../../protocol/encoding/base64.ts';
import {
  verifyLabelled,
  type AsCredentialsResponse,
  type ChainLeniency,
} from '../../protocol/credentials/chain.ts';
import {
  fingerprint,
  signRequest,
  userDomain,
  type ClientCredential,
  type ClientId,
} from '../../protocol/credentials/credential.ts';
import { nestsWithin, validityAt } from '../../protocol/credentials/expiration.ts';
import { VerifiedSignatures } from '../../protocol/credentials/verified-signatures.ts';
import { clientCredentialSchema } from '../../protocol/credentials/schema.ts';
import {
  verifyConnectionPackage,
  verifyConnectionPackagePayload,
  type ConnectionPackage,
  type ConnectionPackagePayload,
} from '../../protocol/packages/connection-package.ts';
import { sealedCepSchema } from '../../protocol/packages/establishment-package.ts';
import { authenticateClient, demandClientSignature } from '../../homeserver/client-auth.ts';
import { isMutant, type HomeserverContext } from '../../homeserver/context.ts';
import { DISCOVERY_MUTANTS, IDENTIFYING_MUTANTS, PHOENIX_MUTANTS } from '../phoenix-mutants.ts';
import { fail, readJson, router } from '../../homeserver/http.ts';
import { provisioningDenied } from '../../federation/provisioning.ts';
import { Table } from '../../net/store.ts';
import { createAuthority, type Authority } from './authority.ts';

export const AS_PREFIX = '/_fedconn/v1/as';
const MAX_DEQUEUE = 100;

interface QueuedMessage {
  readonly seq: number;
  readonly message: unknown;
}
interface Queue {
  readonly next: number;
  readonly messages: readonly QueuedMessage[];
}

const csrSchema = z.strictObject({
  csr: z.strictObject({
    payload: clientCredentialSchema.shape.payload,
    self_signature: base64Text,
  }),
});
const aliasName = z.string().regex(/^[a-z0-9._=-]{1,255}$/, 'aliases are 1-255 of [a-z0-9._=-]');

// Request bodies, built once: zod compiles a schema on its first parse, so a schema
// made per request costs a compile (about 0.1 ms) every time.
const provisionUserBody = z.strictObject({ user_id: z.string().regex(/^@[^:]+:.+$/) });
const revokeBody = z.strictObject({ fingerprint: z.string().min(1) });
const publishPackagesBody = z.strictObject({
  connection_packages: z.array(z.unknown()).min(1).max(100),
});
// A CEP for a client queue or an alias queue: the same body.
const enqueueCepBody = z.strictObject({ message: sealedCepSchema });
const registerAliasBody = z.strictObject({ auth_key: base64Text });
const publishAliasPayloadsBody = z.strictObject({ payloads: z.array(z.unknown()).min(1).max(100) });

export function authenticationService(ctx: HomeserverContext) {
  const app = router();
  const users = new Table<{ readonly user_id: string }>('as_users', ctx.recorder);
  const clients = new Table<{ readonly client_credential: ClientCredential }>(
    'as_clients',
    ctx.recorder,
  ).index('user', (row) => row.client_credential.payload.client_id.user_id);
  const packages = new Table<{ readonly owner: string; readonly package: ConnectionPackage }>(
    'as_connection_packages',
    ctx.recorder,
  ).index('owner', (row) => row.owner);
  const aliases = new Table<{ readonly alias: string; readonly auth_key: string }>(
    'as_aliases',
    ctx.recorder,
  );
  const aliasPayloads = new Table<{
    readonly alias: string;
    readonly payload: ConnectionPackagePayload;
  }>('as_alias_payloads', ctx.recorder).index('alias', (row) => row.alias);
  const queues = new Table<Queue>('as_queues', ctx.recorder);
  // Fingerprints of credentials this AS revoked (CRED-CHAIN-02), published with its credentials.
  const revoked = new Table<{ readonly fingerprint: string }>('as_revoked', ctx.recorder);
  let rowId = 0;
  const nextId = () => `r${(rowId++).toString(36)}`;

  // Every package a client publishes carries the same chain (this AS's own credentials
  // and the client's): its signatures are verified once per AS, as a server would.
  const verifiedSignatures = new VerifiedSignatures();
  let authority: Promise<Authority> | undefined;
  const getAuthority = () =>
    (authority ??= createAuthority({
      domain: ctx.config.serverName,
      rng: fork(ctx.rng, 'authority'),
      now: ctx.clock.now(),
    }));
  const published = async (): Promise<AsCredentialsResponse> => {
    const a = await getAuthority();
    return {
      as_credentials: [a.asCredential],
      as_intermediate_credentials: [a.intermediate],
      revoked_fingerprints: isMutant(ctx, PHOENIX_MUTANTS.revocationsNeverPublished)
        ? []
        : revoked.values().map((r) => r.fingerprint),
    };
  };

  // Key references for signed requests: client:<user_id>/<client> and alias:<alias>.
  const resolveKey = (keyRef: string): Uint8Array | undefined => {
    const [kind, ...rest] = keyRef.split(':');
    const name = rest.join(':');
    const text =
      kind === 'client'
        ? clients.get(name)?.client_credential.payload.verifying_key
        : kind === 'alias'
          ? aliases.get(name)?.auth_key
          : undefined;
    const key = text === undefined ? undefined : decodeBase64(text);
    return key?.ok === true ? key.value : undefined;
  };

  const enqueue = (queueKey: string, message: unknown) => {
    const queue = queues.get(queueKey) ?? { next: 0, messages: [] };
    queues.put(queueKey, {
      next: queue.next + 1,
      messages: [...queue.messages, { seq: queue.next, message }],
    });
  };

  /** Dequeue semantics: messages below `since` are deleted; those from `since` on are returned. */
  const dequeue = (c: Context, queueKey: string) => {
    const since = Number(c.req.query('since') ?? '0');
    if (!Number.isSafeInteger(since) || since < 0)
      return fail('M_INVALID_PARAM', 'since must be a non-negative integer');
    const queue = queues.get(queueKey) ?? { next: 0, messages: [] };
    const kept = queue.messages.filter((m) => m.seq >= since);
    if (kept.length !== queue.messages.length) queues.put(queueKey, { ...queue, messages: kept });
    return c.json({ messages: kept.slice(0, MAX_DEQUEUE), next: queue.next });
  };

  app.get(`${AS_PREFIX}/credentials`, async (c) => {
    const creds = await published();
    if (!isMutant(ctx, PHOENIX_MUTANTS.intermediateNotSignedByAs)) return c.json(creds);
    const a = await getAuthority();
    const selfIssued = await signRequest(
      'AsIntermediateCredential',
      a.intermediateKey,
      a.intermediate,
    );
    return c.json({ ...creds, as_intermediate_credentials: [selfIssued] });
  });

  // --- Provisioning and registration -----------------------------------------------

  app.post('/_fedconn/v1/provision/users', async (c) => {
    const denied = provisioningDenied(ctx, c);
    if (denied !== undefined) return denied;
    const body = await readJson(c, provisionUserBody);
    if (!body.ok) return body.error;
    const { user_id } = body.value;
    if (userDomain(user_id) !== ctx.config.serverName)
      return fail('M_INVALID_PARAM', `${user_id} is not a user of ${ctx.config.serverName}`);
    if (users.has(user_id)) return fail('M_CONFLICT', `${user_id} already exists`);
    users.put(user_id, { user_id });
    return c.json({});
  });

  // Revokes a credential by its fingerprint: an intermediate of this AS or a client
  // credential it issued. Test-only, like every provisioning verb.
  app.post('/_fedconn/v1/provision/as/revoke', async (c) => {
    const denied = provisioningDenied(ctx, c);
    if (denied !== undefined) return denied;
    const body = await readJson(c, revokeBody);
    if (!body.ok) return body.error;
    const { fingerprint: revokedFingerprint } = body.value;
    const a = await getAuthority();
    const known =
      revokedFingerprint === fingerprint(a.intermediate) ||
      clients.values().some((r) => fingerprint(r.client_credential) === revokedFingerprint);
    if (!known) return fail('M_NOT_FOUND', 'no credential of this AS has that fingerprint');
    revoked.put(revokedFingerprint, { fingerprint: revokedFingerprint });
    return c.json({});
  });

  app.post(`${AS_PREFIX}/clients`, async (c) => {
    const denied = provisioningDenied(ctx, c);
    if (denied !== undefined) return denied;
    const body = await readJson(c, csrSchema);
    if (!body.ok) return body.error;
    const csr = body.value.csr;
    const { user_id, client } = csr.payload.client_id;
    const a = await getAuthority();
    if (!users.has(user_id)) return fail('M_NOT_FOUND', `no user ${user_id}`);
    if (clients.has(`${user_id}/${client}`))
      return fail('M_CONFLICT', `client ${client} of ${user_id} exists`);
    if (csr.payload.signer_fingerprint !== fingerprint(a.intermediate)) {
      return fail(
        'M_INVALID_PARAM',
        'signer_fingerprint does not name this AS intermediate credential',
      );
    }
    const window = csr.payload.expiration_data;
    const nests =
      nestsWithin(window, a.intermediate.payload.expiration_data) ||
      isMutant(ctx, PHOENIX_MUTANTS.issueBeyondIntermediate);
    const valid =
      validityAt(window, ctx.clock.now()) === 'valid' ||
      isMutant(ctx, PHOENIX_MUTANTS.issueOutsideValidity);
    if (!nests || !valid) {
      return fail(
        'M_INVALID_PARAM',
        'expiration_data must be valid now and lie within the intermediate credential',
      );
    }
    // Proof of possession (CRED-CHAIN-08): the CSR is signed by the key it names.
    const key = decodeBase64(csr.payload.verifying_key);
    const selfSignature = decodeBase64(csr.self_signature);
    // Strictly (CRED-CHAIN-07, -10, -11): its own label, canonical S, no small-order key.
    const possession =
      key.ok && selfSignature.ok
        ? await verifyLabelled(
            key.value,
            'ClientCredentialSelfSigned',
            csr.payload,
            selfSignature.value,
            leniencyOf(ctx),
          )
        : { ok: false };
    if (!possession.ok && !isMutant(ctx, PHOENIX_MUTANTS.skipPossessionCheck))
      return fail('M_FORBIDDEN', 'the CSR self-signature does not verify (no proof of possession)');
    const credential = await signRequest('ClientCredential', a.intermediateKey, csr);
    clients.put(`${user_id}/${client}`, { client_credential: credential });
    return c.json({ client_credential: credential });
  });

  // --- Connection packages under the user id --------------------------------------

  app.post(`${AS_PREFIX}/connection_packages`, async (c) => {
    const body = await readJson(c, publishPackagesBody);
    if (!body.ok) return body.error;
    const auth = await authenticateClient(ctx, c, body.value, resolveKey);
    const unchecked = isMutant(ctx, PHOENIX_MUTANTS.acceptUnauthenticatedUploads);
    if (!auth.ok && !unchecked) return auth.response;
    if (auth.ok && !auth.keyRef.startsWith('client:'))
      return fail('M_FORBIDDEN', 'packages under a user id need client credential authentication');
    // The mutant takes the owner from the first package's credential instead of the signer.
    const claimed = (
      body.value.connection_packages[0] as
        { client_credential?: { payload?: { client_id?: Partial<ClientId> } } } | undefined
    )?.client_credential?.payload?.client_id;
    const owner =
      auth.ok && !unchecked
        ? auth.keyRef.slice('client:'.length)
        : `${claimed?.user_id ?? ''}/${claimed?.client ?? ''}`;
    const registered = clients.get(owner);
    if (registered === undefined) return fail('M_UNKNOWN_TOKEN', 'unknown client');
    const creds = await published();
    const userId = registered.client_credential.payload.client_id.user_id;
    const accepted: ConnectionPackage[] = [];
    for (const [i, value] of body.value.connection_packages.entries()) {
      const verified = await verifyConnectionPackage({
        value,
        now: ctx.clock.now(),
        published: creds,
        expectedUserId: userId,
        memo: verifiedSignatures,
      });
      if (!verified.ok)
        return fail(
          'M_INVALID_PARAM',
          `connection_packages[${i}]: ${verified.error.kind}: ${verified.error.detail}`,
        );
      if (
        !unchecked &&
        fingerprint(verified.value.package.client_credential) !==
          fingerprint(registered.client_credential)
      ) {
        return fail('M_FORBIDDEN', `connection_packages[${i}] carries another client's credential`);
      }
      accepted.push(verified.value.package);
    }
    for (const pkg of accepted) packages.put(nextId(), { owner, package: pkg });
    return c.json({ stored: accepted.length });
  });

  // The mutant demands a client credential signature on discovery (CONN-DISC-01).
  /** Under `mutant`, what a request must name that the protocol keeps out of it. */
  const demanded = (c: Context, mutant: string, what: string) =>
    isMutant(ctx, mutant) ? demandClientSignature(c, what) : undefined;

  const discoveryDenied = async (c: Context): Promise<Response | undefined> => {
    if (!isMutant(ctx, PHOENIX_MUTANTS.discoveryNeedsCredential)) return undefined;
    const auth = await authenticateClient(ctx, c, undefined, resolveKey);
    if (!auth.ok) return auth.response;
    return auth.keyRef.startsWith('client:')
      ? undefined
      : fail('M_FORBIDDEN', 'discovery needs a client credential');
  };

  app.get(`${AS_PREFIX}/users/:userId/connection_packages`, async (c) => {
    const denied = await discoveryDenied(c);
    if (denied !== undefined) return denied;
    const userId = c.req.param('userId');
    if (!users.has(userId)) return fail('M_NOT_FOUND', `no user ${userId}`);
    const now = ctx.clock.now();
    const owners = clients.where('user', userId).map(([k]) => k);
    const served: ConnectionPackage[] = [];
    for (const owner of owners) {
      const mine = packages.where('owner', owner);
      // Expired packages are never served (CONN-PKG-05); they are removed when met.
      const ignoreLifetimes = isMutant(ctx, PHOENIX_MUTANTS.serveExpiredPackages);
      const usable = mine.filter(([id, v]) => {
        if (ignoreLifetimes) return true;
        const valid = validityAt(v.package.payload.lifetime, now) === 'valid';
        if (!valid && validityAt(v.package.payload.lifetime, now) === 'expired')
          packages.delete(id);
        return valid;
      });
      const first = usable[0];
      if (first === undefined) continue;
      // One-time use, except the last package, which stays as a last resort (CONN-PKG-07).
      if (usable.length > 1 && !isMutant(ctx, DISCOVERY_MUTANTS.serveSamePackage))
        packages.delete(first[0]);
      served.push(first[1].package);
      if (ctx.config.profile === 'aliases') break;
      if (isMutant(ctx, DISCOVERY_MUTANTS.serveFirstClientOnly)) break;
    }
    if (served.length === 0) return fail('M_NOT_FOUND', `${userId} has no connection packages`);
    if (isMutant(ctx, DISCOVERY_MUTANTS.serveWithoutSignature)) {
      const unsigned = served.map((p) => ({
        payload: p.payload,
        client_credential: p.client_credential,
      }));
      return c.json({ connection_packages: unsigned });
    }
    return c.json({ connection_packages: served });
  });

  // --- Direct queues: establishment packages for a client ---------------------------

  app.post(`${AS_PREFIX}/clients/:userId/:client/queue`, async (c) => {
    const owner = `${c.req.param('userId')}/${c.req.param('client')}`;
    if (!clients.has(owner)) return fail('M_NOT_FOUND', `no client ${owner}`);
    const identify = demanded(c, IDENTIFYING_MUTANTS.deliveryNamesSender, 'a delivery');
    if (identify !== undefined) return identify;
    const body = await readJson(c, enqueueCepBody);
    if (!body.ok) return body.error;
    enqueue(`client:${owner}`, body.value.message);
    return c.json({});
  });

  app.get(`${AS_PREFIX}/queue`, async (c) => {
    const auth = await authenticateClient(ctx, c, undefined, resolveKey);
    if (!auth.ok) return auth.response;
    return dequeue(c, auth.keyRef);
  });

  // --- Aliases ------------------------------------------------------------------

  const aliasParam = (c: Context) => aliasName.safeParse(c.req.param('alias'));

  app.put(`${AS_PREFIX}/aliases/:alias`, async (c) => {
    const alias = aliasParam(c);
    if (!alias.success) return fail('M_INVALID_PARAM', 'bad alias');
    const identify = demanded(
      c,
      IDENTIFYING_MUTANTS.aliasRegistrationNamesOwner,
      'an alias registration',
    );
    if (identify !== undefined) return identify;
    const body = await readJson(c, registerAliasBody);
    if (!body.ok) return body.error;
    const key = decodeBase64(body.value.auth_key);
    if (!key.ok || key.value.length !== 32)
      return fail('M_INVALID_PARAM', 'auth_key must be a 32-byte Ed25519 key');
    if (aliases.has(alias.data) && !isMutant(ctx, PHOENIX_MUTANTS.overwriteAlias))
      return fail('M_CONFLICT', `alias ${alias.data} is taken`);
    aliases.put(alias.data, { alias: alias.data, auth_key: body.value.auth_key });
    return c.json({});
  });

  const authenticateAlias = async (c: Context, alias: string, content: unknown) => {
    const auth = await authenticateClient(ctx, c, content, resolveKey);
    if (!auth.ok) return auth;
    if (auth.keyRef !== `alias:${alias}`) {
      return {
        ok: false as const,
        response: fail('M_FORBIDDEN', `only the holder of alias ${alias}'s key may do this`),
      };
    }
    return auth;
  };

  app.delete(`${AS_PREFIX}/aliases/:alias`, async (c) => {
    const alias = aliasParam(c);
    if (!alias.success || !aliases.has(alias.data)) return fail('M_NOT_FOUND', 'no such alias');
    const auth = await authenticateAlias(c, alias.data, undefined);
    if (!auth.ok) return auth.response;
    aliases.delete(alias.data);
    if (!isMutant(ctx, PHOENIX_MUTANTS.deleteOnlyAliasEntry)) {
      queues.delete(`alias:${alias.data}`);
      for (const [id] of aliasPayloads.where('alias', alias.data)) aliasPayloads.delete(id);
    }
    return c.json({});
  });

  app.post(`${AS_PREFIX}/aliases/:alias/connection_packages`, async (c) => {
    const alias = aliasParam(c);
    if (!alias.success || !aliases.has(alias.data)) return fail('M_NOT_FOUND', 'no such alias');
    const body = await readJson(c, publishAliasPayloadsBody);
    if (!body.ok) return body.error;
    const identify = demanded(c, IDENTIFYING_MUTANTS.aliasPayloadsNameUser, 'an alias upload');
    if (identify !== undefined) return identify;
    const auth = await authenticateAlias(c, alias.data, body.value);
    if (!auth.ok && !isMutant(ctx, PHOENIX_MUTANTS.acceptUnauthenticatedUploads))
      return auth.response;
    const accepted: ConnectionPackagePayload[] = [];
    for (const [i, value] of body.value.payloads.entries()) {
      if (
        isMutant(ctx, PHOENIX_MUTANTS.acceptFullPackageUnderAlias) &&
        typeof value === 'object' &&
        value !== null &&
        'payload' in value
      ) {
        // The mutant stores a full package, credential and signature included.
        accepted.push(value as unknown as ConnectionPackagePayload);
        continue;
      }
      // Payloads only: a credential or signature here would tie the alias to a user (CONN-PKG-03).
      const verified = verifyConnectionPackagePayload(value, ctx.clock.now());
      if (!verified.ok)
        return fail(
          'M_INVALID_PARAM',
          `payloads[${i}]: ${verified.error.kind}: ${verified.error.detail}`,
        );
      accepted.push(verified.value.payload);
    }
    for (const payload of accepted) aliasPayloads.put(nextId(), { alias: alias.data, payload });
    return c.json({ stored: accepted.length });
  });

  app.get(`${AS_PREFIX}/aliases/:alias/connection_package`, async (c) => {
    const denied = await discoveryDenied(c);
    if (denied !== undefined) return denied;
    const alias = aliasParam(c);
    if (!alias.success || !aliases.has(alias.data)) return fail('M_NOT_FOUND', 'no such alias');
    const now = ctx.clock.now();
    const usable = aliasPayloads
      .where('alias', alias.data)
      .filter(
        ([, v]) =>
          isMutant(ctx, PHOENIX_MUTANTS.serveExpiredPackages) ||
          validityAt(v.payload.lifetime, now) === 'valid',
      );
    const first = usable[0];
    if (first === undefined)
      return fail('M_NOT_FOUND', `alias ${alias.data} has no connection packages`);
    if (usable.length > 1 && !isMutant(ctx, DISCOVERY_MUTANTS.serveSamePackage))
      aliasPayloads.delete(first[0]);
    return c.json({ connection_package: first[1].payload });
  });

  app.post(`${AS_PREFIX}/aliases/:alias/queue`, async (c) => {
    const alias = aliasParam(c);
    if (!alias.success || !aliases.has(alias.data)) return fail('M_NOT_FOUND', 'no such alias');
    const identify = demanded(c, IDENTIFYING_MUTANTS.deliveryNamesSender, 'a delivery');
    if (identify !== undefined) return identify;
    const body = await readJson(c, enqueueCepBody);
    if (!body.ok) return body.error;
    enqueue(`alias:${alias.data}`, body.value.message);
    return c.json({});
  });

  app.get(`${AS_PREFIX}/aliases/:alias/queue`, async (c) => {
    const alias = aliasParam(c);
    if (!alias.success || !aliases.has(alias.data)) return fail('M_NOT_FOUND', 'no such alias');
    if (isMutant(ctx, PHOENIX_MUTANTS.dequeueWithoutAuth)) return dequeue(c, `alias:${alias.data}`);
    const identify = demanded(c, IDENTIFYING_MUTANTS.aliasQueueNamesClient, 'an alias dequeue');
    if (identify !== undefined) return identify;
    const auth = await authenticateAlias(c, alias.data, undefined);
    if (!auth.ok) return auth.response;
    return dequeue(c, auth.keyRef);
  });

  return app;
}

/** How the AS's CSR verification is loosened by its mutants (none in a correct AS). */
function leniencyOf(ctx: HomeserverContext): ReadonlySet<ChainLeniency> {
  const lenient = new Set<ChainLeniency>();
  if (isMutant(ctx, PHOENIX_MUTANTS.acceptAnyLabel)) lenient.add('any-label');
  if (isMutant(ctx, PHOENIX_MUTANTS.acceptMalleatedSignature)) lenient.add('malleable-signatures');
  if (isMutant(ctx, PHOENIX_MUTANTS.acceptSmallOrderKeys)) lenient.add('small-order-keys');
  return lenient;
}
