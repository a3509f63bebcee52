// Part 4: identity service lookup (Matrix IS v2, MSC2134) and MSC4004 federation.
import { defineFamily } from '../define.ts';

const CURRENT = ['matrix-current'] as const;

export const IS_LOOKUP = defineFamily(
  'IS-LOOKUP',
  {
    title: 'Identity lookup',
    part: 'identity',
    summary: 'hash_details, peppered sha256 lookup, the none algorithm and the error answers.',
  },
  {
    'IS-LOOKUP-01': {
      level: 'MUST',
      roles: ['IS'],
      profiles: CURRENT,
      sources: [{ doc: 'matrix-is-api', section: 'GET /_matrix/identity/v2/hash_details' }],
      statement:
        'hash_details returns the lookup_pepper and the algorithms the server supports, which include sha256.',
      checkedBy: 'Fetch and validate the body. Mutant: offer only none.',
    },
    'IS-LOOKUP-02': {
      level: 'MUST',
      roles: ['IS', 'CLIENT'],
      profiles: CURRENT,
      sources: [{ doc: 'matrix-is-api', section: 'Association lookup (sha256)' }],
      statement:
        'The sha256 hash of an address is the URL-safe unpadded base64 of SHA-256 over "<address> <medium> <pepper>", with a lower-case medium.',
      checkedBy:
        'Published vectors, and lookups of generated bound addresses (whose hashes hold - or _) under the server’s current pepper. The client half: the client under test looks such addresses up and must send the spec’s hash and find the binding. Mutants: standard instead of URL-safe base64, at the server and in the reference client (IS-LOOKUP-02/client-standard-base64).',
    },
    'IS-LOOKUP-03': {
      level: 'MUST',
      roles: ['IS'],
      profiles: CURRENT,
      sources: [{ doc: 'matrix-is-api', section: 'POST /_matrix/identity/v2/lookup' }],
      statement:
        'lookup answers with mappings from each known hash (as sent) to its user id, and omits hashes it does not know.',
      checkedBy:
        'Lookups mixing bound and unbound addresses. Mutant: map unknown hashes to an empty string.',
    },
    'IS-LOOKUP-04': {
      level: 'MUST',
      roles: ['IS'],
      profiles: CURRENT,
      sources: [{ doc: 'matrix-is-api', section: 'POST /lookup errors' }],
      statement:
        'A lookup with a pepper the server does not accept is refused with 400 M_INVALID_PEPPER.',
      checkedBy: 'Lookups with generated wrong peppers. Mutant: ignore the pepper.',
    },
    'IS-LOOKUP-05': {
      level: 'SHOULD',
      roles: ['IS'],
      profiles: CURRENT,
      sources: [{ doc: 'msc2134', section: 'M_INVALID_PEPPER response' }],
      statement:
        'The M_INVALID_PEPPER answer carries the current algorithm and lookup_pepper so the client can retry without another round trip.',
      checkedBy: 'Inspect the error body. Mutant: bare error body.',
    },
    'IS-LOOKUP-06': {
      level: 'MUST',
      roles: ['IS'],
      profiles: CURRENT,
      sources: [{ doc: 'matrix-is-api', section: 'POST /lookup errors' }],
      statement:
        'A lookup with an algorithm the server does not support is refused with 400 M_INVALID_PARAM.',
      checkedBy:
        'Generated unknown algorithm names, and none where hash_details does not offer it. Mutant: treat unknown algorithms as none.',
    },
    'IS-LOOKUP-07': {
      level: 'MUST',
      roles: ['IS'],
      profiles: CURRENT,
      sources: [{ doc: 'matrix-is-api', section: 'Authentication' }],
      statement:
        'hash_details and lookup without a valid access token are refused with 401 M_UNAUTHORIZED.',
      checkedBy:
        'Requests with no, expired and forged tokens; the expired case only where the driver can issue a token that expires (the check notes when it cannot), after a token expiring 10 minutes later is accepted; and a valid token in malformed Authorization headers (another scheme, no scheme, a prefixed scheme, no space, a second word). Mutants: lookup without authentication; read the token out of any scheme (IS-LOOKUP-07/lenient-bearer-parsing); refuse every token that has an expiry (IS-LOOKUP-07/refuse-unexpired-expiring-token).',
    },
    'IS-LOOKUP-08': {
      level: 'MUST',
      roles: ['IS'],
      profiles: CURRENT,
      sources: [
        { doc: 'matrix-is-api', section: 'Association lookup (none)' },
        { doc: 'msc2134', section: 'none algorithm' },
      ],
      statement:
        'With the none algorithm the address is sent as "<address> <medium>" in clear; the pepper is still required and still checked.',
      checkedBy:
        'none lookups with right and wrong peppers; n/a on a server whose hash_details does not offer none (optional), which IS-LOOKUP-06 then covers. Mutant: skip the pepper check for none.',
    },
    'IS-LOOKUP-09': {
      level: 'MUST',
      roles: ['IS'],
      profiles: CURRENT,
      sources: [{ doc: 'msc2134', section: 'lookup_pepper format' }],
      statement: 'A lookup pepper is non-empty and consists of [a-zA-Z0-9] only.',
      checkedBy:
        'Validate every pepper the target serves, before and after rotation. Mutant: pepper with "_".',
      note: 'MSC4004’s own example pepper "matrix_rocks" breaks this rule.',
    },
    'IS-LOOKUP-10': {
      level: 'MUST',
      roles: ['CLIENT'],
      profiles: CURRENT,
      sources: [{ doc: 'matrix-is-api', section: 'Association lookup (privacy)' }],
      statement: 'With sha256 no address ever leaves the client in clear, to any identity service.',
      checkedBy:
        'fedconn drives the client under test (its reference client, or `--client matrix-js-sdk`) through a federated lookup (generated addresses) and scans every request it sends, URL, headers and body, on every hop it makes, for the address; every lookup must use sha256. A client that does not follow the referral is judged on its first hop (following it is IS-FED-04). Mutant: the client looks up the referral with none (IS-LOOKUP-10/cleartext-on-referral).',
    },
  },
);

