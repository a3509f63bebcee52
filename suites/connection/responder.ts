// The responder rejects bad establishment packages (CRED-CHAIN and CONN-CEP,
// CLIENT role, on fedconn's reference client): fedconn plays a malicious
// initiator whose homeserver it serves itself, forges the sender's credential
// chain with one corruption generated per run, and checks that the responder
// rejects the package with the right reason, joins nothing and shows nothing.
import { narrowed, narrowingsOf, type Narrowing } from '../../simulator/protocol/narrowing.ts';
import fc from 'fast-check';
import {
  generateEd25519KeyPair,
  SMALL_ORDER_ENCODINGS,
} from '../../simulator/protocol/crypto/ed25519.ts';
import { hpkeSeal } from '../../simulator/protocol/crypto/hpke.ts';
import { fork } from '../../simulator/protocol/crypto/rng.ts';
import { decodeBase64, encodeUnpaddedBase64 } from '../../simulator/protocol/encoding/base64.ts';
import type { ChainLevel } from '../../simulator/protocol/credentials/chain.ts';
import {
  createSigningRequest,
  credentialLabel,
  fingerprint,
  issueAsCredential,
  issuerSignedContent,
  selfSignedLabel,
  signRequest,
  type AsIntermediateCredential,
  type AsIntermediateCredentialPayload,
  type ClientCredential,
} from '../../simulator/protocol/credentials/credential.ts';
import { malleateSignature, smallOrderKey } from '../../simulator/protocol/credentials/testing.ts';
import { signWithLabel, type SignatureLabel } from '../../simulator/protocol/labels.ts';
import { canonicalJson } from '../../simulator/protocol/encoding/canonical-json.ts';
import type { AsCredentialsResponse } from '../../simulator/protocol/credentials/chain.ts';
import { createConnectionPackage } from '../../simulator/protocol/packages/connection-package.ts';
import { populate } from '../../simulator/scenario.ts';
import { type Check, checkProperty, defineCheck, eachOf, expectThat } from '../harness/check.ts';
import { AS, rngFor } from './support.ts';
import {
  CEP_INFO,
  chainReason,
  deliverAndRun,
  deliveryOf,
  enqueue,
  expectRejected,
  flipped,
  forgeChain,
  FORGED_DOMAIN,
  forgedUser,
  issuerOf,
  LEVELS,
  linkOf,
  relinkForged,
  replaceLink,
  runResponder,
  sealedFor,
  SIGNATURE_KINDS,
  stage,
  TYPE_OF,
  type Delivery,
  type Forged,
  type Stage,
} from './responder-support.ts';
import { hostNamed } from '../harness/peers.ts';

const DAY = 86_400_000;
const YEAR = 365 * DAY;
const PROFILES = ['multi-device', 'aliases'] as const;
const NEEDS = ['reference-client', 'impostor'] as const;
// Each check judges the reference client alone: fedconn plays the servers, so a server half of a rule
// (an AS's own obligations) is another check's, and a real target gets `n/a` here.
const ROLES = ['CLIENT'] as const;

const level = eachOf<ChainLevel>(...LEVELS);

/** One property over forged deliveries, each expected to be rejected for `expected`. */
async function rejectsEach<Ts extends [unknown, ...unknown[]]>(
  ctx: Parameters<Check['run']>[0],
  label: string,
  arbitraries: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> },
  make: (
    s: Stage,
    f: Forged,
    ...args: Ts
  ) => Promise<{ delivery: Delivery; expected: string; accepts?: (reason: string) => boolean }>,
  numRuns: number,
  /** What to judge on the same stage afterwards (its forged domain is registered once). */
  after?: (s: Stage) => Promise<void>,
): Promise<void> {
  const s = await stage(ctx, label);
  let run = 0;
  await checkProperty(
    ctx,
    arbitraries,
    async (...args: Ts) => {
      const f = await forgeChain(fork(s.rng, `run ${run++}`), s.now(), s.domain);
      const { delivery, expected, accepts } = await make(s, f, ...args);
      await expectRejected(
        s,
        delivery,
        `a package whose sender chain has ${JSON.stringify(args)}`,
        expected,
        accepts ?? ((reason) => reason === expected),
      );
    },
    { numRuns },
  );
  await after?.(s);
}

const anyOf = (level: ChainLevel, kinds: readonly string[]) => ({
  expected: `${chainReason(level, '…')} with … one of ${kinds.join(', ')}`,
  accepts: (reason: string) => kinds.some((k) => reason === chainReason(level, k)),
});

