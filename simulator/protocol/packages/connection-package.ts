// ConnectionPackage and ConnectionPackagePayload (both seed profiles).
//
// Under the user id a client publishes the full ConnectionPackage: the payload
// (ConnectionEncryptionKey and lifetime), its ClientCredential, and a signature
// by that credential over both. Under an alias only the bare payload is
// published: no credential and no signature, so nothing ties it to the user.
// Every package gets a fresh HPKE key pair, which also keeps keys distinct across
// aliases and the user id.
import { z } from 'zod';
import type { Ed25519KeyPair } from '../crypto/ed25519.ts';
import { deriveHpkeKeyPair, HPKE_PUBLIC_KEY_BYTES, type HpkeKeyPair } from '../crypto/hpke.ts';
import type { Rng } from '../crypto/rng.ts';
import { decodeBase64, encodeUnpaddedBase64, base64Text as base64 } from '../encoding/base64.ts';
import {
  verifyClientCredentialChain,
  verifyLabelled,
  type AsCredentialsResponse,
  type ChainFailure,
  type ChainLeniency,
  type VerifiedClient,
} from '../credentials/chain.ts';
import type { VerifiedSignatures } from '../credentials/verified-signatures.ts';
import type { ClientCredential } from '../credentials/credential.ts';
import { validityAt, type ExpirationData } from '../credentials/expiration.ts';
import { clientCredentialSchema } from '../credentials/schema.ts';
import { signWithLabel } from '../labels.ts';
import { err, ok, type Result } from '../result.ts';

export interface ConnectionPackagePayload {
  readonly version: 1;
  /** The ConnectionEncryptionKey: an HPKE X25519 public key, base64. */
  readonly encryption_key: string;
  readonly lifetime: ExpirationData;
}

export interface ConnectionPackage {
  readonly payload: ConnectionPackagePayload;
  readonly client_credential: ClientCredential;
  /** Labelled signature by the client credential over { payload, client_credential }. */
  readonly signature: string;
}

export const connectionPackagePayloadSchema = z.strictObject({
  version: z.literal(1),
  encryption_key: base64,
  lifetime: z.strictObject({ not_before: z.int(), not_after: z.int() }),
});
export const connectionPackageSchema = z.strictObject({
  payload: connectionPackagePayloadSchema,
  client_credential: clientCredentialSchema,
  signature: base64,
});

export const PACKAGE_FAILURE_KINDS = [
  'malformed-encoding',
  'malformed-key',
  'expired',
  'not-yet-valid',
  'bad-signature',
  'credential-rejected',
] as const;
export type PackageFailureKind = (typeof PACKAGE_FAILURE_KINDS)[number];

export interface PackageFailure {
  readonly kind: PackageFailureKind;
  readonly detail: string;
  /** Present when the package's credential chain was rejected. */
  readonly chain?: ChainFailure;
}

const reject = (kind: PackageFailureKind, detail: string, chain?: ChainFailure) =>
  err<PackageFailure>(chain === undefined ? { kind, detail } : { kind, detail, chain });

/** What the publishing client keeps: the package and the private half of its key. */
export interface PublishedPackage<P> {
  readonly published: P;
  readonly decryptionKey: HpkeKeyPair;
}

export async function createConnectionPackagePayload(input: {
  readonly rng: Rng;
  readonly lifetime: ExpirationData;
}): Promise<PublishedPackage<ConnectionPackagePayload>> {
  const decryptionKey = await deriveHpkeKeyPair(input.rng);
  return {
    published: {
      version: 1,
      encryption_key: encodeUnpaddedBase64(decryptionKey.publicKey),
      lifetime: input.lifetime,
    },
    decryptionKey,
  };
}

export async function createConnectionPackage(input: {
  readonly rng: Rng;
  readonly lifetime: ExpirationData;
  readonly clientKey: Ed25519KeyPair;
  readonly clientCredential: ClientCredential;
}): Promise<PublishedPackage<ConnectionPackage>> {
  const { published: payload, decryptionKey } = await createConnectionPackagePayload(input);
  const tbs = { payload, client_credential: input.clientCredential };
  const signature = await signWithLabel(input.clientKey, 'ConnectionPackage', tbs);
  return { published: { ...tbs, signature: encodeUnpaddedBase64(signature) }, decryptionKey };
}

