// Part 2: server discovery, server keys and request authentication (Matrix federation).
import { defineFamily } from '../define.ts';

const MATRIX = ['matrix-2014', 'matrix-current'] as const;
const M2014 = ['matrix-2014'] as const;
const CURRENT = ['matrix-current'] as const;

export const FED_NAME = defineFamily(
  'FED-NAME',
  {
    title: 'Server names and resolution',
    part: 'federation',
    summary:
      'The server name grammar with its numeric ranges and how a name resolves to an endpoint.',
  },
  {
    'FED-NAME-01': {
      level: 'MUST',
      roles: ['FED'],
      profiles: M2014,
      sources: [{ doc: 'seed-federation-2014', section: 'Resolving Server Names' }],
      statement:
        'A server name is a DNS name (an RFC 3986 host) optionally followed by ":" and a TLS port made of digits.',
      checkedBy:
        'On a DNS fedconn controls, the target is made to join a room through generated 2014 names (reg-names, IP literals, digit ports): each valid one is contacted where the 2014 resolution leads, and invalid ones (non-numeric ports, bad characters, empty labels, malformed literals) cause no lookup and no connection. Mutant: accept non-numeric ports.',
      note: 'An empty port ("example.org:") matches tls_port = *DIGIT; the reference treats it as unresolvable, but a target that reads it as no port is not failed for it.',
    },
    'FED-NAME-02': {
      level: 'MUST',
      roles: ['FED'],
      profiles: CURRENT,
      sources: [{ doc: 'matrix-appendices', section: 'Server Name' }],
      statement:
        'A server name is a hostname optionally followed by ":" and a port of 1 to 5 digits; the hostname is an IPv4 literal, a bracketed IPv6 literal or a DNS name of 1 to 255 characters from letters, digits, "-" and ".".',
      checkedBy:
        'The target joins through generated names of each host kind with and without ports (contacted where resolution leads) and malformed ones (unbracketed IPv6, bad characters, empty labels, over-long names and labels, empty or 6-digit ports), which cause no lookup and no connection. Mutant: accept unbracketed IPv6.',
    },
    'FED-NAME-03': {
      level: 'MUST',
      roles: ['FED'],
      profiles: CURRENT,
      sources: [{ doc: 'matrix-appendices', section: 'Server Name' }],
      statement:
        'An IPv4 literal is four decimal numbers from 0 to 255, an IPv6 literal follows RFC 3513, and a port is a number no greater than 65535.',
      checkedBy:
        'The target joins through names with octets of 256 and more, five-part addresses, IPv6 with two "::" or nine groups, ports 65536 to 99999 (no lookup, no connection), and through names at the limits (255, port 65535), which are contacted. Mutant: check the ABNF only.',
      note: 'The ABNF alone allows octets up to 999 and ports up to 99999; the prose and TCP limit them.',
    },
    'FED-NAME-04': {
      level: 'MUST',
      roles: ['FED'],
      profiles: MATRIX,
      sources: [
        {
          doc: 'matrix-practice',
          section: 'sytest 50federation/02server-names "Non-numeric ports"',
        },
      ],
      statement:
        'A server that receives a federation request whose origin is not a valid server name (for example a non-numeric port such as "localhost:http") rejects it with 400.',
      checkedBy:
        'Signed requests from generated origins the server-name ABNF rejects (non-numeric or empty ports, bad characters, unbracketed IPv6, over 255 characters...). Mutant: the server accepts any origin string.',
      note: 'Names that only the prose or hostname rules reject (a label over 63 characters, an IPv4 octet over 255, a port over 65535) match the ABNF; they are not origins a server must refuse with 400 (Synapse 1.67 looks for their keys and answers 401), and FED-NAME-03 judges contacting them.',
    },
    'FED-NAME-05': {
      level: 'MUST',
      roles: ['FED'],
      profiles: CURRENT,
      sources: [{ doc: 'matrix-appendices', section: 'Server Name' }],
      statement:
        'Server names are case-sensitive: two names that differ only in case name different servers.',
      checkedBy:
        'The target contacts generated mixed-case names and their lower-case twins: each request carries exactly its own name as X-Matrix destination and Host. Mutant: lower-case names before addressing them.',
    },
    'FED-NAME-06': {
      level: 'SHOULD',
      roles: ['FED'],
      profiles: CURRENT,
      sources: [{ doc: 'matrix-appendices', section: 'Server Name (recommendations)' }],
      statement:
        'A server name should be at most 230 characters long and should not use upper case.',
      checkedBy:
        'The names a target reports for itself and the server_name of its key documents are checked against the recommendation. Mutant: a reference configured with an upper-case name.',
    },
    'FED-NAME-07': {
      level: 'MUST',
      roles: ['FED'],
      profiles: M2014,
      sources: [{ doc: 'seed-federation-2014', section: 'Resolving Server Names' }],
      statement:
        'With a port, a server is found by looking up the address record of the DNS name and connecting to that port; without a port, by looking up the `_matrix._tcp` SRV record of the DNS name.',
      checkedBy:
        'Generated DNS and .well-known set-ups in a DNS fedconn controls: the target (2014 profile) must fetch no .well-known, make the SRV lookups of the 2014 plan, and first connect where it leads (none when it fails). Mutant: use port 8448 instead of SRV.',
      note: 'The 2014 text says nothing of a missing SRV record; the suite treats it as unresolvable rather than inventing a fallback.',
    },
    'FED-NAME-08': {
      level: 'MUST',
      roles: ['FED'],
      profiles: CURRENT,
      sources: [{ doc: 'matrix-ss-api', section: 'Resolving server names, steps 1-2' }],
      statement:
        'An IP literal is used as is, with the given port or 8448; a DNS name with an explicit port is resolved through its address records with that port; neither consults .well-known or SRV.',
      checkedBy:
        'Generated names with ports and IP literals in generated DNS and .well-known set-ups: the target fetches no .well-known, looks up no SRV record and first connects to the literal or address record with the port or 8448. Mutant: consult .well-known for names with ports.',
    },
    'FED-NAME-09': {
      level: 'MUST',
      roles: ['FED'],
      profiles: CURRENT,
      sources: [{ doc: 'matrix-ss-api', section: 'Resolving server names, step 3' }],
      statement:
        'A DNS name without a port is first looked up at https://<name>/.well-known/matrix/server; a valid m.server delegation is resolved in turn as an IP literal, a hostname with port, an `_matrix-fed._tcp` SRV record, the deprecated `_matrix._tcp` SRV record, and finally address records on port 8448.',
      checkedBy:
        'Generated DNS set-ups with a valid delegation to every kind of name: the target fetches .well-known once, makes the SRV lookups of the delegated plan in order and first connects where it leads. Mutants: try `_matrix._tcp` before `_matrix-fed._tcp`; ignore .well-known.',
    },
    'FED-NAME-10': {
      level: 'MUST',
      roles: ['FED'],
      profiles: CURRENT,
      sources: [{ doc: 'matrix-ss-api', section: 'Resolving server names, steps 4-6' }],
      statement:
        'When .well-known fails or is invalid (non-200, bad JSON, no m.server), discovery falls through to `_matrix-fed._tcp`, then `_matrix._tcp`, then address records on port 8448; a parse failure never fails discovery.',
      checkedBy:
        'Generated DNS set-ups with .well-known answers of every broken kind (nothing listening, non-200, not JSON, no object, no or a non-string or an invalid m.server): the SRV lookups and the first connection follow steps 4-6. Mutant: fail discovery on a bad .well-known.',
    },
    'FED-NAME-11': {
      level: 'MUST',
      roles: ['FED'],
      profiles: CURRENT,
      sources: [
        { doc: 'matrix-ss-api', section: 'Resolving server names (certificates, Host header)' },
      ],
      statement:
        'The TLS certificate is checked against the server name (or the delegated hostname), never against an SRV target, and the Host header carries that name.',
      checkedBy:
        'Generated DNS set-ups resolved through SRV or delegation: the first request carries the Host header and TLS server name (SNI, modelled by the simulator as a header) of the plan, never an SRV target. Mutant: send the SRV target as Host and TLS server name.',
      note: 'The simulator has no TLS: the name a sender checks the certificate against is observed as the TLS server name (SNI) it asks for. The DNS-driven FED-NAME checks need a DNS fedconn controls and are skipped on http targets.',
    },
    'FED-NAME-12': {
      level: 'SHOULD',
      roles: ['FED'],
      profiles: CURRENT,
      sources: [{ doc: 'matrix-ss-api', section: 'Resolving server names, step 3 (caching)' }],
      statement:
        'A .well-known result is cached, by default for 24 hours and at most 48, honouring Cache-Control; a failure is cached for at most one hour.',
      checkedBy:
        'The target contacts a name twice, virtual time apart, under generated Cache-Control headers (none, max-age up to 72 h, no-store, no-cache) and failures: it must refetch .well-known after the lifetime and not before (failures: refetch after one hour). Mutant: never cache.',
    },
  },
);

