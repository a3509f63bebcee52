// Part 1: connection establishment (Phoenix/Air design), both seed profiles.
import { defineFamily } from '../define.ts';

const BOTH = ['multi-device', 'aliases'] as const;
const MULTI = ['multi-device'] as const;
const ALIASES = ['aliases'] as const;

export const CRED_CHAIN = defineFamily(
  'CRED-CHAIN',
  {
    title: 'Credentials and the signature chain',
    part: 'connection',
    summary:
      'AS credential, AS intermediate credential and client credential: validity windows, labels, proof of possession, and how a responder verifies the chain from the initiator up to its AS.',
  },
  {
    'CRED-CHAIN-01': {
      level: 'MUST',
      roles: ['CLIENT'],
      profiles: BOTH,
      sources: [
        { doc: 'seed-multi-device', section: 'Connection group creation' },
        { doc: 'seed-aliases', section: 'Connection group creation' },
      ],
      statement:
        "Before deciding on a connection, the responder fetches the initiator's AS credential and AS intermediate credential from the initiator's AS and verifies the chain client credential -> intermediate -> AS credential; a break anywhere in the chain means the establishment package is rejected.",
      checkedBy:
        'Property: generated chains with one link corrupted are delivered to the responder; it must reject each, report the reason, join no group and show nothing to its user. Every link gets every break: bit flips, a wrong signer, and the right issuer’s signature over the wrong fields (each payload field and the self-signature left out, one extra field, and on the client credential each renamed). Mutants: skip the chain check; take a client credential signed over its payload without expiration_data (CRED-CHAIN-01/verifies-signature-without-expiration).',
    },
    'CRED-CHAIN-02': {
      level: 'MUST',
      roles: ['AS'],
      profiles: BOTH,
      sources: [
        { doc: 'phnx-credentials', section: 'AS credentials' },
        { doc: 'phnx-as', section: 'Get AS credentials' },
      ],
      statement:
        'The AS credential is self-signed and is the trust anchor of its domain; the AS publishes its AS credentials, its intermediate credentials and the fingerprints it revoked on an unauthenticated endpoint.',
      checkedBy:
        'Fetch the credentials of every AS unauthenticated; each AS credential must verify under its own key and label, each intermediate under a published AS credential. Revocation, as a lifecycle: register a client, revoke its credential (driver verb as.revoke; skip without it); its fingerprint must be absent before and listed in revoked_fingerprints after, the AS and intermediate credentials unchanged. Mutants: intermediate not signed by the AS; revocations taken but never published, as Air’s AS does (CRED-CHAIN-02/revocations-never-published).',
    },
    'CRED-CHAIN-03': {
      level: 'MUST',
      roles: ['CLIENT'],
      profiles: BOTH,
      sources: [
        { doc: 'phnx-credentials', section: 'AS intermediate credentials' },
        { doc: 'phnx-threats', section: 'Authentication service (qualitative)' },
      ],
      statement:
        "An intermediate credential is accepted only when it is signed by the AS credential its signer fingerprint names, and that AS credential belongs to the client credential's domain.",
      checkedBy:
        'Corruptions: intermediate signed by a foreign or unknown AS credential, fingerprint naming another credential, bit flips in the intermediate. Mutant: accept any intermediate.',
    },
    'CRED-CHAIN-04': {
      level: 'MUST',
      roles: ['CLIENT'],
      profiles: BOTH,
      sources: [
        { doc: 'phnx-credentials', section: 'Client credentials' },
        { doc: 'phnx-threats', section: 'Authentication service (qualitative)' },
      ],
      statement:
        "A client credential is accepted only when it is signed by an intermediate credential that the AS of the client's own domain publishes and that its signer fingerprint names.",
      checkedBy:
        'Corruptions: client credential signed by an intermediate of another domain, by an unpublished key, or naming the wrong signer. Mutant: accept a client credential from any intermediate.',
    },
    'CRED-CHAIN-05': {
      level: 'MUST',
      roles: ['CLIENT', 'AS'],
      profiles: BOTH,
      sources: [{ doc: 'phnx-credentials', section: 'Expiration' }],
      statement:
        'Every credential carries a validity window (not_before, not_after); a credential used outside its window, at any level of the chain, is rejected as expired or not yet valid.',
      checkedBy:
        'Responder: the virtual clock is moved before and after each link’s window; the responder must reject with the level and the reason. AS: a CSR whose window has ended or not yet begun is refused, then the same client id registers properly. Mutants: the responder ignores validity windows; the AS issues outside them.',
      note: 'The Air implementation checks signatures only, not expiration (phnx-air-notes D8); it would fail this rule.',
    },
    'CRED-CHAIN-06': {
      level: 'MUST',
      roles: ['CLIENT', 'AS'],
      profiles: BOTH,
      sources: [{ doc: 'phnx-credentials', section: 'Expiration' }],
      statement:
        "A credential may only be signed by a credential whose validity window contains the signed credential's window; a chain that violates this nesting is rejected, and an AS never issues such a credential.",
      checkedBy:
        'Responder: generated windows that stick out of the signer’s by at least one millisecond on either side, then windows equal to the signer’s (containment is inclusive) accepted. AS: a CSR whose window reaches before or after the intermediate’s is refused. Mutants: the responder skips the nesting check; the responder takes containment as strict (CRED-CHAIN-06/strict-nesting); the AS issues beyond its intermediate.',
    },
    'CRED-CHAIN-07': {
      level: 'MUST',
      roles: ['CLIENT', 'AS'],
      profiles: BOTH,
      sources: [
        { doc: 'phnx-credentials', section: 'Credential types' },
        { doc: 'air-impl', section: 'IMPL-CRED-01 labelled signing' },
      ],
      statement:
        'Each credential type is signed under its own label, so a signature made for one type (or for a connection package or establishment package) never verifies as another type.',
      checkedBy:
        'Type confusion: an intermediate presented as a client credential, a client credential presented as an intermediate, a package signature replayed as a credential signature; at the AS, a CSR self-signed under each other type’s label. Mutants: one shared label (responder); the AS takes any label.',
    },
    'CRED-CHAIN-08': {
      level: 'MUST',
      roles: ['AS', 'CLIENT'],
      profiles: BOTH,
      sources: [{ doc: 'phnx-credentials', section: 'Self-signatures' }],
      statement:
        'Every credential includes a signature over itself by its own key (proof of possession); an AS refuses a signing request whose self-signature does not verify, and verifiers reject a credential without a valid one.',
      checkedBy:
        'Register with a CSR naming someone else’s public key; present a chain whose self-signature is corrupted. Mutant: AS signs CSRs without checking possession.',
      note: 'Air has no self-signature on its CSR (phnx-air-notes D7).',
    },
    'CRED-CHAIN-09': {
      level: 'MUST',
      roles: ['CLIENT'],
      profiles: BOTH,
      sources: [{ doc: 'phnx-as', section: 'Get AS credentials (revoked_certs)' }],
      statement:
        'A credential whose fingerprint its AS lists as revoked is rejected, at any level of the chain.',
      checkedBy:
        'Revoke the intermediate or the client credential through provisioning; the next establishment package signed under it must be rejected. Mutant: ignore the revocation list.',
    },
    'CRED-CHAIN-10': {
      level: 'MUST',
      roles: ['CLIENT', 'AS'],
      profiles: BOTH,
      sources: [{ doc: 'rfc8032-wycheproof', section: 'RFC 8032 §5.1.7; Wycheproof EdDSA' }],
      statement:
        'Ed25519 signatures are verified strictly: an encoding with S >= L, a non-canonical point encoding or a malleated signature is rejected.',
      checkedBy:
        'Signatures crafted with @noble/curves (S+L, non-canonical R) on every signed object of the chain; at the AS, a CSR self-signature malleated to S+L. Mutants: a lenient verifier (responder, AS).',
    },
    'CRED-CHAIN-11': {
      level: 'SHOULD',
      roles: ['CLIENT', 'AS'],
      profiles: BOTH,
      sources: [{ doc: 'rfc8032-wycheproof', section: 'Wycheproof EdDSA small-order keys' }],
      statement:
        'Public keys of small order are rejected wherever a credential or package carries a signature key.',
      checkedBy:
        'Credentials carrying each of the eight small-order points as their key; at the AS, a CSR naming each of them. Mutants: accept small-order keys (responder, AS).',
      note: 'RFC 8032 does not require this check; implementations differ (ZIP-215), hence SHOULD.',
    },
    'CRED-CHAIN-12': {
      level: 'MUST',
      roles: ['CLIENT'],
      profiles: BOTH,
      sources: [{ doc: 'phnx-threats', section: 'Authentication service (qualitative)' }],
      statement:
        'The user id in a verified client credential must be the one expected in context: the name the responder shows is the one in the credential, and a credential for another user than the package or group claims is rejected.',
      checkedBy:
        'An establishment package signed by a valid credential of user X while claiming to come from user Y. Mutant: show the claimed name instead of the credential’s.',
    },
  },
);

