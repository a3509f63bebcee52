// Identity lookup as the target serves it (IS-LOOKUP): hash_details, sha256 and none
// lookups, and the error answers. Each check provisions its own bindings and tokens on
// the first server, under the instance namespace.
import fc from 'fast-check';
import { loadVectors } from '../../fixtures/vectors.ts';
import { PEPPER_PATTERN } from '../../simulator/protocol/identity/hash.ts';
import { DriverUnsupported } from '../harness/drivers/driver.ts';
import {
  checkProperty,
  CheckNotApplicable,
  CheckFailure,
  defineCheck,
  eachOf,
  expectThat,
  type CheckContext,
} from '../harness/check.ts';
import {
  bind,
  call,
  expectError,
  generatedPepper,
  hashDetails,
  IS_PREFIX,
  issueExpiringToken,
  issueToken,
  lookup,
  lookupOk,
  names,
  rotate,
  sha256Hash,
  userId,
} from './support.ts';

const first = (ctx: CheckContext) => {
  const server = ctx.instance.servers[0];
  if (server === undefined) throw new Error('the target has no server');
  return server;
};

/** A token for a fresh user of the first server, and that server's hash_details. */
async function session(ctx: CheckContext, label: string) {
  const server = first(ctx);
  const user = userId(ctx, server, `is${label}`);
  const token = await issueToken(ctx, server, user);
  return { server, user, token, details: await hashDetails(ctx, server, token) };
}

const wrongPepper = (accepted: readonly string[]) =>
  fc.stringMatching(/^[a-zA-Z0-9]{1,40}$/).filter((p) => !accepted.includes(p));

export const hashDetailsOffersSha256 = defineCheck({
  name: 'hash_details answers a lookup_pepper and algorithms that include sha256',
  rules: ['IS-LOOKUP-01'],
  profiles: ['matrix-current'],
  async run(ctx) {
    const { server, details } = await session(ctx, 'details');
    expectThat(
      details.lookup_pepper.length > 0,
      `${server.serverName}: hash_details has an empty lookup_pepper`,
      'a non-empty lookup_pepper',
      details.lookup_pepper,
    );
    expectThat(
      details.algorithms.includes('sha256'),
      `${server.serverName}: hash_details does not offer sha256`,
      'algorithms including "sha256"',
      details.algorithms,
    );
  },
});

export const sha256HashesMatchSpec = defineCheck({
  name: 'sha256 lookups of bound addresses match URL-safe base64 hashes of the spec',
  rules: ['IS-LOOKUP-02'],
  profiles: ['matrix-current'],
  async run(ctx) {
    // fedconn's own hash must reproduce every published vector before it judges anyone.
    for (const vector of loadVectors('matrix-identity-hash').tests) {
      if (vector.result !== 'valid' || vector.input.algorithm !== 'sha256') continue;
      const { address, medium, pepper } = vector.input;
      const ours = sha256Hash(address, medium, pepper);
      if (ours !== vector.expected.lookup) {
        throw new Error(`fedconn's hash disagrees with published vector ${vector.tcId}`);
      }
    }
    // Under the server's own current pepper: a driver need not be able to choose one.
    const { server, token, details } = await session(ctx, 'hash');
    const { word } = names(ctx, 'IS-LOOKUP-02');
    const pepper = details.lookup_pepper;
    // Addresses whose hash has '-' or '_', which standard base64 would spell '+' or '/'.
    const bound: { address: string; hash: string; user: string }[] = [];
    while (bound.length < 3) {
      const address = `${ctx.instance.namespace}${word()}@example.org`;
      const hash = sha256Hash(address, 'email', pepper);
      if (!/[-_]/.test(hash)) continue;
      const user = userId(ctx, server, `h${bound.length}${word()}`);
      await bind(ctx, server, address, user);
      bound.push({ address, hash, user });
    }
    const answer = await lookupOk(ctx, server, token, {
      algorithm: 'sha256',
      pepper,
      addresses: bound.map((b) => b.hash),
    });
    ctx.iterations(bound.length);
    for (const { address, hash, user } of bound) {
      expectThat(
        answer.mappings[hash] === user,
        `${server.serverName}: the sha256 hash of "${address} email ${pepper}" does not find its binding`,
        { [hash]: user },
        answer.mappings,
      );
    }
  },
});

