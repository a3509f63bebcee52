// The DS's side of joining a connection group (CONN-JOIN, DS role): the EAR key
// is the only authentication, so a request with any other key is refused and
// leaves the group as it was; only a single-user group can be joined, one commit
// wins each epoch, and a join adds the joiner and nobody else. fedconn plays the
// clients itself (race-mls.ts), so these run on any target.
import fc from 'fast-check';
import type { Proposal } from 'ts-mls';
import { fork, type Rng } from '../../simulator/protocol/crypto/rng.ts';
import { encodeUnpaddedBase64 } from '../../simulator/protocol/encoding/base64.ts';
import { generateKeyPackage } from '../../simulator/protocol/mls/index.ts';
import { RACE_STORE_LATENCY_MS } from '../../simulator/net/latent-store.ts';
import { populate } from '../../simulator/scenario.ts';
import {
  type CheckContext,
  checkProperty,
  defineCheck,
  eachOf,
  expectEqual,
  expectThat,
} from '../harness/check.ts';
import type { TargetServer } from '../harness/target.ts';
import {
  commitInfo,
  craftGroup,
  createQueue,
  memberFrom,
  prepareAdd,
  prepareJoin,
  sendCommit,
  sendJoin,
  withProposals,
} from './race-mls.ts';
import { expectOk, expectRefused, refused, rngFor, send, show, type Outcome } from './support.ts';

const DS = '/_fedconn/v1/ds';