export const CONN_PKG = defineFamily(
  'CONN-PKG',
  {
    title: 'Connection packages',
    part: 'connection',
    summary:
      'What a connection package contains, who publishes it and where, its lifetime, alias payloads without credential or signature, and key separation.',
  },
  {
    'CONN-PKG-01': {
      level: 'MUST',
      roles: ['CLIENT', 'AS'],
      profiles: BOTH,
      sources: [
        {
          doc: 'seed-multi-device',
          section: 'Connection group creation (struct ConnectionPackage)',
        },
        { doc: 'seed-aliases', section: 'Connection group creation (struct ConnectionPackage)' },
      ],
      statement:
        'A connection package published under the user id carries a ConnectionEncryptionKey, a lifetime, the ClientCredential of the publishing client and a signature by that credential over all of the above.',
      checkedBy:
        'AS: users with 1 to 3 clients (fedconn’s own), fetched twice; every package served by user id must decode with every field, carry a credential of that user and verify under it and its chain. Client: reference users with 1 or 2 clients, uploads recorded; every client uploads, and every uploaded package verifies likewise and carries the uploader’s own credential. Mutants: the client publishes packages without a signature; the AS serves them without it.',
    },
    'CONN-PKG-02': {
      level: 'MUST',
      roles: ['CLIENT', 'AS'],
      profiles: MULTI,
      sources: [{ doc: 'seed-multi-device', section: 'Connection group creation' }],
      statement:
        'Every client of a user publishes its own connection packages, and discovery by user id yields one package for each of the user’s clients.',
      checkedBy:
        'Users with 1 to 5 clients (fedconn’s own), each publishing; the packages discovery returns must name each client exactly once. That every reference client publishes under its own credential is observed by the CONN-PKG-01 client check. Mutant: the AS returns only the first client’s package.',
    },
    'CONN-PKG-03': {
      level: 'MUST',
      roles: ['CLIENT', 'AS'],
      profiles: ALIASES,
      sources: [
        { doc: 'seed-aliases', section: 'Connection group creation' },
        { doc: 'phnx-as', section: 'Upload alias connection package payloads' },
      ],
      statement:
        'Under an alias only a ConnectionPackagePayload (encryption key and lifetime) is published: no ClientCredential and no signature; the AS accepts payloads only on its alias endpoints.',
      checkedBy:
        'Inspect what the AS stores and serves under each alias; try to upload a full package under an alias. Mutant: clients attach their credential to alias payloads.',
    },
    'CONN-PKG-04': {
      level: 'SHOULD',
      roles: ['CLIENT'],
      profiles: ALIASES,
      sources: [{ doc: 'seed-aliases', section: 'Connection group creation' }],
      statement:
        'A ConnectionEncryptionKey is never reused across aliases, or across an alias and the user id.',
      checkedBy:
        'Collect every key published by a user under its user id and all its aliases; all must be distinct. Mutant: one key for all aliases.',
    },
    'CONN-PKG-05': {
      level: 'MUST',
      roles: ['AS', 'CLIENT'],
      profiles: BOTH,
      sources: [
        {
          doc: 'seed-aliases',
          section: 'struct ConnectionPackagePayload (lifetime: ExpirationData)',
        },
        { doc: 'seed-multi-device', section: 'struct ConnectionPackage (lifetime)' },
      ],
      statement:
        'A connection package whose lifetime has ended or not yet begun is neither served by the AS nor used by an initiator.',
      checkedBy:
        'Advance the virtual clock past, or publish with a lifetime starting after, the current time; discovery must not return the package. An impostor AS hands the reference initiator correctly signed packages and alias payloads that expired or begin 1 minute to 10 days from now; it must refuse them, create no group and send nothing. Mutants: the AS ignores lifetimes; the initiator ignores them.',
      note: 'Air sets a 30-day lifetime but nobody checks it (phnx-air-notes D4).',
    },
    'CONN-PKG-06': {
      level: 'MUST',
      roles: ['CLIENT'],
      profiles: BOTH,
      sources: [{ doc: 'phnx-threats', section: 'STRIDE clients: Get user client' }],
      statement:
        'Before using a package fetched by user id, the initiator verifies its signature and the chain of its credential, and that the credential belongs to the user it looked up.',
      checkedBy:
        'An impostor AS serves packages with a flipped signature bit, a replaced encryption key or lifetime, another client’s credential, a chain under an unpublished AS, another user’s valid credential, or a signature by the client’s own key over the wrong fields (each of payload.version, payload.encryption_key, payload.lifetime and client_credential left out or renamed, one extra); the initiator must refuse each (after a valid control is used), create no group and send no establishment package. Mutants: the initiator skips package verification; it also takes a signature that leaves out the payload’s lifetime (CONN-PKG-06/verifies-signature-without-lifetime).',
    },
    'CONN-PKG-07': {
      level: 'SHOULD',
      roles: ['AS'],
      profiles: BOTH,
      sources: [
        { doc: 'phnx-threats', section: 'STRIDE clients: Get user client (hard to exhaust)' },
        { doc: 'air-impl', section: 'IMPL-CP-06 one-time and last-resort packages' },
      ],
      statement:
        'A connection package is handed out at most once, except a last-resort package, so that two initiators never share one encryption key.',
      checkedBy:
        'Upload 1 to 5 packages under a user id (or payloads under an alias), then fetch 1 to 3 more times than that, sequentially or concurrently: every package is served, only one is served more than once, and (sequentially) only after all others were. Mutant: the AS serves the same package every time.',
    },
    'CONN-PKG-08': {
      level: 'MUST',
      roles: ['AS'],
      profiles: BOTH,
      sources: [
        {
          doc: 'phnx-as',
          section: 'Upload user id connection packages; Upload alias connection package payloads',
        },
      ],
      statement:
        'Uploading packages under a user id requires authentication by that user’s client credential; uploading under an alias requires the alias auth key; anyone else is refused.',
      checkedBy:
        'Uploads signed by another user’s client, by no one, or with another alias’s key must be refused and leave the stored packages unchanged; so must uploads whose Fedconn-Sig signature the owner’s own key made over the wrong fields of the request (method, uri, host, key, ts or content left out or renamed, one extra field). Mutants: AS accepts unauthenticated uploads; the servers also take a request signature that leaves the body out (CONN-PKG-08/verifies-request-without-content).',
    },
  },
);

