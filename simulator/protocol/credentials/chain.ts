// Verification of the signature chain ClientCredential -> AsIntermediateCredential
// -> AsCredential, as a responder does before deciding on a connection. The
// result is the verified identity or exactly one reason, with the level of the
// chain it applies to. Checks run in a fixed order (structure, issuers,
// signatures, proof of possession, revocation, time, nesting, identity) so a
// single corruption always yields the same reason.
import { decodeBase64 } from '../encoding/base64.ts';
import { canonicalJson } from '../encoding/canonical-json.ts';
import { err, fail, ok, type Err, type Failure, type Result } from '../result.ts';
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  labelledBytes,
  verifyWithLabel,
  type LabelledVerifyFailureKind,
  type SignatureLabel,
} from '../labels.ts';
import {
  credentialLabel,
  fingerprint,
  issuerSignedContent,
  selfSignedLabel,
  userDomain,
  type AsCredential,
  type AsIntermediateCredential,
  type ClientCredential,
  type ClientId,
  type Credential,
  type CredentialType,
} from './credential.ts';
import { nestsWithin, validityAt, type ExpirationData } from './expiration.ts';
import { decodeCredential, type DecodedCredential } from './schema.ts';
import { VerifiedSignatures } from './verified-signatures.ts';

export const CHAIN_FAILURE_KINDS = [
  'malformed-encoding',
  'malformed-key',
  'non-canonical-key',
  'small-order-key',
  'malformed-signature',
  'non-canonical-signature',
  'small-order-signature',
  'bad-signature',
  'label-mismatch',
  'bad-proof-of-possession',
  'wrong-issuer',
  'unknown-as',
  'revoked',
  'expired',
  'not-yet-valid',
  'validity-outside-signer',
  'user-mismatch',
] as const;
export type ChainFailureKind = (typeof CHAIN_FAILURE_KINDS)[number];

export type ChainLevel = 'as' | 'intermediate' | 'client';

export interface ChainFailure {
  readonly kind: ChainFailureKind;
  readonly level: ChainLevel;
  readonly detail: string;
}

/** What a domain's AS publishes on its unauthenticated credentials endpoint. */
export interface AsCredentialsResponse {
  readonly as_credentials: readonly unknown[];
  readonly as_intermediate_credentials: readonly unknown[];
  readonly revoked_fingerprints: readonly string[];
}

export interface VerifiedClient {
  readonly clientId: ClientId;
  readonly verifyingKey: Uint8Array;
  readonly credential: ClientCredential;
  readonly intermediate: AsIntermediateCredential;
  readonly asCredential: AsCredential;
}

/**
 * Checks a verifier may be told to skip or loosen: only the reference client's
 * mutants (suites/connection/responder*.ts) pass any; without them nothing changes.
 */
export type ChainLeniency =
  /** Accept an intermediate whatever AS credential signed it (CRED-CHAIN-03). */
  | 'any-intermediate-issuer'
  /** Accept a client credential whatever intermediate signed it (CRED-CHAIN-04). */
  | 'any-client-issuer'
  | 'ignore-validity'
  | 'skip-nesting'
  /** Require each window strictly inside its signer's: equal edges refused (CRED-CHAIN-06). */
  | 'strict-nesting'
  /** Accept a signature made under any label (CRED-CHAIN-07). */
  | 'any-label'
  | 'ignore-revocation'
  /** Accept signatures with S >= L (CRED-CHAIN-10). */
  | 'malleable-signatures'
  | 'small-order-keys'
  | 'skip-user-check'
  /** A signature under `label` that covers all fields but one (simulator/protocol/narrowing.ts). */
  | `uncovered ${SignatureLabel} ${string}`;

export interface ChainInput {
  readonly credential: unknown;
  /** The credentials published by the AS of the credential's own domain. */
  readonly published: AsCredentialsResponse;
  /** Verification time in ms (the virtual clock in the simulator). */
  readonly now: number;
  /** The user id the context expects (the sender named elsewhere), if any. */
  readonly expectedUserId?: string;
  /** Checks to skip or loosen (mutants of the reference client only). */
  readonly lenient?: ReadonlySet<ChainLeniency>;
  /** The verifier's good signatures so far: each is verified once (verified-signatures.ts). */
  readonly memo?: VerifiedSignatures;
}

const L = ed25519.Point.Fn.ORDER;

