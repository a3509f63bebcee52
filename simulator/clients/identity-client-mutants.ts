// Named mutants of the reference identity client: each one deliberately breaks one
// CLIENT rule of the IS-* families, so the suite can prove that its check for that rule
// fails. The client runs a mutant when its options list the name. Names are
// `<rule id>/<what breaks>`.
export const IDENTITY_CLIENT_MUTANTS = {
  /** On a third_party_mappings referral, look up with `none` (the address in clear). */
  cleartextOnReferral: 'IS-LOOKUP-10/cleartext-on-referral',
  /** On a referral, send the first server's hash again under the second server's pepper. */
  reuseFirstHash: 'IS-FED-04/reuse-first-hash',
  /** Spell the sha256 hash in standard base64 ('+' and '/', padded) instead of URL-safe. */
  standardBase64Hash: 'IS-LOOKUP-02/client-standard-base64',
} as const;

export type IdentityClientMutant =
  (typeof IDENTITY_CLIENT_MUTANTS)[keyof typeof IDENTITY_CLIENT_MUTANTS];

export const IDENTITY_CLIENT_MUTANT_NAMES: readonly IdentityClientMutant[] =
  Object.values(IDENTITY_CLIENT_MUTANTS);
