// The Delivery Service: stores each group's public state encrypted at rest under
// the group's EAR key (which clients send with every request and which is the
// only authentication for connection groups), orders commits by epoch, and fans
// commits, Welcomes and messages out to the members' queues, locally or through
// federated QS enqueue. See docs/binding.md, "Delivery Service".
import type { Context } from 'hono';
import { z } from 'zod';
import { fork } from '../../protocol/crypto/rng.ts';
import {
  decodeBase64,
  encodeUnpaddedBase64,
  base64Text as base64,
} from '../../protocol/encoding/base64.ts';
import { gcmOpen, gcmSeal } from '../../protocol/crypto/aes-gcm.ts';
import { EAR_KEY_BYTES } from '../../protocol/packages/establishment-package.ts';
import {
  checkConnectionJoin,
  inspectCommit,
  type CommitInspection,
} from '../../protocol/mls/inspect.ts';
import { decodeGroupInfo, decodeMessage } from '../../protocol/mls/wire.ts';
import { isMutant, type HomeserverContext } from '../../homeserver/context.ts';
import {
  DS_JOIN_MUTANTS,
  GROUP_MUTANTS,
  IDENTIFYING_MUTANTS,
  PHOENIX_MUTANTS,
} from '../phoenix-mutants.ts';
import { demandClientSignature } from '../../homeserver/client-auth.ts';
import { fail, readJson, router } from '../../homeserver/http.ts';
import { keyLock, latent } from '../../net/latent-store.ts';
import { Table } from '../../net/store.ts';
import { federationRequest } from '../../federation/client.ts';
import { queueStore, type QueueMessage, type QueueRef } from '../qs/queues.ts';

export const DS_PREFIX = '/_fedconn/v1/ds';

/** What the DS knows of a group, kept only as ciphertext under the EAR key. */
interface GroupState {
  readonly epoch: number;
  readonly group_info: string;
  readonly ratchet_tree: string;
  /** CredentialInfos sealed under the credential EAR key: opaque to the DS. */
  readonly credential_infos: readonly string[];
  /** Members' queues, with the index of the user each belongs to (identities unknown). */
  readonly members: readonly { readonly queue: QueueRef; readonly user: number }[];
}

const queueRef = z.strictObject({ server: z.string().min(1), queue_id: z.string().min(1) });

// Request bodies, built once: zod compiles a schema on its first parse, so a schema
// made per request costs a compile (about 0.1 ms) every time.
const createGroupBody = z.strictObject({
  group_id: z
    .string()
    .regex(/^[A-Za-z0-9_-]{16,64}$/, 'group_id is 16-64 URL-safe base64 characters'),
  ear_key: base64,
  group_info: base64,
  ratchet_tree: base64,
  credential_infos: z.array(base64).max(64),
  queue: queueRef,
});
const commitInfoBody = z.strictObject({ ear_key: base64 });
const joinBody = z.strictObject({
  ear_key: base64,
  commit: base64,
  group_info: base64,
  ratchet_tree: base64,
  credential_info: base64,
  queue: queueRef,
});
const commitBody = z.strictObject({
  ear_key: base64,
  commit: base64,
  group_info: base64,
  ratchet_tree: base64,
  sender_queue: queueRef,
  welcome: base64,
  added: z
    .array(
      z.strictObject({
        queue: queueRef,
        credential_info: base64,
        encrypted_joiner_info: base64,
      }),
    )
    .min(1)
    .max(16),
});
const messageBody = z.strictObject({ ear_key: base64, message: base64, sender_queue: queueRef });

const NONCE_BYTES = 12;

/** Last activity at month granularity only (DS-ACT-01). */
const month = (ms: number) => new Date(ms).toISOString().slice(0, 7);