/**
 * verifyWithLabel, loosened as `lenient` says (mutants only): S reduced mod L,
 * small-order keys checked with noble's cofactored ZIP-215 equation, any label.
 */
export async function verifyLabelled(
  publicKey: Uint8Array,
  label: SignatureLabel,
  content: unknown,
  signature: Uint8Array,
  lenient: ReadonlySet<ChainLeniency> | undefined,
  memo?: VerifiedSignatures,
): Promise<Result<void, Failure<LabelledVerifyFailureKind>>> {
  // Only a strict verifier remembers: a mutant's leniency is exercised every time.
  const json = memo === undefined || (lenient?.size ?? 0) > 0 ? undefined : canonicalJson(content);
  if (memo === undefined || json === undefined || !json.ok) {
    return verifyLabelledOnce(publicKey, label, content, signature, lenient);
  }
  const key = VerifiedSignatures.key(publicKey, label, json.value, signature);
  if (memo.has(key)) return ok(undefined);
  const verdict = await verifyLabelledOnce(
    publicKey,
    label,
    content,
    signature,
    lenient,
    json.value,
  );
  if (verdict.ok) memo.add(key);
  return verdict;
}

async function verifyLabelledOnce(
  publicKey: Uint8Array,
  label: SignatureLabel,
  content: unknown,
  signature: Uint8Array,
  lenient: ReadonlySet<ChainLeniency> | undefined,
  encoded?: string,
): Promise<Result<void, Failure<LabelledVerifyFailureKind>>> {
  // A verifier that forgot a field also takes a signature over the other fields.
  const prefix = `uncovered ${label} `;
  const uncovered = [...(lenient ?? [])].flatMap((entry) =>
    entry.startsWith(prefix) ? [entry.slice(prefix.length)] : [],
  );
  const verdict = await verifyWithLabel(publicKey, label, content, signature, uncovered, encoded);
  if (verdict.ok || lenient === undefined || lenient.size === 0) return verdict;
  const { kind } = verdict.error;
  if (kind === 'label-mismatch' && lenient.has('any-label')) return ok(undefined);
  if (kind === 'non-canonical-signature' && lenient.has('malleable-signatures')) {
    let s = 0n;
    for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(signature[i] ?? 0);
    s %= L;
    const reduced = signature.slice();
    for (let i = 32; i < 64; i++) {
      reduced[i] = Number(s & 0xffn);
      s >>= 8n;
    }
    return verifyLabelledOnce(publicKey, label, content, reduced, lenient);
  }
  if (kind === 'small-order-key' && lenient.has('small-order-keys')) {
    const good = ed25519.verify(signature, labelledBytes(label, content), publicKey, {
      zip215: true,
    });
    return good ? ok(undefined) : fail('bad-signature', 'lenient verification failed');
  }
  return verdict;
}

type Step<T> = Result<T, ChainFailure>;
const reject = (kind: ChainFailureKind, level: ChainLevel, detail: string): Err<ChainFailure> =>
  err({ kind, level, detail });

function decodeKey(
  credential: Credential<{ verifying_key: string }>,
  level: ChainLevel,
): Step<Uint8Array> {
  const key = decodeBase64(credential.payload.verifying_key);
  if (!key.ok || key.value.length !== 32) {
    return reject('malformed-key', level, 'verifying_key is not 32 bytes of base64');
  }
  return ok(key.value);
}

function decodeSignature(text: string, level: ChainLevel, what: string): Step<Uint8Array> {
  const bytes = decodeBase64(text);
  return bytes.ok ? ok(bytes.value) : reject('malformed-signature', level, `${what} is not base64`);
}

const fromLabelled = (kind: LabelledVerifyFailureKind): ChainFailureKind =>
  kind === 'not-canonical-json' ? 'malformed-encoding' : kind;