export const wrongEarKeyRefused = defineCheck({
  name: 'the DS refuses external commit info, joins and messages with a wrong EAR key; the group is unchanged',
  rules: ['CONN-JOIN-02'],
  profiles: ['multi-device', 'aliases'],
  async run(ctx) {
    const servers = ctx.instance.servers.slice(0, 2).map((s) => s.serverName);
    const population = await populate(ctx.instance.env('join-02'), {
      servers,
      usersPerServer: 1,
      devicesPerUser: 1,
      profile: ctx.instance.profile,
      userPrefix: `${ctx.instance.namespace}join2-`,
    });
    const [initiator, responder] = population.users;
    if (initiator === undefined || responder === undefined) throw new Error('no users');
    const groupId = await initiator.primary.connect({ userId: responder.userId });
    const entry = initiator.primary.groups.get(groupId);
    if (entry === undefined) throw new Error(`the initiator has no group ${groupId}`);
    const ds = ctx.instance.servers.find((s) => s.serverName === entry.dsServer);
    if (ds === undefined) throw new Error(`no server ${entry.dsServer}`);
    const groupUrl = `${ds.origin}${DS}/groups/${groupId}`;
    const infoWith = (key: Uint8Array) =>
      send(ctx, `${groupUrl}/external_commit_info`, {
        body: { ear_key: encodeUnpaddedBase64(key) },
      });
    const before = await infoWith(entry.earKey);
    expectOk(before, `fetching external commit info of ${groupId} with its EAR key`);
    const rng = rngFor(ctx, 'ear keys');
    await checkProperty(
      ctx,
      [eachOf('flipped-bit', 'random-key'), fc.nat(255)] as [
        fc.Arbitrary<'flipped-bit' | 'random-key'>,
        fc.Arbitrary<number>,
      ],
      async (kind, bit) => {
        const wrong = Uint8Array.from(entry.earKey);
        if (kind === 'flipped-bit') wrong[bit >> 3] = (wrong[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        else wrong.set(fork(rng, `key ${bit}`).bytes(32));
        const ear = encodeUnpaddedBase64(wrong);
        expectRefused(await infoWith(wrong), `external commit info with a ${kind} EAR key`);
        const filler = encodeUnpaddedBase64(fork(rng, `filler ${bit}`).bytes(48));
        expectRefused(
          await send(ctx, `${groupUrl}/join_connection_group`, {
            body: {
              ear_key: ear,
              commit: filler,
              group_info: filler,
              ratchet_tree: filler,
              credential_info: filler,
              queue: responder.primary.queue,
            },
          }),
          `joining with a ${kind} EAR key`,
        );
        expectRefused(
          await send(ctx, `${groupUrl}/messages`, {
            body: { ear_key: ear, message: filler, sender_queue: responder.primary.queue },
          }),
          `sending a message with a ${kind} EAR key`,
        );
        const after = await infoWith(entry.earKey);
        expectOk(after, `fetching external commit info of ${groupId} again`);
        expectEqual(after.body, before.body, `group ${groupId} changed after refused requests`);
      },
      { numRuns: 4 },
    );
  },
});

/** A fresh rng per property run, so repeated values never reuse a group id. */
function runs(ctx: CheckContext, label: string): () => Rng {
  const rng = rngFor(ctx, label);
  let n = 0;
  return () => fork(rng, `run ${n++}`);
}

const pickServer = (ctx: CheckContext, i: number): TargetServer => {
  const server = ctx.instance.servers[i % ctx.instance.servers.length];
  if (server === undefined) throw new Error('the target has no servers');
  return server;
};

export const secondJoinRefused = defineCheck({
  name: 'the DS refuses a join into a group that already holds two users; the group is unchanged',
  rules: ['CONN-JOIN-03'],
  profiles: ['multi-device', 'aliases'],
  async run(ctx) {
    const next = runs(ctx, 'join-03');
    await checkProperty(
      ctx,
      [eachOf('another user', 'a second client of the joined user'), fc.nat(7)] as [
        fc.Arbitrary<string>,
        fc.Arbitrary<number>,
      ],
      async (who, server) => {
        const g = await craftGroup(ctx, pickServer(ctx, server), next());
        const first = await prepareJoin(ctx, g, g.group, 'first joiner');
        expectOk(await sendJoin(ctx, g, first), `the first join into fresh group ${g.id}`);
        const before = await commitInfo(ctx, g);
        // For the current epoch (1), so only the user count can refuse it.
        const second = await prepareJoin(ctx, g, first.group, who);
        const sameUser = who !== 'another user';
        const body = sameUser
          ? { ...second.body, credential_info: first.body.credential_info }
          : second.body;
        expectRefused(
          await send(ctx, `${g.url}/join_connection_group`, { body }),
          `a join by ${who} into group ${g.id}, which already holds two users`,
        );
        const after = await commitInfo(ctx, g);
        expectEqual(after.body, before.body, `group ${g.id} changed after a refused second join`);
      },
      { numRuns: 3 },
    );
  },
});

export const oneCommitPerEpoch = defineCheck({
  name: 'of concurrent joins and commits for one epoch the DS accepts exactly one; a stale-epoch commit is refused',
  rules: ['CONN-JOIN-04'],
  profiles: ['multi-device', 'aliases'],
  async run(ctx) {
    // Store latency makes the contenders overlap at the DS between its epoch check and
    // its write, as at a server with an asynchronous database (a real one has its own).
    ctx.instance.setStoreLatency?.(RACE_STORE_LATENCY_MS);
    const next = runs(ctx, 'join-04');
    await checkProperty(
      ctx,
      [
        fc.scheduler(),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 2 }),
        fc.nat(7),
      ] as [
        fc.Arbitrary<fc.Scheduler>,
        fc.Arbitrary<number>,
        fc.Arbitrary<number>,
        fc.Arbitrary<number>,
      ],
      async (s, joins, adds, server) => {
        const g = await craftGroup(ctx, pickServer(ctx, server), next());
        // At least two contenders, all built against epoch 0.
        const joinCount = joins + adds < 2 ? 2 - adds : joins;
        const contenders: { label: string; go: () => Promise<Outcome> }[] = [];
        for (let i = 0; i < joinCount; i++) {
          const join = await prepareJoin(ctx, g, g.group, `joiner ${i}`);
          contenders.push({ label: `join ${i}`, go: () => sendJoin(ctx, g, join) });
        }
        for (let i = 0; i < adds; i++) {
          const add = await prepareAdd(ctx, g, g.group, g.creatorQueue, `added ${i}`);
          contenders.push({ label: `member commit ${i}`, go: () => sendCommit(ctx, g, add) });
        }
        const all = Promise.all(
          contenders.map((c) => s.schedule(Promise.resolve(), c.label).then(c.go)),
        );
        const outcomes = await s.waitFor(all);
        const results = contenders.map((c, i) => `${c.label}: ${show(outcomes[i] as Outcome)}`);
        const accepted = outcomes.filter((o) => o.status >= 200 && o.status < 300).length;
        expectThat(
          accepted === 1 &&
            outcomes.every((o) => (o.status >= 200 && o.status < 300) || refused(o)),
          `${contenders.length} concurrent commits for epoch 0 of group ${g.id}`,
          'exactly one accepted, the others refused with a 4xx',
          results,
        );
        // The group is at epoch 1 now: a further commit for epoch 0 is stale.
        const before = await commitInfo(ctx, g);
        const stale = await prepareAdd(ctx, g, g.group, g.creatorQueue, 'stale');
        expectRefused(
          await sendCommit(ctx, g, stale),
          `a member commit for epoch 0 after group ${g.id} moved to epoch 1`,
        );
        const after = await commitInfo(ctx, g);
        expectEqual(after.body, before.body, `group ${g.id} changed after a refused stale commit`);
      },
      { numRuns: 4 },
    );
  },
});