export const CONN_DISC = defineFamily(
  'CONN-DISC',
  {
    title: 'Discovery and delivery of establishment packages',
    part: 'connection',
    summary:
      'Finding a user by user id or alias, on the own or a federated homeserver, and delivering establishment packages into the responder’s queue.',
  },
  {
    'CONN-DISC-01': {
      level: 'MUST',
      roles: ['AS'],
      profiles: BOTH,
      sources: [
        { doc: 'phnx-as', section: 'Get user id connection package; Get alias connection package' },
      ],
      statement:
        'Fetching a connection package by user id or by alias needs no authentication of the initiator, and delivering an establishment package into a client’s or an alias’s queue needs none either.',
      checkedBy:
        'Discovery and delivery from a client without any credential must succeed. Mutant: AS demands a client credential on discovery.',
    },
    'CONN-DISC-02': {
      level: 'MUST',
      roles: ['AS', 'FED'],
      profiles: BOTH,
      sources: [
        { doc: 'phnx-federation', section: 'User discovery across homeservers' },
        { doc: 'seed-multi-device', section: 'Discovery and connection establishment' },
      ],
      statement:
        'A homeserver lets users of federated homeservers discover its users and deliver establishment packages to them, exactly as for local users.',
      checkedBy:
        'Reference initiators connect to a responder on their own and one on another homeserver (by user id, or by alias in the aliases profile; 1 or 2 responder clients, 2 runs per profile); discovery, delivery, the join, the WelcomeBundles and messages both ways must have the same outcome for both. Mutant: the QS refuses enqueues from other homeservers’ DSs.',
      note: 'In this binding initiators call the responder’s AS directly and unauthenticated, so an AS cannot tell a federated initiator from a local one; the federated part the check can break is the DS-to-QS delivery.',
    },
    'CONN-DISC-03': {
      level: 'MUST',
      roles: ['AS'],
      profiles: ALIASES,
      sources: [{ doc: 'phnx-as', section: 'Register alias' }],
      statement:
        'An alias is registered without authenticating the user; registering an alias that is already registered is refused.',
      checkedBy:
        'Register the same alias twice, from the same and from different users. Mutant: second registration overwrites the first.',
    },
    'CONN-DISC-04': {
      level: 'MUST',
      roles: ['AS'],
      profiles: ALIASES,
      sources: [{ doc: 'phnx-as', section: 'Delete alias' }],
      statement:
        'Deleting an alias also deletes its queue and its connection package payloads; afterwards the alias cannot be discovered.',
      checkedBy:
        'Delete an alias that has queued messages and packages; discovery and the AS view must show neither. Mutant: delete only the alias entry.',
    },
    'CONN-DISC-05': {
      level: 'MUST',
      roles: ['AS', 'QS'],
      profiles: BOTH,
      sources: [{ doc: 'phnx-threats', section: 'STRIDE users: dequeue only from own queue' }],
      statement:
        'Only the owner of a queue can dequeue from it: a client with its client credential, an alias holder with the alias auth key.',
      checkedBy:
        'Dequeue attempts with another client’s credential, another alias’s key, or none. Mutant: dequeue without authentication.',
    },
  },
);