// --- CRED-CHAIN-01 ------------------------------------------------------------------

type ChainBreak = 'verifying_key' | 'self_signature' | 'signature' | 'wrong-signer';

export const responderVerifiesChain = defineCheck({
  name: 'the responder rejects a package whose sender chain is broken at any link (bit flips, wrong signer, a signature over the wrong fields)',
  rules: ['CRED-CHAIN-01'],
  profiles: PROFILES,
  needs: NEEDS,
  roles: ROLES,
  run: (ctx) =>
    rejectsEach<[[ChainLevel, ChainBreak | Narrowing], number]>(
      ctx,
      'chain01',
      [eachOf(...CHAIN_BREAKS), fc.nat(511)],
      async (s, f, [at, kind], bit) => {
        const link = linkOf(f, at);
        let changed;
        if (kind === 'wrong-signer') {
          const other = await generateEd25519KeyPair(fork(s.rng, `other signer ${bit}`));
          changed = await signRequest(TYPE_OF[at], other, issuerSignedContent(link));
        } else if (kind === 'verifying_key') {
          changed = {
            ...link,
            payload: { ...link.payload, verifying_key: flipped(link.payload.verifying_key, bit) },
          };
        } else if (kind === 'self_signature' || kind === 'signature') {
          changed = { ...link, [kind]: flipped(link[kind], bit) };
        } else {
          // Signed by the right issuer over the wrong fields (simulator/protocol/narrowing.ts).
          const content = issuerSignedContent(link);
          const signature = await signWithLabel(
            f.keys[at === 'client' ? 'intermediate' : 'as'],
            credentialLabel(TYPE_OF[at]),
            narrowed(content, kind),
          );
          changed = { ...content, signature: encodeUnpaddedBase64(signature) };
        }
        const forged = await replaceLink(f, at, changed);
        return { delivery: deliveryOf(forged), ...anyOf(at, SIGNATURE_KINDS) };
      },
      6,
    ),
});

/** What each issuer signs, by path: the payload's fields and the subject's self-signature. */
const SIGNED_BY_ISSUER: Record<ChainLevel, readonly string[]> = {
  as: ['version', 'domain', 'expiration_data', 'credential_ciphersuite', 'verifying_key'],
  intermediate: [
    'version',
    'domain',
    'expiration_data',
    'credential_ciphersuite',
    'verifying_key',
    'signer_fingerprint',
  ],
  client: [
    'version',
    'client_id',
    'expiration_data',
    'credential_ciphersuite',
    'verifying_key',
    'signer_fingerprint',
  ],
};

/**
 * Every break at every level: bit flips, a wrong signer, and signatures by the right
 * issuer over the wrong fields (each field left out and one extra at every level, each
 * renamed on the client's credential).
 */
const CHAIN_BREAKS: readonly [ChainLevel, ChainBreak | Narrowing][] = LEVELS.flatMap((at) => {
  const paths = [...SIGNED_BY_ISSUER[at].map((f) => `payload.${f}`), 'self_signature'];
  const narrowings = narrowingsOf(paths).filter((n) => at === 'client' || !n.startsWith('rename '));
  return [
    ...(['verifying_key', 'self_signature', 'signature', 'wrong-signer'] as const),
    ...narrowings,
  ].map((kind): [ChainLevel, ChainBreak | Narrowing] => [at, kind]);
});

// --- CRED-CHAIN-03 ------------------------------------------------------------------

type IssuerCase = 'foreign-domain-as' | 'unpublished-as' | 'fingerprint-names-another';

export const responderChecksIntermediateIssuer = defineCheck({
  name: "the responder accepts an intermediate only when signed by its domain's published AS credential its fingerprint names",
  rules: ['CRED-CHAIN-03'],
  profiles: PROFILES,
  needs: NEEDS,
  roles: ROLES,
  run: (ctx) =>
    rejectsEach<[IssuerCase]>(
      ctx,
      'chain03',
      [eachOf<IssuerCase>('foreign-domain-as', 'unpublished-as', 'fingerprint-names-another')],
      async (s, f, kind) => {
        const otherKey = await generateEd25519KeyPair(fork(s.rng, `other as ${kind}`));
        const window = f.as.payload.expiration_data;
        const other = await issueAsCredential({
          key: otherKey,
          domain: kind === 'foreign-domain-as' ? 'elsewhere.example' : s.domain,
          expiration: window,
        });
        // foreign/unpublished: signed by the AS it names; fingerprint-names-another: signed by
        // the published AS, naming another published AS credential of the domain.
        const intermediate: AsIntermediateCredential = await signRequest(
          'AsIntermediateCredential',
          kind === 'fingerprint-names-another' ? f.keys.as : otherKey,
          await createSigningRequest('AsIntermediateCredential', f.keys.intermediate, {
            ...f.intermediate.payload,
            signer_fingerprint: fingerprint(other),
          }),
        );
        const forged = await relinkForged(f, { intermediate });
        const published = {
          ...forged.published,
          as_credentials: kind === 'unpublished-as' ? [f.as] : [f.as, other],
        };
        const expected =
          kind === 'fingerprint-names-another'
            ? chainReason('intermediate', 'bad-signature')
            : chainReason('intermediate', 'unknown-as');
        return { delivery: { ...deliveryOf(forged), published }, expected };
      },
      3,
    ),
});

