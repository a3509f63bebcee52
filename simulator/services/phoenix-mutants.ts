// Named mutants of the Phoenix services of the reference (AS, QS, DS): each one
// deliberately breaks one rule, so the suite can prove that its check for that
// rule fails. A server runs a mutant when its config lists the name. Names are
// `<rule id>/<what breaks>`.
export const PHOENIX_MUTANTS = {
  /** Publish the intermediate credential signed by its own key instead of the AS credential's. */
  intermediateNotSignedByAs: 'CRED-CHAIN-02/intermediate-not-signed-by-as',
  /** Also take a Fedconn-Sig request signature that covers the request but not its body. */
  requestSignatureWithoutContent: 'CONN-PKG-08/verifies-request-without-content',
  /** Take revocations but publish an empty revoked_fingerprints list (as Air's AS does). */
  revocationsNeverPublished: 'CRED-CHAIN-02/revocations-never-published',
  /** Sign CSRs without checking the self-signature (no proof of possession). */
  skipPossessionCheck: 'CRED-CHAIN-08/skip-possession-check',
  /** Issue a client credential for a window that is not valid now (expired or not yet begun). */
  issueOutsideValidity: 'CRED-CHAIN-05/as-issues-outside-validity',
  /** Issue a client credential whose window sticks out of the intermediate's. */
  issueBeyondIntermediate: 'CRED-CHAIN-06/as-issues-beyond-intermediate',
  /** Take a CSR self-signature made under any label (another credential type's, a package's). */
  acceptAnyLabel: 'CRED-CHAIN-07/as-accepts-any-label',
  /** Take a CSR self-signature with S >= L (reduced mod L, as a lenient verifier does). */
  acceptMalleatedSignature: 'CRED-CHAIN-10/as-accepts-malleated-signature',
  /** Take a CSR naming a small-order key, verified by the cofactored equation. */
  acceptSmallOrderKeys: 'CRED-CHAIN-11/as-accepts-small-order-keys',
  /** Accept a full connection package (credential, signature) under an alias. */
  acceptFullPackageUnderAlias: 'CONN-PKG-03/accept-full-package-under-alias',
  /** Serve connection packages whatever their lifetime. */
  serveExpiredPackages: 'CONN-PKG-05/serve-expired-packages',
  /** Store uploaded packages and payloads without authenticating the uploader. */
  acceptUnauthenticatedUploads: 'CONN-PKG-08/accept-unauthenticated-uploads',
  /** Demand a client credential signature on discovery. */
  discoveryNeedsCredential: 'CONN-DISC-01/discovery-needs-credential',
  /** A second registration of an alias overwrites the first. */
  overwriteAlias: 'CONN-DISC-03/overwrite-alias',
  /** Deleting an alias deletes only the alias entry, not its queue and payloads. */
  deleteOnlyAliasEntry: 'CONN-DISC-04/delete-only-alias-entry',
  /** Dequeue from an alias queue without authentication. */
  dequeueWithoutAuth: 'CONN-DISC-05/dequeue-without-auth',
  /** Open groups with the key the DS remembers, whatever EAR key the request carries. */
  ignoreEarKey: 'CONN-JOIN-02/ignore-ear-key',
} as const;