export const CONN_CEP = defineFamily(
  'CONN-CEP',
  {
    title: 'Connection establishment packages',
    part: 'connection',
    summary:
      'The ConnectionEstablishmentPackage: its content, its signature by the initiator’s client credential and its encryption to the package key.',
  },
  {
    'CONN-CEP-01': {
      level: 'MUST',
      roles: ['CLIENT'],
      profiles: BOTH,
      sources: [
        { doc: 'seed-multi-device', section: 'struct ConnectionEstablishmentPackage' },
        { doc: 'seed-aliases', section: 'struct ConnectionEstablishmentPackage' },
      ],
      statement:
        'An establishment package carries the sender’s ClientCredential, the connection group id, the group state EAR key and the credential EAR key, signed by the sender’s client credential over all of them.',
      checkedBy:
        'fedconn plays the responder: the package the reference initiator sends must open and decode with every field, carry the initiating client’s credential and the new group’s id, and verify under that credential over all fields. Mutant: the signature omits the group id.',
    },
    'CONN-CEP-02': {
      level: 'MUST',
      roles: ['CLIENT'],
      profiles: BOTH,
      sources: [
        { doc: 'seed-multi-device', section: 'Connection group creation' },
        { doc: 'seed-aliases', section: 'Connection group creation' },
      ],
      statement:
        'The establishment package is encrypted with HPKE to the ConnectionEncryptionKey of the package the initiator fetched, so that only the holder of that key can read it; the AS and QS see ciphertext only.',
      checkedBy:
        'The observer searches every server’s view for the plaintext package or any of its fields. Mutant: deliver the package in clear.',
    },
    'CONN-CEP-03': {
      level: 'MUST',
      roles: ['CLIENT'],
      profiles: MULTI,
      sources: [{ doc: 'seed-multi-device', section: 'Connection group creation' }],
      statement:
        'The initiator sends one establishment package to each of the responder’s clients, each encrypted to that client’s own package key.',
      checkedBy:
        'fedconn plays responders with 1 to 5 clients; each client’s queue receives exactly one package for the connection, which opens under that client’s package keys and under no other client’s. Mutant: send to the first client only.',
    },
    'CONN-CEP-04': {
      level: 'MUST',
      roles: ['CLIENT'],
      profiles: BOTH,
      sources: [
        { doc: 'seed-multi-device', section: 'Connection group creation' },
        { doc: 'seed-aliases', section: 'Connection group creation' },
      ],
      statement:
        'The responder verifies the establishment package’s signature under the sender’s client credential; a package whose signature fails is rejected and nothing is shown to the user.',
      checkedBy:
        'Bit flips in every signed field and in the signature, and signatures by the sender’s key over the wrong fields: each signed field left out, each renamed, one extra (the package itself whole). Mutants: responder skips the package signature; responder also takes a signature that leaves out connection_group_ear_key (CONN-CEP-04/verifies-signature-without-ear-key).',
    },
    'CONN-CEP-05': {
      level: 'MUST',
      roles: ['CLIENT'],
      profiles: BOTH,
      sources: [{ doc: 'seed-aliases', section: 'Connection group creation' }],
      statement:
        'A queued message that does not decrypt under the client’s package keys or does not decode as an establishment package is discarded without any other effect.',
      checkedBy:
        'Garbage, truncated and re-encrypted messages enqueued for the responder; its state and the servers’ views stay unchanged. Mutant: a decode error aborts the responder’s processing of later messages.',
    },
    'CONN-CEP-06': {
      level: 'MUST',
      roles: ['CLIENT', 'DS'],
      profiles: BOTH,
      sources: [
        { doc: 'seed-aliases', section: 'Connection group creation' },
        { doc: 'phnx-ds', section: 'Group state encryption (EAR key freshly sampled)' },
      ],
      statement:
        'Before sending the establishment package the initiator creates a new group on its own DS with a fresh group id and freshly sampled EAR keys; the package names that group.',
      checkedBy:
        'Runs of 1 to 3 connections from one reference initiator: the initiator’s recorded requests create the named group on its own DS before delivering; the DS serves it under the package’s EAR key with the initiator’s user only; group ids and both EAR keys never repeat; the DS refuses a second create of the package’s group id (another EAR key and queue), and the group stays the initiator’s. Mutants: reuse one EAR key (client); the DS lets a create replace an existing group (CONN-CEP-06/ds-overwrites-existing-group).',
    },
    'CONN-CEP-07': {
      level: 'MUST',
      roles: ['CLIENT'],
      profiles: MULTI,
      sources: [{ doc: 'seed-multi-device', section: 'Connection group creation' }],
      statement:
        'The connection group created by the initiator contains all of the initiator’s clients.',
      checkedBy:
        'Reference initiators with 1 to 5 clients; read with the package’s keys before acceptance, the group on the DS has one leaf and one verified CredentialInfo per initiator client. Mutant: the group holds only the initiating client.',
    },
  },
);