// --- CRED-CHAIN-04 ------------------------------------------------------------------

type ClientIssuerCase =
  'other-domain-intermediate' | 'unpublished-intermediate' | 'wrong-signer-named';

export const responderChecksClientIssuer = defineCheck({
  name: "the responder accepts a client credential only when signed by a published intermediate of the client's domain its fingerprint names",
  rules: ['CRED-CHAIN-04'],
  profiles: PROFILES,
  needs: NEEDS,
  roles: ROLES,
  run: (ctx) =>
    rejectsEach<[ClientIssuerCase]>(
      ctx,
      'chain04',
      [
        eachOf<ClientIssuerCase>(
          'other-domain-intermediate',
          'unpublished-intermediate',
          'wrong-signer-named',
        ),
      ],
      async (s, f, kind) => {
        const otherKey = await generateEd25519KeyPair(fork(s.rng, `other intermediate ${kind}`));
        const payload: AsIntermediateCredentialPayload = {
          ...f.intermediate.payload,
          domain: kind === 'other-domain-intermediate' ? 'elsewhere.example' : s.domain,
          verifying_key: encodeUnpaddedBase64(otherKey.publicKey),
        };
        const other: AsIntermediateCredential = await signRequest(
          'AsIntermediateCredential',
          f.keys.as,
          await createSigningRequest('AsIntermediateCredential', otherKey, payload),
        );
        // The client credential names `other`; it is signed by other's key, except in
        // wrong-signer-named, where the published intermediate's key signs it.
        const client: ClientCredential = await signRequest(
          'ClientCredential',
          kind === 'wrong-signer-named' ? f.keys.intermediate : otherKey,
          await createSigningRequest('ClientCredential', f.keys.client, {
            ...f.client.payload,
            signer_fingerprint: fingerprint(other),
          }),
        );
        const published = {
          ...f.published,
          as_intermediate_credentials:
            kind === 'unpublished-intermediate' ? [f.intermediate] : [f.intermediate, other],
        };
        const expected =
          kind === 'wrong-signer-named'
            ? chainReason('client', 'bad-signature')
            : chainReason('client', 'wrong-issuer');
        return { delivery: { published, credential: client, key: f.keys.client }, expected };
      },
      3,
    ),
});

// --- CRED-CHAIN-05 ------------------------------------------------------------------

const MINUTE_MS = 60_000;

/** Nested windows with `at` entirely before or after now (the links below nest inside). */
function outOfTime(now: number, at: ChainLevel, when: 'expired' | 'not-yet-valid', off: number) {
  const w = {
    as: { not_before: now - 3 * YEAR, not_after: now + 9 * YEAR },
    intermediate: { not_before: now - 2 * YEAR, not_after: now + YEAR },
    client: { not_before: now - YEAR, not_after: now + 90 * DAY },
  };
  const from = LEVELS.indexOf(at);
  for (const l of LEVELS.slice(from)) {
    const margin = LEVELS.indexOf(l) - from; // links below stay inside their signer's window
    w[l] =
      when === 'expired'
        ? { not_before: w[l].not_before, not_after: now - off - margin }
        : { not_before: now + off + margin, not_after: w[l].not_after };
  }
  return w;
}

