// The initiator uses only packages it verified (CONN-PKG-05 and -06, CLIENT role):
// fedconn serves the responder's homeserver itself (an impostor AS for
// a forged domain) and hands the reference client forged, tampered, foreign or
// stale packages; the initiator must refuse each, create no group and send nothing.
import { signWithLabel } from '../../simulator/protocol/labels.ts';
import { encodeUnpaddedBase64 } from '../../simulator/protocol/encoding/base64.ts';
import { narrowed, narrowingsOf, type Narrowing } from '../../simulator/protocol/narrowing.ts';
import fc from 'fast-check';
import type { PhoenixDevice } from '../../simulator/clients/phoenix/handle.ts';
import { fork, type Rng } from '../../simulator/protocol/crypto/rng.ts';
import type { AsCredentialsResponse } from '../../simulator/protocol/credentials/chain.ts';
import type { ExpirationData } from '../../simulator/protocol/credentials/expiration.ts';
import {
  createConnectionPackage,
  createConnectionPackagePayload,
  type ConnectionPackage,
} from '../../simulator/protocol/packages/connection-package.ts';
import {
  type CheckContext,
  checkProperty,
  defineCheck,
  eachOf,
  expectThat,
} from '../harness/check.ts';
import { referenceUser, type Sent } from './initiator-support.ts';
import { flipped, forgeChain, FORGED_DOMAIN, forgedUser } from './responder-support.ts';
import { AS, firstServer, rngFor } from './support.ts';
import { hostNamed } from '../harness/peers.ts';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const ALIAS = 'forged-alias';
const NEEDS = ['reference-client', 'impostor'] as const;
// Each check judges the initiator alone: fedconn plays the servers, so a server half of a rule
// (an AS's own obligations) is another check's, and a real target gets `n/a` here.
const ROLES = ['CLIENT'] as const;

type Via = 'user-id' | 'alias';

/** What the impostor AS serves: its credentials, the packages of any user, one alias payload. */
interface Served {
  readonly published: AsCredentialsResponse;
  readonly packages: readonly unknown[];
  readonly payload?: unknown;
}

/** The reference initiator and the impostor AS of a forged domain it connects to. */
async function impostorStage(ctx: CheckContext, label: string) {
  const { user, log } = await referenceUser(ctx, firstServer(ctx), label, 1);
  let served: Served = {
    published: { as_credentials: [], as_intermediate_credentials: [], revoked_fingerprints: [] },
    packages: [],
  };
  const domain = await hostNamed(ctx, FORGED_DOMAIN, (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname);
    if (request.method === 'GET' && path === `${AS}/credentials`)
      return Promise.resolve(Response.json(served.published));
    if (request.method === 'GET' && path.endsWith('/connection_packages'))
      return Promise.resolve(Response.json({ connection_packages: served.packages }));
    if (request.method === 'GET' && path.endsWith('/connection_package'))
      return Promise.resolve(Response.json({ connection_package: served.payload }));
    return Promise.resolve(Response.json({}));
  });
  const initiator: PhoenixDevice = user.primary;
  /** Serves `offer`, lets the initiator connect, and reports what it did. */
  const offer = async (next: Served, target: Via) => {
    served = next;
    const mark = log.length;
    const groups = initiator.groups.size;
    let threw: string | undefined;
    try {
      await initiator.connect(
        target === 'user-id' ? { userId: forgedUser(domain) } : { alias: ALIAS, server: domain },
      );
    } catch (error) {
      threw = error instanceof Error ? error.message : String(error);
    }
    const sent = log.slice(mark).filter((s: Sent) => s.method === 'POST');
    return {
      threw,
      deliveries: sent.filter((s) => s.path.endsWith('/queue')).length,
      groupsCreated: sent.filter((s) => s.path.endsWith('/ds/groups')).length,
      newGroups: initiator.groups.size - groups,
    };
  };
  return { offer, domain, sender: forgedUser(domain) };
}

