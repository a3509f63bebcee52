// ConnectionEstablishmentPackage (CEP): what the initiator sends to the
// responder. It carries the initiator's ClientCredential and what the responder
// needs to join the connection group (group id, group state EAR key, credential
// EAR key), is signed by the initiator's client credential, and is sealed with
// HPKE to the ConnectionEncryptionKey of the package the initiator fetched.
import { z } from 'zod';
import type { Ed25519KeyPair } from '../crypto/ed25519.ts';
import { hpkeOpen, hpkeSeal, type HpkeKeyPair } from '../crypto/hpke.ts';
import type { Rng } from '../crypto/rng.ts';
import { canonicalJson } from '../encoding/canonical-json.ts';
import { decodeBase64, encodeUnpaddedBase64, base64Text as base64 } from '../encoding/base64.ts';
import {
  verifyClientCredentialChain,
  verifyLabelled,
  type AsCredentialsResponse,
  type ChainLeniency,
  type ChainFailure,
  type VerifiedClient,
} from '../credentials/chain.ts';
import type { VerifiedSignatures } from '../credentials/verified-signatures.ts';
import { userDomain, type ClientCredential } from '../credentials/credential.ts';
import { clientCredentialSchema } from '../credentials/schema.ts';
import { decodeCredential } from '../credentials/schema.ts';
import { signWithLabel } from '../labels.ts';
import { err, ok, type Result } from '../result.ts';

export interface ConnectionEstablishmentPackageTbs {
  readonly version: 1;
  readonly sender_client_credential: ClientCredential;
  readonly connection_group_id: string;
  readonly connection_group_ear_key: string;
  readonly connection_group_credential_key: string;
}

export interface ConnectionEstablishmentPackage extends ConnectionEstablishmentPackageTbs {
  readonly signature: string;
}

/** The wire form that travels through the AS and QS: opaque to both. */
export interface SealedConnectionEstablishmentPackage {
  readonly enc: string;
  readonly ciphertext: string;
}

export const cepSchema = z.strictObject({
  version: z.literal(1),
  sender_client_credential: clientCredentialSchema,
  connection_group_id: base64.min(1),
  connection_group_ear_key: base64.min(1),
  connection_group_credential_key: base64.min(1),
  signature: base64,
});
export const sealedCepSchema = z.strictObject({ enc: base64, ciphertext: base64 });

export const EAR_KEY_BYTES = 32;
const HPKE_INFO = new TextEncoder().encode('fedconn-v1 ConnectionEstablishmentPackage');

export const CEP_FAILURE_KINDS = [
  'malformed-encoding',
  'malformed-key',
  'decryption-failed',
  'bad-signature',
  'credential-rejected',
] as const;
export type CepFailureKind = (typeof CEP_FAILURE_KINDS)[number];

export interface CepFailure {
  readonly kind: CepFailureKind;
  readonly detail: string;
  readonly chain?: ChainFailure;
}

const reject = (kind: CepFailureKind, detail: string, chain?: ChainFailure) =>
  err<CepFailure>(chain === undefined ? { kind, detail } : { kind, detail, chain });

export async function buildEstablishmentPackage(input: {
  readonly senderKey: Ed25519KeyPair;
  readonly senderCredential: ClientCredential;
  readonly groupId: Uint8Array;
  readonly groupStateEarKey: Uint8Array;
  readonly credentialEarKey: Uint8Array;
}): Promise<ConnectionEstablishmentPackage> {
  const tbs: ConnectionEstablishmentPackageTbs = {
    version: 1,
    sender_client_credential: input.senderCredential,
    connection_group_id: encodeUnpaddedBase64(input.groupId),
    connection_group_ear_key: encodeUnpaddedBase64(input.groupStateEarKey),
    connection_group_credential_key: encodeUnpaddedBase64(input.credentialEarKey),
  };
  const signature = await signWithLabel(input.senderKey, 'ConnectionEstablishmentPackage', tbs);
  return { ...tbs, signature: encodeUnpaddedBase64(signature) };
}

export async function sealEstablishmentPackage(input: {
  readonly cep: ConnectionEstablishmentPackage;
  readonly encryptionKey: Uint8Array;
  readonly rng: Rng;
}): Promise<Result<SealedConnectionEstablishmentPackage, CepFailure>> {
  const json = canonicalJson(input.cep);
  if (!json.ok) return reject('malformed-encoding', json.error.detail);
  const sealed = await hpkeSeal({
    publicKey: input.encryptionKey,
    plaintext: new TextEncoder().encode(json.value),
    info: HPKE_INFO,
    rng: input.rng,
  });
  if (!sealed.ok) return reject('malformed-key', sealed.error.detail);
  return ok({
    enc: encodeUnpaddedBase64(sealed.value.enc),
    ciphertext: encodeUnpaddedBase64(sealed.value.ciphertext),
  });
}