export const IS_FED = defineFamily(
  'IS-FED',
  {
    title: 'Federated identity lookup',
    part: 'identity',
    summary:
      'Alternative peppers during rotation and third_party_mappings pointing to another identity service.',
  },
  {
    'IS-FED-01': {
      level: 'MUST',
      roles: ['IS'],
      profiles: CURRENT,
      sources: [{ doc: 'seed-msc4004', section: 'GET /_matrix/identity/v2/hash_details' }],
      statement:
        'During a pepper rotation hash_details lists the previous peppers in alt_lookup_peppers, and lookups made with any of them are answered.',
      checkedBy:
        'Rotate the pepper through provisioning, then look up with the old one. Mutant: drop old peppers at once.',
    },
    'IS-FED-02': {
      level: 'MUST',
      roles: ['IS'],
      profiles: CURRENT,
      sources: [{ doc: 'seed-msc4004', section: 'GET /_matrix/identity/v2/hash_details' }],
      statement:
        'A pepper that has been retired (no longer the current pepper nor in alt_lookup_peppers) is refused with M_INVALID_PEPPER.',
      checkedBy:
        'Rotate twice and retire; lookups with the retired pepper fail. Mutant: accept every pepper ever used.',
    },
    'IS-FED-03': {
      level: 'MUST',
      roles: ['IS'],
      profiles: CURRENT,
      sources: [{ doc: 'seed-msc4004', section: 'POST /_matrix/identity/v2/lookup' }],
      statement:
        'For a hash the server does not know itself but a trusted server declared, lookup answers with third_party_mappings naming that server and the hash.',
      checkedBy:
        'Trusted push from server B, lookup at server A. Mutant: omit third_party_mappings.',
    },
    'IS-FED-04': {
      level: 'MUST',
      roles: ['CLIENT'],
      profiles: CURRENT,
      sources: [{ doc: 'seed-msc4004', section: 'POST /_matrix/identity/v2/lookup' }],
      statement:
        'A client that receives third_party_mappings re-hashes the address with the other server’s pepper and algorithm and looks it up there, and finds the binding.',
      checkedBy:
        'End-to-end federated lookup by the client under test (generated addresses, with and without a pepper rotation at the second server): the lookup at the second server must carry the hash under that server’s current pepper, and the binding must be found. Mutant: reuse the first hash (IS-FED-04/reuse-first-hash).',
    },
  },
);

