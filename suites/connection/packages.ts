// Connection packages as the AS stores and serves them (CONN-PKG, AS role):
// what it accepts under an alias, that it never serves a package outside its
// lifetime, and that only the owner may upload.
import fc from 'fast-check';
import { generateEd25519KeyPair } from '../../simulator/protocol/crypto/ed25519.ts';
import { fork } from '../../simulator/protocol/crypto/rng.ts';
import { checkProperty, defineCheck, expectThat } from '../harness/check.ts';
import {
  AS,
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
      [fc.constantFrom('full-package', 'with-credential', 'with-signature')] as [
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
        advance((lifeMinutes + pastMinutes) * MINUTE);
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
    advance(10 * MINUTE);
    const o = await send(ctx, `${alias.url}/connection_package`);
    expectRefused(o, 'fetching an alias payload 5 minutes after its lifetime ended');
  },
});

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
      [fc.constantFrom('none', 'other-client', 'forged-key-ref')] as [
        fc.Arbitrary<'none' | 'other-client' | 'forged-key-ref'>,
      ],
      async (attempt) => {
        const r = fork(rng, `run ${run}`);
        const victim = await registerUser(ctx, server, `pkg8-victim${run++}`, r);
        const now = ctx.instance.clock.now();
        const pkg = await makePackage(victim, fork(r, 'package'), lifetimeAround(now));
        const signer =
          attempt === 'none'
            ? undefined
            : attempt === 'other-client'
              ? other.signer
              : { key: other.key, keyRef: victim.signer.keyRef };
        const upload = await send(ctx, `${server.origin}${AS}/connection_packages`, {
          body: { connection_packages: [pkg] },
          ...(signer === undefined ? {} : { signer }),
        });
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
