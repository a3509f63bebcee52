// Connection packages as clients publish them and the AS stores and serves them
// (CONN-PKG): complete and signed, one per client, what the AS accepts under an
// alias, never outside their lifetime, only from their owner, each handed out once.
import { narrowingsOf, type Narrowing } from '../../simulator/protocol/narrowing.ts';
import fc from 'fast-check';
import { generateEd25519KeyPair } from '../../simulator/protocol/crypto/ed25519.ts';
import { fork } from '../../simulator/protocol/crypto/rng.ts';
import { verifyConnectionPackage } from '../../simulator/protocol/packages/connection-package.ts';
import {
  type CheckContext,
  checkProperty,
  defineCheck,
  eachOf,
  expectEqual,
  expectThat,
} from '../harness/check.ts';
import type { TargetServer } from '../harness/target.ts';
import { heldResponder, recordingEnv } from './initiator-support.ts';
import { populate } from '../../simulator/scenario.ts';
import {
  AS,
  fetchCredentials,
  aliasName,
  expectOk,
  expectRefused,
  firstServer,
  lifetimeAround,
  makePackage,
  makePayload,
  registerAlias,
  registerUser,
  rngFor,
  send,
  sendNarrowed,
  show,
  type Outcome,
} from './support.ts';

const MINUTE = 60 * 1000;
const PAYLOAD_FIELDS = ['encryption_key', 'lifetime', 'version'];

const servedPackages = (o: Outcome): readonly unknown[] =>
  o.status === 200
    ? ((o.body as { connection_packages?: unknown[] } | undefined)?.connection_packages ?? [])
    : [];

export const aliasTakesPayloadsOnly = defineCheck({
  name: 'the AS accepts only bare payloads under an alias and serves nothing but key and lifetime',
  rules: ['CONN-PKG-03'],
  profiles: ['aliases'],
  async run(ctx) {
    const server = firstServer(ctx);
    const rng = rngFor(ctx, 'alias payloads');
    const owner = await registerUser(ctx, server, 'pkg3-owner', rng);
    const now = ctx.instance.clock.now();
    let run = 0;
    await checkProperty(
      ctx,
      [eachOf('full-package', 'with-credential', 'with-signature')] as [
        fc.Arbitrary<'full-package' | 'with-credential' | 'with-signature'>,
      ],
      async (shape) => {
        const r = fork(rng, `run ${run}`);
        const alias = await registerAlias(ctx, server, aliasName(ctx, `pkg3-${run++}`), r);
        const full = await makePackage(owner, fork(r, 'package'), lifetimeAround(now));
        const offered =
          shape === 'full-package'
            ? full
            : shape === 'with-credential'
              ? { ...full.payload, client_credential: full.client_credential }
              : { ...full.payload, signature: full.signature };
        const upload = await send(ctx, `${alias.url}/connection_packages`, {
          body: { payloads: [offered] },
          signer: alias.signer,
        });
        expectRefused(upload, `uploading a ${shape} under alias ${alias.alias}`);
        const bare = await makePayload(fork(r, 'payload'), lifetimeAround(now));
        expectOk(
          await send(ctx, `${alias.url}/connection_packages`, {
            body: { payloads: [bare] },
            signer: alias.signer,
          }),
          `uploading a bare payload under alias ${alias.alias}`,
        );
        const served = await send(ctx, `${alias.url}/connection_package`);
        expectOk(served, `fetching the package of alias ${alias.alias}`);
        const pkg = (served.body as { connection_package?: unknown } | undefined)
          ?.connection_package;
        const fields =
          typeof pkg === 'object' && pkg !== null ? Object.keys(pkg).sort() : [String(pkg)];
        expectThat(
          fields.join(',') === PAYLOAD_FIELDS.join(','),
          `alias ${alias.alias} is served something else than a bare payload`,
          `a ConnectionPackagePayload with exactly ${PAYLOAD_FIELDS.join(', ')}`,
          show(served),
        );
      },
      { numRuns: 3 },
    );
  },
});

