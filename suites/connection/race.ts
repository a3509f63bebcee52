// Whatever the race between a responder's devices, one connection group results
// (CONN-RACE-05): every responder device receives the establishment package and
// processes it at once, while a fast-check scheduler at the clients' transport
// decides the order in which their requests reach the servers. Afterwards the
// group holds every client of both users exactly once, joined exactly once, and
// exactly one device joined by external commit.
import fc from 'fast-check';
import type { Transport } from '../../simulator/net/transport.ts';
import { decodeBase64, encodeUnpaddedBase64 } from '../../simulator/protocol/encoding/base64.ts';
import { epochOf, membersOf } from '../../simulator/protocol/mls/index.ts';
import { decodeRatchetTree } from '../../simulator/protocol/mls/wire.ts';
import { populate } from '../../simulator/scenario.ts';
import { checkProperty, defineCheck, expectEqual, expectThat } from '../harness/check.ts';
import { DS } from './race-mls.ts';
import { expectOk, send } from './support.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

export const oneGroupWhateverTheRace = defineCheck({
  name: 'whatever the order of the responder devices’ requests, one connection group holds every client of both users once',
  rules: ['CONN-RACE-05'],
  profiles: ['multi-device', 'aliases'],
  needs: ['reference-client'],
  async run(ctx) {
    let run = 0;
    await checkProperty(
      ctx,
      [
        fc.scheduler(),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 2 }),
        fc.boolean(),
      ] as [
        fc.Arbitrary<fc.Scheduler>,
        fc.Arbitrary<number>,
        fc.Arbitrary<number>,
        fc.Arbitrary<boolean>,
      ],
      async (s, responderDevices, initiatorDevices, sameServer) => {
        const n = run++;
        const base = ctx.instance.env(`race-05 run ${n}`);
        // Direct until the responders start; then every request waits for the scheduler.
        let scheduled = false;
        const transport: Transport = (request) =>
          scheduled
            ? s
                .schedule(Promise.resolve(), `${request.method} ${new URL(request.url).pathname}`)
                .then(() => base.transport(request))
            : base.transport(request);
        const env = { ...base, transport };
        const servers = ctx.instance.servers.map((x) => x.serverName);
        const [first, second] = servers;
        if (first === undefined) throw new Error('the target has no servers');
        const responderServer = sameServer ? first : (second ?? first);
        const prefix = `${ctx.instance.namespace}race5-${n}-`;
        const initiators = await populate(env, {
          servers: [first],
          usersPerServer: 1,
          devicesPerUser: initiatorDevices,
          profile: ctx.instance.profile,
          userPrefix: `${prefix}i`,
        });
        const responders = await populate(env, {
          servers: [responderServer],
          usersPerServer: 1,
          devicesPerUser: responderDevices,
          profile: ctx.instance.profile,
          userPrefix: `${prefix}r`,
        });
        const [initiator] = initiators.users;
        const [responder] = responders.users;
        if (initiator === undefined || responder === undefined) throw new Error('no users');
        const groupId = await initiator.primary.connect({ userId: responder.userId });

        scheduled = true;
        const racing = Promise.allSettled(responder.clients.map((c) => c.processQueues()));
        const settled = await s.waitFor(racing);
        scheduled = false;
        const crashed = settled.flatMap((r, i) =>
          r.status === 'rejected' ? [`device-${i + 1} threw ${String(r.reason)}`] : [],
        );
        await initiators.settle();
        await responders.settle();
        await initiators.settle();

        const everyone = [...initiator.clients, ...responder.clients];
        const total = everyone.length;
        const where = `${initiatorDevices} initiator and ${responderDevices} responder devices`;
        const externalJoins = responder.clients.flatMap((c) =>
          c.events.filter(
            (e) => e.type === 'joined' && e.groupId === groupId && e.via === 'external-commit',
          ),
        ).length;
        expectThat(
          externalJoins === 1,
          `external joins into the connection group (${where})`,
          1,
          crashed.length === 0 ? externalJoins : [externalJoins, ...crashed],
        );
        for (const c of everyone) {
          const name = `${c.clientId.user_id}/${c.clientId.client}`;
          expectEqual(
            [...c.groups.keys()],
            [groupId],
            `the groups ${name} holds (${where}): one connection group`,
          );
          const joins = c.events.filter((e) => e.type === 'joined' && e.groupId === groupId);
          expectThat(
            joins.length <= 1,
            `${name} joined the connection group more than once`,
            'at most one join',
            joins,
          );
        }
        // The DS's copy of the group: one leaf and one CredentialInfo per client.
        const entry = initiator.primary.groups.get(groupId);
        if (entry === undefined) throw new Error(`the initiator has no group ${groupId}`);
        const ds = ctx.instance.servers.find((x) => x.serverName === entry.dsServer);
        if (ds === undefined) throw new Error(`no server ${entry.dsServer}`);
        const info = await send(ctx, `${ds.origin}${DS}/groups/${groupId}/external_commit_info`, {
          body: { ear_key: encodeUnpaddedBase64(entry.earKey) },
        });
        expectOk(info, `fetching external commit info of ${groupId}`);
        const body = info.body as { ratchet_tree: string; credential_infos: string[] };
        const treeBytes = decodeBase64(body.ratchet_tree);
        const tree = treeBytes.ok ? decodeRatchetTree(treeBytes.value) : treeBytes;
        if (!tree.ok) throw new Error('the DS serves an undecodable ratchet tree');
        const leaves = tree.value.flatMap((node) =>
          node?.nodeType === 'leaf' ? [hex(node.leaf.signaturePublicKey)] : [],
        );
        expectEqual(leaves.length, total, `members of the connection group on the DS (${where})`);
        expectEqual(
          body.credential_infos.length,
          total,
          `CredentialInfos of the connection group on the DS (${where})`,
        );
        const counts = everyone.map((c) => {
          const own = c.groups.get(groupId);
          const key = own === undefined ? '' : hex(own.member.signaturePublicKey);
          return `${c.clientId.client} of ${c.clientId.user_id}: ${leaves.filter((l) => l === key).length}`;
        });
        expectEqual(
          counts,
          everyone.map((c) => `${c.clientId.client} of ${c.clientId.user_id}: 1`),
          `leaves per client in the DS's tree (${where})`,
        );
        // Every client's own view agrees: same epoch, every client once.
        const views = everyone.map((c) => {
          const own = c.groups.get(groupId);
          return own === undefined
            ? 'no group'
            : `epoch ${epochOf(own.group)}, ${membersOf(own.group).length} members`;
        });
        const expected = views[0] ?? '';
        expectEqual(
          views,
          everyone.map(() => expected),
          `the clients' views of the connection group (${where})`,
        );
        expectThat(
          expected.endsWith(`, ${total} members`),
          `members in the clients' view of the group (${where})`,
          `${total} members`,
          expected,
        );
        expectEqual(crashed, [], `responder devices that failed while processing (${where})`);
      },
      { numRuns: 6 },
    );
  },
});