export const FED_KEYS = defineFamily(
  'FED-KEYS',
  {
    title: 'Server keys and JSON signing',
    part: 'federation',
    summary:
      'How a server publishes its signing keys, how others validate them, and the canonical JSON and signing rules under them.',
  },
  {
    'FED-KEYS-01': {
      level: 'MUST',
      roles: ['FED'],
      profiles: M2014,
      sources: [{ doc: 'seed-federation-2014', section: 'Retrieving Server Keys' }],
      statement:
        'A server publishes at /_matrix/key/v1 a JSON object with server_name, verify_keys, signatures and its TLS certificate in base64.',
      checkedBy: 'Fetch the object and validate its fields. Mutant: omit tls_certificate.',
    },
    'FED-KEYS-02': {
      level: 'MUST',
      roles: ['FED'],
      profiles: M2014,
      sources: [{ doc: 'seed-federation-2014', section: 'Retrieving Server Keys' }],
      statement:
        'A server fetching keys checks that the TLS certificate in the object matches the certificate of the connection and that the signatures verify under the supplied verify_keys.',
      checkedBy:
        'An impostor serves a key object with another certificate or a bad signature; the target must not use the keys. Mutant: skip the certificate comparison.',
      note: 'Requirement written as "should check" in 2014; the suite holds it as MUST because skipping it defeats key authentication.',
    },
    'FED-KEYS-03': {
      level: 'MUST',
      roles: ['FED'],
      profiles: CURRENT,
      sources: [
        { doc: 'matrix-ss-api', section: 'Retrieving server keys (GET /_matrix/key/v2/server)' },
      ],
      statement:
        'A server publishes at /_matrix/key/v2/server an object with server_name, verify_keys (key id -> {key}), valid_until_ts and signatures, optionally old_verify_keys with expired_ts; key ids are "ed25519:" followed by [a-zA-Z0-9_].',
      checkedBy:
        'Validate the served object against the schema. Mutant: serve keys without valid_until_ts.',
      note: 'sytest treats old_verify_keys as mandatory; the current spec makes it optional. The suite follows the spec.',
    },
    'FED-KEYS-04': {
      level: 'MUST',
      roles: ['FED'],
      profiles: MATRIX,
      sources: [
        { doc: 'seed-federation-2014', section: 'Retrieving Server Keys' },
        { doc: 'matrix-practice', section: 'Synapse keyring, sytest key API' },
      ],
      statement:
        'A key response is signed by the server itself with a key among its own verify_keys, over the canonical JSON of the object without signatures.',
      checkedBy:
        'Verify the served object; as impostors, serve key documents whole but self-signed over the wrong fields (server_name, valid_until_ts or verify_keys left out or renamed, one extra field): a request signed with such a peer’s key must get 401, after a control peer authenticates. Mutants: sign with a key not in verify_keys; also take a self-signature that leaves valid_until_ts out (FED-KEYS-04/verifies-keys-without-valid-until).',
      note: 'The current spec has no explicit self-signature rule; it is de facto (Synapse, sytest, Complement).',
    },
    'FED-KEYS-05': {
      level: 'MUST',
      roles: ['FED'],
      profiles: MATRIX,
      sources: [{ doc: 'matrix-practice', section: 'Synapse keyring: server_name must match' }],
      statement:
        'The server_name of a key response equals the server that was asked; a response naming another server is not used.',
      checkedBy:
        'As impostor, answer a key request with a correctly signed object for another server name. Mutant: accept any server_name.',
    },
    'FED-KEYS-06': {
      level: 'MUST',
      roles: ['FED'],
      profiles: CURRENT,
      sources: [{ doc: 'matrix-room-v5', section: 'valid_until_ts' }],
      statement:
        'A key is never trusted past the lesser of its valid_until_ts and now plus 7 days; an expired key response is refused for new requests.',
      checkedBy:
        'As impostor, serve keys valid for ten years or already expired, and move the clock. Mutant: trust valid_until_ts as is.',
    },
    'FED-KEYS-07': {
      level: 'MUST',
      roles: ['FED'],
      profiles: CURRENT,
      sources: [{ doc: 'matrix-ss-api', section: 'Retrieving server keys (old_verify_keys)' }],
      statement:
        'After a key rotation the old key is listed in old_verify_keys and is valid only for signatures made before its expired_ts, never for authenticating requests.',
      checkedBy:
        'Rotate a reference server’s key; requests signed with the old key must get 401. And the target’s own rotation (driver verb keys.rotate; skip without it): before and after, its key document is read and an impostor’s invite co-signed; afterwards verify_keys holds a new key, every earlier key is in old_verify_keys with its key and gone from verify_keys, the document verifies under the new keys, the invite co-signed before verifies with the old keys, and the next one is co-signed by a current key. Mutants: accept old keys for requests; rotation drops the old key (FED-KEYS-07/rotation-forgets-old-key); sign with the retired key after rotating (FED-KEYS-07/signs-with-retired-key).',
    },
    'FED-KEYS-08': {
      level: 'MUST',
      roomVersions: ['10'],
      roles: ['FED', 'IS'],
      profiles: MATRIX,
      sources: [{ doc: 'matrix-appendices', section: 'Canonical JSON' }],
      statement:
        'Canonical JSON is the shortest UTF-8 encoding with object keys sorted by code point, no insignificant whitespace, integers only in [-(2^53)+1, (2^53)-1] and no other escapes than the listed ones.',
      checkedBy:
        'fedconn’s canonical JSON must first reproduce the published examples; then, as impostor, it sends invites with generated members (astral-plane and private-use keys, control characters, ±(2^53-1)) whose signature and content hash the target must accept: the invite must come back whole, not redacted (the content hash covers those members, the signature only the redacted event), and its co-signature must verify over fedconn’s canonical JSON; an invite holding ±2^53, 2^60 or a float, signed over the same encoding, must be refused (a control with 2^53-1 is accepted). Mutant: sort keys by UTF-16 code unit (FED-KEYS-08/sort-keys-by-utf16-code-unit).',
    },
    'FED-KEYS-09': {
      level: 'MUST',
      roomVersions: ['10'],
      roles: ['FED', 'IS'],
      profiles: MATRIX,
      sources: [{ doc: 'matrix-appendices', section: 'Signing Details; Checking for a Signature' }],
      statement:
        'To sign JSON, signatures and unsigned are removed, the rest is canonicalised and signed with Ed25519, and the signature is added under the entity and key id without removing existing ones; a checker ignores key ids of unknown algorithms and fails when no usable signature remains.',
      checkedBy:
        'As impostor, invites with a generated unsigned member and signatures of unknown algorithms next to the ed25519 one: the target accepts them, keeps every existing signature, and its co-signature verifies without unsigned; the same invite with only unknown algorithms and an unknown key id is refused. Mutant: keep unsigned in the signed bytes (FED-KEYS-09/sign-over-unsigned).',
    },
    'FED-KEYS-10': {
      level: 'MUST',
      roomVersions: ['10'],
      roles: ['FED', 'IS'],
      profiles: MATRIX,
      sources: [{ doc: 'matrix-appendices', section: 'Unpadded Base64' }],
      statement:
        'Binary values are encoded as unpadded base64 (URL-safe where a rule says so); encoders never add padding.',
      checkedBy:
        'Scan of the base64 the target emits: its key document (v1 or v2), its co-signatures on invites and the X-Matrix signatures of its requests to an impostor; each must be unpadded standard base64 of the right length. Mutant: pad event signatures (FED-KEYS-10/pad-signatures).',
    },
    'FED-KEYS-11': {
      level: 'SHOULD',
      roles: ['FED', 'IS'],
      profiles: MATRIX,
      sources: [{ doc: 'matrix-appendices', section: 'Unpadded Base64' }],
      statement: 'Decoders accept base64 both with and without padding.',
      checkedBy:
        'An impostor pads (a generated choice of) its verify key, its key document signature and its request signature; the request must authenticate. Mutant: strict decoder (FED-KEYS-11/strict-decoder).',
    },
  },
);

