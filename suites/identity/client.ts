// The identity client under test (CLIENT rules IS-LOOKUP-02, IS-LOOKUP-10, IS-FED-04):
// fedconn's reference client, or another one (`--client matrix-js-sdk`), driven through
// lookups (a federated one: server 0 refers to server 1, which pushed the hash to it)
// and judged on every request it puts on the wire and on whom it finds. The reference
// client's mutants (simulator/clients/identity-client-mutants.ts) prove the checks fail.
import fc from 'fast-check';
import type { IdentityServerAccess } from '../../simulator/clients/identity-client.ts';
import { referenceClient } from '../harness/clients/reference.ts';
import type { IdentityClientUnderTest } from '../harness/clients/index.ts';
import type { Transport } from '../../simulator/net/transport.ts';
import {
  checkProperty,
  CheckFailure,
  defineCheck,
  expectThat,
  type CheckContext,
} from '../harness/check.ts';
import {
  bind,
  drive,
  hashDetails,
  issueToken,
  names,
  rotate,
  sha256Hash,
  userId,
} from './support.ts';

/** The identity client the run judges: the target's client under test, else fedconn's. */
const identityClient = (ctx: CheckContext): IdentityClientUnderTest =>
  ctx.target.client?.identity ??
  (referenceClient(ctx.instance.mutants).identity as IdentityClientUnderTest);

/** The reference topology the client is judged in: the first server trusts the second. */
function pair(ctx: CheckContext) {
  const [a, b] = ctx.instance.servers;
  if (a === undefined || b === undefined) throw new Error('the target needs two servers');
  return { a, b };
}

/** One request as it left the client. */
interface Sent {
  readonly method: string;
  readonly url: string;
  readonly headers: readonly string[];
  readonly body: string;
}

/** The target's transport, recording every request before passing it on. */
function recording(transport: Transport, log: Sent[]): Transport {
  return async (request) => {
    const body = request.body === null ? '' : await request.clone().text();
    log.push({
      method: request.method,
      url: request.url,
      headers: [...request.headers].map(([k, v]) => `${k}: ${v}`),
      body,
    });
    return transport(request);
  };
}

/** Local parts with the characters addresses carry ('.', '+', '-', '_'). */
const localPart = fc.stringMatching(/^[a-z0-9][a-z0-9._+-]{0,14}$/);

interface Federated {
  readonly address: string;
  readonly user: string;
  /** Whom the client found (undefined: nobody). */
  readonly found: string | undefined;
  readonly sent: readonly Sent[];
  readonly origins: { readonly first: string; readonly second: string };
  readonly secondServer: string;
  readonly secondToken: string;
}

/**
 * Binds a fresh address to a user of server 1, has server 1 push its hash to server 0
 * (which trusts it), then looks the address up with the reference client, starting at
 * server 0, over a recording transport.
 */
async function federatedLookup(
  ctx: CheckContext,
  label: string,
  local: string,
  rotateSecond: boolean,
): Promise<Federated> {
  const { a, b } = pair(ctx);
  const { word } = names(ctx, label);
  const address = `${ctx.instance.namespace}${local}.${word()}@example.org`;
  const user = userId(ctx, b, `isclient${word()}`);
  await bind(ctx, b, address, user);
  const pushed = await drive(ctx, b, 'identity.push', {
    destination: a.serverName,
    addresses: [{ address, medium: 'email' }],
  });
  if (pushed.status !== 200) {
    throw new CheckFailure(`${b.serverName}'s push to ${a.serverName}, which trusts it, failed`, {
      expected: 'push answered 200',
      actual: JSON.stringify(pushed.report),
    });
  }
  // After a rotation the second server's pepper is one the first never used.
  if (rotateSecond) await rotate(ctx, b);
  const asker = userId(ctx, a, `isasker${word()}`);
  const access = new Map<string, IdentityServerAccess>([
    [a.serverName, { baseUrl: a.origin, token: await issueToken(ctx, a, asker) }],
    [b.serverName, { baseUrl: b.origin, token: await issueToken(ctx, b, asker) }],
  ]);
  const first = access.get(a.serverName);
  const second = access.get(b.serverName);
  if (first === undefined || second === undefined) throw new Error('no access');
  const sent: Sent[] = [];
  const result = await identityClient(ctx).lookup({
    transport: recording(ctx.instance.transport, sent),
    referrals: access,
    now: ctx.instance.clock.now(),
    first,
    address,
    medium: 'email',
  });
  if (!result.ok) {
    throw new CheckFailure(`the client's federated lookup of ${address} failed`, {
      expected: `the binding ${user}, found through ${b.serverName}`,
      actual: result.error,
    });
  }
  return {
    address,
    user,
    found: result.userId,
    sent,
    origins: { first: a.origin, second: b.origin },
    secondServer: b.serverName,
    secondToken: second.token,
  };
}