export const responderChecksValidity = defineCheck({
  name: 'the responder rejects a sender chain with a link expired or not yet valid, naming the level',
  rules: ['CRED-CHAIN-05'],
  profiles: PROFILES,
  needs: NEEDS,
  roles: ROLES,
  run: (ctx) =>
    rejectsEach<[ChainLevel, 'expired' | 'not-yet-valid', number]>(
      ctx,
      'chain05',
      [
        level,
        eachOf<'expired' | 'not-yet-valid'>('expired', 'not-yet-valid'),
        fc.integer({ min: 1, max: 30 * DAY }),
      ],
      async (s, _f, at, when, off) => {
        // Real time moves on while the responder works: a window that begins 1 ms from
        // now has begun by the time it checks. Only the simulator's clock stands still.
        const slack = ctx.target.kind === 'sim' || when === 'expired' ? 0 : MINUTE_MS;
        const forged = await forgeChain(
          fork(s.rng, `time ${at} ${when} ${off}`),
          s.now(),
          s.domain,
          {
            windows: outOfTime(s.now(), at, when, off + slack),
          },
        );
        return { delivery: deliveryOf(forged), expected: chainReason(at, when) };
      },
      6,
    ),
});

// --- CRED-CHAIN-06 ------------------------------------------------------------------

export const responderChecksNesting = defineCheck({
  name: "the responder rejects a sender chain whose window sticks out of its signer's",
  rules: ['CRED-CHAIN-06'],
  profiles: PROFILES,
  needs: NEEDS,
  roles: ROLES,
  run: (ctx) =>
    rejectsEach<['intermediate' | 'client', 'before' | 'after', number]>(
      ctx,
      'chain06',
      [
        eachOf<'intermediate' | 'client'>('intermediate', 'client'),
        eachOf<'before' | 'after'>('before', 'after'),
        fc.integer({ min: 1, max: 10 * DAY }),
      ],
      async (s, _f, at, side, by) => {
        const now = s.now();
        const w = {
          as: { not_before: now - YEAR, not_after: now + 9 * YEAR },
          intermediate: { not_before: now - 30 * DAY, not_after: now + 335 * DAY },
          client: { not_before: now - DAY, not_after: now + 89 * DAY },
        };
        const signer = at === 'intermediate' ? w.as : w.intermediate;
        w[at] =
          side === 'before'
            ? { ...w[at], not_before: signer.not_before - by }
            : { ...w[at], not_after: signer.not_after + by };
        const forged = await forgeChain(fork(s.rng, `nest ${at} ${side} ${by}`), now, s.domain, {
          windows: w,
        });
        return {
          delivery: deliveryOf(forged),
          expected: chainReason(at, 'validity-outside-signer'),
        };
      },
      4,
      // Containment is inclusive: a window that touches its signer's edges exactly nests.
      async (s) => {
        const now = s.now();
        const as = { not_before: now - YEAR, not_after: now + 9 * YEAR };
        const intermediate = { not_before: now - 30 * DAY, not_after: now + 335 * DAY };
        const client = { not_before: now - DAY, not_after: now + 89 * DAY };
        for (const [what, windows] of [
          [
            "the intermediate's window equal to its AS credential's",
            { as, intermediate: as, client },
          ],
          [
            "the client's window equal to its intermediate's",
            { as, intermediate, client: intermediate },
          ],
        ] as const) {
          const forged = await forgeChain(fork(s.rng, what), now, s.domain, { windows });
          const events = await deliverAndRun(s, deliveryOf(forged), what);
          expectThat(
            events.some((e) => e.type === 'offer-shown'),
            `the responder did not show a package whose sender chain has ${what}`,
            'an offer-shown event: a window equal to its signer’s nests within it',
            events,
          );
        }
      },
    ),
});

// --- CRED-CHAIN-07 ------------------------------------------------------------------

const OTHER_LABELS: readonly SignatureLabel[] = [
  'AsCredential',
  'AsCredentialSelfSigned',
  'AsIntermediateCredential',
  'AsIntermediateCredentialSelfSigned',
  'ClientCredential',
  'ClientCredentialSelfSigned',
  'ConnectionPackage',
  'ConnectionEstablishmentPackage',
];

export const responderChecksLabels = defineCheck({
  name: "the responder rejects a chain link signed under another type's label (type confusion)",
  rules: ['CRED-CHAIN-07'],
  profiles: PROFILES,
  needs: NEEDS,
  roles: ROLES,
  run: (ctx) =>
    rejectsEach<[ChainLevel, 'signature' | 'self_signature', SignatureLabel]>(
      ctx,
      'chain07',
      [
        level,
        eachOf<'signature' | 'self_signature'>('signature', 'self_signature'),
        eachOf(...OTHER_LABELS),
      ],
      async (_s, f, at, which, label) => {
        const type = TYPE_OF[at];
        const own = which === 'signature' ? credentialLabel(type) : selfSignedLabel(type);
        const used = label === own ? ('ConnectionPackage' as const) : label;
        const link = linkOf(f, at);
        let changed;
        if (which === 'signature') {
          const sig = await signWithLabel(issuerOf(f, at), used, issuerSignedContent(link));
          changed = { ...link, signature: encodeUnpaddedBase64(sig) };
        } else {
          const self = await signWithLabel(f.keys[at], used, link.payload);
          changed = await signRequest(type, issuerOf(f, at), {
            payload: link.payload,
            self_signature: encodeUnpaddedBase64(self),
          });
        }
        const forged = await replaceLink(f, at, changed);
        return { delivery: deliveryOf(forged), expected: chainReason(at, 'label-mismatch') };
      },
      6,
    ),
});

