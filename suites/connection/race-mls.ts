// fedconn playing every client of a connection group itself: it creates the group
// on a DS, builds external joins and member commits with its own MLS members, and
// sends them over the binding's DS endpoints (docs/binding.md, Part 1), so the DS
// rules of joining are checked on any target, whatever its clients do.
import type { Proposal } from 'ts-mls';
import { createContentCommitSignature } from 'ts-mls/framedContent.js';
import { generateEd25519KeyPair } from '../../simulator/protocol/crypto/ed25519.ts';
import { fork, type Rng } from '../../simulator/protocol/crypto/rng.ts';
import {
  encodeUnpaddedBase64,
  encodeUnpaddedBase64Url,
} from '../../simulator/protocol/encoding/base64.ts';
import {
  addClients,
  createConnectionGroup,
  createMember,
  exportGroupInfo,
  generateKeyPackage,
  joinByExternalCommit,
  type ConnectionGroup,
  type Member,
} from '../../simulator/protocol/mls/index.ts';
import {
  encodeGroupInfo,
  encodeMessage,
  encodeRatchetTree,
  encodeWelcome,
} from '../../simulator/protocol/mls/wire.ts';
import type { MLSMessage } from 'ts-mls';
import type { CheckContext } from '../harness/check.ts';
import type { TargetServer } from '../harness/target.ts';
import { QS, expectOk, send, type Outcome } from './support.ts';

export const DS = '/_fedconn/v1/ds';

export interface QueueRef {
  readonly server: string;
  readonly queue_id: string;
}

/** A group fedconn created on a DS, with the EAR key it chose and the creator's view. */
export interface CraftedGroup {
  readonly ds: TargetServer;
  readonly id: string;
  readonly url: string;
  readonly earKey: string;
  readonly creator: Member;
  readonly creatorQueue: QueueRef;
  /** The creator's group at epoch 0. */
  readonly group: ConnectionGroup;
  readonly rng: Rng;
}

const b64 = encodeUnpaddedBase64;

/** A real queue on `server`'s QS, so the DS's fan-out has somewhere to go. */
export async function createQueue(
  ctx: CheckContext,
  server: TargetServer,
  rng: Rng,
): Promise<QueueRef> {
  const key = await generateEd25519KeyPair(rng);
  const o = await send(ctx, `${server.origin}${QS}/queues`, {
    body: { auth_key: b64(key.publicKey) },
  });
  expectOk(o, `creating a queue on ${server.serverName}`);
  return { server: server.serverName, queue_id: (o.body as { queue_id: string }).queue_id };
}

/** An MLS member with its own randomness (createMember's identity is a random pseudonym). */
export const memberFrom = (rng: Rng, label: string): Promise<Member> =>
  createMember(fork(rng, `${label} pseudonym`).bytes(16), fork(rng, `${label} member`));

/** Creates a one-member group on `ds`, as an initiator would. */
export async function craftGroup(
  ctx: CheckContext,
  ds: TargetServer,
  rng: Rng,
): Promise<CraftedGroup> {
  // A server outlives runs: the id is fresh in each open, like the users.
  const groupIdBytes = fork(rng, `group id${ctx.instance.namespace}`).bytes(16);
  const id = encodeUnpaddedBase64Url(groupIdBytes);
  const earKey = b64(fork(rng, 'ear key').bytes(32));
  const creator = await memberFrom(rng, 'creator');
  const group = await createConnectionGroup(groupIdBytes, creator);
  const exported = await exportGroupInfo(group);
  const creatorQueue = await createQueue(ctx, ds, fork(rng, 'creator queue'));
  const o = await send(ctx, `${ds.origin}${DS}/groups`, {
    body: {
      group_id: id,
      ear_key: earKey,
      group_info: b64(encodeGroupInfo(exported.groupInfo)),
      ratchet_tree: b64(encodeRatchetTree(exported.ratchetTree)),
      credential_infos: [b64(fork(rng, 'creator credential info').bytes(96))],
      queue: creatorQueue,
    },
  });
  expectOk(o, `creating group ${id} on ${ds.serverName}`);
  return {
    ds,
    id,
    url: `${ds.origin}${DS}/groups/${id}`,
    earKey,
    creator,
    creatorQueue,
    group,
    rng,
  };
}

export interface PreparedJoin {
  readonly joiner: Member;
  readonly commit: MLSMessage;
  /** The joiner's group in the next epoch, valid once the DS accepts the commit. */
  readonly group: ConnectionGroup;
  readonly body: Record<string, unknown>;
}