export const noPackageOutsideLifetime = defineCheck({
  name: 'the AS never serves a connection package whose lifetime has ended or not yet begun',
  rules: ['CONN-PKG-05'],
  profiles: ['multi-device', 'aliases'],
  needs: ['virtual-time'],
  async run(ctx) {
    const advance = ctx.instance.advance;
    if (advance === undefined) throw new Error('this check needs virtual time');
    const server = firstServer(ctx);
    const rng = rngFor(ctx, 'package lifetimes');
    let run = 0;
    await checkProperty(
      ctx,
      [fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 10 * 24 * 60 })],
      async (lifeMinutes, pastMinutes) => {
        const r = fork(rng, `run ${run}`);
        const client = await registerUser(ctx, server, `pkg5-${run++}`, r);
        const now = ctx.instance.clock.now();
        // A package valid now and one that only begins after the first has ended.
        const current = await makePackage(client, fork(r, 'current'), {
          not_before: now - MINUTE,
          not_after: now + lifeMinutes * MINUTE,
        });
        const future = await makePackage(client, fork(r, 'future'), {
          not_before: now + (lifeMinutes + 2 * pastMinutes + 10) * MINUTE,
          not_after: now + (lifeMinutes + 2 * pastMinutes + 20) * MINUTE,
        });
        expectOk(
          await send(ctx, `${server.origin}${AS}/connection_packages`, {
            body: { connection_packages: [current] },
            signer: client.signer,
          }),
          'uploading a package valid now',
        );
        // The AS may refuse a package that is not yet valid; it must never serve it now.
        await send(ctx, `${server.origin}${AS}/connection_packages`, {
          body: { connection_packages: [future] },
          signer: client.signer,
        });
        await advance((lifeMinutes + pastMinutes) * MINUTE);
        const url = `${server.origin}${AS}/users/${encodeURIComponent(client.userId)}/connection_packages`;
        const o = await send(ctx, url);
        const served = servedPackages(o);
        const now2 = ctx.instance.clock.now();
        const outside = served.filter((p) => {
          const life = (p as { payload?: { lifetime?: { not_before: number; not_after: number } } })
            .payload?.lifetime;
          return life === undefined || now2 < life.not_before || now2 > life.not_after;
        });
        expectThat(
          outside.length === 0,
          `the AS served a package outside its lifetime ${pastMinutes} min after it ended`,
          `404 or only packages valid at ${new Date(now2).toISOString()}`,
          show(o),
        );
      },
      { numRuns: 3 },
    );
    // Under an alias too.
    if (ctx.profile !== 'aliases') return;
    const alias = await registerAlias(ctx, server, aliasName(ctx, 'pkg5-alias'), rng);
    const now = ctx.instance.clock.now();
    expectOk(
      await send(ctx, `${alias.url}/connection_packages`, {
        body: {
          payloads: [
            await makePayload(fork(rng, 'alias payload'), lifetimeAround(now, MINUTE, 5 * MINUTE)),
          ],
        },
        signer: alias.signer,
      }),
      'uploading an alias payload valid for 5 minutes',
    );
    await advance(10 * MINUTE);
    const o = await send(ctx, `${alias.url}/connection_package`);
    expectRefused(o, 'fetching an alias payload 5 minutes after its lifetime ended');
  },
});

type UploadAuth = 'none' | 'other-client' | 'forged-key-ref' | Narrowing;