export const CONN_TRUST = defineFamily(
  'CONN-TRUST',
  {
    title: 'No trust before acceptance',
    part: 'connection',
    summary:
      'Until the responder accepts, the initiator is untrusted: only the establishment package and the initiator’s user name reach the responder.',
  },
  {
    'CONN-TRUST-01': {
      level: 'SHOULD',
      roles: ['CLIENT', 'AS', 'QS', 'DS'],
      profiles: BOTH,
      sources: [
        { doc: 'seed-multi-device', section: 'Discovery and connection establishment' },
        { doc: 'seed-aliases', section: 'Discovery and connection establishment' },
      ],
      statement:
        'Until the responder accepts, the initiator cannot push content to the responder beyond the establishment package: messages sent into the connection group, extra payload and profile data are refused or never delivered to the responder’s user.',
      checkedBy:
        'fedconn as an initiator of its own domain pushes beside the package: extra fields next to the sealed package at the AS, a signed package with a greeting and a display name added, profile data sealed to the package key; and a reference initiator sends 1-3 messages into the connection group before the responder decides. The pushed text must appear in none of the responder’s events or decisions, and the responder’s queue and user get only the group messages sent after acceptance (property over accept or decline, one or two homeservers and 1-3 messages, 3 runs, every push in each, the first run accepting). Mutants: CONN-TRUST-01/show-pushed-content (the client shows text sealed beside the package), CONN-TRUST-01/deliver-backlog-to-joiner (the DS hands the messages sent before the join to the joiner’s queue).',
    },
    'CONN-TRUST-02': {
      level: 'MUST',
      roles: ['CLIENT'],
      profiles: BOTH,
      sources: [
        { doc: 'seed-multi-device', section: 'Connection group creation' },
        { doc: 'seed-aliases', section: 'Connection group creation' },
      ],
      statement:
        'The responder’s decision is based on the sender’s user name taken from the verified client credential, and nothing else the initiator supplied is shown to the user before acceptance.',
      checkedBy:
        'The decision policy records what it was shown; it must be exactly the credential’s user name. Mutant: show a display name carried in the package.',
    },
    'CONN-TRUST-03': {
      level: 'SHOULD',
      roles: ['CLIENT'],
      profiles: MULTI,
      sources: [
        { doc: 'seed-multi-device', section: 'Future work: Additional initiator information' },
      ],
      statement:
        'Additional information about the initiator (display name, picture) is downloaded only when the responder actively asks for it, never delivered or fetched automatically.',
      checkedBy:
        'The responder’s transport is recorded while it processes a package: until its user decides it may only poll its own queues and fetch the initiator’s AS credentials, and afterwards only its queues, AS credentials and (when accepting) the join at the initiator’s DS (property over one or two homeservers, 1-2 initiator devices, accept or decline, 4 runs). Mutant: CONN-TRUST-03/fetch-profile-on-receipt.',
      note: 'Air fetches the initiator’s profile on receipt (phnx-air-notes D5).',
    },
    'CONN-TRUST-04': {
      level: 'MUST',
      roles: ['CLIENT'],
      profiles: BOTH,
      sources: [
        { doc: 'phnx-as', section: 'Functional requirements: accept or reject connections' },
      ],
      statement:
        'A responder that declines joins no group and sends nothing to the initiator’s DS; the connection does not exist afterwards.',
      checkedBy:
        'Decline policy, within one homeserver and across two, by user id or alias, 1-2 devices (property, 4 runs): the responder declines, sends no request to any DS, holds no group, and the group on the initiator’s DS still has the initiator’s clients only. Mutant: CONN-TRUST-04/prefetch-commit-info (external commit information fetched before the user decides).',
    },
  },
);