/** A package of the forged domain's sender, under a fresh forged chain, with the given lifetime. */
async function forgedPackage(rng: Rng, now: number, domain: string, lifetime?: ExpirationData) {
  const chain = await forgeChain(fork(rng, 'chain'), now, domain);
  const made = await createConnectionPackage({
    rng: fork(rng, 'package'),
    lifetime: lifetime ?? { not_before: now - MINUTE, not_after: now + 30 * DAY },
    clientKey: chain.keys.client,
    clientCredential: chain.client,
  });
  return { chain, pkg: made.published };
}

type Outcome = Awaited<ReturnType<Awaited<ReturnType<typeof impostorStage>>['offer']>>;

function expectUsed(outcome: Outcome, what: string): void {
  expectThat(
    outcome.threw === undefined && outcome.deliveries === 1,
    `control: the initiator did not use a valid ${what}`,
    'connect succeeds and delivers one establishment package',
    outcome,
  );
}

function expectRefusedByInitiator(outcome: Outcome, what: string, kinds: readonly string[]) {
  expectThat(
    outcome.threw !== undefined &&
      kinds.some((k) => outcome.threw?.includes(k) === true) &&
      outcome.deliveries === 0 &&
      outcome.groupsCreated === 0 &&
      outcome.newGroups === 0,
    `the initiator used ${what}`,
    `the package refused (${kinds.join(' or ')}), no group created, nothing delivered`,
    outcome,
  );
}

// --- CONN-PKG-06 ----------------------------------------------------------------------

type Corruption =
  | 'signature-bit'
  | 'encryption-key-replaced'
  | 'lifetime-extended'
  | 'credential-of-another-client'
  | 'issuer-not-published'
  | 'credential-of-another-user'
  | Narrowing;

const CORRUPTIONS: readonly Corruption[] = [
  'signature-bit',
  'encryption-key-replaced',
  'lifetime-extended',
  'credential-of-another-client',
  'issuer-not-published',
  'credential-of-another-user',
  // Signed by the client's own key over the wrong fields (simulator/protocol/narrowing.ts).
  ...narrowingsOf([
    'payload.version',
    'payload.encryption_key',
    'payload.lifetime',
    'client_credential',
  ]),
];

export const initiatorVerifiesPackages = defineCheck({
  name: 'the initiator verifies a package fetched by user id (signature, chain, user) before using it',
  rules: ['CONN-PKG-06'],
  profiles: ['multi-device', 'aliases'],
  needs: NEEDS,
  roles: ROLES,
  async run(ctx) {
    const s = await impostorStage(ctx, 'pkg06');
    const rng = rngFor(ctx, 'pkg06');
    const now = () => ctx.instance.clock.now();
    const control = await forgedPackage(fork(rng, 'control'), now(), s.domain);
    expectUsed(
      await s.offer({ published: control.chain.published, packages: [control.pkg] }, 'user-id'),
      `package of ${s.sender}`,
    );
    let run = 0;
    await checkProperty(
      ctx,
      [eachOf(...CORRUPTIONS), fc.nat(511)] as [fc.Arbitrary<Corruption>, fc.Arbitrary<number>],
      async (corruption, bit) => {
        const r = fork(rng, `run ${run++}`);
        const { chain, pkg } = await forgedPackage(r, now(), s.domain);
        let published = chain.published;
        let served: ConnectionPackage = pkg;
        if (corruption === 'signature-bit') {
          served = { ...pkg, signature: flipped(pkg.signature, bit) };
        } else if (corruption === 'encryption-key-replaced') {
          const other = await createConnectionPackagePayload({
            rng: fork(r, 'other key'),
            lifetime: pkg.payload.lifetime,
          });
          served = {
            ...pkg,
            payload: { ...pkg.payload, encryption_key: other.published.encryption_key },
          };
        } else if (corruption === 'lifetime-extended') {
          const life = pkg.payload.lifetime;
          served = {
            ...pkg,
            payload: { ...pkg.payload, lifetime: { ...life, not_after: life.not_after + DAY } },
          };
        } else if (corruption === 'credential-of-another-client') {
          // A valid credential of another client of the same user; the signature is device-1's.
          const sibling = await forgeChain(fork(r, 'sibling'), now(), s.domain, {
            keys: { as: chain.keys.as, intermediate: chain.keys.intermediate },
            device: 'device-2',
          });
          served = { ...pkg, client_credential: sibling.client };
        } else if (corruption === 'issuer-not-published') {
          // Signed and chained correctly, but under an AS the user's homeserver does not publish.
          published = (await forgeChain(fork(r, 'published'), now(), s.domain)).published;
        } else if (corruption !== 'credential-of-another-user') {
          const tbs = { payload: pkg.payload, client_credential: pkg.client_credential };
          const signature = await signWithLabel(
            chain.keys.client,
            'ConnectionPackage',
            narrowed(tbs, corruption),
          );
          served = { ...pkg, signature: encodeUnpaddedBase64(signature) };
        } else {
          const other = await forgeChain(fork(r, 'other user'), now(), s.domain, {
            userId: `@eve:${s.domain}`,
          });
          served = (
            await createConnectionPackage({
              rng: fork(r, 'other package'),
              lifetime: pkg.payload.lifetime,
              clientKey: other.keys.client,
              clientCredential: other.client,
            })
          ).published;
          published = other.published;
        }
        expectRefusedByInitiator(
          await s.offer({ published, packages: [served] }, 'user-id'),
          `a package of ${s.sender} with ${corruption}${corruption === 'signature-bit' ? ` ${bit}` : ''}`,
          ['bad-signature', 'credential-rejected'],
        );
      },
      { numRuns: 8 },
    );
  },
});