/** DS mutants of the join and race rules (listed by suites/connection/race-index.ts). */
export const DS_JOIN_MUTANTS = {
  /** Accept a join connection group commit whatever the number of users in the group. */
  skipSingleUserCheck: 'CONN-JOIN-03/skip-single-user-check',
  /** Accept commits (member commits and joins) for any epoch, not only the current one. */
  acceptStaleEpoch: 'CONN-JOIN-04/accept-stale-epoch',
  /**
   * Read the group, check the epoch, then write across the store's await without holding
   * the group's lock: with store latency, two commits for one epoch both pass the check.
   */
  checkThenWrite: 'CONN-JOIN-04/check-then-write-without-lock',
  /** Accept any external commit as a join, whatever proposals it carries besides ExternalInit. */
  acceptAnyExternalCommit: 'CONN-JOIN-05/accept-any-external-commit',
  /** Accept every join connection group commit: no epoch check, no single-user check. */
  acceptEveryJoin: 'CONN-RACE-05/ds-accepts-every-join',
  /** Store the join but send its commit to none of the members' queues. */
  dropJoinFanOut: 'CONN-JOIN-06/drop-join-fan-out',
  /** Take an add commit but deliver its WelcomeBundles to nobody: a device that lost the race stays out. */
  dropWelcomeBundles: 'CONN-RACE-06/ds-drops-welcome-bundles',
  /** Take a commit at the commit endpoint whoever sent it (an external commit too). */
  acceptCommitFromNonMember: 'CONN-JOIN-08/accept-commit-from-non-member',
  /** Take a member commit for whatever sender_queue the request names. */
  ignoreSenderQueue: 'CONN-JOIN-08/ignore-sender-queue',
  /** Take an add commit whatever number of clients the request's `added` lists. */
  ignoreAddedCount: 'CONN-JOIN-08/ignore-added-count',
  /** Keep the messages sent into a single-user group and hand them to whoever joins it. */
  deliverBacklogToJoiner: 'CONN-TRUST-01/deliver-backlog-to-joiner',
} as const;

/** AS and QS mutants of how packages are served and how federated users are reached. */
export const DISCOVERY_MUTANTS = {
  /** Serve connection packages under the user id stripped of their signature. */
  serveWithoutSignature: 'CONN-PKG-01/serve-without-signature',
  /** Discovery by user id returns the package of the user's first client only. */
  serveFirstClientOnly: 'CONN-PKG-02/serve-first-client-only',
  /** Never use a package up: the same package (or alias payload) is served every time. */
  serveSamePackage: 'CONN-PKG-07/serve-same-package',
  /** The QS refuses enqueues from other homeservers' DSs (federated delivery). */
  refuseFederatedEnqueue: 'CONN-DISC-02/refuse-federated-enqueue',
} as const;

/**
 * Servers that demand the identity the privacy rules keep out: each refuses a request
 * the protocol sends without naming its user (unsigned, or signed with an alias or queue
 * key) unless a client credential signs it, as a server that "authenticates against
 * spam" would. Had a client complied, the server would hold the link; a correct client
 * does not comply, so the privacy checks meet the refusal, on the wire as in process.
 */
export const IDENTIFYING_MUTANTS = {
  /** The AS takes an alias registration only when the owner's client signs it. */
  aliasRegistrationNamesOwner: 'ALIAS-UNLINK-01/as-demands-owner-on-alias-registration',
  /** The AS takes alias payloads only when a client of the user id signs the upload. */
  aliasPayloadsNameUser: 'ALIAS-UNLINK-02/as-demands-client-on-alias-payloads',
  /** The AS serves an alias queue only to a client credential, not the alias key. */
  aliasQueueNamesClient: 'ALIAS-UNLINK-03/as-demands-client-on-alias-queue',
  /** The AS takes an establishment package delivery only when the sender's client signs it. */
  deliveryNamesSender: 'CONN-PRIV-03/as-demands-sender-on-delivery',
  /** The QS opens a queue only for a request signed by a client credential of the AS. */
  queueNamesClient: 'CONN-PRIV-04/qs-demands-client-credential',
  /** The DS creates a group only for a request signed by the creator's client credential. */
  groupNamesMembers: 'CONN-PRIV-01/ds-demands-member-credentials',
} as const;

/** DS mutants of how connection groups are created. */
export const GROUP_MUTANTS = {
  /** A create naming a group id that exists replaces that group (the reference refuses it). */
  overwriteExistingGroup: 'CONN-CEP-06/ds-overwrites-existing-group',
} as const;

export type PhoenixMutant =
  | (typeof PHOENIX_MUTANTS)[keyof typeof PHOENIX_MUTANTS]
  | (typeof DS_JOIN_MUTANTS)[keyof typeof DS_JOIN_MUTANTS]
  | (typeof DISCOVERY_MUTANTS)[keyof typeof DISCOVERY_MUTANTS]
  | (typeof IDENTIFYING_MUTANTS)[keyof typeof IDENTIFYING_MUTANTS]
  | (typeof GROUP_MUTANTS)[keyof typeof GROUP_MUTANTS];