export const CONN_RACE = defineFamily(
  'CONN-RACE',
  {
    title: 'Race-free acceptance across devices',
    part: 'connection',
    summary:
      'When several clients of the responder receive establishment packages, exactly one accepts and the others end up in the same group through the WelcomeBundle.',
  },
  {
    'CONN-RACE-01': {
      level: 'MUST',
      roles: ['CLIENT'],
      profiles: MULTI,
      sources: [{ doc: 'seed-multi-device', section: 'Connection group creation' }],
      statement:
        'On receiving an establishment package, a responder client first makes sure its QS queue is empty, to learn whether another client of the same user already accepted.',
      checkedBy:
        'Every responder device processes the package at once under a fast-check scheduler at the transport (1 to 5 devices, one or two homeservers; 3 runs). The transport attributes each request to its device: between a device’s AS queue fetch and its next QS queue fetch there may be no AS credentials fetch (verification), external commit info or join. Mutant: skip the queue check.',
      note: 'Historic rule of the 2022 spec (the multi-device seed states it); the current Phoenix spec and Air dropped it (phnx-air-notes D1).',
    },
    'CONN-RACE-02': {
      level: 'MUST',
      roles: ['CLIENT'],
      profiles: MULTI,
      sources: [{ doc: 'seed-multi-device', section: 'Connection group creation' }],
      statement:
        'If the queue holds a WelcomeBundle for the same group id as the establishment package, the client joins the group with the WelcomeBundle and discards the package.',
      checkedBy:
        'One device (drawn among 2 to 5) accepts first; the others then process under a fast-check scheduler with its WelcomeBundle in their queues. Each must join by the Welcome, discard the package, and send no external commit info or join request (3 runs). Mutant: ignore the WelcomeBundle and join by external commit anyway.',
    },
    'CONN-RACE-03': {
      level: 'MUST',
      roles: ['CLIENT'],
      profiles: MULTI,
      sources: [{ doc: 'seed-multi-device', section: 'Connection group creation' }],
      statement:
        'After joining, the accepting client adds all other clients of its user to the group.',
      checkedBy:
        'One device (drawn among 2 to 5) accepts alone, in some runs going offline for 1 or 2 requests while it adds the others, then processing again. Once it is done, the group on the DS and in its own view holds every client of both users; afterwards every other device joins by Welcome (4 runs). Mutants: add no other device; add only one; forget the other devices after an outage.',
    },
    'CONN-RACE-04': {
      level: 'MUST',
      roles: ['CLIENT'],
      profiles: MULTI,
      sources: [{ doc: 'seed-multi-device', section: 'Connection group creation' }],
      statement:
        'If joining through the join connection group endpoint fails, the client checks its queue again: a WelcomeBundle for the group wins; if the queue is still empty it discards the package and aborts, without retrying the join.',
      checkedBy:
        'The transport holds a drawn device’s join while another device accepts, so the DS refuses it. The winner’s commit adding the other devices is either already delivered or held until the loser finishes (2 to 5 devices, 5 runs). The loser must send exactly one join, then fetch its QS queue and send no further external commit request. It joins by the waiting WelcomeBundle, or discards the package when none is there. In a third case the device is offline when it sends its join: that is not a failed join, so the package stays queued and the device joins by external commit once back. Mutants: retry the join; abort without checking the queue again; treat an offline join as refused and discard the package.',
    },
    'CONN-RACE-05': {
      level: 'MUST',
      roles: ['CLIENT', 'DS'],
      profiles: BOTH,
      sources: [
        { doc: 'seed-multi-device', section: 'Connection group creation' },
        { doc: 'phnx-ds', section: 'Join connection group' },
      ],
      statement:
        'Whatever the interleaving of client steps and server responses, including clients going offline and messages delayed or duplicated, exactly one connection group results, holding every client of both users exactly once, and no client joins twice.',
      checkedBy:
        'A fast-check scheduler at the clients’ transport orders the sending of each request and the return of each answer, over 1 to 5 responder devices (1 or 2 initiator devices, one or two homeservers; 6 runs per profile) all processing the package at once. Delays: the scheduler holds any request or answer while others proceed. Each device may go offline part-way (1 to 3 of its requests fail with a network error before reaching the server, and it processes again once back). It may receive its establishment package twice, and up to 3 of its requests may be delivered twice. DS writes (join, commit, group creation) are never duplicated: the reference DS refuses the copy as stale. Afterwards: exactly one external join, every other responder device joined by its WelcomeBundle, every client in the one group exactly once (every view, and one leaf per client in the DS tree), no client joined twice, and no DS created a group other than the connection group (observer). Mutant: the DS accepts every join.',
    },
    'CONN-RACE-06': {
      level: 'MUST',
      roles: ['CLIENT', 'DS'],
      profiles: MULTI,
      sources: [{ doc: 'seed-multi-device', section: 'Connection group creation' }],
      statement:
        'A client that lost the race leaves no group of its own behind on any DS and ends up in the connection group through the WelcomeBundle.',
      checkedBy:
        'The transport holds a drawn loser’s join while another device accepts (its WelcomeBundle waiting or coming later), then the loser processes its queue again. No DS may have created a group other than the connection group (its stored groups, or from the wire the creations it accepted), and the loser joined once, by the WelcomeBundle (2 to 5 devices, 4 runs). Mutants: the loser creates a fresh group of its own; the loser ignores the WelcomeBundle that comes later; the DS delivers no WelcomeBundle.',
    },
  },
);

