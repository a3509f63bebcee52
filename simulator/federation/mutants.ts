// Named mutants of the Matrix side of the reference (keys, request authentication,
// discovery, invite and join): each one deliberately breaks one rule, so the suite
// can prove that its check for that rule fails. A server runs a mutant when its
// config lists the name (createSimFederation's `mutants` per server). Names are
// `<rule id>/<what breaks>`.
export const MATRIX_MUTANTS = {
  /** Serve /_matrix/key/v1 without tls_certificate. */
  omitTlsCertificate: 'FED-KEYS-01/omit-tls-certificate',
  /** Accept a v1 key document whatever certificate the connection presented. */
  skipCertificateCheck: 'FED-KEYS-02/skip-certificate-check',
  /** Serve /_matrix/key/v2/server without valid_until_ts. */
  omitValidUntil: 'FED-KEYS-03/omit-valid-until-ts',
  /** Sign the key document with a key that is not among its verify_keys. */
  signWithForeignKey: 'FED-KEYS-04/sign-with-foreign-key',
  /** Use a key document whatever server_name it names. */
  acceptAnyServerName: 'FED-KEYS-05/accept-any-server-name',
  /** Trust valid_until_ts as is, without the 7-day cap. */
  uncappedKeyTrust: 'FED-KEYS-06/uncapped-key-trust',
  /** Let old_verify_keys authenticate requests. */
  oldKeysAuthenticateRequests: 'FED-KEYS-07/old-keys-authenticate-requests',
  /** Rotating the signing key drops the old one instead of publishing it in old_verify_keys. */
  rotationForgetsOldKey: 'FED-KEYS-07/rotation-forgets-old-key',
  /** After a rotation, go on signing events and requests with the key the server was born with. */
  signWithRetiredKey: 'FED-KEYS-07/signs-with-retired-key',
  /** Sign events over JSON whose keys are sorted by UTF-16 code unit, not code point. */
  sortKeysByCodeUnit: 'FED-KEYS-08/sort-keys-by-utf16-code-unit',
  /** Sign events over JSON that still holds `unsigned`. */
  signOverUnsigned: 'FED-KEYS-09/sign-over-unsigned',
  /** Pad the base64 of event signatures with '='. */
  padSignatures: 'FED-KEYS-10/pad-signatures',
  /** Refuse padded base64 in key documents and X-Matrix signatures. */
  strictBase64Decoder: 'FED-KEYS-11/strict-decoder',
  /** Take a request without a valid X-Matrix header from the origin its body names. */
  acceptUnsignedRequests: 'FED-AUTH-01/accept-unsigned-requests',
  /** Also take a key document whose self-signature leaves valid_until_ts out. */
  keysSignatureWithoutValidity: 'FED-KEYS-04/verifies-keys-without-valid-until',
  /** Also take an event whose signature covers its redacted form without the content hash. */
  eventSignatureWithoutHashes: 'FED-INVITE-03/verifies-event-without-hashes',
  /** Ignore the X-Matrix destination. */
  ignoreDestination: 'FED-AUTH-02/ignore-destination',
  /** Skip the X-Matrix signature check (any known key id passes). */
  skipRequestSignature: 'FED-AUTH-03/skip-request-signature',
  /** Also take an X-Matrix signature that covers the request but not its content. */
  requestSignatureWithoutContent: 'FED-AUTH-03/verifies-request-without-content',
  /** Parse X-Matrix only in one fixed spelling: lower-case names, quoted, in the usual order. */
  fixedHeaderSpelling: 'FED-AUTH-04/fixed-parameter-order',
  /** matrix-2014: send a request without first authenticating the destination's certificate. */
  sendBeforeAuthenticating: 'FED-AUTH-05/send-before-authenticating',
  /** matrix-2014: declare that client certificates are checked, yet accept any. */
  acceptAnyClientCertificate: 'FED-AUTH-06/accept-any-client-certificate',
  /** Take any origin string, valid server name or not. */
  acceptAnyOrigin: 'FED-NAME-04/accept-any-origin',
  /** 2014: resolve "name:port" with a non-numeric port as the port-less name. */
  acceptNonNumericPort: 'FED-NAME-01/accept-non-numeric-port',
  /** Take an unbracketed IPv6 address ("2001:db8::1") as an IPv6 literal. */
  acceptUnbracketedIpv6: 'FED-NAME-02/accept-unbracketed-ipv6',
  /** Check the ABNF only: octets over 255, bad RFC 3513 text and ports over 65535 pass. */
  abnfOnly: 'FED-NAME-03/abnf-only',
  /** Address servers by their lower-cased name. */
  lowerCaseNames: 'FED-NAME-05/lower-case-names',
  /** Run the simulator's last server under an upper-case server_name. */
  upperCaseServerName: 'FED-NAME-06/upper-case-server-name',
  /** 2014: a name without a port goes to its address record on 8448 instead of SRV. */
  port8448InsteadOfSrv: 'FED-NAME-07/port-8448-instead-of-srv',
  /** Fetch .well-known for hostnames with a port too, and follow its delegation. */
  wellKnownForNamesWithPorts: 'FED-NAME-08/well-known-for-names-with-ports',
  /** Never fetch .well-known: go straight to the SRV steps. */
  ignoreWellKnown: 'FED-NAME-09/ignore-well-known',
  /** For a delegated hostname, try `_matrix._tcp` before `_matrix-fed._tcp`. */
  legacySrvFirst: 'FED-NAME-09/legacy-srv-first',
  /** Give up when .well-known answers something invalid, instead of falling through. */
  failOnBadWellKnown: 'FED-NAME-10/fail-on-bad-well-known',
  /** Send the SRV target as Host header and TLS server name. */
  srvTargetAsHost: 'FED-NAME-11/srv-target-as-host',
  /** Never cache .well-known answers. */
  neverCacheWellKnown: 'FED-NAME-12/never-cache-well-known',
  /** Send the invite to the room before the invitee server signed it. */
  distributeUnsignedInvite: 'FED-INVITE-01/distribute-before-invitee-signs',
  /** Accept an invite into a room without the invitee server's signature. */
  acceptInviteWithoutInviteeSignature: 'FED-INVITE-02/accept-without-invitee-signature',
  /** Sign whatever arrives at /invite. */
  signAnyInvite: 'FED-INVITE-03/sign-any-invite',
  /** Rewrite the invite's content before signing it. */
  rewriteInvite: 'FED-INVITE-04/rewrite-invite',
  /** Refuse to invite a user who already has an invite, and refuse a second /invite. */
  refuseReinvite: 'FED-INVITE-05/refuse-reinvite',
  /** Send invite_room_state without the m.room.create event. */
  summaryWithoutCreate: 'FED-INVITE-06/summary-without-create',
  /** Build the join event without asking the resident for a template. */
  skipMakeJoin: 'FED-JOIN-01/skip-make-join',
  /** Sign the make_join template without checking it. */
  signTemplateUnchecked: 'FED-JOIN-02/sign-template-unchecked',
  /** Return the state after the join (including it) instead of before. */
  stateAfterJoin: 'FED-JOIN-03/state-after-join',
  /** Accept any member event at send_join. */
  acceptAnySendJoin: 'FED-JOIN-04/accept-any-send-join',
  /** Serve make_join templates for users of other servers. */
  templateForAnyUser: 'FED-JOIN-05/template-for-any-user',
  /** Keep an accepted join to itself. */
  keepJoinToItself: 'FED-JOIN-06/keep-join-to-itself',
  /** Trust the send_join state blindly. */
  trustSendJoinState: 'FED-JOIN-07/trust-send-join-state',
  /** Refuse joins of uninvited users even in public rooms. */
  inviteRequiredForPublicRooms: 'FED-JOIN-08/invite-required-for-public-rooms',
} as const;

export type MatrixMutant = (typeof MATRIX_MUTANTS)[keyof typeof MATRIX_MUTANTS];