// --- CRED-CHAIN-09 ------------------------------------------------------------------

export const responderChecksRevocation = defineCheck({
  name: 'the responder rejects a sender chain with a link its AS lists as revoked',
  rules: ['CRED-CHAIN-09'],
  profiles: PROFILES,
  needs: NEEDS,
  roles: ROLES,
  run: (ctx) =>
    rejectsEach<[ChainLevel, number]>(
      ctx,
      'chain09',
      [level, fc.nat(3)],
      (s, f, at, decoys) => {
        const others = Array.from({ length: decoys }, (_, i) =>
          encodeUnpaddedBase64(fork(s.rng, `decoy ${i}`).bytes(32)),
        );
        const published = {
          ...f.published,
          revoked_fingerprints: [...others, fingerprint(linkOf(f, at))],
        };
        return Promise.resolve({
          delivery: { ...deliveryOf(f), published },
          expected: chainReason(at, 'revoked'),
        });
      },
      4,
    ),
});

// --- CRED-CHAIN-10 ------------------------------------------------------------------

const malleated = (text: string): string => {
  const bytes = decodeBase64(text);
  if (!bytes.ok) throw new Error(`not base64: ${text}`);
  return encodeUnpaddedBase64(malleateSignature(bytes.value));
};

type Malleable = `${ChainLevel}.${'signature' | 'self_signature'}` | 'package';
const MALLEABLE: readonly Malleable[] = [
  'as.signature',
  'as.self_signature',
  'intermediate.signature',
  'intermediate.self_signature',
  'client.signature',
  'client.self_signature',
  'package',
];

export const responderRejectsMalleated = defineCheck({
  name: 'the responder rejects malleated signatures (S + L) on every signed object of the chain and the package',
  rules: ['CRED-CHAIN-10'],
  profiles: PROFILES,
  needs: NEEDS,
  roles: ROLES,
  run: (ctx) =>
    rejectsEach<[Malleable]>(
      ctx,
      'chain10',
      [eachOf(...MALLEABLE)],
      async (_s, f, target) => {
        if (target === 'package') {
          return {
            delivery: {
              ...deliveryOf(f),
              tamper: (cep) => Promise.resolve({ ...cep, signature: malleated(cep.signature) }),
            },
            expected: 'bad-signature: package signature: … S >= L',
            accepts: (reason: string) => reason.startsWith('bad-signature: package signature'),
          };
        }
        const [at, which] = target.split('.') as [ChainLevel, 'signature' | 'self_signature'];
        const link = linkOf(f, at);
        const changed =
          which === 'signature'
            ? { ...link, signature: malleated(link.signature) }
            : // The issuer signs the malleated self-signature, so only the malleation is wrong.
              await signRequest(TYPE_OF[at], issuerOf(f, at), {
                payload: link.payload,
                self_signature: malleated(link.self_signature),
              });
        const forged = await replaceLink(f, at, changed);
        return {
          delivery: deliveryOf(forged),
          expected: chainReason(at, 'non-canonical-signature'),
        };
      },
      7,
    ),
});

// --- CRED-CHAIN-11 ------------------------------------------------------------------

export const responderRejectsSmallOrderKeys = defineCheck({
  name: 'the responder rejects a sender chain carrying a small-order public key at any level',
  rules: ['CRED-CHAIN-11'],
  profiles: PROFILES,
  needs: NEEDS,
  roles: ROLES,
  run: (ctx) =>
    rejectsEach<[ChainLevel, number]>(
      ctx,
      'chain11',
      [level, fc.nat(SMALL_ORDER_ENCODINGS.length - 1)],
      async (s, _f, at, index) => {
        const forged = await forgeChain(fork(s.rng, `small ${at} ${index}`), s.now(), s.domain, {
          keys: { [at]: smallOrderKey(index, fork(s.rng, `small key ${at} ${index}`)) },
        });
        return { delivery: deliveryOf(forged), expected: chainReason(at, 'small-order-key') };
      },
      6,
    ),
});

