// The Queuing Service: per-client queues (fetch with the queue's own key),
// KeyPackages claimed with a friendship token, and federated enqueue from other
// homeservers' DSs (X-Matrix signed). See docs/binding.md, "Queuing Service".
import type { Context } from 'hono';
import { z } from 'zod';
import { decodeBase64, base64Text as base64 } from '../../protocol/encoding/base64.ts';
import { authenticateClient, demandClientSignature } from '../../homeserver/client-auth.ts';
import { isMutant, type HomeserverContext } from '../../homeserver/context.ts';
import { DISCOVERY_MUTANTS, IDENTIFYING_MUTANTS } from '../phoenix-mutants.ts';
import { fail, readJson, router } from '../../homeserver/http.ts';
import { authenticateServer } from '../../federation/inbound.ts';
import { queueStore, type QueueMessage } from './queues.ts';

export const QS_PREFIX = '/_fedconn/v1/qs';
const MAX_DEQUEUE = 100;

const queueMessageSchema: z.ZodType<QueueMessage> = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('welcome_bundle'),
    group_id: z.string(),
    welcome: base64,
    ratchet_tree: base64,
    credential_infos: z.array(base64),
    encrypted_joiner_info: base64,
  }),
  z.strictObject({
    kind: z.literal('commit'),
    group_id: z.string(),
    commit: base64,
    credential_infos: z.array(base64),
  }),
  z.strictObject({ kind: z.literal('application'), group_id: z.string(), message: base64 }),
]);

// Request bodies, built once: zod compiles a schema on its first parse, so a schema
// made per request costs a compile (about 0.1 ms) every time.
const createQueueBody = z.strictObject({ auth_key: base64 });
const publishKeyPackagesBody = z.strictObject({
  friendship_token: z.string().min(16),
  key_packages: z
    .array(z.strictObject({ key_package: base64, encrypted_info: base64 }))
    .min(1)
    .max(100),
});
const claimBody = z.strictObject({ queue_id: z.string(), friendship_token: z.string() });
const enqueueBody = z.strictObject({ queue_id: z.string(), message: queueMessageSchema });

export function queuingService(ctx: HomeserverContext) {
  const app = router();
  const store = queueStore(ctx);

  const resolveKey = (keyRef: string) => {
    if (!keyRef.startsWith('queue:')) return undefined;
    const row = store.queues.get(keyRef.slice('queue:'.length));
    const key = row === undefined ? undefined : decodeBase64(row.auth_key);
    return key?.ok === true ? key.value : undefined;
  };

  const authenticateQueue = async (c: Context, queueId: string, content: unknown) => {
    const auth = await authenticateClient(ctx, c, content, resolveKey);
    if (!auth.ok) return auth;
    if (auth.keyRef !== `queue:${queueId}`) {
      return {
        ok: false as const,
        response: fail('M_FORBIDDEN', 'only the queue owner may do this'),
      };
    }
    return auth;
  };

  app.post(`${QS_PREFIX}/queues`, async (c) => {
    if (isMutant(ctx, IDENTIFYING_MUTANTS.queueNamesClient)) {
      const identify = demandClientSignature(c, 'a queue');
      if (identify !== undefined) return identify;
    }
    const body = await readJson(c, createQueueBody);
    if (!body.ok) return body.error;
    const key = decodeBase64(body.value.auth_key);
    if (!key.ok || key.value.length !== 32)
      return fail('M_INVALID_PARAM', 'auth_key must be a 32-byte Ed25519 key');
    return c.json({ queue_id: store.createQueue(body.value.auth_key) });
  });

  app.get(`${QS_PREFIX}/queues/:queueId/messages`, async (c) => {
    const queueId = c.req.param('queueId');
    const queue = store.queues.get(queueId);
    if (queue === undefined) return fail('M_NOT_FOUND', 'no such queue');
    const auth = await authenticateQueue(c, queueId, undefined);
    if (!auth.ok) return auth.response;
    const since = Number(c.req.query('since') ?? '0');
    if (!Number.isSafeInteger(since) || since < 0)
      return fail('M_INVALID_PARAM', 'since must be a non-negative integer');
    // Messages below `since` are acknowledged: delete them (FR-Q-01 keeps the rest for offline clients).
    const kept = queue.messages.filter((m) => m.seq >= since);
    if (kept.length !== queue.messages.length)
      store.queues.put(queueId, { ...queue, messages: kept });
    return c.json({ messages: kept.slice(0, MAX_DEQUEUE), next: queue.next });
  });

  app.post(`${QS_PREFIX}/queues/:queueId/key_packages`, async (c) => {
    const queueId = c.req.param('queueId');
    if (!store.queues.has(queueId)) return fail('M_NOT_FOUND', 'no such queue');
    const body = await readJson(c, publishKeyPackagesBody);
    if (!body.ok) return body.error;
    const auth = await authenticateQueue(c, queueId, body.value);
    if (!auth.ok) return auth.response;
    // Publishing replaces every KeyPackage of this queue.
    for (const [id] of store.keyPackages.where('queue', queueId)) store.keyPackages.delete(id);
    body.value.key_packages.forEach((kp, i) => {
      store.keyPackages.put(`${queueId}/${i}`, {
        queue_id: queueId,
        friendship_token: body.value.friendship_token,
        ...kp,
      });
    });
    return c.json({ stored: body.value.key_packages.length });
  });

  app.post(`${QS_PREFIX}/key_packages/claim`, async (c) => {
    const body = await readJson(c, claimBody);
    if (!body.ok) return body.error;
    const rows = store.keyPackages.where('queue', body.value.queue_id);
    const first = rows[0];
    if (first === undefined) return fail('M_NOT_FOUND', 'no KeyPackages for this queue');
    if (first[1].friendship_token !== body.value.friendship_token)
      return fail('M_FORBIDDEN', 'friendship token does not match');
    // One use each, except the last, which stays (last resort).
    if (rows.length > 1) store.keyPackages.delete(first[0]);
    return c.json({ key_package: first[1].key_package, encrypted_info: first[1].encrypted_info });
  });

  app.put(`${QS_PREFIX}/federation/enqueue`, async (c) => {
    const body = await readJson(c, enqueueBody);
    if (!body.ok) return body.error;
    const auth = await authenticateServer(ctx, c, body.value);
    if (!auth.ok) return auth.response;
    if (isMutant(ctx, DISCOVERY_MUTANTS.refuseFederatedEnqueue))
      return fail('M_FORBIDDEN', 'this QS takes no deliveries from other homeservers');
    if (!store.enqueue(body.value.queue_id, body.value.message))
      return fail('M_NOT_FOUND', 'no such queue');
    return c.json({});
  });

  return app;
}