export function deliveryService(ctx: HomeserverContext) {
  const app = router();
  const activity = () =>
    isMutant(ctx, 'CONN-PRIV-02/last-activity-to-the-millisecond')
      ? new Date(ctx.clock.now()).toISOString()
      : month(ctx.clock.now());
  const groups = new Table<{ readonly sealed: string; readonly last_activity: string }>(
    'ds_groups',
    ctx.recorder,
  );
  // Reads and writes of group state go through the store's latency, as at a server
  // backed by an asynchronous database; each group's check and write stay together
  // under its lock (phnx-ds: lock, then check the epoch), so of concurrent commits for
  // one epoch only the first is accepted (CONN-JOIN-04).
  const stored = latent(groups, ctx.storeLatency);
  const locks = keyLock();
  const checkThenWrite = isMutant(ctx, DS_JOIN_MUTANTS.checkThenWrite);
  const locked = <T>(groupId: string, work: () => Promise<T>): Promise<T> =>
    checkThenWrite ? work() : locks.run(groupId, work);
  const nonces = fork(ctx.rng, 'ds nonces');
  // Only the CONN-JOIN-02 mutant remembers EAR keys; the reference never keeps them.
  const rememberedKeys = new Map<string, Uint8Array>();
  const ignoreEarKey = isMutant(ctx, PHOENIX_MUTANTS.ignoreEarKey);
  const acceptEveryJoin = isMutant(ctx, DS_JOIN_MUTANTS.acceptEveryJoin);
  const skipSingleUserCheck = acceptEveryJoin || isMutant(ctx, DS_JOIN_MUTANTS.skipSingleUserCheck);
  const acceptStaleEpoch = isMutant(ctx, DS_JOIN_MUTANTS.acceptStaleEpoch);
  const acceptAnyExternalCommit = isMutant(ctx, DS_JOIN_MUTANTS.acceptAnyExternalCommit);
  const dropJoinFanOut = isMutant(ctx, DS_JOIN_MUTANTS.dropJoinFanOut);
  const acceptCommitFromNonMember = isMutant(ctx, DS_JOIN_MUTANTS.acceptCommitFromNonMember);
  const ignoreSenderQueue = isMutant(ctx, DS_JOIN_MUTANTS.ignoreSenderQueue);
  const ignoreAddedCount = isMutant(ctx, DS_JOIN_MUTANTS.ignoreAddedCount);
  // Only the CONN-TRUST-01 mutant keeps messages; the reference forwards and forgets them.
  const backlog = isMutant(ctx, DS_JOIN_MUTANTS.deliverBacklogToJoiner)
    ? new Map<string, QueueMessage[]>()
    : undefined;

  const seal = (key: Uint8Array, state: GroupState): string => {
    const nonce = nonces.bytes(NONCE_BYTES);
    const ct = gcmSeal(key, nonce, new TextEncoder().encode(JSON.stringify(state)));
    const out = new Uint8Array(NONCE_BYTES + ct.length);
    out.set(nonce);
    out.set(ct, NONCE_BYTES);
    return encodeUnpaddedBase64(out);
  };

  /** Opens a group with the EAR key the client sent; a wrong key reads as "forbidden". */
  const open = async (
    groupId: string,
    earKeyText: string,
  ): Promise<{ state: GroupState; key: Uint8Array } | Response> => {
    const row = await stored.read(groupId);
    if (row === undefined) return fail('M_NOT_FOUND', 'no such group');
    const sent = decodeBase64(earKeyText);
    if (!sent.ok || sent.value.length !== EAR_KEY_BYTES)
      return fail('M_INVALID_PARAM', 'ear_key must be 32 bytes');
    const key = ignoreEarKey
      ? { ok: true, value: rememberedKeys.get(groupId) ?? sent.value }
      : sent;
    const sealed = decodeBase64(row.sealed);
    if (!sealed.ok) return fail('M_UNKNOWN', 'stored group state is corrupt');
    const plain = gcmOpen(
      key.value,
      sealed.value.subarray(0, NONCE_BYTES),
      sealed.value.subarray(NONCE_BYTES),
    );
    if (plain === undefined) return fail('M_FORBIDDEN', 'the EAR key does not open this group');
    try {
      return { state: JSON.parse(new TextDecoder().decode(plain)) as GroupState, key: key.value };
    } catch {
      return fail('M_FORBIDDEN', 'the EAR key does not open this group');
    }
  };

  const store = async (groupId: string, key: Uint8Array, state: GroupState) => {
    if (ignoreEarKey) rememberedKeys.set(groupId, key);
    await stored.write(groupId, { sealed: seal(key, state), last_activity: activity(), ...(isMutant(ctx, 'CONN-PRIV-02/store-group-state-in-clear') ? { state } : {}) }); // prettier-ignore
  };

  const deliver = async (queue: QueueRef, message: QueueMessage): Promise<boolean> => {
    if (queue.server === ctx.config.serverName)
      return queueStore(ctx).enqueue(queue.queue_id, message);
    try {
      const response = await federationRequest(
        ctx,
        queue.server,
        'PUT',
        '/_fedconn/v1/qs/federation/enqueue',
        {
          queue_id: queue.queue_id,
          message,
        },
      );
      await response.body?.cancel();
      return response.ok;
    } catch {
      return false;
    }
  };

  /** Fans out to every member but the sender; returns how many deliveries failed. */
  const fanOut = async (state: GroupState, except: QueueRef | undefined, message: QueueMessage) => {
    const targets = state.members.filter(
      (m) =>
        except === undefined ||
        m.queue.server !== except.server ||
        m.queue.queue_id !== except.queue_id,
    );
    const results = await Promise.all(targets.map((m) => deliver(m.queue, message)));
    return results.filter((ok) => !ok).length;
  };

  const readCommit = (text: string): CommitInspection | Response => {
    const bytes = decodeBase64(text);
    const message = bytes.ok ? decodeMessage(bytes.value) : bytes;
    if (!message.ok) return fail('M_BAD_JSON', 'commit is not an MLSMessage');
    const inspected = inspectCommit(message.value);
    if (!inspected.ok)
      return fail('M_INVALID_PARAM', `not a public commit: ${inspected.error.detail}`);
    return inspected.value;
  };

  const groupParam = (c: Context) => c.req.param('groupId') ?? '';

  /** Opens the group named in the path with the EAR key and reads the commit sent for it. */
  const openWithCommit = async (c: Context, earKey: string, commitText: string) => {
    const groupId = groupParam(c);
    const opened = await open(groupId, earKey);
    if (opened instanceof Response) return opened;
    const inspection = readCommit(commitText);
    if (inspection instanceof Response) return inspection;
    return { groupId, ...opened, inspection };
  };

  /** Commits for any epoch but the group's current one lose the race (CONN-JOIN-04). */
  const staleEpoch = (inspection: CommitInspection, state: GroupState) =>
    acceptStaleEpoch || Number(inspection.epoch) === state.epoch
      ? undefined
      : fail(
          'M_CONFLICT',
          `commit is for epoch ${inspection.epoch}, the group is at ${state.epoch}`,
        );

  app.post(`${DS_PREFIX}/groups`, async (c) => {
    if (isMutant(ctx, IDENTIFYING_MUTANTS.groupNamesMembers)) {
      const identify = demandClientSignature(c, 'a group creation');
      if (identify !== undefined) return identify;
    }
    const body = await readJson(c, createGroupBody);
    if (!body.ok) return body.error;
    const { group_id, ear_key } = body.value;
    return locked(group_id, async () => {
      // A create names a new group: one that exists stays its creator's (CONN-CEP-06).
      if (
        (await stored.read(group_id)) !== undefined &&
        !isMutant(ctx, GROUP_MUTANTS.overwriteExistingGroup)
      )
        return fail('M_CONFLICT', 'group_id is taken');
      const key = decodeBase64(ear_key);
      if (!key.ok || key.value.length !== EAR_KEY_BYTES)
        return fail('M_INVALID_PARAM', 'ear_key must be 32 bytes');
      const info = decodeBase64(body.value.group_info);
      const groupInfo = info.ok ? decodeGroupInfo(info.value) : info;
      if (!groupInfo.ok) return fail('M_BAD_JSON', 'group_info is not a GroupInfo');
      await store(group_id, key.value, {
        epoch: Number(groupInfo.value.groupContext.epoch),
        group_info: body.value.group_info,
        ratchet_tree: body.value.ratchet_tree,
        credential_infos: body.value.credential_infos,
        members: [{ queue: body.value.queue, user: 0 }],
      });
      return c.json({}, 201);
    });
  });

  app.post(`${DS_PREFIX}/groups/:groupId/external_commit_info`, async (c) => {
    const body = await readJson(c, commitInfoBody);
    if (!body.ok) return body.error;
    const opened = await open(groupParam(c), body.value.ear_key);
    if (opened instanceof Response) return opened;
    const { group_info, ratchet_tree, credential_infos } = opened.state;
    return c.json({ group_info, ratchet_tree, credential_infos });
  });

  app.post(`${DS_PREFIX}/groups/:groupId/join_connection_group`, async (c) => {
    if (isMutant(ctx, IDENTIFYING_MUTANTS.groupNamesMembers)) {
      const identify = demandClientSignature(c, 'a join');
      if (identify !== undefined) return identify;
    }
    const body = await readJson(c, joinBody);
    if (!body.ok) return body.error;
    return locked(groupParam(c), async () => {
      const opened = await openWithCommit(c, body.value.ear_key, body.value.commit);
      if (opened instanceof Response) return opened;
      const { groupId, state, key, inspection } = opened;
      // An external commit that adds the joiner and nothing else (CONN-JOIN-05).
      const join = checkConnectionJoin(inspection);
      const externalOnly = acceptAnyExternalCommit && inspection.isExternal;
      if (!join.ok && !externalOnly)
        return fail('M_FORBIDDEN', `not a connection group join: ${join.error.detail}`);
      const stale = acceptEveryJoin ? undefined : staleEpoch(inspection, state);
      if (stale !== undefined) return stale;
      // Only a single-user group is a connection group (CONN-JOIN-03).
      if (!skipSingleUserCheck && new Set(state.members.map((m) => m.user)).size !== 1) {
        return fail('M_FORBIDDEN', 'the group already holds two users: not a connection group');
      }
      const joined: GroupState = {
        epoch: state.epoch + 1,
        group_info: body.value.group_info,
        ratchet_tree: body.value.ratchet_tree,
        credential_infos: [...state.credential_infos, body.value.credential_info],
        members: [...state.members, { queue: body.value.queue, user: 1 }],
      };
      await store(groupId, key, joined);
      // The join reaches the existing members through their queues (CONN-JOIN-06).
      if (dropJoinFanOut) return c.json({ epoch: joined.epoch, undelivered: 0 });
      const undelivered = await fanOut(state, undefined, {
        kind: 'commit',
        group_id: groupId,
        commit: body.value.commit,
        credential_infos: joined.credential_infos,
      });
      for (const message of backlog?.get(groupId) ?? []) await deliver(body.value.queue, message);
      return c.json({ epoch: joined.epoch, undelivered });
    });
  });

  app.post(`${DS_PREFIX}/groups/:groupId/commit`, async (c) => {
    const body = await readJson(c, commitBody);
    if (!body.ok) return body.error;
    return locked(groupParam(c), async () => {
      const opened = await openWithCommit(c, body.value.ear_key, body.value.commit);
      if (opened instanceof Response) return opened;
      const { groupId, state, key, inspection } = opened;
      if (inspection.sender.type !== 'member' && !acceptCommitFromNonMember)
        return fail('M_FORBIDDEN', 'only members may commit here');
      const adds = inspection.proposals.filter((p) => p.type === 'add').length;
      const listed = ignoreAddedCount ? adds : body.value.added.length;
      if (adds !== listed || adds !== inspection.proposals.length) {
        return fail('M_INVALID_PARAM', 'the commit must add exactly the clients listed in `added`');
      }
      const stale = staleEpoch(inspection, state);
      if (stale !== undefined) return stale;
      const named = state.members.find(
        (m) =>
          m.queue.server === body.value.sender_queue.server &&
          m.queue.queue_id === body.value.sender_queue.queue_id,
      );
      // The mutant takes a stranger's queue as the first member's.
      const sender = named ?? (ignoreSenderQueue ? state.members[0] : undefined);
      if (sender === undefined)
        return fail('M_FORBIDDEN', 'sender_queue is not a member of this group');
      // Clients are only ever added for their own user (their siblings), so they share its index.
      const next: GroupState = {
        epoch: state.epoch + 1,
        group_info: body.value.group_info,
        ratchet_tree: body.value.ratchet_tree,
        credential_infos: [
          ...state.credential_infos,
          ...body.value.added.map((a) => a.credential_info),
        ],
        members: [
          ...state.members,
          ...body.value.added.map((a) => ({ queue: a.queue, user: sender.user })),
        ],
      };
      await store(groupId, key, next);
      const undeliveredCommit = await fanOut(state, sender.queue, {
        kind: 'commit',
        group_id: groupId,
        commit: body.value.commit,
        credential_infos: next.credential_infos,
      });
      const dropWelcomes = isMutant(ctx, DS_JOIN_MUTANTS.dropWelcomeBundles);
      const welcomes = await Promise.all(
        body.value.added.map((a) =>
          dropWelcomes
            ? Promise.resolve(true)
            : deliver(a.queue, {
                kind: 'welcome_bundle',
                group_id: groupId,
                welcome: body.value.welcome,
                ratchet_tree: body.value.ratchet_tree,
                credential_infos: next.credential_infos,
                encrypted_joiner_info: a.encrypted_joiner_info,
              }),
        ),
      );
      return c.json({
        epoch: next.epoch,
        undelivered: undeliveredCommit + welcomes.filter((ok) => !ok).length,
      });
    });
  });

  app.post(`${DS_PREFIX}/groups/:groupId/messages`, async (c) => {
    const body = await readJson(c, messageBody);
    if (!body.ok) return body.error;
    const groupId = groupParam(c);
    const opened = await open(groupId, body.value.ear_key);
    if (opened instanceof Response) return opened;
    const message: QueueMessage = {
      kind: 'application',
      group_id: groupId,
      message: body.value.message,
    };
    if (backlog !== undefined && new Set(opened.state.members.map((m) => m.user)).size === 1)
      backlog.set(groupId, [...(backlog.get(groupId) ?? []), message]);
    const undelivered = await fanOut(opened.state, body.value.sender_queue, message);
    groups.put(groupId, {
      sealed: groups.get(groupId)?.sealed ?? '',
      last_activity: activity(),
    });
    return c.json({ undelivered });
  });

  return app;
}
