// No trust before acceptance (CONN-TRUST, CLIENT role with the servers that carry
// the content, on fedconn's reference client): what an initiator pushes besides
// the establishment package never reaches the responder's user, the responder
// fetches nothing about the initiator but its AS credentials, and a responder
// that declines leaves no trace at the initiator's DS.
import fc from 'fast-check';
import { hpkeSeal } from '../../simulator/protocol/crypto/hpke.ts';
import { fork } from '../../simulator/protocol/crypto/rng.ts';
import { encodeUnpaddedBase64 } from '../../simulator/protocol/encoding/base64.ts';
import { signWithLabel } from '../../simulator/protocol/labels.ts';
import { checkProperty, defineCheck, expectEqual, expectThat } from '../harness/check.ts';
import { DS } from './race-mls.ts';
import {
  CEP_INFO,
  deliveryOf,
  deliverAndRun,
  forgeChain,
  runResponder,
  sealedFor,
  stage,
  type Stage,
} from './responder-support.ts';
import { AS, QS, aliasName, send, show } from './support.ts';
import {
  across,
  connectTo,
  describeSent,
  groupOnDs,
  makePair,
  settlePair,
  type Sent,
} from './trust-support.ts';

const PROFILES = ['multi-device', 'aliases'] as const;
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

// --- CONN-TRUST-01 ------------------------------------------------------------------

type Push = 'extra-envelope-field' | 'extra-package-field' | 'profile-package';
const PUSHES: readonly Push[] = ['extra-envelope-field', 'extra-package-field', 'profile-package'];

/** fedconn, as an initiator of its forged domain, pushes `secret` to the staged responder. */
async function pushBeside(s: Stage, push: Push, secret: string, n: number) {
  const f = await forgeChain(fork(s.rng, `push ${n}`), s.now(), s.domain);
  s.publish(f.published);
  const what = `${push} carrying ${secret}`;
  switch (push) {
    case 'extra-envelope-field': {
      // Extra fields next to the sealed package: the AS may refuse them, the responder must not show them.
      const sealed = await sealedFor(s, deliveryOf(f));
      const o = await send(s.ctx, s.queueUrl, {
        body: { message: { ...sealed, note: secret }, profile: { display_name: secret } },
      });
      return { answer: show(o), events: await runResponder(s, what) };
    }
    case 'extra-package-field':
      // A package signed and sealed as it should be, with a greeting and a display name added.
      return {
        answer: 'sealed to the package key',
        events: await deliverAndRun(
          s,
          {
            ...deliveryOf(f),
            tamper: async (cep) => {
              const extended: Record<string, unknown> = {
                ...cep,
                greeting: secret,
                display_name: secret,
              };
              delete extended.signature;
              const signature = await signWithLabel(
                f.keys.client,
                'ConnectionEstablishmentPackage',
                extended,
              );
              // Typed as a package, though it carries more: that is the attack.
              return { ...cep, ...extended, signature: encodeUnpaddedBase64(signature) };
            },
          },
          what,
        ),
      };
    case 'profile-package': {
      // Profile data sealed to the package key as if it were a package.
      const r = fork(s.rng, `profile ${n}`);
      const plaintext = new TextEncoder().encode(
        JSON.stringify({ display_name: secret, avatar_url: `mxc://${secret}` }),
      );
      const sealed = await hpkeSeal({
        publicKey: s.encryptionKey,
        plaintext,
        info: CEP_INFO,
        rng: r,
      });
      if (!sealed.ok) throw new Error(sealed.error.detail);
      const o = await send(s.ctx, s.queueUrl, {
        body: {
          message: {
            enc: encodeUnpaddedBase64(sealed.value.enc),
            ciphertext: encodeUnpaddedBase64(sealed.value.ciphertext),
          },
        },
      });
      return { answer: show(o), events: await runResponder(s, what) };
    }
  }
}

/** Application messages for `groupId` that the responder's QS fetches returned, distinct. */
function queuedApplications(log: readonly Sent[], groupId: string): string[] {
  const out = new Set<string>();
  for (const s of log) {
    if (s.method !== 'GET' || !s.path.startsWith(`${QS}/queues/`)) continue;
    let body: { messages?: { message?: { kind?: string; group_id?: string; message?: string } }[] };
    try {
      body = JSON.parse(s.answer) as typeof body;
    } catch {
      continue;
    }
    for (const m of body.messages ?? [])
      if (m.message?.kind === 'application' && m.message.group_id === groupId)
        out.add(m.message.message ?? '');
  }
  return [...out];
}

