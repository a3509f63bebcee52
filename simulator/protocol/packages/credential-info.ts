// CredentialInfo: how members of a connection group learn who the other
// members are without the DS learning it. MLS leaves carry only random
// pseudonyms and fresh signature keys; each member's CredentialInfo binds its
// leaf signature key to its ClientCredential (a labelled signature by the
// credential's key) and travels encrypted under the group's CredentialEarKey,
// which only clients hold. Before publication (with a KeyPackage on the QS) it is
// encrypted under the user's friendship key instead, so the QS learns nothing.
import { gcmOpen, gcmSeal } from '../crypto/aes-gcm.ts';
import { z } from 'zod';
import type { Ed25519KeyPair } from '../crypto/ed25519.ts';
import type { Rng } from '../crypto/rng.ts';
import { decodeBase64, encodeUnpaddedBase64, base64Text as base64 } from '../encoding/base64.ts';
import { canonicalJson } from '../encoding/canonical-json.ts';
import {
  verifyClientCredentialChain,
  verifyLabelled,
  type ChainLeniency,
  type AsCredentialsResponse,
  type ChainFailure,
  type VerifiedClient,
} from '../credentials/chain.ts';
import type { ClientCredential } from '../credentials/credential.ts';
import type { VerifiedSignatures } from '../credentials/verified-signatures.ts';
import { clientCredentialSchema } from '../credentials/schema.ts';
import { signWithLabel } from '../labels.ts';
import { err, ok, type Result } from '../result.ts';

export interface CredentialInfo {
  readonly client_credential: ClientCredential;
  /** The MLS leaf signature key this credential vouches for (base64). */
  readonly leaf_signature_key: string;
  /** LeafBinding signature by the client credential over { leaf_signature_key }. */
  readonly binding: string;
}

export const credentialInfoSchema = z.strictObject({
  client_credential: clientCredentialSchema,
  leaf_signature_key: base64,
  binding: base64,
});

export const CREDENTIAL_INFO_FAILURE_KINDS = [
  'malformed-encoding',
  'decryption-failed',
  'credential-rejected',
  'bad-binding',
] as const;
export type CredentialInfoFailureKind = (typeof CREDENTIAL_INFO_FAILURE_KINDS)[number];
export interface CredentialInfoFailure {
  readonly kind: CredentialInfoFailureKind;
  readonly detail: string;
  readonly chain?: ChainFailure;
}
const reject = (kind: CredentialInfoFailureKind, detail: string, chain?: ChainFailure) =>
  err<CredentialInfoFailure>(chain === undefined ? { kind, detail } : { kind, detail, chain });

export async function createCredentialInfo(input: {
  readonly clientKey: Ed25519KeyPair;
  readonly clientCredential: ClientCredential;
  readonly leafSignatureKey: Uint8Array;
}): Promise<CredentialInfo> {
  const leaf_signature_key = encodeUnpaddedBase64(input.leafSignatureKey);
  const binding = await signWithLabel(input.clientKey, 'LeafBinding', { leaf_signature_key });
  return {
    client_credential: input.clientCredential,
    leaf_signature_key,
    binding: encodeUnpaddedBase64(binding),
  };
}

const NONCE_BYTES = 12;
export const CREDENTIAL_KEY_BYTES = 32;

/** AES-256-GCM under a 32-byte key; the output is base64 of nonce || ciphertext. */
export function sealCredentialInfo(key: Uint8Array, info: CredentialInfo, rng: Rng): string {
  const json = canonicalJson(info);
  if (!json.ok) throw new Error(`CredentialInfo is not canonical JSON: ${json.error.detail}`);
  const nonce = rng.bytes(NONCE_BYTES);
  const sealed = gcmSeal(key, nonce, new TextEncoder().encode(json.value));
  const out = new Uint8Array(NONCE_BYTES + sealed.length);
  out.set(nonce);
  out.set(sealed, NONCE_BYTES);
  return encodeUnpaddedBase64(out);
}

export function openCredentialInfo(
  key: Uint8Array,
  sealed: string,
): Result<CredentialInfo, CredentialInfoFailure> {
  const bytes = decodeBase64(sealed);
  if (!bytes.ok || bytes.value.length <= NONCE_BYTES + 16) {
    return reject('malformed-encoding', 'sealed CredentialInfo is too short or not base64');
  }
  const plaintext = gcmOpen(
    key,
    bytes.value.subarray(0, NONCE_BYTES),
    bytes.value.subarray(NONCE_BYTES),
  );
  if (plaintext === undefined)
    return reject('decryption-failed', 'CredentialInfo does not open under this key');
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext));
  } catch {
    return reject('malformed-encoding', 'CredentialInfo is not JSON');
  }
  const parsed = credentialInfoSchema.safeParse(value);
  if (!parsed.success) return reject('malformed-encoding', 'not a CredentialInfo');
  return ok(parsed.data as CredentialInfo);
}

/** Verifies the credential chain and that the credential vouches for this leaf key. */
export async function verifyCredentialInfo(input: {
  readonly info: CredentialInfo;
  readonly published: AsCredentialsResponse;
  readonly now: number;
  /** Checks to loosen: only the reference client's mutants pass any. */
  readonly lenient?: ReadonlySet<ChainLeniency>;
  /** The verifier's good signatures so far: each is verified once. */
  readonly memo?: VerifiedSignatures;
}): Promise<Result<VerifiedClient, CredentialInfoFailure>> {
  const chain = await verifyClientCredentialChain({
    credential: input.info.client_credential,
    published: input.published,
    now: input.now,
    ...(input.memo === undefined ? {} : { memo: input.memo }),
  });
  if (!chain.ok) return reject('credential-rejected', chain.error.detail, chain.error);
  const binding = decodeBase64(input.info.binding);
  const verdict = binding.ok
    ? await verifyLabelled(
        chain.value.verifyingKey,
        'LeafBinding',
        { leaf_signature_key: input.info.leaf_signature_key },
        binding.value,
        input.lenient,
        input.memo,
      )
    : binding;
  if (!verdict.ok) return reject('bad-binding', `leaf binding: ${verdict.error.detail}`);
  return ok(chain.value);
}