export const CONN_JOIN = defineFamily(
  'CONN-JOIN',
  {
    title: 'Acceptance by external commit at the initiator’s DS',
    part: 'connection',
    summary:
      'The responder accepts by fetching external commit information from the initiator’s DS and joining through its join connection group endpoint.',
  },
  {
    'CONN-JOIN-01': {
      level: 'MUST',
      roles: ['CLIENT'],
      profiles: BOTH,
      sources: [
        { doc: 'seed-multi-device', section: 'Connection group creation' },
        { doc: 'seed-aliases', section: 'Connection group creation' },
      ],
      statement:
        'The responder accepts by fetching the external commit information of the group named in the package from the initiator’s DS and joining with an external commit through that DS’s join connection group endpoint.',
      checkedBy:
        'The responder’s transport shows exactly one external commit information fetch and one join, both at the initiator’s DS, for a connection within one homeserver and one across two in every run (property over devices and user id or alias, 2 runs). Mutant: CONN-JOIN-01/join-at-own-ds.',
    },
    'CONN-JOIN-02': {
      level: 'MUST',
      roles: ['DS'],
      profiles: BOTH,
      sources: [
        { doc: 'phnx-ds', section: 'Join connection group; Get external commit information' },
      ],
      statement:
        'Knowledge of the group’s EAR key is the only authentication for fetching external commit information and for joining a connection group; a request with a wrong EAR key is refused.',
      checkedBy:
        'Requests with a flipped EAR key or a key of another group; the DS must refuse and leave the group unchanged. Mutant: DS ignores the EAR key.',
    },
    'CONN-JOIN-03': {
      level: 'MUST',
      roles: ['DS'],
      profiles: BOTH,
      sources: [{ doc: 'phnx-ds', section: 'Join connection group' }],
      statement:
        'The DS accepts a join connection group commit only while the group holds a single user; a group that already holds two users is not a connection group any more.',
      checkedBy:
        'A second join after a successful one, by another user or a client of the same user. Mutant: DS skips the single-user check.',
    },
    'CONN-JOIN-04': {
      level: 'MUST',
      roles: ['DS'],
      profiles: BOTH,
      sources: [{ doc: 'phnx-ds', section: 'Validation (lock and epoch check)' }],
      statement:
        'The DS serialises the operations on one group and checks the epoch, so that of several commits for the same epoch at most one is accepted.',
      checkedBy:
        'Concurrent joins and commits for one epoch, interleaved by the scheduler, with store latency at the DS (3 ms per group read and write, in the simulator and `fedconn serve --store-latency 3`) so that they overlap between its epoch check and its write; exactly one is accepted. Mutants: DS accepts stale-epoch commits; DS checks the epoch and writes across the store’s await without the group lock (CONN-JOIN-04/check-then-write-without-lock, killed only with the latency).',
    },
    'CONN-JOIN-05': {
      level: 'MUST',
      roles: ['DS', 'CLIENT'],
      profiles: BOTH,
      sources: [
        { doc: 'air-impl', section: 'IMPL-DS-JCG-01, IMPL-CONF-01' },
        { doc: 'phnx-ds', section: 'Join connection group' },
      ],
      statement:
        'A join connection group commit must be an external commit that adds only the joiner: one carrying Add, Remove or Update proposals for other members is refused by the DS and by the initiator.',
      checkedBy:
        'External commits crafted with extra Add/Remove proposals. Mutant: DS accepts any external commit.',
      note: 'The seeds do not spell this out; it is the Air implementation’s rule, which the suite adopts.',
    },
    'CONN-JOIN-06': {
      level: 'MUST',
      roles: ['CLIENT', 'DS', 'QS'],
      profiles: BOTH,
      sources: [
        { doc: 'seed-aliases', section: 'Discovery and connection establishment' },
        { doc: 'phnx-ds', section: 'Message distribution' },
      ],
      statement:
        'After acceptance the connection group works as a regular group: the join reaches the initiator’s clients through their queues, and a message sent by any member is received by every other member.',
      checkedBy:
        'After each establishment every client of both users sends one message; every other client must receive it (property over 1-2 devices per user, one or two homeservers, user id or alias, 3 runs). Mutant: CONN-JOIN-06/drop-join-fan-out (the DS stores the join but sends its commit to no member).',
    },
    'CONN-JOIN-07': {
      level: 'MUST',
      roles: ['CLIENT'],
      profiles: BOTH,
      sources: [
        { doc: 'phnx-threats', section: 'Security guarantees: joiners authenticate members' },
        { doc: 'air-impl', section: 'IMPL-CONF-01' },
      ],
      statement:
        'The initiator treats the connection as established only when the joining client’s credential chain verifies and names a user, and every member authenticates the other members’ credentials.',
      checkedBy:
        'A third party that learned the group id and keys joins a reference initiator’s group through the DS with a CredentialInfo whose chain is unpublished, whose signature is broken, which is replayed from another member, which does not open, or whose leaf binding its own key signed over the wrong fields (leaf_signature_key left out or renamed, one extra field); the initiator’s clients must keep their member list and report the rejection. Control: a joiner with a valid credential is taken. Enumerated: each kind once, against an initiator with two clients. Mutants: CONN-JOIN-07/accept-any-joiner; a binding signed without the leaf key is taken too (CONN-JOIN-07/verifies-binding-without-leaf-key).',
    },
    'CONN-JOIN-08': {
      level: 'MUST',
      roles: ['DS'],
      profiles: BOTH,
      sources: [
        { doc: 'phnx-ds', section: 'Authentication (DsAuthToken: sender LeafIndex)' },
        { doc: 'phnx-ds', section: 'Validation (full MLS receiver validation)' },
      ],
      statement:
        'Outside the join connection group endpoint, the DS accepts a commit that adds clients only from a member of the group: a member commit, sent for a member’s queue, adding exactly the clients the request lists; anything else is refused and leaves the group unchanged.',
      checkedBy:
        'On a group fedconn creates on the DS: a stranger’s external commit re-signed to carry only one Add, sent to the commit endpoint, a member’s add commit sent for a queue that is no member’s, and one whose request lists two added clients for its one Add, each refused with the group unchanged (each case every run); then the same add commit, correctly sent, is accepted. Mutants: CONN-JOIN-08/accept-commit-from-non-member, CONN-JOIN-08/ignore-sender-queue, CONN-JOIN-08/ignore-added-count.',
    },
  },
);