/** Checks the issuer's signature, then the subject's proof of possession. */
async function checkSignatures(
  type: CredentialType,
  credential: Credential<unknown>,
  subjectKey: Uint8Array,
  issuerKey: Uint8Array,
  level: ChainLevel,
  lenient: ReadonlySet<ChainLeniency> | undefined,
  memo: VerifiedSignatures | undefined,
  skipIssuer = false,
): Promise<Step<void>> {
  const signature = decodeSignature(credential.signature, level, 'signature');
  if (!signature.ok) return signature;
  const byIssuer = skipIssuer
    ? ok(undefined)
    : await verifyLabelled(
        issuerKey,
        credentialLabel(type),
        issuerSignedContent(credential),
        signature.value,
        lenient,
        memo,
      );
  if (!byIssuer.ok) {
    const kind = fromLabelled(byIssuer.error.kind);
    // A malformed or small-order key is a property of the issuer's credential.
    const at =
      kind === 'malformed-key' || kind === 'non-canonical-key' || kind === 'small-order-key'
        ? issuerLevel(level)
        : level;
    return reject(kind, at, `${type} signature: ${byIssuer.error.detail}`);
  }
  const selfSignature = decodeSignature(credential.self_signature, level, 'self_signature');
  if (!selfSignature.ok) return selfSignature;
  const possession = await verifyLabelled(
    subjectKey,
    selfSignedLabel(type),
    credential.payload,
    selfSignature.value,
    lenient,
    memo,
  );
  if (!possession.ok) {
    const kind = fromLabelled(possession.error.kind);
    return reject(
      kind === 'bad-signature' ? 'bad-proof-of-possession' : kind,
      level,
      `${type} self-signature: ${possession.error.detail}`,
    );
  }
  return ok(undefined);
}

const issuerLevel = (level: ChainLevel): ChainLevel => (level === 'client' ? 'intermediate' : 'as');

function checkTime(window: ExpirationData, now: number, level: ChainLevel): Step<void> {
  const at = validityAt(window, now);
  if (at === 'valid') return ok(undefined);
  return reject(
    at,
    level,
    `${level} credential valid ${new Date(window.not_before).toISOString()} to ${new Date(window.not_after).toISOString()}, checked at ${new Date(now).toISOString()}`,
  );
}

