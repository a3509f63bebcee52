// The pushing side of MSC4004: this server declares the hashes of its own bindings to
// another identity service. The hashes must use the destination's pepper, so the
// destination's hash_details is fetched first, with an X-Matrix-signed request (this
// server has no user token there; the destination serves hash_details to the servers
// it trusts, which are exactly the servers whose pushes it accepts). A caller may name
// the pepper instead, which is how tests push stale or foreign peppers.
import { z } from 'zod';
import type { HomeserverContext } from '../../homeserver/context.ts';
import { federationRequest } from '../../federation/client.ts';
import { lookupHash } from '../../protocol/identity/hash.ts';
import type { IdentityState } from './state.ts';
import { IS_PREFIX, type PushDriveRequest } from './wire.ts';

export interface RemoteAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** What happened, step by step; a step that was not reached is absent. */
export interface PushReport {
  readonly destination: string;
  readonly hash_details?: RemoteAnswer;
  readonly sent?: unknown;
  readonly answer?: RemoteAnswer;
  /** Why the push stopped before an answer: unreachable, refused hash_details, no sha256. */
  readonly error?: string;
}

const remoteHashDetails = z.object({ lookup_pepper: z.string(), algorithms: z.array(z.string()) });

async function readAnswer(response: Response): Promise<RemoteAnswer> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    // Not JSON: keep the text so the report shows what came back.
  }
  return { status: response.status, body };
}

async function send(
  ctx: HomeserverContext,
  destination: string,
  method: string,
  uri: string,
  content?: unknown,
): Promise<RemoteAnswer | string> {
  try {
    return await readAnswer(await federationRequest(ctx, destination, method, uri, content));
  } catch (error) {
    return `${method} ${uri} at ${destination} failed: ${String(error)}`;
  }
}

/**
 * Pushes the hashes of `request.addresses` (default: every binding of this server) to
 * `request.destination`. Refuses (unbound) when a listed address is not bound here: a
 * server declares only 3PIDs it holds.
 */
export async function pushHashes(
  ctx: HomeserverContext,
  state: IdentityState,
  request: PushDriveRequest,
): Promise<{ ok: true; report: PushReport } | { ok: false; unbound: string }> {
  const { destination } = request;
  const report = (r: Omit<PushReport, 'destination'>) => ({
    ok: true as const,
    report: { destination, ...r },
  });
  const sendPush = async (sent: unknown, fetched: { hash_details: RemoteAnswer } | object) => {
    const answer = await send(ctx, destination, 'POST', `${IS_PREFIX}/lookups`, sent);
    return report(
      typeof answer === 'string'
        ? { ...fetched, sent, error: answer }
        : { ...fetched, sent, answer },
    );
  };
  // Tests of how the destination judges a push's body: exactly what they wrote, signed.
  if (request.content !== undefined) return sendPush(request.content, {});

  const addresses = request.addresses ?? state.bindingList();
  const unbound = addresses.find((a) => state.binding(a.medium, a.address) === undefined);
  if (unbound !== undefined) return { ok: false, unbound: `${unbound.address} ${unbound.medium}` };

  let pepper = request.pepper;
  let fetched: { hash_details: RemoteAnswer } | Record<string, never> = {};
  if (pepper === undefined) {
    const answer = await send(ctx, destination, 'GET', `${IS_PREFIX}/hash_details`);
    if (typeof answer === 'string') return report({ error: answer });
    fetched = { hash_details: answer };
    const parsed = remoteHashDetails.safeParse(answer.body);
    if (answer.status !== 200 || !parsed.success) {
      return report({ ...fetched, error: 'hash_details refused or malformed' });
    }
    if (!parsed.data.algorithms.includes('sha256')) {
      return report({ ...fetched, error: 'the destination does not offer sha256' });
    }
    pepper = parsed.data.lookup_pepper;
  }

  const hashes: string[] = [];
  for (const { address, medium } of addresses) {
    const hashed = lookupHash({ algorithm: 'sha256', address, medium, pepper });
    // Bindings are valid 3PIDs, so only a bad pepper from the destination can fail here.
    if (!hashed.ok) return report({ ...fetched, error: hashed.error.detail });
    hashes.push(hashed.value);
  }
  return sendPush(
    { algorithm: 'sha256', pepper, mappings: { [ctx.config.serverName]: hashes } },
    fetched,
  );
}