export const IS_PUSH = defineFamily(
  'IS-PUSH',
  {
    title: 'Hash pushes from trusted servers only',
    part: 'identity',
    summary:
      'POST /lookups accepts hash declarations only from configured trusted servers, authenticated by signature.',
  },
  {
    'IS-PUSH-01': {
      level: 'MUST',
      roles: ['IS'],
      profiles: CURRENT,
      sources: [
        { doc: 'seed-msc4004', section: 'POST /_matrix/identity/v2/lookups; Potential issues' },
      ],
      statement:
        'A hash push is accepted only from a server the identity service is configured to trust; a push from any other server is refused with 403.',
      checkedBy:
        'Correctly signed pushes from a trusted and an untrusted pusher: other servers of the target made to push by their drivers (403 expected), or fedconn as a peer sending from a trusted and an untrusted address where the target trusts by address (401 or 403: it cannot fetch the peer’s key). Mutant: accept every push.',
    },
    'IS-PUSH-02': {
      level: 'MUST',
      roles: ['IS'],
      profiles: CURRENT,
      sources: [
        { doc: 'seed-msc4004', section: 'Security considerations' },
        { doc: 'matrix-ss-api', section: 'Request Authentication' },
      ],
      statement:
        'The pushing server is identified by a signed server request (X-Matrix), never by its IP address or by a name it merely claims.',
      checkedBy:
        'From the trusted pusher’s address: a push under its name signed by another key and an unsigned one (401), and one carrying an ordinary user’s access token (401 or 403); then no trace in lookups. Mutant: trust by claimed origin.',
      note: 'linagora ToM-server trusts by IP allowlist; MSC4004 leaves the mechanism open. The suite requires signatures.',
    },
    'IS-PUSH-03': {
      level: 'MUST',
      roles: ['IS'],
      profiles: CURRENT,
      sources: [{ doc: 'matrix-ss-api', section: 'Request Authentication' }],
      statement:
        'A push with a forged origin, a wrong destination or a bad signature is refused with 401.',
      checkedBy:
        'Forgeries of the destination, the key and the body, signed for an origin whose key the target can fetch: an impostor on the simulator, or fedconn’s trusted peer once a correctly signed push from it is accepted (skip otherwise); and pushes signed by the pusher’s key over the wrong fields of the request (method, uri, origin, destination or content left out or renamed, one extra field). Mutants: skip the destination check; also take a signature that leaves the pushed body out (IS-PUSH-03/verifies-push-without-content).',
    },
    'IS-PUSH-04': {
      level: 'MUST',
      roles: ['IS'],
      profiles: CURRENT,
      sources: [{ doc: 'seed-msc4004', section: 'Potential issues (conversation hijacking)' }],
      statement:
        'A refused push leaves no trace: a later lookup of its hashes returns neither mappings nor third_party_mappings.',
      checkedBy:
        'Refused push, then lookups of every pushed hash. Mutant: store before authorising.',
    },
    'IS-PUSH-05': {
      level: 'MUST',
      roles: ['IS'],
      profiles: CURRENT,
      sources: [{ doc: 'seed-msc4004', section: 'POST /_matrix/identity/v2/lookups' }],
      statement:
        'Pushed hashes must be made with the receiving server’s pepper; a push naming another (or a retired) pepper is refused.',
      checkedBy:
        'Trusted pushes with stale and foreign peppers. Mutant: ignore the pepper of a push.',
    },
    'IS-PUSH-06': {
      level: 'MUST',
      roles: ['IS'],
      profiles: CURRENT,
      sources: [{ doc: 'seed-msc4004', section: 'POST /_matrix/identity/v2/lookups' }],
      statement:
        'Hashes accepted from a trusted push show up in third_party_mappings of later lookups.',
      checkedBy:
        'Trusted push, then lookup of each hash. Mutant: accept the push but store nothing.',
    },
    'IS-PUSH-07': {
      level: 'MUST',
      roles: ['IS'],
      profiles: CURRENT,
      sources: [
        {
          doc: 'seed-msc4004',
          section:
            'POST /_matrix/identity/v2/lookups ("hashes owned by the (trusted) server"); Potential issues',
        },
      ],
      statement:
        'A trusted server declares only the hashes it owns: a push whose mappings name any server other than the authenticated pusher is refused with a 4xx and leaves no trace in later lookups.',
      checkedBy:
        'After a control push of its own hashes is accepted, the trusted pusher pushes, correctly signed, hashes under another server of the target, an unknown server, the receiving server itself, and its own name beside another; each must be a 4xx, and a lookup of each hash must not name the other server. Mutant: store every server a push names (IS-PUSH-07/accept-foreign-mappings).',
    },
    'IS-PUSH-08': {
      level: 'SHOULD',
      roles: ['IS'],
      profiles: CURRENT,
      sources: [
        { doc: 'seed-msc4004', section: 'POST /_matrix/identity/v2/lookups' },
        { doc: 'matrix-is-api', section: 'Association lookup (sha256)' },
      ],
      statement:
        'A push is refused with a 4xx unless its algorithm is sha256 and every pushed hash is a sha256 lookup hash (43 characters of unpadded URL-safe base64 of 32 bytes); nothing of a refused push is stored.',
      checkedBy:
        'Correctly signed pushes from the trusted pusher, each with one defect from a fixed list tried in full: algorithm none with the address in clear, an unknown algorithm, the hash in standard base64, padded, truncated, with a non-canonical last character, in hex, and empty; each must be a 4xx and the address’s proper hash unanswered by later lookups. Mutants: accept any algorithm (IS-PUSH-08/accept-any-algorithm), store malformed hashes (IS-PUSH-08/accept-malformed-hashes).',
      note: 'MSC4004 shows only sha256 pushes and says the hashes are made with the recipient’s pepper; it names no error for other algorithms or malformed hashes, hence SHOULD.',
    },
  },
);
