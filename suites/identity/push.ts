// MSC4004 hash pushes as the target receives them (IS-PUSH). Trusted and untrusted
// pushes are driven through provisioning on the sim topology (servers 0 and 1 trust
// each other, server 2 is trusted by nobody); forged pushes come from an impostor that
// fedconn attaches to the target's network with a signing key it controls.
import { generateEd25519KeyPair } from '../../simulator/protocol/crypto/ed25519.ts';
import { seededRng } from '../../simulator/protocol/crypto/rng.ts';
import { createFakeServer } from '../../simulator/federation/testing.ts';
import { xMatrixHeader } from '../../simulator/federation/x-matrix.ts';
import { SimNetwork } from '../../simulator/net/transport.ts';
import { CheckFailure, defineCheck, expectThat, type CheckContext } from '../harness/check.ts';
import type { TargetServer } from '../harness/target.ts';
import { drivePush, pair } from './federation.ts';
import {
  bind,
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

function third(ctx: CheckContext): TargetServer {
  const c = ctx.instance.servers[2];
  if (c === undefined) throw new Error('the target needs a third, untrusted server');
  return c;
}

/** Lookup at `at` of `addresses` under its current pepper, as a fresh user. */
async function lookupAt(ctx: CheckContext, at: TargetServer, label: string, addresses: string[]) {
  const token = await issueToken(ctx, at, userId(ctx, at, `is${label}`));
  const pepper = (await hashDetails(ctx, at, token)).lookup_pepper;
  const hashes = addresses.map((a) => sha256Hash(a, 'email', pepper));
  const answer = await lookupOk(ctx, at, token, { algorithm: 'sha256', pepper, addresses: hashes });
  return { hashes, answer, pepper };
}

async function boundAddresses(ctx: CheckContext, server: TargetServer, label: string, n: number) {
  const { word } = names(ctx, label);
  const addresses: string[] = [];
  for (let i = 0; i < n; i++) {
    const address = `${ctx.instance.namespace}${word()}@example.org`;
    await bind(ctx, server, address, userId(ctx, server, `p${i}${word()}`));
    addresses.push(address);
  }
  return addresses;
}

async function currentPepper(ctx: CheckContext, server: TargetServer, label: string) {
  const token = await issueToken(ctx, server, userId(ctx, server, `is${label}`));
  return (await hashDetails(ctx, server, token)).lookup_pepper;
}

export const untrustedPushRefused = defineCheck({
  name: 'a correctly signed push is accepted from a trusted server and 403 from any other',
  rules: ['IS-PUSH-01'],
  profiles: ['matrix-current'],
  async run(ctx) {
    const { a, b } = pair(ctx);
    const c = third(ctx);
    const pepper = await currentPepper(ctx, a, 'push01');
    const fromTrusted = await drivePush(
      ctx,
      b,
      a.serverName,
      await boundAddresses(ctx, b, 'P01b', 1),
      pepper,
    );
    expectEqualStatus(
      fromTrusted,
      200,
      `${a.serverName} refused a push from ${b.serverName}, which it trusts`,
    );
    const fromOther = await drivePush(
      ctx,
      c,
      a.serverName,
      await boundAddresses(ctx, c, 'P01c', 1),
      pepper,
    );
    expectEqualStatus(
      fromOther,
      403,
      `${a.serverName} did not refuse a push from ${c.serverName}, which it does not trust`,
    );
    ctx.iterations(2);
  },
});

function expectEqualStatus(
  pushed: { status: number | undefined; report: unknown },
  status: number,
  message: string,
): void {
  if (pushed.status !== status) {
    throw new CheckFailure(message, {
      expected: `push answered ${status}`,
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
    { mappings: {} },
    looked.answer,
  );
}

export const refusedPushLeavesNoTrace = defineCheck({
  name: 'a refused push leaves no trace in later lookups',
  rules: ['IS-PUSH-04'],
  profiles: ['matrix-current'],
  async run(ctx) {
    const { a } = pair(ctx);
    const c = third(ctx);
    const pepper = await currentPepper(ctx, a, 'push04');
    const addresses = await boundAddresses(ctx, c, 'P04', 3);
    const pushed = await drivePush(ctx, c, a.serverName, addresses, pepper);
    expectThat(
      pushed.status !== undefined && pushed.status >= 400,
      `${a.serverName} accepted a push from ${c.serverName}, which it does not trust`,
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
    const { a, b } = pair(ctx);
    const addresses = await boundAddresses(ctx, b, 'P05', 1);
    const foreign = await currentPepper(ctx, b, 'push05b');
    const stale = await currentPepper(ctx, a, 'push05a');
    await rotate(ctx, a);
    for (const [what, pepper] of [
      [`${b.serverName}'s own pepper`, foreign],
      [`${a.serverName}'s previous pepper`, stale],
    ] as const) {
      const pushed = await drivePush(ctx, b, a.serverName, addresses, pepper);
      expectThat(
        pushed.status !== undefined && pushed.status >= 400 && pushed.status < 500,
        `${a.serverName} accepted a push made with ${what}`,
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
    const { a, b } = pair(ctx);
    const addresses = await boundAddresses(ctx, b, 'P06', 3);
    const pushed = await drivePush(ctx, b, a.serverName, addresses);
    expectEqualStatus(
      pushed,
      200,
      `${a.serverName} refused a push from ${b.serverName}, which it trusts`,
    );
    for (const [i, address] of addresses.entries()) {
      const { hashes, answer } = await lookupAt(ctx, a, `asker06${i}`, [address]);
      const hash = hashes[0] ?? '';
      expectThat(
        answer.third_party_mappings?.[b.serverName]?.includes(hash) === true,
        `${a.serverName}: a hash ${b.serverName} pushed is missing from third_party_mappings`,
        { third_party_mappings: { [b.serverName]: [hash] } },
        answer,
      );
    }
    ctx.iterations(addresses.length);
  },
});

// --- forged pushes (impostor) ----------------------------------------------------------

const IMPOSTOR = 'impostor.example';

/** An impostor on the target's network, with its own key document. */
async function impostor(ctx: CheckContext) {
  const attach = ctx.instance.attach;
  if (attach === undefined) throw new Error('the target cannot attach an impostor');
  const fake = await createFakeServer({
    serverName: `${ctx.instance.namespace}${IMPOSTOR}`,
    // register: false keeps it off this throwaway network; attach puts it on the target's.
    network: new SimNetwork(),
    transport: ctx.instance.transport,
    seed: `${ctx.seed}/impostor`,
    now: () => ctx.instance.clock.now(),
    register: false,
  });
  attach(`https://${fake.serverName}`, fake.fetch);
  return fake;
}

/** POSTs a push to `to` with the given Authorization and sender address header. */
async function sendPush(
  ctx: CheckContext,
  to: TargetServer,
  content: unknown,
  authorization: string | null,
  from: string,
): Promise<Answer> {
  const headers = new Headers({ 'content-type': 'application/json', 'x-fedconn-from': from });
  if (authorization !== null) headers.set('authorization', authorization);
  return readAnswer(
    await ctx.instance.transport(
      new Request(`${to.origin}${IS_PREFIX}/lookups`, {
        method: 'POST',
        headers,
        body: JSON.stringify(content),
        signal: ctx.signal,
      }),
    ),
  );
}

function expectUnauthorized(at: TargetServer, answer: Answer, what: string): void {
  if (answer.status !== 401) {
    throw new CheckFailure(`${at.serverName} did not refuse ${what} with 401`, {
      expected: '401 M_UNAUTHORIZED',
      actual: `${answer.status} ${JSON.stringify(answer.body)}`,
    });
  }
}

async function forgeryInputs(ctx: CheckContext, label: string) {
  const { a, b } = pair(ctx);
  const pepper = await currentPepper(ctx, a, label);
  const { word } = names(ctx, label);
  const hash = sha256Hash(`${ctx.instance.namespace}${word()}@example.org`, 'email', pepper);
  return { a, b, pepper, hash };
}

export const pushIdentifiedBySignature = defineCheck({
  name: 'a push claiming a trusted origin without its signature is refused and leaves no trace',
  rules: ['IS-PUSH-02'],
  profiles: ['matrix-current'],
  needs: ['impostor'],
  async run(ctx) {
    const { a, b, pepper, hash } = await forgeryInputs(ctx, 'push02');
    const fake = await impostor(ctx);
    const content = { algorithm: 'sha256', pepper, mappings: { [b.serverName]: [hash] } };
    const uri = `${IS_PREFIX}/lookups`;
    // Signed by the impostor's key, under the trusted server's name, sent from its "address".
    const claimed = await xMatrixHeader(
      { method: 'POST', uri, origin: b.serverName, destination: a.serverName, content },
      fake.key,
    );
    expectUnauthorized(
      a,
      await sendPush(ctx, a, content, claimed, b.serverName),
      `a push claiming ${b.serverName} signed by another key`,
    );
    expectUnauthorized(
      a,
      await sendPush(ctx, a, content, null, b.serverName),
      `an unsigned push from ${b.serverName}'s address`,
    );
    const token = await issueToken(ctx, a, userId(ctx, a, 'isasker02'));
    const answer = await lookupOk(ctx, a, token, {
      algorithm: 'sha256',
      pepper,
      addresses: [hash],
    });
    expectThat(
      answer.third_party_mappings === undefined && answer.mappings[hash] === undefined,
      `${a.serverName}: a forged push in ${b.serverName}'s name is answered by lookups`,
      { mappings: {} },
      answer,
    );
    ctx.iterations(2);
  },
});

export const forgedPushUnauthorized = defineCheck({
  name: 'a push with a forged origin, a wrong destination or a bad signature is 401',
  rules: ['IS-PUSH-03'],
  profiles: ['matrix-current'],
  needs: ['impostor'],
  async run(ctx) {
    const { a, b, pepper, hash } = await forgeryInputs(ctx, 'push03');
    const fake = await impostor(ctx);
    const own = { algorithm: 'sha256', pepper, mappings: { [fake.serverName]: [hash] } };
    const uri = `${IS_PREFIX}/lookups`;
    const other = await generateEd25519KeyPair(seededRng(`${ctx.seed}/push03 other key`));
    const cases: [string, string, unknown][] = [
      [
        'a push signed for another destination',
        await xMatrixHeader(
          { method: 'POST', uri, origin: fake.serverName, destination: b.serverName, content: own },
          fake.key,
        ),
        own,
      ],
      [
        "a push signed by a key that is not the origin's",
        await xMatrixHeader(
          { method: 'POST', uri, origin: fake.serverName, destination: a.serverName, content: own },
          { keyId: fake.key.keyId, pair: other },
        ),
        own,
      ],
      [
        'a push whose body differs from what was signed',
        await xMatrixHeader(
          {
            method: 'POST',
            uri,
            origin: fake.serverName,
            destination: a.serverName,
            content: { ...own, pepper: 'x' },
          },
          fake.key,
        ),
        own,
      ],
      [
        `a push with the forged origin ${b.serverName}`,
        await xMatrixHeader(
          {
            method: 'POST',
            uri,
            origin: b.serverName,
            destination: a.serverName,
            content: { ...own, mappings: { [b.serverName]: [hash] } },
          },
          fake.key,
        ),
        { ...own, mappings: { [b.serverName]: [hash] } },
      ],
    ];
    for (const [what, authorization, content] of cases) {
      expectUnauthorized(a, await sendPush(ctx, a, content, authorization, fake.serverName), what);
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
];