type Extra = 'add' | 'remove' | 'add and remove';

export const joinAddsOnlyTheJoiner = defineCheck({
  name: 'the DS refuses an external commit that carries Add or Remove proposals besides its ExternalInit',
  rules: ['CONN-JOIN-05'],
  profiles: ['multi-device', 'aliases'],
  async run(ctx) {
    const next = runs(ctx, 'join-05');
    await checkProperty(
      ctx,
      [eachOf<Extra>('add', 'remove', 'add and remove'), fc.boolean(), fc.nat(7)] as [
        fc.Arbitrary<Extra>,
        fc.Arbitrary<boolean>,
        fc.Arbitrary<number>,
      ],
      async (extra, first, server) => {
        const g = await craftGroup(ctx, pickServer(ctx, server), next());
        const other = await generateKeyPackage(await memberFrom(g.rng, 'other'));
        const extras: Proposal[] = [];
        if (extra !== 'remove')
          extras.push({ proposalType: 'add', add: { keyPackage: other.publicPackage } });
        if (extra !== 'add') extras.push({ proposalType: 'remove', remove: { removed: 0 } });
        const before = await commitInfo(ctx, g);
        const crafted = await prepareJoin(ctx, g, g.group, 'joiner', (commit, joiner) =>
          withProposals(commit, joiner, g.group, (p) =>
            first ? [...extras, ...p] : [...p, ...extras],
          ),
        );
        expectRefused(
          await sendJoin(ctx, g, crafted),
          `an external commit with an extra ${extra} proposal into group ${g.id}`,
        );
        const after = await commitInfo(ctx, g);
        expectEqual(after.body, before.body, `group ${g.id} changed after a refused join`);
        // The group is still joinable: the refusal was for the proposals.
        const clean = await prepareJoin(ctx, g, g.group, 'clean joiner');
        expectOk(await sendJoin(ctx, g, clean), `a clean join into group ${g.id} afterwards`);
      },
      { numRuns: 4 },
    );
  },
});

type Outsider = 'external commit' | 'stranger queue' | 'two listed for one add';

export const onlyMembersAddClients = defineCheck({
  name: 'the DS refuses an add commit from outside the group, for a stranger queue, or listing other clients than it adds',
  rules: ['CONN-JOIN-08'],
  profiles: ['multi-device', 'aliases'],
  async run(ctx) {
    const next = runs(ctx, 'join-08');
    await checkProperty(
      ctx,
      [
        eachOf<Outsider>('external commit', 'stranger queue', 'two listed for one add'),
        fc.nat(7),
      ] as [fc.Arbitrary<Outsider>, fc.Arbitrary<number>],
      async (outsider, server) => {
        const g = await craftGroup(ctx, pickServer(ctx, server), next());
        const add = await prepareAdd(ctx, g, g.group, g.creatorQueue, 'sibling');
        let body: Record<string, unknown>;
        if (outsider === 'external commit') {
          // A stranger's external commit that, like the member's, only adds one client.
          const smuggled = await generateKeyPackage(await memberFrom(g.rng, 'smuggled'));
          const join = await prepareJoin(ctx, g, g.group, 'stranger', (commit, joiner) =>
            withProposals(commit, joiner, g.group, () => [
              { proposalType: 'add', add: { keyPackage: smuggled.publicPackage } },
            ]),
          );
          body = { ...add.body, commit: join.body.commit };
        } else if (outsider === 'stranger queue') {
          const stranger = await createQueue(ctx, g.ds, fork(g.rng, 'stranger queue'));
          body = { ...add.body, sender_queue: stranger };
        } else {
          const listed = add.body.added as readonly Record<string, unknown>[];
          const extra = await createQueue(ctx, g.ds, fork(g.rng, 'unadded queue'));
          body = { ...add.body, added: [...listed, { ...listed[0], queue: extra }] };
        }
        const before = await commitInfo(ctx, g);
        expectRefused(
          await send(ctx, `${g.url}/commit`, { body }),
          `an add commit into group ${g.id} (${outsider})`,
        );
        const after = await commitInfo(ctx, g);
        expectEqual(after.body, before.body, `group ${g.id} changed after a refused commit`);
        // The same commit from the member, as it was made, is taken: the refusal was for the outsider.
        expectOk(await sendCommit(ctx, g, add), `the member's own add commit into group ${g.id}`);
      },
      { numRuns: 4 },
    );
  },
});
