// The DS's side of joining a connection group (CONN-JOIN, DS role): the EAR key
// is the only authentication, so a request with any other key is refused and
// leaves the group as it was.
import fc from 'fast-check';
import { fork } from '../../simulator/protocol/crypto/rng.ts';
import { encodeUnpaddedBase64 } from '../../simulator/protocol/encoding/base64.ts';
import { populate } from '../../simulator/scenario.ts';
import { checkProperty, defineCheck, expectEqual } from '../harness/check.ts';
import { expectOk, expectRefused, rngFor, send } from './support.ts';

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
      [fc.constantFrom('flipped-bit', 'random-key'), fc.nat(255)] as [
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