export const lookupMapsKnownOmitsUnknown = defineCheck({
  name: 'lookup maps each known hash as sent to its user and omits unknown hashes',
  rules: ['IS-LOOKUP-03'],
  profiles: ['matrix-current'],
  async run(ctx) {
    const { server, token, details } = await session(ctx, 'mappings');
    const pepper = details.lookup_pepper;
    const { word } = names(ctx, 'IS-LOOKUP-03');
    let n = 0;
    await checkProperty(
      ctx,
      [fc.array(fc.boolean(), { minLength: 1, maxLength: 6 })],
      async (boundFlags) => {
        const expected: Record<string, string> = {};
        const addresses: string[] = [];
        for (const isBound of boundFlags) {
          const address = `${ctx.instance.namespace}m${n++}${word()}@example.org`;
          const hash = sha256Hash(address, 'email', pepper);
          if (isBound) {
            const user = userId(ctx, server, `m${n}${word()}`);
            await bind(ctx, server, address, user);
            expected[hash] = user;
          }
          addresses.push(hash);
        }
        const answer = await lookupOk(ctx, server, token, {
          algorithm: 'sha256',
          pepper,
          addresses,
        });
        const sorted = (o: Record<string, string>) =>
          Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
        if (JSON.stringify(sorted(answer.mappings)) !== JSON.stringify(sorted(expected))) {
          throw new CheckFailure(
            `${server.serverName}: mappings are not exactly the bound hashes`,
            { expected: JSON.stringify(sorted(expected)), actual: JSON.stringify(answer.mappings) },
          );
        }
      },
      { numRuns: 4 },
    );
  },
});

export const wrongPepperRefused = defineCheck({
  name: 'a lookup with a pepper the server does not accept is 400 M_INVALID_PEPPER',
  rules: ['IS-LOOKUP-04'],
  profiles: ['matrix-current'],
  async run(ctx) {
    const { server, token, details } = await session(ctx, 'wrongpepper');
    const accepted = [details.lookup_pepper, ...(details.alt_lookup_peppers ?? [])];
    await checkProperty(
      ctx,
      [wrongPepper(accepted)],
      async (pepper) => {
        const hash = sha256Hash(`${ctx.instance.namespace}x@example.org`, 'email', pepper);
        const answer = await lookup(ctx, server, token, {
          algorithm: 'sha256',
          pepper,
          addresses: [hash],
        });
        expectError(
          answer,
          400,
          'M_INVALID_PEPPER',
          `${server.serverName}: a sha256 lookup with pepper ${pepper} was not refused`,
        );
      },
      { numRuns: 5 },
    );
  },
});

export const invalidPepperCarriesCurrent = defineCheck({
  name: 'M_INVALID_PEPPER carries the current algorithm and lookup_pepper',
  rules: ['IS-LOOKUP-05'],
  profiles: ['matrix-current'],
  async run(ctx) {
    const { server, token, details } = await session(ctx, 'pepperhint');
    const { rng } = names(ctx, 'IS-LOOKUP-05');
    const pepper = `W${generatedPepper(rng)}`;
    const answer = await lookup(ctx, server, token, {
      algorithm: 'sha256',
      pepper,
      addresses: [sha256Hash(`${ctx.instance.namespace}y@example.org`, 'email', pepper)],
    });
    expectError(answer, 400, 'M_INVALID_PEPPER', `${server.serverName}: wrong pepper not refused`);
    const body = answer.body as Record<string, unknown>;
    expectThat(
      body.lookup_pepper === details.lookup_pepper &&
        typeof body.algorithm === 'string' &&
        details.algorithms.includes(body.algorithm),
      `${server.serverName}: M_INVALID_PEPPER does not say which pepper and algorithm to use`,
      {
        errcode: 'M_INVALID_PEPPER',
        algorithm: 'one of hash_details algorithms',
        lookup_pepper: details.lookup_pepper,
      },
      body,
    );
  },
});

