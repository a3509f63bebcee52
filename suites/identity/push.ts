// MSC4004 hash pushes as the target receives them (IS-PUSH). Trusted and untrusted
// pushers are other servers of the target (made to push by their drivers) or fedconn
// playing a peer from an address the target does or does not trust (pushers.ts).
// Forged pushes are signed with keys fedconn holds: an impostor attached to the
// simulator's network, or the peer's own key, whose good pushes must be accepted
// first so that a refused forgery means something.
import { createHash } from 'node:crypto';
import { narrowingsOf } from '../../simulator/protocol/narrowing.ts';
import { narrowedXMatrixHeader } from '../../simulator/federation/testing.ts';
import { generateEd25519KeyPair } from '../../simulator/protocol/crypto/ed25519.ts';
import { seededRng } from '../../simulator/protocol/crypto/rng.ts';
import { createFakeServer } from '../../simulator/federation/testing.ts';
import { xMatrixHeader } from '../../simulator/federation/x-matrix.ts';
import { SimNetwork } from '../../simulator/net/transport.ts';
import {
  CheckFailure,
  CheckSkipped,
  defineCheck,
  expectThat,
  type CheckContext,
} from '../harness/check.ts';
import type { TargetServer } from '../harness/target.ts';
import { receiver } from './federation.ts';
import {
  currentPepper,
  trustedPusher,
  untrustedPusher,
  type PushOutcome,
  type Pusher,
} from './pushers.ts';
import {
  generatedPepper,
  hashDetails,
  IS_PREFIX,
  issueToken,
  lookupOk,
  names,
  readAnswer,
  rotate,
  sha256Hash,
  userId,
  type Answer,
} from './support.ts';

const accepted = (status: number | undefined) =>
  status !== undefined && status >= 200 && status <= 299;

/** Refused with a 4xx: judged and turned down, not failed. */
const refused = (pushed: PushOutcome) =>
  pushed.status !== undefined && pushed.status >= 400 && pushed.status < 500;

/** Lookup at `at` of `addresses` under its current pepper, as a fresh user. */
async function lookupAt(ctx: CheckContext, at: TargetServer, label: string, addresses: string[]) {
  const token = await issueToken(ctx, at, userId(ctx, at, `is${label}`));
  const pepper = (await hashDetails(ctx, at, token)).lookup_pepper;
  const hashes = addresses.map((a) => sha256Hash(a, 'email', pepper));
  const answer = await lookupOk(ctx, at, token, { algorithm: 'sha256', pepper, addresses: hashes });
  return { hashes, answer, pepper };
}

function expectAccepted(pushed: PushOutcome, message: string): void {
  if (!accepted(pushed.status)) {
    throw new CheckFailure(message, {
      expected: 'the push accepted (2xx)',
      actual: JSON.stringify(pushed.report),
    });
  }
}

/**
 * A push from `pusher`, which `at` does not trust, must be refused: 403 from a server
 * of the target (its signature checks out, its trust does not); 401 or 403 from a
 * peer whose key `at` cannot fetch (it can prove no identity at all).
 */
function expectUntrustedRefused(at: TargetServer, pusher: Pusher, pushed: PushOutcome): void {
  const ok = pusher.peer ? pushed.status === 401 || pushed.status === 403 : pushed.status === 403;
  if (!ok) {
    throw new CheckFailure(`${at.serverName} did not refuse a push from ${pusher.describe}`, {
      expected: pusher.peer ? 'push refused with 401 or 403' : 'push answered 403',
      actual: JSON.stringify(pushed.report),
    });
  }
}

function expectNoTrace(
  at: TargetServer,
  looked: {
    hashes: string[];
    answer: {
      mappings: Record<string, string>;
      third_party_mappings?: Record<string, string[]> | undefined;
    };
  },
  why: string,
): void {
  const traces = looked.hashes.filter(
    (h) =>
      looked.answer.mappings[h] !== undefined ||
      Object.values(looked.answer.third_party_mappings ?? {}).some((list) => list.includes(h)),
  );
  expectThat(
    traces.length === 0,
    `${at.serverName}: hashes of a refused push (${why}) are answered by later lookups`,
    { mappings: {}, third_party_mappings: {} },
    looked.answer,
  );
}