function decodeAll<T extends CredentialType>(
  type: T,
  values: readonly unknown[],
  level: ChainLevel,
): Step<DecodedCredential[T][]> {
  const known = decodedLists.get(values);
  if (known?.type === type) return known.step as Step<DecodedCredential[T][]>;
  const out: DecodedCredential[T][] = [];
  let step: Step<DecodedCredential[T][]> = ok(out);
  for (const value of values) {
    const decoded = decodeCredential(type, value);
    if (!decoded.ok) {
      step = reject('malformed-encoding', level, `published ${decoded.error.detail}`);
      break;
    }
    // Frozen: verifiers remember these objects as checked (VerifiedSignatures.hasGoodPair).
    out.push(deepFreeze(decoded.value));
  }
  decodedLists.set(values, { type, step });
  return step;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

// A client checks every credential of one AS's answer against the same published lists,
// so each list is decoded once per answer (keyed by the array, never changed in place).
const decodedLists = new WeakMap<
  readonly unknown[],
  { readonly type: CredentialType; readonly step: Step<unknown[]> }
>();

export async function verifyClientCredentialChain(
  input: ChainInput,
): Promise<Step<VerifiedClient>> {
  // 1. Structure.
  const client = decodeCredential('ClientCredential', input.credential);
  if (!client.ok) return reject('malformed-encoding', 'client', client.error.detail);
  const intermediates = decodeAll(
    'AsIntermediateCredential',
    input.published.as_intermediate_credentials,
    'intermediate',
  );
  if (!intermediates.ok) return intermediates;
  const anchors = decodeAll('AsCredential', input.published.as_credentials, 'as');
  if (!anchors.ok) return anchors;
  const credential = client.value;
  const { lenient, memo } = input;
  const has = (l: ChainLeniency) => lenient?.has(l) === true;
  const domain = userDomain(credential.payload.client_id.user_id);
  if (domain === undefined) {
    return reject(
      'malformed-encoding',
      'client',
      'client_id.user_id is not @localpart:server_name',
    );
  }

  // 2. Issuers: the intermediate must be published by, and belong to, the client's domain.
  const intermediate =
    intermediates.value.find((c) => fingerprint(c) === credential.payload.signer_fingerprint) ??
    (has('any-client-issuer') ? intermediates.value[0] : undefined);
  if (intermediate === undefined) {
    return reject(
      'wrong-issuer',
      'client',
      'signer_fingerprint names no intermediate the AS publishes',
    );
  }
  if (intermediate.payload.domain !== domain && !has('any-client-issuer')) {
    return reject(
      'wrong-issuer',
      'client',
      `intermediate of ${intermediate.payload.domain} signs a client of ${domain}`,
    );
  }
  const anchor =
    anchors.value.find((c) => fingerprint(c) === intermediate.payload.signer_fingerprint) ??
    (has('any-intermediate-issuer') ? anchors.value[0] : undefined);
  if (anchor === undefined) {
    return reject(
      'unknown-as',
      'intermediate',
      'signer_fingerprint names no AS credential the domain publishes',
    );
  }
  if (anchor.payload.domain !== domain && !has('any-intermediate-issuer')) {
    return reject(
      'unknown-as',
      'intermediate',
      `AS credential of ${anchor.payload.domain} is not an anchor for ${domain}`,
    );
  }

  // 3. Keys and signatures, from the anchor down.
  const asKey = decodeKey(anchor, 'as');
  if (!asKey.ok) return asKey;
  const intermediateKey = decodeKey(intermediate, 'intermediate');
  if (!intermediateKey.ok) return intermediateKey;
  const clientKey = decodeKey(credential, 'client');
  if (!clientKey.ok) return clientKey;
  // A strict verifier that found this anchor and intermediate good, as these very objects of
  // one answer, does not check them again; a lenient one (a mutant) checks every time.
  const remembers = (lenient?.size ?? 0) === 0 ? memo : undefined;
  const pairKnown = remembers?.hasGoodPair(anchor, intermediate) === true;
  for (const step of [
    () =>
      pairKnown
        ? ok(undefined)
        : checkSignatures('AsCredential', anchor, asKey.value, asKey.value, 'as', lenient, memo),
    async () => {
      if (pairKnown) return ok(undefined);
      const checked = await checkSignatures(
        'AsIntermediateCredential',
        intermediate,
        intermediateKey.value,
        asKey.value,
        'intermediate',
        lenient,
        memo,
        has('any-intermediate-issuer'),
      );
      if (checked.ok) remembers?.addGoodPair(anchor, intermediate);
      return checked;
    },
    () =>
      checkSignatures(
        'ClientCredential',
        credential,
        clientKey.value,
        intermediateKey.value,
        'client',
        lenient,
        memo,
        has('any-client-issuer'),
      ),
  ]) {
    const result = await step();
    if (!result.ok) return result;
  }

  // 4. Revocation.
  // Nothing to look up when nothing is revoked: a client credential's fingerprint (its
  // canonical JSON, hashed) would be computed for every check.
  const revoked = new Set(has('ignore-revocation') ? [] : input.published.revoked_fingerprints);
  for (const [level, c] of [
    ['as', anchor],
    ['intermediate', intermediate],
    ['client', credential],
  ] as const) {
    if (revoked.size > 0 && revoked.has(fingerprint(c)))
      return reject('revoked', level, `${level} credential is revoked`);
  }

  // 5. Time, then nesting of windows.
  for (const [level, c] of [
    ['as', anchor],
    ['intermediate', intermediate],
    ['client', credential],
  ] as const) {
    const timed = checkTime(c.payload.expiration_data, input.now, level);
    if (!timed.ok && !has('ignore-validity')) return timed;
  }
  const nests = (inner: ExpirationData, outer: ExpirationData) =>
    has('skip-nesting') ||
    (has('strict-nesting')
      ? inner.not_before > outer.not_before && inner.not_after < outer.not_after
      : nestsWithin(inner, outer));
  if (!nests(intermediate.payload.expiration_data, anchor.payload.expiration_data)) {
    return reject(
      'validity-outside-signer',
      'intermediate',
      'intermediate validity exceeds its AS credential',
    );
  }
  if (!nests(credential.payload.expiration_data, intermediate.payload.expiration_data)) {
    return reject('validity-outside-signer', 'client', 'client validity exceeds its intermediate');
  }

  // 6. Identity in context.
  if (
    input.expectedUserId !== undefined &&
    !has('skip-user-check') &&
    credential.payload.client_id.user_id !== input.expectedUserId
  ) {
    return reject(
      'user-mismatch',
      'client',
      `credential names ${credential.payload.client_id.user_id}, expected ${input.expectedUserId}`,
    );
  }
  return ok({
    clientId: credential.payload.client_id,
    verifyingKey: clientKey.value,
    credential,
    intermediate,
    asCredential: anchor,
  });
}