export const uploadsNeedOwner = defineCheck({
  name: 'the AS stores packages only from their owner: no one else, and no unauthenticated caller',
  rules: ['CONN-PKG-08'],
  profiles: ['multi-device', 'aliases'],
  async run(ctx) {
    const server = firstServer(ctx);
    const rng = rngFor(ctx, 'upload auth');
    const other = await registerUser(ctx, server, 'pkg8-other', rng);
    let run = 0;
    await checkProperty(
      ctx,
      [
        eachOf<UploadAuth>(
          'none',
          'other-client',
          'forged-key-ref',
          // The owner's own key over the wrong fields of the request (narrowing.ts).
          ...narrowingsOf(['method', 'uri', 'host', 'key', 'ts', 'content']),
        ),
      ] as [fc.Arbitrary<UploadAuth>],
      async (attempt) => {
        const r = fork(rng, `run ${run}`);
        const victim = await registerUser(ctx, server, `pkg8-victim${run++}`, r);
        const now = ctx.instance.clock.now();
        const pkg = await makePackage(victim, fork(r, 'package'), lifetimeAround(now));
        const uploadUrl = `${server.origin}${AS}/connection_packages`;
        const body = { connection_packages: [pkg] };
        let upload;
        if (attempt === 'none' || attempt === 'other-client' || attempt === 'forged-key-ref') {
          const signer =
            attempt === 'none'
              ? undefined
              : attempt === 'other-client'
                ? other.signer
                : { key: other.key, keyRef: victim.signer.keyRef };
          upload = await send(ctx, uploadUrl, {
            body,
            ...(signer === undefined ? {} : { signer }),
          });
        } else {
          upload = await sendNarrowed(ctx, uploadUrl, body, victim.signer, attempt);
        }
        expectRefused(upload, `uploading ${victim.userId}'s package (auth: ${attempt})`);
        const url = `${server.origin}${AS}/users/${encodeURIComponent(victim.userId)}/connection_packages`;
        const o = await send(ctx, url);
        expectThat(
          servedPackages(o).length === 0,
          `after a refused upload (auth: ${attempt}), ${victim.userId} has packages`,
          'no packages (404)',
          show(o),
        );
        // The owner's own upload goes through.
        expectOk(
          await send(ctx, `${server.origin}${AS}/connection_packages`, {
            body: { connection_packages: [pkg] },
            signer: victim.signer,
          }),
          `${victim.userId} uploading its own package`,
        );
      },
      { numRuns: 3 },
    );
    if (ctx.profile !== 'aliases') return;
    const other2 = await registerAlias(ctx, server, aliasName(ctx, 'pkg8-other'), rng);
    for (const attempt of ['none', 'other-alias', 'forged-key-ref'] as const) {
      const r = fork(rng, attempt);
      const alias = await registerAlias(ctx, server, aliasName(ctx, `pkg8-${attempt}`), r);
      const payload = await makePayload(
        fork(r, 'payload'),
        lifetimeAround(ctx.instance.clock.now()),
      );
      const stranger = await generateEd25519KeyPair(fork(r, 'stranger'));
      const signer =
        attempt === 'none'
          ? undefined
          : attempt === 'other-alias'
            ? other2.signer
            : { key: stranger, keyRef: alias.signer.keyRef };
      const upload = await send(ctx, `${alias.url}/connection_packages`, {
        body: { payloads: [payload] },
        ...(signer === undefined ? {} : { signer }),
      });
      expectRefused(upload, `uploading a payload under alias ${alias.alias} (auth: ${attempt})`);
      const o = await send(ctx, `${alias.url}/connection_package`);
      expectRefused(o, `fetching alias ${alias.alias}'s package after a refused upload`);
    }
  },
});

/** Discovery by user id, as any initiator does it. */
const discover = (ctx: CheckContext, server: TargetServer, userId: string) =>
  send(ctx, `${server.origin}${AS}/users/${encodeURIComponent(userId)}/connection_packages`);

/** Why a served or uploaded package is not a complete package of `userId` signed by its credential. */
async function packageFault(
  ctx: CheckContext,
  server: TargetServer,
  value: unknown,
  userId: string,
): Promise<string | undefined> {
  const verified = await verifyConnectionPackage({
    value,
    now: ctx.instance.clock.now(),
    published: await fetchCredentials(ctx, server),
    expectedUserId: userId,
  });
  return verified.ok ? undefined : `${verified.error.kind}: ${verified.error.detail}`;
}

// --- CONN-PKG-01 ----------------------------------------------------------------------

export const servedPackagesComplete = defineCheck({
  name: 'every package the AS serves by user id carries key, lifetime and a credential of that user, signed by it',
  rules: ['CONN-PKG-01'],
  profiles: ['multi-device', 'aliases'],
  async run(ctx) {
    const server = firstServer(ctx);
    const rng = rngFor(ctx, 'pkg01 served');
    let run = 0;
    await checkProperty(
      ctx,
      [fc.integer({ min: 1, max: 3 })],
      async (devices) => {
        const n = run++;
        const user = await heldResponder(ctx, server, `pkg01-${n}`, devices, fork(rng, `${n}`));
        // Two packages each: the first fetch serves one-time packages, the second the last resorts.
        for (const round of ['first', 'second']) {
          const o = await discover(ctx, server, user.userId);
          expectOk(o, `the ${round} discovery of ${user.userId}`);
          for (const [i, value] of servedPackages(o).entries()) {
            const fault = await packageFault(ctx, server, value, user.userId);
            expectThat(
              fault === undefined,
              `package ${i} served by the ${round} discovery of ${user.userId} is not a complete package signed by its credential`,
              'encryption key, lifetime, client credential of the user, and a signature by it over them',
              `${fault ?? ''}: ${JSON.stringify(value).slice(0, 300)}`,
            );
          }
        }
      },
      { numRuns: 3 },
    );
  },
});