export const untrustedPushRefused = defineCheck({
  name: 'a correctly signed push is accepted from a trusted server and refused from any other',
  rules: ['IS-PUSH-01'],
  profiles: ['matrix-current'],
  async run(ctx) {
    const a = receiver(ctx);
    const trusted = await trustedPusher(ctx, a);
    const other = await untrustedPusher(ctx, a);
    const pepper = await currentPepper(ctx, a, 'push01');
    expectAccepted(
      await trusted.push(ctx, a, await trusted.hold(ctx, 'P01b', 1), pepper),
      `${a.serverName} refused a push from ${trusted.describe}`,
    );
    expectUntrustedRefused(
      a,
      other,
      await other.push(ctx, a, await other.hold(ctx, 'P01c', 1), pepper),
    );
    ctx.iterations(2);
  },
});

export const refusedPushLeavesNoTrace = defineCheck({
  name: 'a refused push leaves no trace in later lookups',
  rules: ['IS-PUSH-04'],
  profiles: ['matrix-current'],
  async run(ctx) {
    const a = receiver(ctx);
    const other = await untrustedPusher(ctx, a);
    const pepper = await currentPepper(ctx, a, 'push04');
    const addresses = await other.hold(ctx, 'P04', 3);
    const pushed = await other.push(ctx, a, addresses, pepper);
    expectThat(
      pushed.status !== undefined && pushed.status >= 400,
      `${a.serverName} accepted a push from ${other.describe}`,
      'a refusal',
      pushed.report,
    );
    expectNoTrace(a, await lookupAt(ctx, a, 'asker04', addresses), 'untrusted pusher');
    ctx.iterations(addresses.length);
  },
});

export const pushWithForeignPepperRefused = defineCheck({
  name: 'a trusted push made with a foreign or stale pepper is refused',
  rules: ['IS-PUSH-05'],
  profiles: ['matrix-current'],
  async run(ctx) {
    const a = receiver(ctx);
    const pusher = await trustedPusher(ctx, a);
    const addresses = await pusher.hold(ctx, 'P05', 1);
    // The pusher's own pepper where it has one; otherwise a pepper nobody serves.
    const pusherServer = ctx.instance.servers.find((s) => s.serverName === pusher.serverName);
    const foreign =
      pusherServer === undefined
        ? `F${generatedPepper(names(ctx, 'IS-PUSH-05').rng)}`
        : await currentPepper(ctx, pusherServer, 'push05b');
    const stale = await currentPepper(ctx, a, 'push05a');
    await rotate(ctx, a);
    for (const [what, pepper] of [
      [`a pepper ${a.serverName} never served`, foreign],
      [`${a.serverName}'s previous pepper`, stale],
    ] as const) {
      const pushed = await pusher.push(ctx, a, addresses, pepper);
      expectThat(
        refused(pushed),
        `${a.serverName} accepted a push made with ${what}, from ${pusher.describe}`,
        'a 4xx refusal (M_INVALID_PEPPER)',
        pushed.report,
      );
    }
    ctx.iterations(2);
  },
});

export const trustedPushShowsUp = defineCheck({
  name: 'every hash of an accepted trusted push shows up in third_party_mappings',
  rules: ['IS-PUSH-06'],
  profiles: ['matrix-current'],
  async run(ctx) {
    const a = receiver(ctx);
    const pusher = await trustedPusher(ctx, a);
    const addresses = await pusher.hold(ctx, 'P06', 3);
    expectAccepted(
      await pusher.push(ctx, a, addresses),
      `${a.serverName} refused a push from ${pusher.describe}`,
    );
    for (const [i, address] of addresses.entries()) {
      const { hashes, answer } = await lookupAt(ctx, a, `asker06${i}`, [address]);
      const hash = hashes[0] ?? '';
      expectThat(
        answer.third_party_mappings?.[pusher.serverName]?.includes(hash) === true,
        `${a.serverName}: a hash ${pusher.serverName} pushed is missing from third_party_mappings`,
        { third_party_mappings: { [pusher.serverName]: [hash] } },
        answer,
      );
    }
    ctx.iterations(addresses.length);
  },
});

// --- what a trusted pusher may declare -----------------------------------------------------

/** A fresh address of this check's namespace, and its hash under `pepper`. */
function freshAddress(ctx: CheckContext, word: () => string, pepper: string) {
  const address = `${ctx.instance.namespace}${word()}@example.org`;
  return { address, hash: sha256Hash(address, 'email', pepper) };
}

/** The trusted pusher, once a correctly made push of its own hashes was accepted. */
async function acceptedPusher(ctx: CheckContext, a: TargetServer, label: string) {
  const pusher = await trustedPusher(ctx, a);
  // Without an accepted push of its own, a refusal below could be distrust, not judgment.
  expectAccepted(
    await pusher.push(ctx, a, await pusher.hold(ctx, label, 1)),
    `${a.serverName} refused a correctly made push from ${pusher.describe}`,
  );
  return pusher;
}