/** Opens a queued message with a package key and decodes it as a CEP (signature not yet checked). */
export async function openEstablishmentPackage(input: {
  readonly sealed: unknown;
  readonly decryptionKey: HpkeKeyPair;
}): Promise<Result<ConnectionEstablishmentPackage, CepFailure>> {
  const envelope = sealedCepSchema.safeParse(input.sealed);
  if (!envelope.success) return reject('malformed-encoding', 'not a sealed establishment package');
  const enc = decodeBase64(envelope.data.enc);
  const ciphertext = decodeBase64(envelope.data.ciphertext);
  if (!enc.ok || !ciphertext.ok)
    return reject('malformed-encoding', 'sealed package is not base64');
  const opened = await hpkeOpen({
    keyPair: input.decryptionKey,
    sealed: { enc: enc.value, ciphertext: ciphertext.value },
    info: HPKE_INFO,
  });
  if (!opened.ok) return reject('decryption-failed', opened.error.detail);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(opened.value));
  } catch {
    return reject('malformed-encoding', 'decrypted package is not UTF-8 JSON');
  }
  const parsed = cepSchema.safeParse(value);
  if (!parsed.success) {
    return reject(
      'malformed-encoding',
      `not a ConnectionEstablishmentPackage: ${parsed.error.issues[0]?.message ?? ''}`,
    );
  }
  return ok(parsed.data as ConnectionEstablishmentPackage);
}

/** The domain whose AS credentials the responder must fetch to verify this package. */
export function senderDomain(cep: ConnectionEstablishmentPackage): string | undefined {
  return userDomain(cep.sender_client_credential.payload.client_id.user_id);
}

export interface VerifiedEstablishmentPackage {
  readonly sender: VerifiedClient;
  /** The sender's user id: the only thing about the initiator shown before acceptance. */
  readonly senderUserId: string;
  readonly groupId: Uint8Array;
  readonly groupStateEarKey: Uint8Array;
  readonly credentialEarKey: Uint8Array;
}

/** Verifies the sender's credential chain, then the package signature under it. */
export async function verifyEstablishmentPackage(input: {
  readonly cep: ConnectionEstablishmentPackage;
  readonly published: AsCredentialsResponse;
  readonly now: number;
  /**
   * Checks to skip or loosen: only the reference client's mutants pass any
   * (suites/connection/responder*.ts); without them nothing changes.
   */
  readonly lenient?: ReadonlySet<ChainLeniency | 'skip-chain' | 'skip-package-signature'>;
  /** The verifier's good signatures so far: each is verified once. */
  readonly memo?: VerifiedSignatures;
}): Promise<Result<VerifiedEstablishmentPackage, CepFailure>> {
  const { cep, lenient } = input;
  const chainLenient = lenient as ReadonlySet<ChainLeniency> | undefined;
  const chain =
    lenient?.has('skip-chain') === true
      ? unverified(cep.sender_client_credential)
      : await verifyClientCredentialChain({
          credential: cep.sender_client_credential,
          published: input.published,
          now: input.now,
          ...(chainLenient === undefined ? {} : { lenient: chainLenient }),
          ...(input.memo === undefined ? {} : { memo: input.memo }),
        });
  if (!chain.ok) return reject('credential-rejected', chain.error.detail, chain.error);
  const { signature, ...tbs } = cep;
  const bytes = decodeBase64(signature);
  const verdict =
    lenient?.has('skip-package-signature') === true
      ? ok(undefined)
      : bytes.ok
        ? await verifyLabelled(
            chain.value.verifyingKey,
            'ConnectionEstablishmentPackage',
            tbs,
            bytes.value,
            chainLenient,
          )
        : bytes;
  if (!verdict.ok) return reject('bad-signature', `package signature: ${verdict.error.detail}`);
  const field = (text: string) => decodeBase64(text);
  const groupId = field(cep.connection_group_id);
  const ear = field(cep.connection_group_ear_key);
  const credentialKey = field(cep.connection_group_credential_key);
  if (!groupId.ok || !ear.ok || !credentialKey.ok)
    return reject('malformed-encoding', 'key fields are not base64');
  if (ear.value.length !== EAR_KEY_BYTES || credentialKey.value.length !== EAR_KEY_BYTES) {
    return reject('malformed-encoding', `EAR keys must be ${EAR_KEY_BYTES} bytes`);
  }
  return ok({
    sender: chain.value,
    senderUserId: chain.value.clientId.user_id,
    groupId: groupId.value,
    groupStateEarKey: ear.value,
    credentialEarKey: credentialKey.value,
  });
}

/** A mutant's shortcut: the credential taken at its word, nothing verified. */
function unverified(credential: ClientCredential): Result<VerifiedClient, ChainFailure> {
  const key = decodeBase64(credential.payload.verifying_key);
  const decoded = decodeCredential('ClientCredential', credential);
  if (!key.ok || !decoded.ok)
    return err({ kind: 'malformed-encoding', level: 'client', detail: 'unreadable credential' });
  return ok({
    clientId: credential.payload.client_id,
    verifyingKey: key.value,
    credential,
    // Unverified: the mutant never looked at the issuers.
    intermediate: undefined as never,
    asCredential: undefined as never,
  });
}
