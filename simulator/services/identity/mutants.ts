// Named mutants of the reference identity service: each one deliberately breaks one
// IS-* rule, so the suite can prove that its check for that rule fails. A server runs a
// mutant when its config lists the name. Names are `<rule id>/<what breaks>`.
export const IDENTITY_SERVER_MUTANTS = {
  /** hash_details offers only the none algorithm. */
  offerOnlyNone: 'IS-LOOKUP-01/offer-only-none',
  /** Hash with standard base64 instead of URL-safe base64. */
  standardBase64: 'IS-LOOKUP-02/standard-base64',
  /** Map hashes it does not know to an empty string instead of omitting them. */
  mapUnknownToEmpty: 'IS-LOOKUP-03/map-unknown-to-empty',
  /** Answer lookups whatever pepper they name. */
  ignorePepper: 'IS-LOOKUP-04/ignore-pepper',
  /** M_INVALID_PEPPER without algorithm and lookup_pepper. */
  bareInvalidPepper: 'IS-LOOKUP-05/bare-error-body',
  /** Answer an unknown algorithm as if it were none. */
  unknownAlgorithmAsNone: 'IS-LOOKUP-06/treat-unknown-algorithm-as-none',
  /** Answer lookups without an access token. */
  lookupWithoutAuthentication: 'IS-LOOKUP-07/lookup-without-authentication',
  /** Take the last word of any Authorization header as the access token, whatever its scheme. */
  lenientBearerParsing: 'IS-LOOKUP-07/lenient-bearer-parsing',
  /** Refuse every token that has an expiry, even before it expires. */
  refuseExpiringTokens: 'IS-LOOKUP-07/refuse-unexpired-expiring-token',
  /** Skip the pepper check for the none algorithm. */
  nonePepperUnchecked: 'IS-LOOKUP-08/skip-pepper-check-for-none',
  /** Generate peppers with an underscore in them. */
  pepperWithUnderscore: 'IS-LOOKUP-09/pepper-with-underscore',
  /** Drop the old pepper at once on rotation. */
  dropOldPeppers: 'IS-FED-01/drop-old-peppers',
  /** Keep accepting retired peppers. */
  acceptRetiredPepper: 'IS-FED-02/accept-retired-pepper',
  /** Never send third_party_mappings. */
  omitThirdPartyMappings: 'IS-FED-03/omit-third-party-mappings',
  /** Accept pushes from any authenticated server. */
  acceptUntrustedPush: 'IS-PUSH-01/accept-untrusted-push',
  /** Take a push from the origin its X-Matrix header claims, signature unchecked. */
  trustClaimedOrigin: 'IS-PUSH-02/trust-claimed-origin',
  /** Skip the X-Matrix destination check on pushes. */
  skipPushDestination: 'IS-PUSH-03/skip-destination-check',
  /** Also take a push whose X-Matrix signature covers the request but not its body. */
  pushSignatureWithoutContent: 'IS-PUSH-03/verifies-push-without-content',
  /** Store a push's hashes before deciding whether the pusher is trusted. */
  storeBeforeAuthorising: 'IS-PUSH-04/store-before-authorising',
  /** Accept pushed hashes whatever pepper they name. */
  ignorePushPepper: 'IS-PUSH-05/ignore-push-pepper',
  /** Accept a trusted push but store nothing. */
  storeNothing: 'IS-PUSH-06/store-nothing',
  /** Store the hashes of every server a trusted push names, not only the pusher's own. */
  acceptForeignMappings: 'IS-PUSH-07/accept-foreign-mappings',
  /** Accept pushes whatever algorithm they name. */
  acceptAnyPushAlgorithm: 'IS-PUSH-08/accept-any-algorithm',
  /** Store pushed strings that are not sha256 lookup hashes. */
  acceptMalformedPushedHashes: 'IS-PUSH-08/accept-malformed-hashes',
} as const;

export type IdentityServerMutant =
  (typeof IDENTITY_SERVER_MUTANTS)[keyof typeof IDENTITY_SERVER_MUTANTS];

export const IDENTITY_SERVER_MUTANT_NAMES: readonly IdentityServerMutant[] =
  Object.values(IDENTITY_SERVER_MUTANTS);