export const nothingPushedBeforeAcceptance = defineCheck({
  name: 'before acceptance nothing but the package reaches the responder: group messages, extra fields and profile data never do',
  rules: ['CONN-TRUST-01'],
  profiles: PROFILES,
  needs: ['reference-client', 'impostor'],
  async run(ctx) {
    const s = await stage(ctx, 'trust01');
    let run = 0;
    await checkProperty(
      ctx,
      [fc.boolean(), fc.boolean(), fc.integer({ min: 1, max: 3 })] as [
        fc.Arbitrary<boolean>,
        fc.Arbitrary<boolean>,
        fc.Arbitrary<number>,
      ],
      async (accept, sameServer, messages) => {
        const n = run++;
        const secret = `pushed-${n}-${hex(fork(s.rng, `secret ${n}`).bytes(6))}`;
        // 1. Content beside the package, by fedconn as an initiator of its own domain.
        s.user.decide = (name) => {
          s.shown.push(name);
          return accept;
        };
        for (const [i, push] of PUSHES.entries()) {
          const { answer, events } = await pushBeside(s, push, secret, n * PUSHES.length + i);
          const shown = s.shown.splice(0);
          expectThat(
            !JSON.stringify(events).includes(secret) && !shown.some((x) => x.includes(secret)),
            `${push}: content the initiator pushed reached the responder's user`,
            `nothing of ${secret} in the responder's events or decision`,
            { delivery: answer, events, shown },
          );
        }
        // 2. Messages into the connection group before the responder decided.
        const pair = await makePair(ctx, `trust1-${n}`, {
          sameServer,
          initiatorDevices: 1,
          responderDevices: 1,
        });
        // The first run always accepts, so that every run set sees what reaches a joiner.
        const joins = accept || n === 0;
        pair.responder.decide = () => joins;
        const groupId = await pair.initiator.primary.connect({ userId: pair.responder.userId });
        for (let i = 0; i < messages; i++)
          await pair.initiator.primary.send(groupId, `${secret} before ${i}`);
        await settlePair(pair);
        const control = `${secret} after acceptance`;
        if (joins) {
          await pair.initiator.primary.send(groupId, control);
          await settlePair(pair);
        }
        const where = `${across(sameServer)}, ${joins ? 'accepted' : 'declined'}`;
        expectEqual(
          pair.responder.primary.received(groupId),
          joins ? [control] : [],
          `messages of the connection group the responder's user received (${messages} sent before the decision, ${where})`,
        );
        expectEqual(
          queuedApplications(pair.log, groupId).length,
          joins ? 1 : 0,
          `group messages that reached the responder's queue (${messages} sent before the decision, ${where})`,
        );
      },
      { numRuns: 3 },
    );
  },
});

// --- CONN-TRUST-03 ------------------------------------------------------------------