export const noCleartextAddress = defineCheck({
  name: 'with sha256 the client never sends the address in clear, on the first hop or the referral',
  rules: ['IS-LOOKUP-10'],
  profiles: ['matrix-current'],
  async run(ctx) {
    let run = 0;
    await checkProperty(
      ctx,
      [localPart],
      async (local) => {
        const { address, sent, origins } = await federatedLookup(
          ctx,
          `IS-LOOKUP-10 ${run++}`,
          local,
          false,
        );
        // The first hop must have happened, or there is nothing to judge. A client that
        // does not follow the referral is judged on the hop it made (following it is
        // IS-FED-04's rule, not this one's).
        const hosts = new Set(sent.map((s) => new URL(s.url).origin));
        expectThat(
          hosts.has(new URL(origins.first).origin),
          `the client's lookup of ${address} never reached its identity service`,
          `requests to ${origins.first}`,
          [...hosts],
        );
        if (!hosts.has(new URL(origins.second).origin))
          ctx.note('the client did not follow the referral: only its first hop was judged');
        const forms = [address, encodeURIComponent(address)].map((f) => f.toLowerCase());
        const leaks = sent.filter((s) => {
          const text = `${s.url}\n${s.headers.join('\n')}\n${s.body}`.toLowerCase();
          return forms.some((f) => text.includes(f));
        });
        expectThat(
          leaks.length === 0,
          `the client sent ${address} in clear to an identity service`,
          'only peppered sha256 hashes on the wire',
          leaks.map((s) => `${s.method} ${s.url} ${s.body}`),
        );
        const algorithms = lookups(sent).map((l) => `${l.origin}: ${l.algorithm ?? '?'}`);
        expectThat(
          lookups(sent).every((l) => l.algorithm === 'sha256'),
          'the client looked up with another algorithm than sha256 although sha256 was offered',
          'sha256 on every hop',
          algorithms,
        );
      },
      { numRuns: 4 },
    );
  },
});

export const referralRehashed = defineCheck({
  name: 'on third_party_mappings the client re-hashes with the other server’s pepper and finds the binding there',
  rules: ['IS-FED-04'],
  profiles: ['matrix-current'],
  async run(ctx) {
    let run = 0;
    await checkProperty(
      ctx,
      [localPart, fc.boolean()],
      async (local, rotateSecond) => {
        const fed = await federatedLookup(ctx, `IS-FED-04 ${run++}`, local, rotateSecond);
        const { b } = pair(ctx);
        const pepper = (await hashDetails(ctx, b, fed.secondToken)).lookup_pepper;
        const expected = sha256Hash(fed.address, 'email', pepper);
        const posted = fed.sent
          .filter(
            (s) =>
              s.method === 'POST' &&
              new URL(s.url).origin === new URL(fed.origins.second).origin &&
              new URL(s.url).pathname.endsWith('/lookup'),
          )
          .map((s) => s.body);
        expectThat(
          posted.some((body) => {
            try {
              const parsed = JSON.parse(body) as { pepper?: unknown; addresses?: unknown };
              return (
                parsed.pepper === pepper &&
                Array.isArray(parsed.addresses) &&
                parsed.addresses.includes(expected)
              );
            } catch {
              return false;
            }
          }),
          `the client's lookup at ${fed.secondServer} was not made with that server's pepper`,
          { algorithm: 'sha256', pepper, addresses: [expected] },
          posted,
        );
        expectThat(
          fed.found === fed.user,
          `the client did not find the binding of ${fed.address} through ${fed.secondServer}`,
          fed.user,
          { userId: fed.found ?? null, lookups: lookups(fed.sent) },
        );
      },
      { numRuns: 4 },
    );
  },
});

/** The client's POST /lookup requests: where, and with which algorithm and hashes. */
function lookups(sent: readonly Sent[]) {
  return sent
    .filter((s) => s.method === 'POST' && new URL(s.url).pathname.endsWith('/lookup'))
    .map((s) => {
      let body: { algorithm?: unknown; addresses?: unknown } = {};
      try {
        body = JSON.parse(s.body) as typeof body;
      } catch {
        // judged as no algorithm and no addresses
      }
      return {
        origin: new URL(s.url).origin,
        algorithm: typeof body.algorithm === 'string' ? body.algorithm : undefined,
        addresses: Array.isArray(body.addresses) ? body.addresses.map(String) : [],
      };
    });
}

export const clientHashesPerSpec = defineCheck({
  name: 'the client sends the sha256 hash of the spec (URL-safe unpadded base64) and finds the binding',
  rules: ['IS-LOOKUP-02'],
  roles: ['CLIENT'],
  profiles: ['matrix-current'],
  async run(ctx) {
    const { a } = pair(ctx);
    const { word } = names(ctx, 'IS-LOOKUP-02 client');
    const token = await issueToken(ctx, a, userId(ctx, a, `ishasher${word()}`));
    const pepper = (await hashDetails(ctx, a, token)).lookup_pepper;
    // Addresses whose hash holds '-' or '_', which standard base64 spells '+' and '/'.
    let tried = 0;
    while (tried < 3) {
      const address = `${ctx.instance.namespace}${word()}@example.org`.toLowerCase();
      const hash = sha256Hash(address, 'email', pepper);
      if (!/[-_]/.test(hash)) continue;
      tried++;
      const user = userId(ctx, a, `hashed${word()}`);
      await bind(ctx, a, address, user);
      const sent: Sent[] = [];
      const result = await identityClient(ctx).lookup({
        transport: recording(ctx.instance.transport, sent),
        referrals: new Map(),
        now: ctx.instance.clock.now(),
        first: { baseUrl: a.origin, token },
        address,
        medium: 'email',
      });
      const hashes = lookups(sent).flatMap((l) => l.addresses);
      expectThat(
        hashes.includes(hash),
        `the client's lookup of ${address} did not send its sha256 hash as the spec spells it`,
        `${hash} (URL-safe unpadded base64 of SHA-256 over "${address} email ${pepper}")`,
        hashes,
      );
      expectThat(
        result.ok && result.userId === user,
        `the client did not find the binding of ${address}`,
        user,
        result.ok ? (result.userId ?? 'nobody') : result.error,
      );
    }
    ctx.iterations(tried);
  },
});

export const CLIENT_LOOKUP_CHECKS = [noCleartextAddress, referralRehashed, clientHashesPerSpec];
