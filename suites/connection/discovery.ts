// Discovery and queues at the AS (CONN-DISC, AS, QS and FED roles): discovery and
// delivery need no authentication, users of other homeservers are reached as
// local ones, aliases are first come first served, deleting an alias deletes what
// hangs off it, and only a queue's owner dequeues.
import fc from 'fast-check';
import type { PhoenixUserHandle } from '../../simulator/clients/phoenix/handle.ts';
import { generateEd25519KeyPair } from '../../simulator/protocol/crypto/ed25519.ts';
import { fork } from '../../simulator/protocol/crypto/rng.ts';
import { encodeUnpaddedBase64 } from '../../simulator/protocol/encoding/base64.ts';
import {
  type CheckContext,
  checkProperty,
  defineCheck,
  eachOf,
  expectEqual,
  expectThat,
} from '../harness/check.ts';
import { referenceUser } from './initiator-support.ts';
import {
  AS,
  QS,
  aliasName,
  expectOk,
  expectRefused,
  firstServer,
  lifetimeAround,
  makePackage,
  makePayload,
  registerAlias,
  registerUser,
  rngFor,
  sealedMessage,
  send,
  show,
  type Outcome,
  type RegisteredAlias,
} from './support.ts';

const messagesOf = (o: Outcome): readonly unknown[] =>
  o.status === 200 ? ((o.body as { messages?: unknown[] } | undefined)?.messages ?? []) : [];

async function publishPayloads(ctx: CheckContext, alias: RegisteredAlias, count: number) {
  const rng = rngFor(ctx, `payloads ${alias.alias}`);
  const now = ctx.instance.clock.now();
  const payloads = [];
  for (let i = 0; i < count; i++)
    payloads.push(await makePayload(fork(rng, `${i}`), lifetimeAround(now)));
  expectOk(
    await send(ctx, `${alias.url}/connection_packages`, {
      body: { payloads },
      signer: alias.signer,
    }),
    `publishing payloads under alias ${alias.alias}`,
  );
}

export const discoveryNeedsNoAuth = defineCheck({
  name: 'discovery and delivery of establishment packages need no authentication of the initiator',
  rules: ['CONN-DISC-01'],
  profiles: ['multi-device', 'aliases'],
  async run(ctx) {
    const server = firstServer(ctx);
    const rng = rngFor(ctx, 'discovery');
    const responder = await registerUser(ctx, server, 'disc1-responder', rng);
    const now = ctx.instance.clock.now();
    expectOk(
      await send(ctx, `${server.origin}${AS}/connection_packages`, {
        body: {
          connection_packages: [
            await makePackage(responder, fork(rng, 'a'), lifetimeAround(now)),
            await makePackage(responder, fork(rng, 'b'), lifetimeAround(now)),
          ],
        },
        signer: responder.signer,
      }),
      'publishing connection packages',
    );
    const user = encodeURIComponent(responder.userId);
    const discovered = await send(ctx, `${server.origin}${AS}/users/${user}/connection_packages`);
    expectOk(discovered, `discovering ${responder.userId} without authentication`);
    const queueUrl = `${server.origin}${AS}/clients/${user}/${encodeURIComponent(responder.client)}/queue`;
    expectOk(
      await send(ctx, queueUrl, { body: { message: sealedMessage(fork(rng, 'cep')) } }),
      `delivering an establishment package to ${responder.userId}/${responder.client} without authentication`,
    );
    if (ctx.profile !== 'aliases') return;
    const alias = await registerAlias(ctx, server, aliasName(ctx, 'disc1'), rng);
    await publishPayloads(ctx, alias, 2);
    expectOk(
      await send(ctx, `${alias.url}/connection_package`),
      `discovering alias ${alias.alias} without authentication`,
    );
    expectOk(
      await send(ctx, `${alias.url}/queue`, {
        body: { message: sealedMessage(fork(rng, 'alias cep')) },
      }),
      `delivering an establishment package to alias ${alias.alias} without authentication`,
    );
  },
});