// --- CONN-CEP-04 --------------------------------------------------------------------

type CepCorruption =
  | 'flip-signature'
  | 'flip-group-id'
  | 'flip-ear-key'
  | 'flip-credential-key'
  | 'another-key'
  | 'another-label'
  | Narrowing;

/** What the sender signs of a package: every field but the signature. */
const CEP_SIGNED_FIELDS = [
  'version',
  'sender_client_credential',
  'connection_group_id',
  'connection_group_ear_key',
  'connection_group_credential_key',
] as const;

export const responderChecksPackageSignature = defineCheck({
  name: "the responder rejects a package whose signature fails under the sender's credential",
  rules: ['CONN-CEP-04'],
  profiles: PROFILES,
  needs: NEEDS,
  roles: ROLES,
  run: (ctx) =>
    rejectsEach<[CepCorruption, number]>(
      ctx,
      'cep04',
      [
        eachOf<CepCorruption>(
          'flip-signature',
          'flip-group-id',
          'flip-ear-key',
          'flip-credential-key',
          'another-key',
          'another-label',
          // Signed by the right key over the wrong fields (simulator/protocol/narrowing.ts).
          ...narrowingsOf(CEP_SIGNED_FIELDS),
        ),
        fc.nat(511),
      ],
      async (s, f, kind, bit) => {
        const other = await generateEd25519KeyPair(fork(s.rng, `other key ${bit}`));
        const tamper = async (
          cep: Parameters<NonNullable<Delivery['tamper']>>[0],
        ): Promise<typeof cep> => {
          const { signature, ...tbs } = cep;
          switch (kind) {
            case 'flip-signature':
              return { ...cep, signature: flipped(signature, bit) };
            case 'flip-group-id':
              return { ...cep, connection_group_id: flipped(cep.connection_group_id, bit) };
            case 'flip-ear-key':
              return {
                ...cep,
                connection_group_ear_key: flipped(cep.connection_group_ear_key, bit),
              };
            case 'flip-credential-key':
              return {
                ...cep,
                connection_group_credential_key: flipped(cep.connection_group_credential_key, bit),
              };
            case 'another-key': {
              const sig = await signWithLabel(other, 'ConnectionEstablishmentPackage', tbs);
              return { ...cep, signature: encodeUnpaddedBase64(sig) };
            }
            case 'another-label': {
              const sig = await signWithLabel(f.keys.client, 'ConnectionPackage', tbs);
              return { ...cep, signature: encodeUnpaddedBase64(sig) };
            }
            case 'extra':
            default: {
              const sig = await signWithLabel(
                f.keys.client,
                'ConnectionEstablishmentPackage',
                narrowed(tbs, kind),
              );
              return { ...cep, signature: encodeUnpaddedBase64(sig) };
            }
          }
        };
        return {
          delivery: { ...deliveryOf(f), tamper },
          expected: 'bad-signature: package signature: …',
          accepts: (reason: string) => reason.startsWith('bad-signature: package signature'),
        };
      },
      6,
    ),
});

// --- CONN-CEP-05 --------------------------------------------------------------------

type Garbage = 'random' | 'truncated' | 'another-key' | 'not-json' | 'not-a-package' | 'empty';

async function garbage(s: Stage, f: Forged, kind: Garbage, n: number): Promise<unknown> {
  const r = fork(s.rng, `garbage ${kind} ${n}`);
  const seal = async (plaintext: Uint8Array, key = s.encryptionKey) => {
    const sealed = await hpkeSeal({ publicKey: key, plaintext, info: CEP_INFO, rng: r });
    if (!sealed.ok) throw new Error(sealed.error.detail);
    return {
      enc: encodeUnpaddedBase64(sealed.value.enc),
      ciphertext: encodeUnpaddedBase64(sealed.value.ciphertext),
    };
  };
  switch (kind) {
    case 'random':
      return {
        enc: encodeUnpaddedBase64(r.bytes(32)),
        ciphertext: encodeUnpaddedBase64(r.bytes(16 + (n % 200))),
      };
    case 'empty':
      return { enc: '', ciphertext: '' };
    case 'truncated': {
      const valid = await sealedFor(s, deliveryOf(f));
      const bytes = decodeBase64(valid.ciphertext);
      if (!bytes.ok) throw new Error('unreachable');
      const cut = 1 + (n % bytes.value.length);
      return {
        ...valid,
        ciphertext: encodeUnpaddedBase64(bytes.value.subarray(0, bytes.value.length - cut)),
      };
    }
    case 'another-key': {
      const cep = await sealedFor(
        { ...s, encryptionKey: fork(r, 'another key').bytes(32) },
        deliveryOf(f),
      );
      return cep;
    }
    case 'not-json':
      return seal(r.bytes(1 + (n % 64)));
    case 'not-a-package': {
      const json = canonicalJson({ version: 1, sender: s.sender, hello: n });
      if (!json.ok) throw new Error('unreachable');
      return seal(new TextEncoder().encode(json.value));
    }
  }
}