// --- CONN-PKG-05 (initiator) --------------------------------------------------------------

export const initiatorRefusesStalePackages = defineCheck({
  name: 'an initiator handed a package whose lifetime has ended or not yet begun refuses to use it',
  rules: ['CONN-PKG-05'],
  profiles: ['multi-device', 'aliases'],
  needs: NEEDS,
  roles: ROLES,
  async run(ctx) {
    const s = await impostorStage(ctx, 'pkg05');
    const rng = rngFor(ctx, 'pkg05 initiator');
    const now = () => ctx.instance.clock.now();
    const offerWithLifetime = async (r: Rng, lifetime: ExpirationData | undefined, via: Via) => {
      const { chain, pkg } = await forgedPackage(r, now(), s.domain, lifetime);
      const payload = (
        await createConnectionPackagePayload({
          rng: fork(r, 'payload'),
          lifetime: lifetime ?? pkg.payload.lifetime,
        })
      ).published;
      return s.offer({ published: chain.published, packages: [pkg], payload }, via);
    };
    const vias: readonly Via[] = ctx.profile === 'aliases' ? ['user-id', 'alias'] : ['user-id'];
    for (const via of vias)
      expectUsed(await offerWithLifetime(fork(rng, `control ${via}`), undefined, via), via);
    let run = 0;
    await checkProperty(
      ctx,
      [
        eachOf<'expired' | 'not-yet-valid'>('expired', 'not-yet-valid'),
        fc.integer({ min: 1, max: 10 * 24 * 60 }),
        fc.integer({ min: 1, max: 60 * 24 }),
        eachOf(...vias),
      ] as [
        fc.Arbitrary<'expired' | 'not-yet-valid'>,
        fc.Arbitrary<number>,
        fc.Arbitrary<number>,
        fc.Arbitrary<Via>,
      ],
      async (state, offsetMinutes, lengthMinutes, via) => {
        const t = now();
        const lifetime =
          state === 'expired'
            ? {
                not_before: t - (offsetMinutes + lengthMinutes) * MINUTE,
                not_after: t - offsetMinutes * MINUTE,
              }
            : {
                not_before: t + offsetMinutes * MINUTE,
                not_after: t + (offsetMinutes + lengthMinutes) * MINUTE,
              };
        expectRefusedByInitiator(
          await offerWithLifetime(fork(rng, `run ${run++}`), lifetime, via),
          `a ${via === 'alias' ? 'payload of an alias' : `package of ${s.sender}`} ${state === 'expired' ? `that expired ${offsetMinutes} min ago` : `valid only from ${offsetMinutes} min from now`}`,
          [state],
        );
      },
      { numRuns: 8 },
    );
  },
});