export const clientsPublishSignedPackages = defineCheck({
  name: 'every client publishes packages with key, lifetime and its own credential, signed by that credential',
  rules: ['CONN-PKG-01'],
  profiles: ['multi-device', 'aliases'],
  needs: ['reference-client'],
  // What the clients upload, whatever the AS does with it: the AS half is the check above.
  roles: ['CLIENT'],
  async run(ctx) {
    const server = firstServer(ctx);
    let run = 0;
    await checkProperty(
      ctx,
      [fc.integer({ min: 1, max: 2 })],
      async (devices) => {
        const { env, log } = recordingEnv(ctx, `pkg01 clients ${run}`);
        let failed: string | undefined;
        try {
          await populate(env, {
            servers: [server.serverName],
            usersPerServer: 1,
            devicesPerUser: devices,
            profile: ctx.instance.profile,
            userPrefix: `${ctx.instance.namespace}pkg01c-${run++}-`,
          });
        } catch (error) {
          failed = error instanceof Error ? error.message : String(error);
        }
        const uploads = log.filter(
          (s) => s.method === 'POST' && s.path === `${AS}/connection_packages`,
        );
        const uploaders = new Set<string>();
        for (const upload of uploads) {
          const uploader = upload.keyRef?.replace(/^client:/, '') ?? 'nobody';
          uploaders.add(uploader);
          const userId = uploader.slice(0, uploader.lastIndexOf('/'));
          const packages =
            (upload.body as { connection_packages?: unknown[] } | undefined)?.connection_packages ??
            [];
          for (const [i, value] of packages.entries()) {
            const fault = await packageFault(ctx, server, value, userId);
            const credential = (
              value as { client_credential?: { payload?: { client_id?: unknown } } }
            ).client_credential?.payload?.client_id as
              { user_id: string; client: string } | undefined;
            const own =
              credential !== undefined && `${credential.user_id}/${credential.client}` === uploader;
            expectThat(
              fault === undefined && own,
              `package ${i} uploaded by ${uploader} is not a complete package carrying its own credential, signed by it`,
              `encryption key, lifetime, ${uploader}'s client credential, and a signature by it over them`,
              `${fault ?? (own ? '' : 'another credential')}: ${JSON.stringify(value).slice(0, 300)}`,
            );
          }
        }
        expectEqual(
          uploaders.size,
          devices,
          `clients of a user with ${devices} that published packages`,
        );
        expectEqual(
          failed,
          undefined,
          `registering a user with ${devices} clients and their packages`,
        );
      },
      { numRuns: 2 },
    );
  },
});

// --- CONN-PKG-02 ----------------------------------------------------------------------

export const discoveryYieldsEveryClient = defineCheck({
  name: 'discovery by user id yields one package for each of the user’s clients',
  rules: ['CONN-PKG-02'],
  profiles: ['multi-device'],
  async run(ctx) {
    const server = firstServer(ctx);
    const rng = rngFor(ctx, 'pkg02');
    let run = 0;
    await checkProperty(
      ctx,
      [fc.integer({ min: 1, max: 5 })],
      async (devices) => {
        const n = run++;
        const user = await heldResponder(ctx, server, `pkg02-${n}`, devices, fork(rng, `${n}`), 1);
        const o = await discover(ctx, server, user.userId);
        expectOk(o, `discovering ${user.userId}`);
        const named = servedPackages(o)
          .map((p) => {
            const id = (
              p as { client_credential?: { payload?: { client_id?: { client?: string } } } }
            ).client_credential?.payload?.client_id;
            return id?.client ?? 'a package naming no client';
          })
          .sort();
        expectEqual(
          named,
          user.clients.map((c) => c.registered.client).sort(),
          `the clients named by the packages served for ${user.userId} (${devices} clients, each published)`,
        );
      },
      { numRuns: 4 },
    );
  },
});

// --- CONN-PKG-07 ----------------------------------------------------------------------

type Served = readonly string[];