export const responderDiscardsGarbage = defineCheck({
  name: 'the responder discards queued messages that do not open or decode, and still processes later packages',
  rules: ['CONN-CEP-05'],
  profiles: PROFILES,
  needs: NEEDS,
  roles: ROLES,
  async run(ctx) {
    const s = await stage(ctx, 'cep05');
    let run = 0;
    await checkProperty(
      ctx,
      [
        fc.array(
          fc.constantFrom<Garbage>(
            'random',
            'truncated',
            'another-key',
            'not-json',
            'not-a-package',
            'empty',
          ),
          { minLength: 1, maxLength: 3 },
        ),
        fc.nat(1000),
      ] as [fc.Arbitrary<Garbage[]>, fc.Arbitrary<number>],
      async (kinds, n) => {
        const f = await forgeChain(fork(s.rng, `run ${run++}`), s.now(), s.domain);
        s.publish(f.published);
        for (const [i, kind] of kinds.entries()) {
          await enqueue(s, await garbage(s, f, kind, n + i), `a ${kind} message`);
        }
        await enqueue(s, await sealedFor(s, deliveryOf(f)), 'a valid package after the garbage');
        const groups = s.responder.groups.size;
        const events = await runResponder(s, `${kinds.join(', ')} then a valid package`);
        const shown = s.shown.splice(0);
        const rejected = events.filter((e) => e.type === 'offer-rejected');
        expectThat(
          rejected.length === kinds.length,
          `the responder did not discard each of ${kinds.join(', ')}`,
          `${kinds.length} offer-rejected events`,
          events,
        );
        expectThat(
          shown.length === 1 &&
            shown[0] === s.sender &&
            events.filter((e) => e.type === 'offer-shown').length === 1,
          'the valid package after the garbage was not processed',
          `exactly one offer shown, from ${s.sender}`,
          { events, shown },
        );
        expectThat(
          s.responder.groups.size === groups,
          'the garbage changed the responder’s groups',
          `${groups} groups`,
          [...s.responder.groups.keys()],
        );
      },
      { numRuns: 4 },
    );
  },
});

// --- CONN-TRUST-02 ------------------------------------------------------------------

export const responderShowsCredentialName = defineCheck({
  name: 'the responder shows and decides on the user name of the verified credential, nothing the initiator chose',
  rules: ['CONN-TRUST-02'],
  profiles: PROFILES,
  needs: NEEDS,
  roles: ROLES,
  async run(ctx) {
    const s = await stage(ctx, 'trust02');
    let run = 0;
    await checkProperty(
      ctx,
      [
        fc.stringMatching(/^[a-z0-9._=-]{1,12}$/),
        eachOf('Bank of Fedconn', 'device-1', '@admin:hs1.example', 'Ünïcode ☎', 'x'),
      ] as [fc.Arbitrary<string>, fc.Arbitrary<string>],
      async (localpart, device) => {
        const userId = `@${localpart}:${s.domain}`;
        const f = await forgeChain(fork(s.rng, `run ${run++}`), s.now(), s.domain, {
          userId,
          device,
        });
        s.publish(f.published);
        await enqueue(s, await sealedFor(s, deliveryOf(f)), `a package from ${userId}`);
        const events = await runResponder(s, `a package from ${userId} (device ${device})`);
        const shown = s.shown.splice(0);
        const offers = events.flatMap((e) => (e.type === 'offer-shown' ? [e.senderUserId] : []));
        expectThat(
          shown.length === 1 && shown[0] === userId && offers.length === 1 && offers[0] === userId,
          'the responder showed something else than the credential’s user name',
          `${userId} shown and decided on, once`,
          { offers, decided: shown },
        );
      },
      { numRuns: 4 },
    );
  },
});

// --- CRED-CHAIN-12 ------------------------------------------------------------------

type OtherUser = 'another-user' | 'case-variant' | 'longer-name';