/** Algorithm names a lenient server might take for sha256 or none. */
const NEAR_MISSES = ['SHA256', 'sha-256', 'sha512', 'md5', 'None', '', 'none'];

export const unknownAlgorithmRefused = defineCheck({
  name: 'a lookup with an unsupported algorithm is 400 M_INVALID_PARAM',
  rules: ['IS-LOOKUP-06'],
  profiles: ['matrix-current'],
  async run(ctx) {
    const { server, user, token, details } = await session(ctx, 'algorithm');
    const address = `${ctx.instance.namespace}alg@example.org`;
    await bind(ctx, server, address, user);
    const refused = async (algorithm: string) => {
      const answer = await lookup(ctx, server, token, {
        algorithm,
        pepper: details.lookup_pepper,
        addresses: [`${address} email`, sha256Hash(address, 'email', details.lookup_pepper)],
      });
      expectError(
        answer,
        400,
        'M_INVALID_PARAM',
        `${server.serverName}: a lookup with algorithm ${JSON.stringify(algorithm)} was not refused`,
      );
    };
    // none is optional: unsupported wherever hash_details does not offer it.
    const unsupported = (a: string) =>
      a !== 'sha256' && (a !== 'none' || !details.algorithms.includes('none'));
    // Near misses of sha256 and none, every one every time; then names at random.
    await checkProperty(ctx, [eachOf(...NEAR_MISSES.filter(unsupported))], refused, {
      numRuns: 0,
    });
    await checkProperty(
      ctx,
      [fc.stringMatching(/^[a-z0-9-]{1,12}$/).filter(unsupported)],
      refused,
      { numRuns: 5 },
    );
  },
});

export const lookupNeedsToken = defineCheck({
  name: 'hash_details and lookup without a valid access token are 401 M_UNAUTHORIZED',
  rules: ['IS-LOOKUP-07'],
  profiles: ['matrix-current'],
  async run(ctx) {
    const { server, user, token: valid, details } = await session(ctx, 'auth');
    const { rng } = names(ctx, 'IS-LOOKUP-07');
    const forged = Buffer.from(rng.bytes(32)).toString('base64url');
    const request = {
      algorithm: 'sha256',
      pepper: details.lookup_pepper,
      addresses: [
        sha256Hash(`${ctx.instance.namespace}z@example.org`, 'email', details.lookup_pepper),
      ],
    };
    const cases: [string, string | undefined][] = [
      ['no token', undefined],
      ['a forged token', forged],
    ];
    // An expired token, where the driver can issue one that expires.
    try {
      // Control: a token that expires later is valid until then, so its refusal below is
      // for the expiry, not for being an expiring token.
      const later = await issueExpiringToken(ctx, server, user, 600_000);
      const before = await lookup(ctx, server, later, request);
      expectThat(
        before.status === 200,
        `${server.serverName}: lookup with a token that expires in 10 minutes was refused`,
        '200',
        `${before.status} ${JSON.stringify(before.body)}`,
      );
      const expiring = await issueExpiringToken(ctx, server, user, 1);
      if (ctx.instance.advance === undefined) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      } else {
        await ctx.instance.advance(1000);
      }
      cases.push(['an expired token', expiring]);
    } catch (error) {
      if (!(error instanceof DriverUnsupported)) throw error;
      ctx.note(`expired tokens not tried: ${error.reason}`);
    }
    for (const [what, token] of cases) {
      expectError(
        await lookup(ctx, server, token, request),
        401,
        'M_UNAUTHORIZED',
        `${server.serverName}: lookup with ${what} was not refused`,
      );
      expectError(
        await call(ctx, server, `${IS_PREFIX}/hash_details`, token === undefined ? {} : { token }),
        401,
        'M_UNAUTHORIZED',
        `${server.serverName}: hash_details with ${what} was not refused`,
      );
    }
    // A valid token is still no token outside `Authorization: Bearer <token>`.
    const malformed: [string, string][] = [
      ['another scheme', `Basic ${valid}`],
      ['no scheme', valid],
      ['a scheme with Bearer inside it', `xBearer ${valid}`],
      ['no space after Bearer', `Bearer${valid}`],
      ['a second word after the token', `Bearer ${valid} ${valid}`],
    ];
    for (const [what, authorization] of malformed) {
      const headers = { authorization };
      expectError(
        await call(ctx, server, `${IS_PREFIX}/lookup`, { body: request, headers }),
        401,
        'M_UNAUTHORIZED',
        `${server.serverName}: lookup with a valid token under ${what} (${JSON.stringify(authorization.replaceAll(valid, '<token>'))}) was not refused`,
      );
      expectError(
        await call(ctx, server, `${IS_PREFIX}/hash_details`, { headers }),
        401,
        'M_UNAUTHORIZED',
        `${server.serverName}: hash_details with a valid token under ${what} was not refused`,
      );
    }
    ctx.iterations((cases.length + malformed.length) * 2);
  },
});

