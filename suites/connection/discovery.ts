// Discovery and queues at the AS (CONN-DISC, AS and QS roles): discovery and
// delivery need no authentication, aliases are first come first served,
// deleting an alias deletes what hangs off it, and only a queue's owner dequeues.
import fc from 'fast-check';
import { generateEd25519KeyPair } from '../../simulator/protocol/crypto/ed25519.ts';
import { fork } from '../../simulator/protocol/crypto/rng.ts';
import { encodeUnpaddedBase64 } from '../../simulator/protocol/encoding/base64.ts';
import { checkProperty, defineCheck, expectThat, type CheckContext } from '../harness/check.ts';
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