export const foreignMappingsRefused = defineCheck({
  name: 'a trusted push declaring hashes under another server is refused and stores nothing for it',
  rules: ['IS-PUSH-07'],
  profiles: ['matrix-current'],
  async run(ctx) {
    const a = receiver(ctx);
    const pusher = await acceptedPusher(ctx, a, 'P07');
    const pepper = await currentPepper(ctx, a, 'push07');
    const { word } = names(ctx, 'IS-PUSH-07');
    const third = ctx.instance.servers.find(
      (s) => s.serverName !== a.serverName && s.serverName !== pusher.serverName,
    );
    const claims: [string, string][] = [
      ['a server nobody configured', `${ctx.instance.namespace}victim.example`],
      [`${a.serverName} itself`, a.serverName],
    ];
    if (third !== undefined) claims.unshift(['another server of the target', third.serverName]);
    for (const [whose, claimed] of claims) {
      const foreign = freshAddress(ctx, word, pepper);
      const content = { algorithm: 'sha256', pepper, mappings: { [claimed]: [foreign.hash] } };
      const pushed = await pusher.pushContent(ctx, a, content);
      expectThat(
        refused(pushed),
        `${a.serverName} accepted a push from ${pusher.describe} declaring hashes of ${whose} (${claimed})`,
        'a 4xx refusal: a server declares only its own hashes',
        pushed.report,
      );
      expectNoTrace(a, await lookupAt(ctx, a, `asker07${claimed}`, [foreign.address]), whose);
    }
    // Its own hashes beside another server's: refused whole, or the other's part dropped.
    const own = freshAddress(ctx, word, pepper);
    const foreign = freshAddress(ctx, word, pepper);
    const other = third?.serverName ?? `${ctx.instance.namespace}victim.example`;
    const mixed = await pusher.pushContent(ctx, a, {
      algorithm: 'sha256',
      pepper,
      mappings: { [pusher.serverName]: [own.hash], [other]: [foreign.hash] },
    });
    expectNoTrace(
      a,
      await lookupAt(ctx, a, 'asker07mixed', [foreign.address]),
      `hashes declared under ${other} beside ${pusher.serverName}'s own (answered ${String(mixed.status)})`,
    );
    ctx.iterations(claims.length + 1);
  },
});

/** Standard base64 of a hash that has a URL-safe character, so the two differ. */
function standardBase64Variant(ctx: CheckContext, word: () => string, pepper: string) {
  for (let i = 0; i < 200; i++) {
    const candidate = freshAddress(ctx, word, pepper);
    if (/[-_]/.test(candidate.hash)) {
      return { ...candidate, sent: candidate.hash.replaceAll('-', '+').replaceAll('_', '/') };
    }
  }
  throw new Error('no generated hash held - or _ in 200 tries');
}

/** The same 43 characters, but the last one with its two unused bits set (non-canonical). */
function nonCanonical(hash: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(hash.charAt(hash.length - 1));
  return hash.slice(0, -1) + alphabet.charAt(last | 3);
}

export const malformedPushRefused = defineCheck({
  name: 'a trusted push with another algorithm or a malformed hash is refused and stores nothing',
  rules: ['IS-PUSH-08'],
  profiles: ['matrix-current'],
  async run(ctx) {
    const a = receiver(ctx);
    const pusher = await acceptedPusher(ctx, a, 'P08');
    const pepper = await currentPepper(ctx, a, 'push08');
    const { word } = names(ctx, 'IS-PUSH-08');
    const hex = (text: string) => createHash('sha256').update(text).digest('hex');
    // Each defect with the address it stands for: none of them may make that address found.
    const defects: { what: string; address: string; algorithm: string; hash: string }[] = [];
    const add = (
      what: string,
      algorithm: string,
      make: (f: { address: string; hash: string }) => string,
    ) => {
      const f = freshAddress(ctx, word, pepper);
      defects.push({ what, address: f.address, algorithm, hash: make(f) });
    };
    add('algorithm none, the address in clear', 'none', (f) => `${f.address} email`);
    add('an algorithm the server does not offer', 'sha512', (f) => f.hash);
    const standard = standardBase64Variant(ctx, word, pepper);
    defects.push({
      what: 'the hash in standard base64',
      address: standard.address,
      algorithm: 'sha256',
      hash: standard.sent,
    });
    add('the hash padded with =', 'sha256', (f) => `${f.hash}=`);
    add('the hash cut to 42 characters', 'sha256', (f) => f.hash.slice(0, 42));
    add('the hash with a non-canonical last character', 'sha256', (f) => nonCanonical(f.hash));
    add('the hash in hex', 'sha256', (f) => hex(`${f.address} email ${pepper}`));
    add('an empty hash', 'sha256', () => '');
    for (const defect of defects) {
      const pushed = await pusher.pushContent(ctx, a, {
        algorithm: defect.algorithm,
        pepper,
        mappings: { [pusher.serverName]: [defect.hash] },
      });
      expectThat(
        refused(pushed),
        `${a.serverName} accepted a push from ${pusher.describe} with ${defect.what}`,
        'a 4xx refusal',
        pushed.report,
      );
      expectNoTrace(a, await lookupAt(ctx, a, 'asker08', [defect.address]), defect.what);
    }
    ctx.iterations(defects.length);
  },
});