export const noneNeedsPepper = defineCheck({
  name: 'none lookups send "<address> <medium>" and still need an accepted pepper',
  rules: ['IS-LOOKUP-08'],
  profiles: ['matrix-current'],
  async run(ctx) {
    const { server, user, token, details } = await session(ctx, 'none');
    // none is optional: a server that does not offer it is judged by IS-LOOKUP-06 instead.
    if (!details.algorithms.includes('none')) {
      throw new CheckNotApplicable(
        `${server.serverName} does not offer the none algorithm (hash_details algorithms ${JSON.stringify(details.algorithms)}); IS-LOOKUP-06 checks that it refuses none lookups`,
      );
    }
    const { word } = names(ctx, 'IS-LOOKUP-08');
    const address = `${ctx.instance.namespace}${word()}@example.org`;
    await bind(ctx, server, address, user);
    const entry = `${address} email`;
    const answer = await lookupOk(ctx, server, token, {
      algorithm: 'none',
      pepper: details.lookup_pepper,
      addresses: [entry],
    });
    expectThat(
      answer.mappings[entry] === user,
      `${server.serverName}: a none lookup of a bound address does not find it`,
      { [entry]: user },
      answer.mappings,
    );
    const accepted = [details.lookup_pepper, ...(details.alt_lookup_peppers ?? [])];
    await checkProperty(
      ctx,
      [wrongPepper(accepted)],
      async (pepper) => {
        expectError(
          await lookup(ctx, server, token, { algorithm: 'none', pepper, addresses: [entry] }),
          400,
          'M_INVALID_PEPPER',
          `${server.serverName}: a none lookup with pepper ${pepper} was not refused`,
        );
      },
      { numRuns: 4 },
    );
  },
});

export const pepperGrammar = defineCheck({
  name: 'every pepper the server serves is [a-zA-Z0-9]+, before and after rotation',
  rules: ['IS-LOOKUP-09'],
  profiles: ['matrix-current'],
  async run(ctx) {
    const { server, token } = await session(ctx, 'grammar');
    const seen: string[] = [];
    for (let round = 0; round < 3; round++) {
      if (round > 0) await rotate(ctx, server);
      const details = await hashDetails(ctx, server, token);
      seen.push(details.lookup_pepper, ...(details.alt_lookup_peppers ?? []));
    }
    ctx.iterations(seen.length);
    const bad = seen.find((p) => !PEPPER_PATTERN.test(p));
    expectThat(
      bad === undefined,
      `${server.serverName}: a served pepper is not [a-zA-Z0-9]+`,
      'peppers matching [a-zA-Z0-9]+',
      `${JSON.stringify(bad)}, among the lookup_pepper and alt_lookup_peppers served: ${JSON.stringify(seen)}`,
    );
  },
});

export const LOOKUP_CHECKS = [
  hashDetailsOffersSha256,
  sha256HashesMatchSpec,
  lookupMapsKnownOmitsUnknown,
  wrongPepperRefused,
  invalidPepperCarriesCurrent,
  unknownAlgorithmRefused,
  lookupNeedsToken,
  noneNeedsPepper,
  pepperGrammar,
];
