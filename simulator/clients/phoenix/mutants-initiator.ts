// Named mutants of the reference client as a publisher of connection packages and
// as an initiator: each one deliberately breaks one rule of what it publishes,
// which packages it uses and what it sends, so the suite can prove that its check
// for that rule fails (suites/connection/initiator*.ts, packages.ts). A client runs
// a mutant when its environment lists the name. Names are `<rule id>/<what breaks>`.
import type { Ed25519KeyPair } from '../../protocol/crypto/ed25519.ts';
import { decodeBase64, encodeUnpaddedBase64 } from '../../protocol/encoding/base64.ts';
import { signWithLabel } from '../../protocol/labels.ts';
import type { ConnectionPackage } from '../../protocol/packages/connection-package.ts';
import type { ConnectionEstablishmentPackage } from '../../protocol/packages/establishment-package.ts';

export const INITIATOR_CLIENT_MUTANTS = {
  /** Publish connection packages under the user id without their signature. */
  publishWithoutSignature: 'CONN-PKG-01/publish-without-signature',
  /** Use a connection package (or alias payload) whose lifetime has ended or not yet begun. */
  ignoreLifetime: 'CONN-PKG-05/initiator-ignores-lifetime',
  /** Use a fetched connection package without verifying its signature, chain or user. */
  skipPackageVerification: 'CONN-PKG-06/skip-package-verification',
  /** Also take a package signature that covers every field but the payload's lifetime. */
  packageSignatureWithoutLifetime: 'CONN-PKG-06/verifies-signature-without-lifetime',
  /** Sign the establishment package over every field but the connection group id. */
  signatureOmitsGroupId: 'CONN-CEP-01/signature-omits-group-id',
  /** Send the establishment package to the responder's first client only. */
  sendToFirstClientOnly: 'CONN-CEP-03/send-to-first-client-only',
  /** One group state EAR key for every connection group the client creates. */
  reuseEarKey: 'CONN-CEP-06/reuse-ear-key',
  /** Create the connection group with the initiating client alone: no siblings added. */
  groupWithoutSiblings: 'CONN-CEP-07/group-holds-only-initiating-client',
} as const;

export type InitiatorClientMutant =
  (typeof INITIATOR_CLIENT_MUTANTS)[keyof typeof INITIATOR_CLIENT_MUTANTS];

const has = (mutants: ReadonlySet<string> | undefined, name: InitiatorClientMutant) =>
  mutants?.has(name) === true;

/** The package as the client uploads it: the mutant strips the signature. */
export function asPublished(
  mutants: ReadonlySet<string> | undefined,
  pkg: ConnectionPackage,
): ConnectionPackage | Omit<ConnectionPackage, 'signature'> {
  if (!has(mutants, INITIATOR_CLIENT_MUTANTS.publishWithoutSignature)) return pkg;
  return { payload: pkg.payload, client_credential: pkg.client_credential };
}

/** A package taken at its word: the key and client it names, nothing verified. */
export interface UnverifiedPackage {
  readonly encryptionKey: Uint8Array;
  readonly client: string;
}

function readPackage(value: unknown, alias: boolean): UnverifiedPackage | undefined {
  const v = value as Partial<ConnectionPackage> & { encryption_key?: unknown };
  const keyText = alias ? v.encryption_key : v.payload?.encryption_key;
  const key = typeof keyText === 'string' ? decodeBase64(keyText) : undefined;
  const client = alias ? '' : v.client_credential?.payload.client_id.client;
  if (key?.ok !== true || client === undefined) return undefined;
  return { encryptionKey: key.value, client };
}

/**
 * What a mutant initiator uses after its verification of a fetched package failed
 * with `kind`: the unverified package when a mutant lets it through, else undefined.
 */
export function usedDespite(
  mutants: ReadonlySet<string> | undefined,
  kind: string,
  value: unknown,
  alias: boolean,
): UnverifiedPackage | undefined {
  const lifetimeOnly = kind === 'expired' || kind === 'not-yet-valid';
  if (
    has(mutants, INITIATOR_CLIENT_MUTANTS.skipPackageVerification) ||
    (lifetimeOnly && has(mutants, INITIATOR_CLIENT_MUTANTS.ignoreLifetime))
  ) {
    return readPackage(value, alias);
  }
  return undefined;
}

/** The mutant's package: the signature covers every field but connection_group_id. */
export async function withoutGroupIdInSignature(
  cep: ConnectionEstablishmentPackage,
  key: Ed25519KeyPair,
): Promise<ConnectionEstablishmentPackage> {
  const partial = await signWithLabel(key, 'ConnectionEstablishmentPackage', {
    version: cep.version,
    sender_client_credential: cep.sender_client_credential,
    connection_group_ear_key: cep.connection_group_ear_key,
    connection_group_credential_key: cep.connection_group_credential_key,
  });
  return { ...cep, signature: encodeUnpaddedBase64(partial) };
}