export const aliasRegisteredOnce = defineCheck({
  name: 'registering an alias that is already registered is refused and leaves it with its owner',
  rules: ['CONN-DISC-03'],
  profiles: ['aliases'],
  async run(ctx) {
    const server = firstServer(ctx);
    const rng = rngFor(ctx, 'alias twice');
    let run = 0;
    await checkProperty(
      ctx,
      [fc.boolean()],
      async (sameKey) => {
        const r = fork(rng, `run ${run}`);
        const first = await registerAlias(ctx, server, aliasName(ctx, `disc3-${run++}`), r);
        const second = sameKey ? first.key : await generateEd25519KeyPair(fork(r, 'second'));
        const again = await send(ctx, first.url, {
          method: 'PUT',
          body: { auth_key: encodeUnpaddedBase64(second.publicKey) },
        });
        expectRefused(again, `registering alias ${first.alias} a second time`);
        expectThat(
          again.status === 409,
          `the second registration of ${first.alias} is not answered 409`,
          409,
          show(again),
        );
        if (!sameKey) {
          // The first holder still owns it; the second key does not.
          const payload = await makePayload(fork(r, 'p'), lifetimeAround(ctx.instance.clock.now()));
          const byIntruder = await send(ctx, `${first.url}/connection_packages`, {
            body: { payloads: [payload] },
            signer: { key: second, keyRef: first.signer.keyRef },
          });
          expectRefused(byIntruder, `the second registrant publishing under ${first.alias}`);
          expectOk(
            await send(ctx, `${first.url}/connection_packages`, {
              body: { payloads: [payload] },
              signer: first.signer,
            }),
            `the first registrant publishing under ${first.alias}`,
          );
        }
      },
      { numRuns: 4 },
    );
  },
});

export const deleteAliasDeletesAll = defineCheck({
  name: 'deleting an alias deletes its queue and payloads; it cannot be discovered afterwards',
  rules: ['CONN-DISC-04'],
  profiles: ['aliases'],
  async run(ctx) {
    const server = firstServer(ctx);
    const rng = rngFor(ctx, 'alias delete');
    let run = 0;
    await checkProperty(
      ctx,
      [fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 })],
      async (payloads, messages) => {
        const r = fork(rng, `run ${run}`);
        const alias = await registerAlias(ctx, server, aliasName(ctx, `disc4-${run++}`), r);
        await publishPayloads(ctx, alias, payloads);
        for (let i = 0; i < messages; i++) {
          expectOk(
            await send(ctx, `${alias.url}/queue`, {
              body: { message: sealedMessage(fork(r, `m${i}`)) },
            }),
            `delivering to alias ${alias.alias}`,
          );
        }
        expectOk(
          await send(ctx, alias.url, { method: 'DELETE', signer: alias.signer }),
          `deleting alias ${alias.alias}`,
        );
        expectRefused(
          await send(ctx, `${alias.url}/connection_package`),
          `discovering deleted alias ${alias.alias}`,
        );
        // Whoever registers the name next finds neither the old payloads nor the old queue.
        const next = await registerAlias(ctx, server, alias.alias, fork(r, 'next'));
        const served = await send(ctx, `${next.url}/connection_package`);
        expectRefused(
          served,
          `discovering re-registered ${alias.alias} (old payloads must be gone)`,
        );
        const queued = await send(ctx, `${next.url}/queue?since=0`, { signer: next.signer });
        expectThat(
          messagesOf(queued).length === 0,
          `the queue of deleted alias ${alias.alias} survived its deletion`,
          'no messages',
          show(queued),
        );
      },
      { numRuns: 3 },
    );
  },
});