export const FED_AUTH = defineFamily(
  'FED-AUTH',
  {
    title: 'Request and response authentication',
    part: 'federation',
    summary:
      'Federation requests are signed at the HTTP layer; receivers check origin, destination and signature.',
  },
  {
    'FED-AUTH-01': {
      level: 'MUST',
      roles: ['FED'],
      profiles: MATRIX,
      sources: [
        { doc: 'seed-federation-2014', section: 'Authentication; Client TLS Certificates' },
        { doc: 'matrix-ss-api', section: 'Request Authentication' },
      ],
      statement:
        'Federation requests are authenticated at the HTTP layer: the sender signs method, URI, origin, destination and content with its server key and sends the signature in an X-Matrix Authorization header.',
      checkedBy:
        'The target’s outbound requests to an impostor (an invite and a make_join) must carry a valid X-Matrix signature over method, URI, origin, destination and content; the same requests without a signature (no header, other schemes, generated garbage) must get 401. Mutant: believe the origin an unsigned body claims (FED-AUTH-01/accept-unsigned-requests).',
    },
    'FED-AUTH-02': {
      level: 'MUST',
      roles: ['FED'],
      profiles: CURRENT,
      sources: [{ doc: 'matrix-ss-api', section: 'Request Authentication' }],
      statement: 'A receiver answers 401 when the signed destination is not its own server name.',
      checkedBy:
        'Correctly signed requests addressed to another destination. Mutant: ignore destination.',
      note: 'For backwards compatibility receivers should accept a missing destination.',
    },
    'FED-AUTH-03': {
      level: 'MUST',
      roles: ['FED'],
      profiles: MATRIX,
      sources: [{ doc: 'matrix-ss-api', section: 'Request Authentication' }],
      statement:
        'A receiver answers 401 when the signature does not verify, when the key id is unknown for the origin, or when the signed method, URI or content differ from the request.',
      checkedBy:
        'Bit flips in the signature, swapped key ids, replay of a signature on another URI or body, and the peer’s own key over the wrong fields of the signed request (method, uri, origin, destination or content left out or renamed, one extra field). Mutants: verify over the URI only; also take a signature that leaves the content out (FED-AUTH-03/verifies-request-without-content).',
    },
    'FED-AUTH-04': {
      level: 'SHOULD',
      roles: ['FED'],
      profiles: CURRENT,
      sources: [{ doc: 'matrix-ss-api', section: 'Request Authentication (header format)' }],
      statement:
        'Authorization header parameters are parsed case-insensitively, in any order, with unknown parameters ignored and quoted values unescaped.',
      checkedBy:
        'Generated spellings of a valid signature: parameter order, name case, bare or quoted values, backslash escapes, unknown parameters, spaces. Mutant: one fixed spelling (FED-AUTH-04/fixed-parameter-order).',
      note: 'The prose names the parameter "signature" while the example and implementations use "sig"; the suite sends "sig". Only origin and destination are sent bare, since key and sig are not HTTP tokens.',
    },
    'FED-AUTH-05': {
      level: 'SHOULD',
      roles: ['FED'],
      profiles: M2014,
      sources: [{ doc: 'seed-federation-2014', section: 'Response Authentication' }],
      statement:
        'A server does not send a request until it has authenticated the server it is connected to (its TLS certificate).',
      checkedBy:
        'The target is made to invite a user of, or join through, an endpoint whose connection certificate is not the one in the signed key document it serves (the genuine server’s document forwarded, or its own naming another certificate); the endpoint must receive no federation request. Mutant: send before authenticating (FED-AUTH-05/send-before-authenticating).',
      note: 'The simulator models TLS as a certificate the connection presents; the key fetch stands for the handshake, and X.509 name binding is not modelled, so an endpoint that forges a whole document under the name is out of reach.',
    },
    'FED-AUTH-06': {
      level: 'MAY',
      roles: ['FED'],
      profiles: M2014,
      sources: [{ doc: 'seed-federation-2014', section: 'Client TLS Certificates' }],
      statement:
        'A server may present a TLS client certificate, and the receiving server may check that it matches the certificate of the origin server; a server that does check refuses a mismatch.',
      checkedBy:
        'Only on a target that declares it checks client certificates (the simulator: yes; an http target: `capabilities.client_certificates` in its config; otherwise the check reports skip): fedconn as a peer sends signed requests presenting its own certificate (accepted), none (accepted), and mismatching ones — another server’s, its own with bits flipped, random bytes — which must get 401. Mutant: declare the check but accept any certificate (FED-AUTH-06/accept-any-client-certificate).',
      note: 'Optional, so declared: from the wire a server that does not check (allowed) and one that checks but accepts anything look alike. The simulator models the client certificate as a request header (docs/binding.md).',
    },
  },
);