// --- forged pushes -----------------------------------------------------------------------

function expectUnauthorized(at: TargetServer, answer: Answer, what: string): void {
  if (answer.status !== 401) {
    throw new CheckFailure(`${at.serverName} did not refuse ${what} with 401`, {
      expected: '401 M_UNAUTHORIZED',
      actual: `${answer.status} ${JSON.stringify(answer.body)}`,
    });
  }
}

async function forgeryInputs(ctx: CheckContext, label: string) {
  const a = receiver(ctx);
  const pepper = await currentPepper(ctx, a, label);
  const { word } = names(ctx, label);
  const hash = sha256Hash(`${ctx.instance.namespace}${word()}@example.org`, 'email', pepper);
  return { a, pepper, hash };
}

export const pushIdentifiedBySignature = defineCheck({
  name: 'a push in a trusted name without its signature, or with a user token, is refused and leaves no trace',
  rules: ['IS-PUSH-02'],
  profiles: ['matrix-current'],
  async run(ctx) {
    const { a, pepper, hash } = await forgeryInputs(ctx, 'push02');
    const trusted = await trustedPusher(ctx, a);
    const content = { algorithm: 'sha256', pepper, mappings: { [trusted.serverName]: [hash] } };
    const uri = `${IS_PREFIX}/lookups`;
    // Signed under the trusted name by a key that is not the trusted server's.
    const other = await generateEd25519KeyPair(seededRng(`${ctx.seed}/push02 other key`));
    const claimed = await xMatrixHeader(
      { method: 'POST', uri, origin: trusted.serverName, destination: a.serverName, content },
      { keyId: trusted.key?.keyId ?? 'ed25519:fedconn', pair: other },
    );
    expectUnauthorized(
      a,
      await trusted.send(ctx, a, content, claimed),
      `a push claiming ${trusted.serverName} signed by another key, sent from its address`,
    );
    expectUnauthorized(
      a,
      await trusted.send(ctx, a, content, null),
      `an unsigned push from the address of ${trusted.describe}`,
    );
    // An ordinary user's access token identifies a user, never a pushing server.
    const userToken = await issueToken(ctx, a, userId(ctx, a, 'ispushuser'));
    const asUser = await trusted.send(ctx, a, content, `Bearer ${userToken}`);
    if (asUser.status !== 401 && asUser.status !== 403) {
      throw new CheckFailure(
        `${a.serverName} did not refuse a push made with a user's access token`,
        {
          expected: '401 or 403',
          actual: `${asUser.status} ${JSON.stringify(asUser.body)}`,
        },
      );
    }
    const token = await issueToken(ctx, a, userId(ctx, a, 'isasker02'));
    const answer = await lookupOk(ctx, a, token, {
      algorithm: 'sha256',
      pepper,
      addresses: [hash],
    });
    expectThat(
      Object.values(answer.third_party_mappings ?? {}).every((list) => !list.includes(hash)) &&
        answer.mappings[hash] === undefined,
      `${a.serverName}: a push in ${trusted.serverName}'s name without its signature is answered by lookups`,
      { mappings: {}, third_party_mappings: {} },
      answer,
    );
    ctx.iterations(3);
  },
});

const IMPOSTOR = 'impostor.example';

/**
 * An origin whose key the target can fetch, with its key: an impostor attached to the
 * simulator's network, or fedconn's trusted peer (whose good push must be accepted).
 */
