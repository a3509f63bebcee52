// The three credential types of the AS and how they are issued.
//
// A credential is { payload, self_signature, signature }:
// - self_signature: the subject's own key over the payload (proof of possession);
// - signature: the issuer's key over { payload, self_signature }.
// The AS credential is its own issuer. Each type signs under labels of its own
// (see ../labels.ts). Values are kept in their JSON wire form, binary fields as
// unpadded base64, so they can be signed, sent and stored without conversion.
import { createHash } from 'node:crypto';
import type { Ed25519KeyPair } from '../crypto/ed25519.ts';
import { encodeUnpaddedBase64, encodeUnpaddedBase64Url } from '../encoding/base64.ts';
import { labelledBytes, signWithLabel, type SignatureLabel } from '../labels.ts';
import type { ExpirationData } from './expiration.ts';

export const CREDENTIAL_VERSION = 1;
export type CredentialCiphersuite = 'ed25519';

export interface AsCredentialPayload {
  readonly version: typeof CREDENTIAL_VERSION;
  /** server_name of the homeserver whose trust anchor this is. */
  readonly domain: string;
  readonly expiration_data: ExpirationData;
  readonly credential_ciphersuite: CredentialCiphersuite;
  readonly verifying_key: string;
}

export interface AsIntermediateCredentialPayload {
  readonly version: typeof CREDENTIAL_VERSION;
  readonly domain: string;
  readonly expiration_data: ExpirationData;
  readonly credential_ciphersuite: CredentialCiphersuite;
  readonly verifying_key: string;
  /** Fingerprint of the AsCredential that signs this one. */
  readonly signer_fingerprint: string;
}

/** Names a client: the user it belongs to (`@localpart:server_name`) and its own id. */
export interface ClientId {
  readonly user_id: string;
  readonly client: string;
}

export interface ClientCredentialPayload {
  readonly version: typeof CREDENTIAL_VERSION;
  readonly client_id: ClientId;
  readonly expiration_data: ExpirationData;
  readonly credential_ciphersuite: CredentialCiphersuite;
  readonly verifying_key: string;
  /** Fingerprint of the AsIntermediateCredential that signs this one. */
  readonly signer_fingerprint: string;
}

/** A signing request: the payload with the subject's proof of possession. */
export interface CredentialSigningRequest<P> {
  readonly payload: P;
  readonly self_signature: string;
}

export interface Credential<P> extends CredentialSigningRequest<P> {
  readonly signature: string;
}

export type AsCredential = Credential<AsCredentialPayload>;
export type AsIntermediateCredential = Credential<AsIntermediateCredentialPayload>;
export type ClientCredential = Credential<ClientCredentialPayload>;

export type CredentialType = 'AsCredential' | 'AsIntermediateCredential' | 'ClientCredential';

export const credentialLabel = (type: CredentialType): SignatureLabel => type;
export const selfSignedLabel = (type: CredentialType): SignatureLabel => `${type}SelfSigned`;

/** What the issuer signs: the payload together with the subject's proof of possession. */
export const issuerSignedContent = <P>(request: CredentialSigningRequest<P>) => ({
  payload: request.payload,
  self_signature: request.self_signature,
});

export async function createSigningRequest<P>(
  type: CredentialType,
  subject: Ed25519KeyPair,
  payload: P,
): Promise<CredentialSigningRequest<P>> {
  const selfSignature = await signWithLabel(subject, selfSignedLabel(type), payload);
  return { payload, self_signature: encodeUnpaddedBase64(selfSignature) };
}

export async function signRequest<P>(
  type: CredentialType,
  issuer: Ed25519KeyPair,
  request: CredentialSigningRequest<P>,
): Promise<Credential<P>> {
  const signature = await signWithLabel(
    issuer,
    credentialLabel(type),
    issuerSignedContent(request),
  );
  return { ...issuerSignedContent(request), signature: encodeUnpaddedBase64(signature) };
}

/** The fingerprint that names a credential as a signer: URL-safe base64 of a labelled SHA-256. */
export function fingerprint(credential: Credential<unknown>): string {
  let known = fingerprints.get(credential);
  if (known === undefined) {
    const hash = createHash('sha256').update(labelledBytes('CredentialFingerprint', credential));
    known = encodeUnpaddedBase64Url(hash.digest());
    fingerprints.set(credential, known);
  }
  return known;
}

// By object: a chain check looks up each published credential by fingerprint, and the
// same decoded credentials serve every check against one AS's answer (chain.ts).
// Credentials are never changed in place, so an object's fingerprint stays true.
const fingerprints = new WeakMap<object, string>();

export async function issueAsCredential(input: {
  readonly key: Ed25519KeyPair;
  readonly domain: string;
  readonly expiration: ExpirationData;
}): Promise<AsCredential> {
  const payload: AsCredentialPayload = {
    version: CREDENTIAL_VERSION,
    domain: input.domain,
    expiration_data: input.expiration,
    credential_ciphersuite: 'ed25519',
    verifying_key: encodeUnpaddedBase64(input.key.publicKey),
  };
  const request = await createSigningRequest('AsCredential', input.key, payload);
  return signRequest('AsCredential', input.key, request);
}

export async function issueIntermediateCredential(input: {
  readonly key: Ed25519KeyPair;
  readonly asKey: Ed25519KeyPair;
  readonly asCredential: AsCredential;
  readonly expiration: ExpirationData;
}): Promise<AsIntermediateCredential> {
  const payload: AsIntermediateCredentialPayload = {
    version: CREDENTIAL_VERSION,
    domain: input.asCredential.payload.domain,
    expiration_data: input.expiration,
    credential_ciphersuite: 'ed25519',
    verifying_key: encodeUnpaddedBase64(input.key.publicKey),
    signer_fingerprint: fingerprint(input.asCredential),
  };
  const request = await createSigningRequest('AsIntermediateCredential', input.key, payload);
  return signRequest('AsIntermediateCredential', input.asKey, request);
}

/** The client side of registration: a CSR naming the intermediate the client picked. */
export function createClientCredentialRequest(input: {
  readonly key: Ed25519KeyPair;
  readonly clientId: ClientId;
  readonly intermediate: AsIntermediateCredential;
  readonly expiration: ExpirationData;
}): Promise<CredentialSigningRequest<ClientCredentialPayload>> {
  const payload: ClientCredentialPayload = {
    version: CREDENTIAL_VERSION,
    client_id: input.clientId,
    expiration_data: input.expiration,
    credential_ciphersuite: 'ed25519',
    verifying_key: encodeUnpaddedBase64(input.key.publicKey),
    signer_fingerprint: fingerprint(input.intermediate),
  };
  return createSigningRequest('ClientCredential', input.key, payload);
}

/** The server_name part of a user id `@localpart:server_name`, or undefined if malformed. */
export function userDomain(userId: string): string | undefined {
  const match = /^@([^:]+):(.+)$/.exec(userId);
  return match?.[2];
}