export const noInitiatorInfoFetched = defineCheck({
  name: 'a package makes the responder fetch nothing about the initiator but its AS credentials',
  rules: ['CONN-TRUST-03'],
  profiles: ['multi-device'],
  needs: ['reference-client'],
  async run(ctx) {
    let run = 0;
    await checkProperty(
      ctx,
      [fc.boolean(), fc.integer({ min: 1, max: 2 }), fc.boolean()] as [
        fc.Arbitrary<boolean>,
        fc.Arbitrary<number>,
        fc.Arbitrary<boolean>,
      ],
      async (sameServer, initiatorDevices, accept) => {
        const pair = await makePair(ctx, `trust3-${run++}`, {
          sameServer,
          initiatorDevices,
          responderDevices: 1,
        });
        let beforeDecision: Sent[] | undefined;
        pair.responder.decide = () => {
          beforeDecision = [...pair.log];
          return accept;
        };
        const groupId = await pair.initiator.primary.connect({ userId: pair.responder.userId });
        pair.log.length = 0;
        await pair.responder.primary.processQueues();
        const where = `${across(sameServer)}, ${accept ? 'accepted' : 'declined'}`;
        expectThat(
          beforeDecision !== undefined,
          `control: the responder's user was never asked (${where})`,
          'the decision policy called once',
          pair.responder.primary.events,
        );
        const own = pair.responderServer.origin;
        const queue = pair.responder.primary.queue.queue_id;
        const ownQueues = (s: Sent) =>
          s.method === 'GET' &&
          s.origin === own &&
          (s.path === `${AS}/queue` ||
            /^\/_fedconn\/v1\/as\/aliases\/[^/]+\/queue$/.test(s.path) ||
            s.path === `${QS}/queues/${queue}/messages`);
        const credentials = (s: Sent) => s.method === 'GET' && s.path === `${AS}/credentials`;
        expectEqual(
          beforeDecision
            .filter(
              (s) => !ownQueues(s) && !(credentials(s) && s.origin === pair.initiatorServer.origin),
            )
            .map(describeSent),
          [],
          `requests the responder sent before its user decided (${where}): only its own queues and the initiator's AS credentials`,
        );
        // Accepting joins the group, nothing more: no profile or other initiator data afterwards either.
        const joining = (s: Sent) =>
          s.method === 'POST' &&
          s.origin === pair.initiatorServer.origin &&
          (s.path === `${DS}/groups/${groupId}/external_commit_info` ||
            s.path === `${DS}/groups/${groupId}/join_connection_group`);
        expectEqual(
          pair.log
            .slice(beforeDecision.length)
            .filter((s) => !ownQueues(s) && !credentials(s) && !(accept && joining(s)))
            .map(describeSent),
          [],
          `requests the responder sent after its user decided (${where}): its queues, AS credentials${accept ? ' and the join at the initiator’s DS' : ''}`,
        );
      },
      { numRuns: 4 },
    );
  },
});

// --- CONN-TRUST-04 ------------------------------------------------------------------

export const declineLeavesNoTrace = defineCheck({
  name: 'a responder that declines joins no group and sends nothing to any DS; the group keeps the initiator alone',
  rules: ['CONN-TRUST-04'],
  profiles: PROFILES,
  needs: ['reference-client'],
  async run(ctx) {
    let run = 0;
    const aliases = ctx.instance.profile === 'aliases';
    await checkProperty(
      ctx,
      [fc.boolean(), fc.integer({ min: 1, max: 2 }), fc.boolean()] as [
        fc.Arbitrary<boolean>,
        fc.Arbitrary<number>,
        fc.Arbitrary<boolean>,
      ],
      async (sameServer, devices, byAlias) => {
        const label = `trust4-${run++}`;
        const pair = await makePair(ctx, label, {
          sameServer,
          initiatorDevices: devices,
          responderDevices: aliases ? 1 : devices,
        });
        pair.responder.decide = () => false;
        const alias = aliases && byAlias ? aliasName(ctx, label) : undefined;
        const groupId = await connectTo(pair, alias);
        await settlePair(pair);
        const where = `${across(sameServer)}, ${devices} device(s)${alias === undefined ? '' : ', by alias'}`;
        const declined = pair.responder.clients.flatMap((c) =>
          c.events.filter((e) => e.type === 'offer-declined' && e.groupId === groupId),
        );
        expectThat(
          declined.length >= 1,
          `control: the responder never declined the package (${where})`,
          'an offer-declined event',
          pair.responder.clients.map((c) => c.events),
        );
        expectEqual(
          pair.log.filter((s) => s.path.startsWith(`${DS}/`)).map(describeSent),
          [],
          `requests to a DS by the responder that declined (${where})`,
        );
        expectEqual(
          pair.responder.clients.flatMap((c) => [...c.groups.keys()]),
          [],
          `groups the responder that declined holds (${where})`,
        );
        const initiatorClients = pair.initiator.clients.length;
        expectEqual(
          await groupOnDs(ctx, pair, groupId),
          { leaves: initiatorClients, credentialInfos: initiatorClients },
          `the connection group on the initiator's DS after the decline (${where}): the initiator's clients only`,
        );
      },
      { numRuns: 4 },
    );
  },
});

export const TRUST_CHECKS = [
  nothingPushedBeforeAcceptance,
  noInitiatorInfoFetched,
  declineLeavesNoTrace,
];
