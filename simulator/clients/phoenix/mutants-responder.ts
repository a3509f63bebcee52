// Named mutants of the reference client as a responder: each one deliberately
// breaks one rule of how it checks an establishment package, so the suite can
// prove that its check for that rule fails (suites/connection/responder*.ts).
// A client runs a mutant when its environment lists the name. Names are
// `<rule id>/<what breaks>`.
import type { ChainLeniency } from '../../protocol/credentials/chain.ts';

export const RESPONDER_CLIENT_MUTANTS = {
  /** Take the sender's client credential at its word: no chain verification at all. */
  skipChainCheck: 'CRED-CHAIN-01/skip-chain-check',
  /** Accept an intermediate whatever AS credential signed it, of whatever domain. */
  acceptAnyIntermediate: 'CRED-CHAIN-03/accept-any-intermediate',
  /** Accept a client credential whatever intermediate signed it, of whatever domain. */
  acceptClientFromAnyIntermediate: 'CRED-CHAIN-04/accept-client-from-any-intermediate',
  /** Ignore the validity windows of the chain. */
  ignoreValidity: 'CRED-CHAIN-05/ignore-validity',
  /** Skip the check that each window nests within its signer's. */
  skipNestingCheck: 'CRED-CHAIN-06/skip-nesting-check',
  /** Refuse a window that touches its signer's edges (containment taken as strict). */
  strictNesting: 'CRED-CHAIN-06/strict-nesting',
  /** One shared label: a signature made under any label verifies. */
  sharedLabel: 'CRED-CHAIN-07/shared-label',
  /** Ignore the AS's list of revoked fingerprints. */
  ignoreRevocation: 'CRED-CHAIN-09/ignore-revocation',
  /** A lenient verifier: signatures with S >= L are reduced and accepted. */
  lenientVerifier: 'CRED-CHAIN-10/lenient-verifier',
  /** Accept public keys of small order (cofactored ZIP-215 verification). */
  acceptSmallOrderKeys: 'CRED-CHAIN-11/accept-small-order-keys',
  /** The initiator takes a connection package of another user than the one it looked up. */
  skipUserCheck: 'CRED-CHAIN-12/skip-user-check',
  /** Skip the verification of the establishment package's own signature. */
  skipPackageSignature: 'CONN-CEP-04/skip-package-signature',
  /** Also take a package signature that covers every field but the group state EAR key. */
  cepSignatureWithoutEarKey: 'CONN-CEP-04/verifies-signature-without-ear-key',
  /** Also take a client credential signed over its payload without the validity window. */
  credentialSignatureWithoutExpiration: 'CRED-CHAIN-01/verifies-signature-without-expiration',
  /** A queued message that does not open aborts the processing of later messages. */
  abortOnUndecodable: 'CONN-CEP-05/abort-on-undecodable',
  /** Show (and decide on) the device name the initiator chose instead of the user name. */
  showDeviceName: 'CONN-TRUST-02/show-device-name',
} as const;

export type ResponderClientMutant =
  (typeof RESPONDER_CLIENT_MUTANTS)[keyof typeof RESPONDER_CLIENT_MUTANTS];

/** What each verification mutant loosens in verifyEstablishmentPackage. */
const LENIENCY: Partial<
  Record<ResponderClientMutant, ChainLeniency | 'skip-chain' | 'skip-package-signature'>
> = {
  [RESPONDER_CLIENT_MUTANTS.skipChainCheck]: 'skip-chain',
  [RESPONDER_CLIENT_MUTANTS.acceptAnyIntermediate]: 'any-intermediate-issuer',
  [RESPONDER_CLIENT_MUTANTS.acceptClientFromAnyIntermediate]: 'any-client-issuer',
  [RESPONDER_CLIENT_MUTANTS.ignoreValidity]: 'ignore-validity',
  [RESPONDER_CLIENT_MUTANTS.skipNestingCheck]: 'skip-nesting',
  [RESPONDER_CLIENT_MUTANTS.strictNesting]: 'strict-nesting',
  [RESPONDER_CLIENT_MUTANTS.sharedLabel]: 'any-label',
  [RESPONDER_CLIENT_MUTANTS.ignoreRevocation]: 'ignore-revocation',
  [RESPONDER_CLIENT_MUTANTS.lenientVerifier]: 'malleable-signatures',
  [RESPONDER_CLIENT_MUTANTS.acceptSmallOrderKeys]: 'small-order-keys',
  [RESPONDER_CLIENT_MUTANTS.skipPackageSignature]: 'skip-package-signature',
  [RESPONDER_CLIENT_MUTANTS.cepSignatureWithoutEarKey]:
    'uncovered ConnectionEstablishmentPackage connection_group_ear_key',
  [RESPONDER_CLIENT_MUTANTS.credentialSignatureWithoutExpiration]:
    'uncovered ClientCredential payload.expiration_data',
};

/** The checks the active mutants loosen; undefined when none. */
export function responderLeniency(
  mutants: ReadonlySet<string> | undefined,
): ReadonlySet<ChainLeniency | 'skip-chain' | 'skip-package-signature'> | undefined {
  if (mutants === undefined || mutants.size === 0) return undefined;
  const out = new Set<ChainLeniency | 'skip-chain' | 'skip-package-signature'>();
  for (const [name, leniency] of Object.entries(LENIENCY)) {
    if (mutants.has(name)) out.add(leniency);
  }
  return out.size === 0 ? undefined : out;
}
