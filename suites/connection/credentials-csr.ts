// What an AS issues (CRED-CHAIN-05, -06, -07, -10, -11, AS role): the server half of
// the chain rules. fedconn asks for client credentials as a client would, with one
// thing wrong in each signing request, and the AS must refuse it; the same client id
// then registers with a proper request, so the refusal was the defect's and nothing
// was issued. The responder's half (verifying chains) is in responder.ts.
import fc from 'fast-check';
import {
  generateEd25519KeyPair,
  SMALL_ORDER_ENCODINGS,
} from '../../simulator/protocol/crypto/ed25519.ts';
import { fork, type Rng } from '../../simulator/protocol/crypto/rng.ts';
import { decodeBase64, encodeUnpaddedBase64 } from '../../simulator/protocol/encoding/base64.ts';
import {
  createClientCredentialRequest,
  type AsIntermediateCredential,
} from '../../simulator/protocol/credentials/credential.ts';
import type { ExpirationData } from '../../simulator/protocol/credentials/expiration.ts';
import { malleateSignature, smallOrderKey } from '../../simulator/protocol/credentials/testing.ts';
import { signWithLabel, type SignatureLabel } from '../../simulator/protocol/labels.ts';
import type { RuleId } from '../catalog/index.ts';
import { checkProperty, defineCheck, type Check, type CheckContext } from '../harness/check.ts';
import type { TargetServer } from '../harness/target.ts';
import {
  AS,
  clientRequest,
  createUser,
  expectOk,
  expectRefused,
  fetchCredentials,
  firstServer,
  rngFor,
  send,
} from './support.ts';

const DAY = 86_400_000;
const PROFILES = ['multi-device', 'aliases'] as const;

type Csr = Awaited<ReturnType<typeof clientRequest>>;

/** What a defective request is made from: the requester's user, its server and the AS's intermediate. */
interface Asking {
  readonly ctx: CheckContext;
  readonly server: TargetServer;
  readonly userId: string;
  readonly intermediate: AsIntermediateCredential;
  readonly rng: Rng;
}

/** One check: CSRs made by `make` from the generated case are each refused. */
function asRefuses<T>(options: {
  readonly rule: RuleId;
  readonly name: string;
  readonly label: string;
  readonly cases: fc.Arbitrary<T>;
  /** Cases tried once each before the random ones, whatever the seed: every defect of a list. */
  readonly each?: readonly T[];
  readonly make: (a: Asking, c: T) => Promise<Csr>;
  readonly describe: (c: T) => string;
  readonly numRuns: number;
}): Check {
  return defineCheck({
    name: options.name,
    rules: [options.rule],
    profiles: PROFILES,
    roles: ['AS'],
    async run(ctx) {
      const server = firstServer(ctx);
      const rng = rngFor(ctx, options.label);
      const intermediate = (await fetchCredentials(ctx, server)).as_intermediate_credentials[0] as
        AsIntermediateCredential | undefined;
      if (intermediate === undefined)
        throw new Error(`${server.serverName} publishes no intermediate credential`);
      let run = 0;
      const tryCase = async (c: T) => {
        const n = run++;
        const r = fork(rng, `run ${n}`);
        const userId = await createUser(ctx, server, `${options.label}-${n}`);
        const csr = await options.make({ ctx, server, userId, intermediate, rng: r }, c);
        const refused = await send(ctx, `${server.origin}${AS}/clients`, {
          body: { csr },
          bearer: server.provisioningToken,
        });
        expectRefused(refused, `a CSR for ${userId}/device-1 with ${options.describe(c)}`);
        const key = await generateEd25519KeyPair(fork(r, 'proper key'));
        const proper = await send(ctx, `${server.origin}${AS}/clients`, {
          body: { csr: await clientRequest(ctx, server, userId, 'device-1', key) },
          bearer: server.provisioningToken,
        });
        expectOk(proper, `after the refusal, registering ${userId}/device-1 with a proper CSR`);
      };
      for (const c of options.each ?? []) await tryCase(c);
      await checkProperty(ctx, [options.cases], tryCase, { numRuns: options.numRuns });
    },
  });
}

/** A CSR for device-1 of the user under `expiration`, properly self-signed. */
async function csrWithWindow(a: Asking, expiration: ExpirationData): Promise<Csr> {
  return createClientCredentialRequest({
    key: await generateEd25519KeyPair(fork(a.rng, 'key')),
    clientId: { user_id: a.userId, client: 'device-1' },
    intermediate: a.intermediate,
    expiration,
  });
}

type Timing = 'expired' | 'not-yet-valid';