export const ALIAS_UNLINK = defineFamily(
  'ALIAS-UNLINK',
  {
    title: 'Alias unlinkability',
    part: 'connection',
    summary:
      'An AS cannot tell whether two aliases, or an alias and a user id, belong to the same user.',
  },
  {
    'ALIAS-UNLINK-01': {
      level: 'MUST',
      roles: ['AS', 'CLIENT'],
      profiles: ALIASES,
      sources: [
        { doc: 'seed-aliases', section: 'Connection group creation' },
        { doc: 'phnx-as', section: 'AS state: alias entries not linked to user ids' },
      ],
      statement:
        'The AS’s view (requests received, rows stored, order of events) is the same whether two aliases belong to one user or to two users, once fresh random values are renamed.',
      checkedBy:
        'Indistinguishability game: two worlds from one seed differing only in alias ownership, run until every client has polled its queues; the renamed AS views (order included) must be equal. A request the client sends under an alias that the AS refuses (401/403) fails the rule: the AS serves only clients that identify themselves. Mutants: aliases registered with the client credential; alias queues polled right after the client’s own signed poll (ALIAS-UNLINK-01/poll-aliases-with-own-queue); the AS takes an alias registration only when the owner’s client signs it (ALIAS-UNLINK-01/as-demands-owner-on-alias-registration). The client is bound too: with a client under test (--client) its users act against fedconn’s reference servers, so a view that links them is the client’s doing (its mutants are the client’s).',
    },
    'ALIAS-UNLINK-02': {
      level: 'MUST',
      roles: ['AS', 'CLIENT'],
      profiles: ALIASES,
      sources: [{ doc: 'seed-aliases', section: 'Connection group creation' }],
      statement:
        'The AS’s view is the same whether an alias belongs to the user of a given user id or to another user, once fresh random values are renamed.',
      checkedBy:
        'Indistinguishability game between the alias and the user id, run until every client has polled its queues; a refused alias request fails it, as in ALIAS-UNLINK-01. Mutants: the alias auth key is the client’s own key (client); the AS takes alias payloads only when a client of the user id signs them (ALIAS-UNLINK-02/as-demands-client-on-alias-payloads). The client is bound too: with a client under test (--client) its users act against fedconn’s reference servers, so a view that links them is the client’s doing (its mutants are the client’s).',
    },
    'ALIAS-UNLINK-03': {
      level: 'MUST',
      roles: ['CLIENT', 'AS'],
      profiles: ALIASES,
      sources: [
        { doc: 'phnx-as', section: 'Authentication (alias auth key)' },
        { doc: 'phnx-threats', section: 'Metadata: no link between aliases and identities' },
      ],
      statement:
        'Everything done under an alias (register, upload payloads, dequeue, delete) is authenticated with that alias’s own auth key only, never with a client credential, a user-id token or a key shared with another alias.',
      checkedBy:
        'Inspect every alias request in the AS view for credentials, user ids and reused keys; an alias request refused for want of a client’s signature fails it. Mutants: one auth key for all aliases of a user (client); the AS serves an alias queue only to a client credential (ALIAS-UNLINK-03/as-demands-client-on-alias-queue).',
    },
  },
);

export const CONN_PRIV = defineFamily(
  'CONN-PRIV',
  {
    title: 'No homeserver learns who is connected to whom',
    part: 'connection',
    summary:
      'Neither the initiator’s nor the responder’s homeserver can link the two users of a connection.',
  },
  {
    'CONN-PRIV-01': {
      level: 'MUST',
      roles: ['AS', 'QS', 'DS', 'CLIENT'],
      profiles: BOTH,
      sources: [
        { doc: 'seed-multi-device', section: 'Discovery and connection establishment' },
        { doc: 'seed-aliases', section: 'Discovery and connection establishment' },
      ],
      statement:
        'For connections within one homeserver and across two, no server’s view holds a record that links the initiator’s identity to the responder’s identity.',
      checkedBy:
        'Link oracle over the recorded view of every server: no request, row or event may contain both identities or identifiers derived from both; a server that refuses a request naming no user (401/403) fails it, since a client could use it only by identifying itself. Mutants: the delivery signed with the initiator’s client key (client); the DS creates groups and takes joins only when the member’s client credential signs them (CONN-PRIV-01/ds-demands-member-credentials).',
      note: 'The seeds say "should"; the suite treats it as MUST because it is one of the two design constraints. Air’s DS sees both user credentials in a connection group (phnx-air-notes D9). The client is bound too: with a client under test (--client) its users act against fedconn’s reference servers, so a view that links them is the client’s doing (its mutants are the client’s).',
    },
    'CONN-PRIV-02': {
      level: 'MUST',
      roles: ['DS'],
      profiles: BOTH,
      sources: [{ doc: 'phnx-ds', section: 'Group state encryption' }],
      statement:
        'The DS keeps group state encrypted at rest under the group’s EAR key; only the group id, last activity (its month and year only) and queue bookkeeping are stored in clear.',
      checkedBy:
        'Inspect the DS rows for any credential, user id or key material in clear, and for a time finer than month and year (a date with its day, or a second or millisecond count). Mutants: store the group state unencrypted; store the last activity to the millisecond (CONN-PRIV-02/last-activity-to-the-millisecond).',
    },
    'CONN-PRIV-03': {
      level: 'MUST',
      roles: ['CLIENT', 'AS'],
      profiles: BOTH,
      sources: [
        { doc: 'phnx-as', section: 'Get connection package; Enqueue message (no authentication)' },
      ],
      statement:
        'Discovery requests and establishment package deliveries carry no identifier of the initiator.',
      checkedBy:
        'Scan the AS view of discovery and delivery requests for the initiator’s user id, client id or credential; a delivery or discovery refused for want of the sender’s signature fails it. Mutants: initiator authenticates discovery with its credential (client); the AS takes deliveries only when the sender’s client signs them (CONN-PRIV-03/as-demands-sender-on-delivery).',
    },
    'CONN-PRIV-04': {
      level: 'MUST',
      roles: ['QS', 'CLIENT'],
      profiles: BOTH,
      sources: [{ doc: 'phnx-qs', section: 'Overview (QS cannot link records to AS identities)' }],
      statement: 'The QS cannot link its queue records to the users’ identities at the AS.',
      checkedBy:
        'Link oracle over the QS part of every server’s view (QS requests, federated enqueues, qs_ rows) after connections within one homeserver and across two: no user id, client id or client key may appear, and QS requests are signed with queue keys only; a QS that refuses a queue-key request for want of a client’s signature fails it. Mutants: CONN-PRIV-04/queue-key-is-client-key (client); the QS opens queues only for a client credential (CONN-PRIV-04/qs-demands-client-credential). The client is bound too: with a client under test (--client) its users act against fedconn’s reference servers, so a view that links them is the client’s doing (its mutants are the client’s).',
    },
  },
);
