// Named mutants of the reference client (and one of the DS) that break the
// privacy rules of connection establishment: aliases unlinkable from users,
// initiators unlinkable from responders, packages sealed end to end. Each one is
// `<rule id>/<what breaks>` and is read by the client through env.mutants.
export const PRIVACY_CLIENT_MUTANTS = {
  /** Sign the alias registration (PUT) with the client credential's key: the header names the user. */
  registerAliasWithClientCredential: 'ALIAS-UNLINK-01/register-alias-with-client-credential',
  /** Use the client's own verifying key as the alias auth key. */
  aliasKeyIsClientKey: 'ALIAS-UNLINK-02/alias-key-is-client-key',
  /** One auth key for every alias of the client. */
  oneAuthKeyForAllAliases: 'ALIAS-UNLINK-03/one-auth-key-for-all-aliases',
  /** Sign the establishment package delivery with the initiator's client key. */
  signDeliveryWithClientKey: 'CONN-PRIV-01/sign-delivery-with-client-key',
  /** Sign discovery requests with the initiator's client key. */
  authenticateDiscovery: 'CONN-PRIV-03/authenticate-discovery',
  /** One ConnectionEncryptionKey for every alias payload (and the user-id packages). */
  reuseEncryptionKey: 'CONN-PKG-04/reuse-encryption-key',
  /**
   * Deliver the establishment package in clear, dressed as a sealed one: `ciphertext`
   * is the base64 of the package's JSON, so the AS accepts it.
   */
  sendPackageInClear: 'CONN-CEP-02/send-package-in-clear',
  /** Use the client's own verifying key as its QS queue's auth key: the QS sees the credential's key. */
  queueKeyIsClientKey: 'CONN-PRIV-04/queue-key-is-client-key',
  /** Poll the alias queues right after the client's own signed AS queue poll (linkable by order). */
  pollAliasesWithOwnQueue: 'ALIAS-UNLINK-01/poll-aliases-with-own-queue',
} as const;

/** Mutants of the DS for the privacy rules (read in simulator/services/ds/ds.ts). */
export const PRIVACY_DS_MUTANTS = {
  /** Keep a plaintext copy of the group state next to the sealed one. */
  storeGroupStateInClear: 'CONN-PRIV-02/store-group-state-in-clear',
  /** Store the time of last activity to the millisecond, not as month and year. */
  lastActivityToTheMillisecond: 'CONN-PRIV-02/last-activity-to-the-millisecond',
} as const;

export const PRIVACY_MUTANT_NAMES: readonly string[] = [
  ...Object.values(PRIVACY_CLIENT_MUTANTS),
  ...Object.values(PRIVACY_DS_MUTANTS),
];