export const onlyOwnerDequeues = defineCheck({
  name: "only a queue's owner can dequeue: no one without auth, with another key, or a forged key ref",
  rules: ['CONN-DISC-05'],
  profiles: ['multi-device', 'aliases'],
  async run(ctx) {
    const server = firstServer(ctx);
    const rng = rngFor(ctx, 'dequeue');
    // Client queues at the AS.
    const owner = await registerUser(ctx, server, 'disc5-owner', rng);
    const other = await registerUser(ctx, server, 'disc5-other', rng);
    const user = encodeURIComponent(owner.userId);
    expectOk(
      await send(ctx, `${server.origin}${AS}/clients/${user}/${owner.client}/queue`, {
        body: { message: sealedMessage(fork(rng, 'cep')) },
      }),
      `delivering to ${owner.userId}/${owner.client}`,
    );
    const queueUrl = `${server.origin}${AS}/queue?since=0`;
    for (const [label, signer] of [
      ['no authentication', undefined],
      [
        "another client's key under the owner's key ref",
        { key: other.key, keyRef: owner.signer.keyRef },
      ],
    ] as const) {
      const o = await send(ctx, queueUrl, signer === undefined ? {} : { signer });
      expectRefused(o, `dequeuing ${owner.userId}'s queue with ${label}`);
    }
    const otherOwn = await send(ctx, queueUrl, { signer: other.signer });
    expectThat(
      messagesOf(otherOwn).length === 0,
      `${other.userId} dequeued a message that was delivered to ${owner.userId}`,
      'its own empty queue',
      show(otherOwn),
    );
    const own = await send(ctx, queueUrl, { signer: owner.signer });
    expectThat(
      messagesOf(own).length === 1,
      `${owner.userId} does not find the message delivered to it`,
      'one message',
      show(own),
    );
    // Queues at the QS.
    const qsKey = await generateEd25519KeyPair(fork(rng, 'qs key'));
    const created = await send(ctx, `${server.origin}${QS}/queues`, {
      body: { auth_key: encodeUnpaddedBase64(qsKey.publicKey) },
    });
    expectOk(created, 'creating a QS queue');
    const queueId = (created.body as { queue_id: string }).queue_id;
    const qsUrl = `${server.origin}${QS}/queues/${encodeURIComponent(queueId)}/messages?since=0`;
    expectRefused(await send(ctx, qsUrl), `dequeuing QS queue ${queueId} without authentication`);
    expectRefused(
      await send(ctx, qsUrl, { signer: { key: other.key, keyRef: `queue:${queueId}` } }),
      `dequeuing QS queue ${queueId} with another key`,
    );
    expectOk(
      await send(ctx, qsUrl, { signer: { key: qsKey, keyRef: `queue:${queueId}` } }),
      `dequeuing QS queue ${queueId} as its owner`,
    );
    if (ctx.profile !== 'aliases') return;
    const alias = await registerAlias(ctx, server, aliasName(ctx, 'disc5'), rng);
    const stranger = await registerAlias(ctx, server, aliasName(ctx, 'disc5-stranger'), rng);
    expectOk(
      await send(ctx, `${alias.url}/queue`, {
        body: { message: sealedMessage(fork(rng, 'alias cep')) },
      }),
      `delivering to alias ${alias.alias}`,
    );
    for (const [label, signer] of [
      ['no authentication', undefined],
      ["another alias's key", stranger.signer],
      [
        "another alias's key under this alias's key ref",
        { key: stranger.key, keyRef: alias.signer.keyRef },
      ],
      ["a client's credential key", owner.signer],
    ] as const) {
      const o = await send(
        ctx,
        `${alias.url}/queue?since=0`,
        signer === undefined ? {} : { signer },
      );
      expectRefused(o, `dequeuing alias ${alias.alias}'s queue with ${label}`);
    }
    const aliasOwn = await send(ctx, `${alias.url}/queue?since=0`, { signer: alias.signer });
    expectThat(
      messagesOf(aliasOwn).length === 1,
      `the holder of alias ${alias.alias} does not find the message delivered to it`,
      'one message',
      show(aliasOwn),
    );
  },
});

// --- CONN-DISC-02 ---------------------------------------------------------------------