export const asIssuesOnlyValidWindows = asRefuses<[Timing, number]>({
  rule: 'CRED-CHAIN-05',
  name: 'the AS refuses a CSR whose validity window has ended or not yet begun',
  label: 'csr05',
  cases: fc.tuple(
    fc.constantFrom<Timing>('expired', 'not-yet-valid'),
    fc.integer({ min: 1, max: 30 }),
  ),
  each: [
    ['expired', 1],
    ['not-yet-valid', 1],
  ],
  describe: ([timing, days]) =>
    `a window that is ${timing} by ${days} days (less where the intermediate's own window is shorter)`,
  make: (a, [timing, days]) => {
    const now = a.ctx.instance.clock.now();
    const inner = a.intermediate.payload.expiration_data;
    // Inside the intermediate's window and in order, so that timing is the window's only
    // fault, however young the intermediate (a server started a minute ago): the edge
    // moves at most halfway to the intermediate's own.
    const window =
      timing === 'expired'
        ? withEnd(Math.max(now - days * DAY, (inner.not_before + now) / 2))
        : withStart(Math.min(now + days * DAY, (now + inner.not_after) / 2));
    function withEnd(end: number) {
      return { not_before: Math.max(inner.not_before, end - 60 * DAY), not_after: Math.floor(end) };
    }
    function withStart(start: number) {
      return {
        not_before: Math.ceil(start),
        not_after: Math.min(inner.not_after, start + 60 * DAY),
      };
    }
    return csrWithWindow(a, window);
  },
  numRuns: 3,
});

type Overhang = 'before-intermediate' | 'after-intermediate';

export const asIssuesWithinIntermediate = asRefuses<[Overhang, number]>({
  rule: 'CRED-CHAIN-06',
  name: "the AS refuses a CSR whose window sticks out of its intermediate credential's",
  label: 'csr06',
  cases: fc.tuple(
    fc.constantFrom<Overhang>('before-intermediate', 'after-intermediate'),
    fc.integer({ min: 1, max: 400 }),
  ),
  each: [
    ['before-intermediate', 1],
    ['after-intermediate', 1],
  ],
  describe: ([side, days]) => `a window reaching ${days} days ${side.replace('-', ' the ')}`,
  make: (a, [side, days]) => {
    const now = a.ctx.instance.clock.now();
    const inner = a.intermediate.payload.expiration_data;
    // Valid now either way: only the nesting is wrong.
    const window =
      side === 'before-intermediate'
        ? { not_before: inner.not_before - days * DAY, not_after: now + DAY }
        : { not_before: now - DAY, not_after: inner.not_after + days * DAY };
    return csrWithWindow(a, window);
  },
  numRuns: 3,
});

const OTHER_LABELS: readonly SignatureLabel[] = [
  'AsCredentialSelfSigned',
  'AsIntermediateCredentialSelfSigned',
  'ConnectionPackage',
  'ConnectionEstablishmentPackage',
  'ClientRequest',
];

export const asChecksTheCsrLabel = asRefuses<SignatureLabel>({
  rule: 'CRED-CHAIN-07',
  name: "the AS refuses a CSR self-signed under another type's label",
  label: 'csr07',
  cases: fc.constantFrom(...OTHER_LABELS),
  each: OTHER_LABELS,
  describe: (label) => `its self-signature made under the label ${label}`,
  make: async (a, label) => {
    const key = await generateEd25519KeyPair(fork(a.rng, 'key'));
    const honest = await clientRequest(a.ctx, a.server, a.userId, 'device-1', key);
    const signature = await signWithLabel(key, label, honest.payload);
    return { payload: honest.payload, self_signature: encodeUnpaddedBase64(signature) };
  },
  numRuns: 1,
});

export const asVerifiesStrictly = asRefuses<null>({
  rule: 'CRED-CHAIN-10',
  name: 'the AS refuses a CSR whose self-signature is malleated (S + L)',
  label: 'csr10',
  cases: fc.constant(null),
  describe: () => 'its self-signature malleated to S + L',
  make: async (a) => {
    const key = await generateEd25519KeyPair(fork(a.rng, 'key'));
    const honest = await clientRequest(a.ctx, a.server, a.userId, 'device-1', key);
    const bytes = decodeBase64(honest.self_signature);
    if (!bytes.ok) throw new Error('unreachable: a signature fedconn made is base64');
    return { ...honest, self_signature: encodeUnpaddedBase64(malleateSignature(bytes.value)) };
  },
  numRuns: 2,
});

export const asRefusesSmallOrderKeys = asRefuses<number>({
  rule: 'CRED-CHAIN-11',
  name: 'the AS refuses a CSR naming a public key of small order',
  label: 'csr11',
  cases: fc.nat(SMALL_ORDER_ENCODINGS.length - 1),
  each: SMALL_ORDER_ENCODINGS.map((_, i) => i),
  describe: (index) => `the small-order key ${SMALL_ORDER_ENCODINGS[index] ?? ''}`,
  make: async (a, index) =>
    clientRequest(a.ctx, a.server, a.userId, 'device-1', smallOrderKey(index, fork(a.rng, 'key'))),
  numRuns: 1,
});

export const AS_CSR_CHECKS: readonly Check[] = [
  asIssuesOnlyValidWindows,
  asIssuesWithinIntermediate,
  asChecksTheCsrLabel,
  asVerifiesStrictly,
  asRefusesSmallOrderKeys,
];