/** Why a sequence of served keys breaks "at most once, except the last resort", or undefined. */
function handOutFault(uploaded: readonly string[], served: Served, ordered: boolean) {
  const counts = new Map<string, number>();
  for (const key of served) counts.set(key, (counts.get(key) ?? 0) + 1);
  const repeated = [...counts].filter(([, c]) => c > 1).map(([k]) => k);
  const unknown = served.filter((k) => !uploaded.includes(k));
  if (unknown.length > 0) return `served keys that were never uploaded: ${unknown.join(', ')}`;
  if (repeated.length > 1)
    return `${repeated.length} different packages were served more than once`;
  const unserved = uploaded.filter((k) => !counts.has(k));
  if (unserved.length > 0)
    return `${unserved.length} of ${uploaded.length} packages were never served, while one was served again`;
  if (ordered && repeated.length === 1) {
    const again = served.indexOf(repeated[0] ?? '', served.indexOf(repeated[0] ?? '') + 1);
    if (new Set(served.slice(0, again)).size < uploaded.length)
      return 'the last-resort package was served again before every other package was used';
  }
  return undefined;
}

export const packagesHandedOutOnce = defineCheck({
  name: 'each connection package is handed out at most once, except the last-resort package',
  rules: ['CONN-PKG-07'],
  profiles: ['multi-device', 'aliases'],
  async run(ctx) {
    const server = firstServer(ctx);
    const rng = rngFor(ctx, 'pkg07');
    const vias =
      ctx.profile === 'aliases' ? (['user-id', 'alias'] as const) : (['user-id'] as const);
    let run = 0;
    await checkProperty(
      ctx,
      [
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 3 }),
        fc.boolean(),
        eachOf<'user-id' | 'alias'>(...vias),
      ],
      async (count, extra, concurrent, via) => {
        const n = run++;
        const r = fork(rng, `run ${n}`);
        const now = ctx.instance.clock.now();
        let url: string;
        let uploaded: string[];
        if (via === 'user-id') {
          const client = await registerUser(ctx, server, `pkg07-${n}`, r);
          const packages = [];
          for (let i = 0; i < count; i++)
            packages.push(await makePackage(client, fork(r, `${i}`), lifetimeAround(now)));
          expectOk(
            await send(ctx, `${server.origin}${AS}/connection_packages`, {
              body: { connection_packages: packages },
              signer: client.signer,
            }),
            `uploading ${count} packages`,
          );
          uploaded = packages.map((p) => p.payload.encryption_key);
          url = `${server.origin}${AS}/users/${encodeURIComponent(client.userId)}/connection_packages`;
        } else {
          const alias = await registerAlias(ctx, server, aliasName(ctx, `pkg07-${n}`), r);
          const payloads = [];
          for (let i = 0; i < count; i++)
            payloads.push(await makePayload(fork(r, `${i}`), lifetimeAround(now)));
          expectOk(
            await send(ctx, `${alias.url}/connection_packages`, {
              body: { payloads },
              signer: alias.signer,
            }),
            `uploading ${count} payloads under alias ${alias.alias}`,
          );
          uploaded = payloads.map((p) => p.encryption_key);
          url = `${alias.url}/connection_package`;
        }
        const fetchOne = async () => {
          const o = await send(ctx, url);
          expectOk(o, `fetching a package (${via})`);
          const body = o.body as {
            connection_packages?: { payload?: { encryption_key?: string } }[];
            connection_package?: { encryption_key?: string };
          };
          return (
            (via === 'user-id'
              ? body.connection_packages?.[0]?.payload?.encryption_key
              : body.connection_package?.encryption_key) ?? 'no key'
          );
        };
        const fetches = count + extra;
        const served: string[] = [];
        if (concurrent)
          served.push(...(await Promise.all(Array.from({ length: fetches }, fetchOne))));
        else for (let i = 0; i < fetches; i++) served.push(await fetchOne());
        const fault = handOutFault(uploaded, served, !concurrent);
        const index = new Map(uploaded.map((k, i) => [k, `#${i}`]));
        expectThat(
          fault === undefined,
          `${count} packages under a ${via}, fetched ${fetches} times ${concurrent ? 'concurrently' : 'one after another'}: ${fault ?? ''}`,
          `each package served once, then only one last-resort package again`,
          served.map((k) => index.get(k) ?? k).join(' '),
        );
      },
      { numRuns: 6 },
    );
  },
});