/** What one establishment from the initiator achieved, without names, to compare local and remote. */
async function establishOutcome(
  initiator: PhoenixUserHandle,
  responder: PhoenixUserHandle,
  target: { readonly userId: string } | { readonly alias: string; readonly server: string },
) {
  const everyone = [...initiator.clients, ...responder.clients];
  const state = () =>
    everyone.map((c) => `${c.events.length}:${[...c.groups.keys()].join(',')}`).join('|');
  // Runs every client until nothing changes (at most 4 rounds).
  const settle = async () => {
    for (let round = 0; round < 4; round++) {
      const before = state();
      for (const c of everyone) {
        await c.processQueues();
        // Alias queues are polled apart from the client's own (ALIAS-UNLINK-01).
        for (const alias of c.aliases) await c.pollAliasQueue(alias);
      }
      if (state() === before) return;
    }
  };
  let groupId: string;
  try {
    groupId = await initiator.primary.connect(target);
  } catch (error) {
    return { connected: `failed: ${error instanceof Error ? error.message : String(error)}` };
  }
  await settle();
  const joined = responder.clients.filter((c) => c.groups.has(groupId)).length;
  const members = initiator.primary.groupStatus(groupId)?.members ?? 0;
  const outcome = { connected: 'yes', joined, members, toResponder: 0, toInitiator: false };
  if (joined === 0) return outcome;
  await initiator.primary.send(groupId, 'from the initiator');
  await responder.clients.find((c) => c.groups.has(groupId))?.send(groupId, 'from the responder');
  await settle();
  return {
    ...outcome,
    toResponder: responder.clients.filter((c) => c.received(groupId).includes('from the initiator'))
      .length,
    toInitiator: initiator.primary.received(groupId).includes('from the responder'),
  };
}

export const federatedUsersReachedAsLocal = defineCheck({
  name: 'users of another homeserver discover, reach and connect to a homeserver’s users exactly as its own users do',
  rules: ['CONN-DISC-02'],
  profiles: ['multi-device', 'aliases'],
  needs: ['reference-client'],
  async run(ctx) {
    const [home, other] = ctx.instance.servers;
    if (home === undefined || other === undefined)
      throw new Error('this check needs two homeservers');
    const { user: initiator } = await referenceUser(ctx, home, 'disc2-i', 1);
    const vias =
      ctx.profile === 'aliases' ? (['user-id', 'alias'] as const) : (['user-id'] as const);
    let run = 0;
    await checkProperty(
      ctx,
      // Establishments are the heaviest step of the suite (MLS joins): few, small responders.
      [
        fc.integer({ min: 1, max: ctx.profile === 'multi-device' ? 2 : 1 }),
        eachOf<'user-id' | 'alias'>(...vias),
      ],
      async (devices, via) => {
        const n = run++;
        const outcomes: Record<string, unknown> = {};
        for (const [where, server] of [
          ['local', home],
          ['remote', other],
        ] as const) {
          const { user: responder } = await referenceUser(
            ctx,
            server,
            `disc2-${n}-${where}`,
            devices,
          );
          let target: { userId: string } | { alias: string; server: string } = {
            userId: responder.userId,
          };
          if (via === 'alias') {
            const alias = aliasName(ctx, `disc2-${n}-${where}`);
            await responder.primary.registerAlias(alias, 2);
            target = { alias, server: server.serverName };
          }
          outcomes[where] = await establishOutcome(initiator, responder, target);
        }
        const where = `by ${via}, responder with ${devices} clients`;
        expectEqual(
          outcomes.local,
          {
            connected: 'yes',
            joined: devices,
            members: devices + 1,
            toResponder: devices,
            toInitiator: true,
          },
          `a connection to a user of the initiator's own homeserver (${where})`,
        );
        expectEqual(
          outcomes.remote,
          outcomes.local,
          `a connection to a user of another homeserver, compared with one to a local user (${where})`,
        );
      },
      { numRuns: 2 },
    );
  },
});