/** A payload checked for structure, key shape and lifetime. */
export interface VerifiedPayload {
  readonly payload: ConnectionPackagePayload;
  readonly encryptionKey: Uint8Array;
}

function checkKey(payload: ConnectionPackagePayload): Result<VerifiedPayload, PackageFailure> {
  const key = decodeBase64(payload.encryption_key);
  if (!key.ok || key.value.length !== HPKE_PUBLIC_KEY_BYTES) {
    return reject('malformed-key', 'encryption_key is not a 32-byte X25519 key');
  }
  return ok({ payload, encryptionKey: key.value });
}

function checkLifetime(
  payload: ConnectionPackagePayload,
  now: number,
): Result<void, PackageFailure> {
  const validity = validityAt(payload.lifetime, now);
  if (validity === 'valid') return ok(undefined);
  return reject(
    validity,
    `package lifetime ${new Date(payload.lifetime.not_before).toISOString()} to ${new Date(payload.lifetime.not_after).toISOString()}, checked at ${new Date(now).toISOString()}`,
  );
}

/** Checks a payload published under an alias: it must carry nothing but key and lifetime. */
export function verifyConnectionPackagePayload(
  value: unknown,
  now: number,
): Result<VerifiedPayload, PackageFailure> {
  const parsed = connectionPackagePayloadSchema.safeParse(value);
  if (!parsed.success) {
    return reject(
      'malformed-encoding',
      `not a ConnectionPackagePayload: ${parsed.error.issues[0]?.message ?? ''}`,
    );
  }
  const key = checkKey(parsed.data);
  if (!key.ok) return key;
  const lifetime = checkLifetime(parsed.data, now);
  return lifetime.ok ? key : lifetime;
}

export interface VerifiedPackage extends VerifiedPayload {
  readonly package: ConnectionPackage;
  readonly client: VerifiedClient;
}

/**
 * Checks a package fetched by user id, as an initiator must before using it:
 * structure, the credential chain (and that it belongs to the user that was
 * looked up), the signature by that credential, and finally the lifetime.
 */
export async function verifyConnectionPackage(input: {
  readonly value: unknown;
  readonly now: number;
  readonly published: AsCredentialsResponse;
  readonly expectedUserId: string;
  /** Checks to skip or loosen: only the reference client's mutants pass any. */
  readonly lenient?: ReadonlySet<ChainLeniency>;
  /** The verifier's good signatures so far: each is verified once. */
  readonly memo?: VerifiedSignatures;
}): Promise<Result<VerifiedPackage, PackageFailure>> {
  const parsed = connectionPackageSchema.safeParse(input.value);
  if (!parsed.success) {
    return reject(
      'malformed-encoding',
      `not a ConnectionPackage: ${parsed.error.issues[0]?.message ?? ''}`,
    );
  }
  const pkg = parsed.data as ConnectionPackage;
  const payload = checkKey(pkg.payload);
  if (!payload.ok) return payload;
  const chain = await verifyClientCredentialChain({
    credential: pkg.client_credential,
    published: input.published,
    now: input.now,
    expectedUserId: input.expectedUserId,
    ...(input.lenient === undefined ? {} : { lenient: input.lenient }),
    ...(input.memo === undefined ? {} : { memo: input.memo }),
  });
  if (!chain.ok) return reject('credential-rejected', chain.error.detail, chain.error);
  const signature = decodeBase64(pkg.signature);
  const verdict = signature.ok
    ? await verifyLabelled(
        chain.value.verifyingKey,
        'ConnectionPackage',
        { payload: pkg.payload, client_credential: pkg.client_credential },
        signature.value,
        input.lenient,
      )
    : signature;
  if (!verdict.ok) return reject('bad-signature', `package signature: ${verdict.error.detail}`);
  // Lifetime last: a tampered lifetime must read as tampering, not as expiry.
  const lifetime = checkLifetime(pkg.payload, input.now);
  if (!lifetime.ok) return lifetime;
  return ok({ ...payload.value, package: pkg, client: chain.value });
}