async function signer(ctx: CheckContext, a: TargetServer, pepper: string) {
  const hostPeer = ctx.instance.hostPeer;
  // Real identity servers are judged against fedconn as the peer they are configured to
  // trust (below), not an impostor on loopback whose key they have no reason to fetch.
  if (hostPeer !== undefined && ctx.target.kind === 'sim') {
    let made: Awaited<ReturnType<typeof createFakeServer>> | undefined;
    await hostPeer(`${ctx.instance.namespace}${IMPOSTOR}`, async (serverName) => {
      made = await createFakeServer({
        serverName,
        // register: false keeps it off this throwaway network; hostPeer puts it on the target's.
        network: new SimNetwork(),
        transport: ctx.instance.transport,
        seed: `${ctx.seed}/impostor`,
        now: () => ctx.instance.clock.now(),
        register: false,
      });
      return made.fetch;
    });
    const fake = made;
    if (fake === undefined) throw new Error('the impostor identity server was not started');
    const send = (content: unknown, authorization: string) =>
      ctx.instance
        .transport(
          new Request(`${a.origin}${IS_PREFIX}/lookups`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'x-fedconn-from': fake.serverName,
              authorization,
            },
            body: JSON.stringify(content),
            signal: ctx.signal,
          }),
        )
        .then(readAnswer);
    return { origin: fake.serverName, key: fake.key, send };
  }
  const pusher = await trustedPusher(ctx, a);
  const key = pusher.key;
  if (!pusher.peer || key === undefined) {
    throw new CheckSkipped(
      'needs a signer whose key the target can fetch: an impostor (the sim target) or fedconn as a trusted peer (roles.identity.trusted_addresses)',
    );
  }
  // A correctly signed push must get through; otherwise a refused forgery proves nothing.
  const control = await pusher.push(
    ctx,
    a,
    [`${ctx.instance.namespace}control@example.org`],
    pepper,
  );
  if (!accepted(control.status)) {
    throw new CheckSkipped(
      `${a.serverName} refused a correctly signed push from ${pusher.describe} (${JSON.stringify(control.report)}), so forgeries cannot be told apart from it`,
    );
  }
  return {
    origin: pusher.serverName,
    key,
    send: (content: unknown, authorization: string) => pusher.send(ctx, a, content, authorization),
  };
}

export const forgedPushUnauthorized = defineCheck({
  name: 'a push with a forged origin, a wrong destination or a bad signature is 401',
  rules: ['IS-PUSH-03'],
  profiles: ['matrix-current'],
  async run(ctx) {
    const { a, pepper, hash } = await forgeryInputs(ctx, 'push03');
    const signing = await signer(ctx, a, pepper);
    const own = { algorithm: 'sha256', pepper, mappings: { [signing.origin]: [hash] } };
    const uri = `${IS_PREFIX}/lookups`;
    const other = await generateEd25519KeyPair(seededRng(`${ctx.seed}/push03 other key`));
    const elsewhere = `${ctx.instance.namespace}elsewhere.example`;
    const cases: [string, string, unknown][] = [
      [
        'a push signed for another destination',
        await xMatrixHeader(
          { method: 'POST', uri, origin: signing.origin, destination: elsewhere, content: own },
          signing.key,
        ),
        own,
      ],
      [
        "a push signed by a key that is not the origin's",
        await xMatrixHeader(
          { method: 'POST', uri, origin: signing.origin, destination: a.serverName, content: own },
          { keyId: signing.key.keyId, pair: other },
        ),
        own,
      ],
      [
        'a push whose body differs from what was signed',
        await xMatrixHeader(
          {
            method: 'POST',
            uri,
            origin: signing.origin,
            destination: a.serverName,
            content: { ...own, pepper: 'x' },
          },
          signing.key,
        ),
        own,
      ],
      // The pusher's own key over the wrong fields (simulator/protocol/narrowing.ts).
      ...(await Promise.all(
        narrowingsOf(['method', 'uri', 'origin', 'destination', 'content']).map(
          async (n): Promise<[string, string, unknown]> => [
            `a push signed over the wrong fields (${n})`,
            await narrowedXMatrixHeader(
              {
                method: 'POST',
                uri,
                origin: signing.origin,
                destination: a.serverName,
                content: own,
              },
              signing.key,
              n,
            ),
            own,
          ],
        ),
      )),
    ];
    for (const [what, authorization, content] of cases) {
      expectUnauthorized(a, await signing.send(content, authorization), what);
    }
    ctx.iterations(cases.length);
  },
});

export const PUSH_CHECKS = [
  untrustedPushRefused,
  pushIdentifiedBySignature,
  forgedPushUnauthorized,
  refusedPushLeavesNoTrace,
  pushWithForeignPepperRefused,
  trustedPushShowsUp,
  foreignMappingsRefused,
  malformedPushRefused,
];