export const initiatorChecksPackageUser = defineCheck({
  name: 'the initiator rejects a connection package of user Y that carries a valid credential of another user',
  rules: ['CRED-CHAIN-12'],
  profiles: PROFILES,
  needs: NEEDS,
  roles: ROLES,
  async run(ctx) {
    const server = ctx.instance.servers[0];
    if (server === undefined) throw new Error('the target has no servers');
    const population = await populate(ctx.instance.env('initiator chain12'), {
      servers: [server.serverName],
      usersPerServer: 1,
      devicesPerUser: 1,
      profile: ctx.instance.profile,
      userPrefix: `${ctx.instance.namespace}chain12-`,
    });
    const initiator = population.users[0]?.primary;
    if (initiator === undefined) throw new Error('no initiator');
    const rng = rngFor(ctx, 'chain12');
    let served: { published: AsCredentialsResponse; packages: unknown[] } = {
      published: { as_credentials: [], as_intermediate_credentials: [], revoked_fingerprints: [] },
      packages: [],
    };
    const received: string[] = [];
    const domain = await hostNamed(ctx, FORGED_DOMAIN, (request) => {
      const path = decodeURIComponent(new URL(request.url).pathname);
      if (request.method === 'GET' && path === `${AS}/credentials`)
        return Promise.resolve(Response.json(served.published));
      if (request.method === 'GET' && path.endsWith('/connection_packages'))
        return Promise.resolve(Response.json({ connection_packages: served.packages }));
      received.push(`${request.method} ${path}`);
      return Promise.resolve(Response.json({}));
    });
    const offer = async (userId: string, credentialOf: string, label: string) => {
      const f = await forgeChain(fork(rng, label), ctx.instance.clock.now(), domain, {
        userId: credentialOf,
      });
      const now = ctx.instance.clock.now();
      const pkg = await createConnectionPackage({
        rng: fork(rng, `${label} package`),
        lifetime: { not_before: now - 60_000, not_after: now + 30 * DAY },
        clientKey: f.keys.client,
        clientCredential: f.client,
      });
      served = { published: f.published, packages: [pkg.published] };
      received.length = 0;
      const groups = initiator.groups.size;
      try {
        await initiator.connect({ userId });
        return {
          threw: undefined,
          received: [...received],
          newGroups: initiator.groups.size - groups,
        };
      } catch (error) {
        const threw = error instanceof Error ? error.message : String(error);
        return { threw, received: [...received], newGroups: initiator.groups.size - groups };
      }
    };
    // Control: a package carrying the looked-up user's own credential is used.
    const sender = forgedUser(domain);
    const control = await offer(sender, sender, 'control');
    expectThat(
      control.threw === undefined && control.received.length === 1,
      `control: the initiator did not send an establishment package to ${sender}`,
      'connect succeeds and posts one package to the queue',
      control,
    );
    let run = 0;
    await checkProperty(
      ctx,
      [
        fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/),
        eachOf<OtherUser>('another-user', 'case-variant', 'longer-name'),
      ] as [fc.Arbitrary<string>, fc.Arbitrary<OtherUser>],
      async (localpart, how) => {
        const claimed = `@${localpart}:${domain}`;
        const other =
          how === 'another-user'
            ? `@${localpart === 'mallory' ? 'eve' : 'mallory'}:${domain}`
            : how === 'case-variant'
              ? `@${localpart.toUpperCase()}${localpart === localpart.toUpperCase() ? 'X' : ''}:${domain}`
              : `@${localpart}0:${domain}`;
        const outcome = await offer(claimed, other, `run ${run++}`);
        expectThat(
          outcome.threw?.includes('credential-rejected') === true &&
            outcome.received.length === 0 &&
            outcome.newGroups === 0,
          `connecting to ${claimed}, the initiator used a package carrying the credential of ${other}`,
          'the package rejected (credential-rejected), no group created, nothing sent',
          outcome,
        );
      },
      { numRuns: 4 },
    );
  },
});

export const RESPONDER_CHAIN_CHECKS: readonly Check[] = [
  responderVerifiesChain,
  responderChecksIntermediateIssuer,
  responderChecksClientIssuer,
  responderChecksValidity,
  responderChecksNesting,
  responderChecksLabels,
  responderChecksRevocation,
  responderRejectsMalleated,
  responderRejectsSmallOrderKeys,
  responderChecksPackageSignature,
  responderDiscardsGarbage,
  responderShowsCredentialName,
  initiatorChecksPackageUser,
];