/** An external join of a fresh member against `at` (some member's view of the group). */
export async function prepareJoin(
  ctx: CheckContext,
  g: CraftedGroup,
  at: ConnectionGroup,
  label: string,
  tamper?: (commit: MLSMessage, joiner: Member) => Promise<MLSMessage>,
): Promise<PreparedJoin> {
  const joiner = await memberFrom(g.rng, label);
  const exported = await exportGroupInfo(at);
  const join = await joinByExternalCommit(exported.groupInfo, exported.ratchetTree, joiner);
  if (!join.ok) throw new Error(`cannot build the external join: ${join.error.detail}`);
  const commit = tamper === undefined ? join.value.commit : await tamper(join.value.commit, joiner);
  const next = await exportGroupInfo(join.value.group);
  const queue = await createQueue(ctx, g.ds, fork(g.rng, `${label} queue`));
  return {
    joiner,
    commit,
    group: join.value.group,
    body: {
      ear_key: g.earKey,
      commit: b64(encodeMessage(commit)),
      group_info: b64(encodeGroupInfo(next.groupInfo)),
      ratchet_tree: b64(encodeRatchetTree(next.ratchetTree)),
      credential_info: b64(fork(g.rng, `${label} credential info`).bytes(96)),
      queue,
    },
  };
}

export const sendJoin = (ctx: CheckContext, g: CraftedGroup, join: PreparedJoin) =>
  send(ctx, `${g.url}/join_connection_group`, { body: join.body });

export interface PreparedCommit {
  readonly group: ConnectionGroup;
  readonly body: Record<string, unknown>;
}

/** A member commit by `sender` (at `at`) adding one fresh client of the sender's user. */
export async function prepareAdd(
  ctx: CheckContext,
  g: CraftedGroup,
  at: ConnectionGroup,
  senderQueue: QueueRef,
  label: string,
): Promise<PreparedCommit> {
  const added = await memberFrom(g.rng, label);
  const kp = await generateKeyPackage(added);
  const result = await addClients(at, [kp.publicPackage]);
  if (!result.ok) throw new Error(`cannot build the add commit: ${result.error.detail}`);
  const next = await exportGroupInfo(result.value.group);
  const queue = await createQueue(ctx, g.ds, fork(g.rng, `${label} queue`));
  return {
    group: result.value.group,
    body: {
      ear_key: g.earKey,
      commit: b64(encodeMessage(result.value.commit)),
      group_info: b64(encodeGroupInfo(next.groupInfo)),
      ratchet_tree: b64(encodeRatchetTree(next.ratchetTree)),
      sender_queue: senderQueue,
      welcome: b64(encodeWelcome(result.value.welcome)),
      added: [
        {
          queue,
          credential_info: b64(fork(g.rng, `${label} credential info`).bytes(96)),
          encrypted_joiner_info: b64(fork(g.rng, `${label} joiner info`).bytes(80)),
        },
      ],
    },
  };
}

export const sendCommit = (ctx: CheckContext, g: CraftedGroup, commit: PreparedCommit) =>
  send(ctx, `${g.url}/commit`, { body: commit.body });

/** The group's state as the DS serves it (compared before and after refused requests). */
export async function commitInfo(ctx: CheckContext, g: CraftedGroup): Promise<Outcome> {
  const o = await send(ctx, `${g.url}/external_commit_info`, { body: { ear_key: g.earKey } });
  expectOk(o, `fetching external commit info of ${g.id}`);
  return o;
}

/**
 * The external commit with its proposal list replaced and signed again by the
 * joiner, so its signature verifies; only the confirmation tag, which no DS can
 * check, is stale.
 */
export async function withProposals(
  commit: MLSMessage,
  joiner: Member,
  at: ConnectionGroup,
  proposals: (original: Proposal[]) => Proposal[],
): Promise<MLSMessage> {
  if (commit.wireformat !== 'mls_public_message') throw new Error('not a PublicMessage');
  const { content, auth } = commit.publicMessage;
  if (content.contentType !== 'commit' || auth.contentType !== 'commit')
    throw new Error('not a commit');
  const original = content.commit.proposals.flatMap((p) =>
    p.proposalOrRefType === 'proposal' ? [p.proposal] : [],
  );
  const newCommit = {
    ...content.commit,
    proposals: proposals(original).map((proposal) => ({
      proposalOrRefType: 'proposal' as const,
      proposal,
    })),
  };
  const { signature } = await createContentCommitSignature(
    at.state.groupContext,
    'mls_public_message',
    newCommit,
    content.sender,
    content.authenticatedData,
    joiner.signaturePrivateKey,
    joiner.cs.signature,
  );
  return {
    ...commit,
    publicMessage: {
      ...commit.publicMessage,
      content: { ...content, commit: newCommit },
      auth: { ...auth, signature },
    },
  };
}
