// The reference identity client against the target (CLIENT rules IS-LOOKUP-10, IS-FED-04):
// fedconn drives its own client through a federated lookup (server 0 refers to server 1,
// which pushed the hash to it) and records every request the client puts on the wire.
// The client's mutants (simulator/clients/identity-client-mutants.ts) prove the checks
// can fail.
import fc from 'fast-check';
import {
  lookup as clientLookup,
  type IdentityServerAccess,
  type LookupOutcome,
} from '../../simulator/clients/identity-client.ts';
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
  readonly outcome: LookupOutcome;
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
  const result = await clientLookup(
    {
      transport: recording(ctx.instance.transport, sent),
      resolve: (name) => access.get(name),
      mutants: ctx.instance.mutants,
    },
    first,
    address,
    'email',
  );
  if (!result.ok) {
    throw new CheckFailure(`the reference client's federated lookup of ${address} failed`, {
      expected: `the binding ${user}, found through ${b.serverName}`,
      actual: `${result.error.kind}: ${result.error.detail}`,
    });
  }
  return {
    address,
    user,
    outcome: result.value,
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
  needs: ['reference-client'],
  async run(ctx) {
    let run = 0;
    await checkProperty(
      ctx,
      [localPart],
      async (local) => {
        const { address, outcome, sent, origins } = await federatedLookup(
          ctx,
          `IS-LOOKUP-10 ${run++}`,
          local,
          false,
        );
        // The lookup must have reached both servers, or there is nothing to judge.
        const hosts = new Set(sent.map((s) => new URL(s.url).origin));
        expectThat(
          hosts.has(new URL(origins.first).origin) && hosts.has(new URL(origins.second).origin),
          `the reference client's lookup of ${address} did not follow the referral`,
          'requests to both identity services',
          [...hosts],
        );
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
        expectThat(
          outcome.path.every((step) => step.algorithm === 'sha256'),
          'the client looked up with another algorithm than sha256 although sha256 was offered',
          'sha256 on every hop',
          outcome.path.map((step) => `${step.baseUrl}: ${step.algorithm}`),
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
  needs: ['reference-client'],
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
          fed.outcome.userId === fed.user,
          `the client did not find the binding of ${fed.address} through ${fed.secondServer}`,
          fed.user,
          { userId: fed.outcome.userId ?? null, path: fed.outcome.path },
        );
      },
      { numRuns: 4 },
    );
  },
});

export const CLIENT_LOOKUP_CHECKS = [noCleartextAddress, referralRehashed];
