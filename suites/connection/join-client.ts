// Acceptance as the clients do it (CONN-JOIN, CLIENT role, on fedconn's reference
// client): the responder joins at the initiator's DS, the group then carries
// every member's messages to every other member, and the initiator treats a
// joiner as its connection only when the joiner's credential authenticates.
import { signWithLabel } from '../../simulator/protocol/labels.ts';
import { narrowed, narrowingsOf, type Narrowing } from '../../simulator/protocol/narrowing.ts';
import fc from 'fast-check';
import type { AsCredentialsResponse } from '../../simulator/protocol/credentials/chain.ts';
import { fork } from '../../simulator/protocol/crypto/rng.ts';
import { decodeBase64, encodeUnpaddedBase64 } from '../../simulator/protocol/encoding/base64.ts';
import { exportGroupInfo, joinByExternalCommit } from '../../simulator/protocol/mls/index.ts';
import {
  decodeGroupInfo,
  decodeRatchetTree,
  encodeGroupInfo,
  encodeMessage,
  encodeRatchetTree,
} from '../../simulator/protocol/mls/wire.ts';
import {
  createCredentialInfo,
  openCredentialInfo,
  sealCredentialInfo,
} from '../../simulator/protocol/packages/credential-info.ts';
import { populate } from '../../simulator/scenario.ts';
import { checkProperty, defineCheck, expectEqual, expectThat } from '../harness/check.ts';
import { createQueue, DS, memberFrom } from './race-mls.ts';
import { flipped, forgeChain, FORGED_DOMAIN, forgedUser } from './responder-support.ts';
import { AS, aliasName, expectOk, rngFor, send } from './support.ts';
import {
  connectTo,
  describeSent,
  across,
  makePair,
  settlePair,
  serverAt,
} from './trust-support.ts';
import { hostNamed } from '../harness/peers.ts';

const PROFILES = ['multi-device', 'aliases'] as const;

// --- CONN-JOIN-01 -------------------------------------------------------------------

export const joinAtInitiatorsDs = defineCheck({
  name: 'the responder fetches the external commit information and joins at the initiator’s DS, within one homeserver and across two',
  rules: ['CONN-JOIN-01'],
  profiles: PROFILES,
  needs: ['reference-client'],
  async run(ctx) {
    let run = 0;
    const aliases = ctx.instance.profile === 'aliases';
    await checkProperty(
      ctx,
      [fc.integer({ min: 1, max: 2 }), fc.boolean()] as [
        fc.Arbitrary<number>,
        fc.Arbitrary<boolean>,
      ],
      async (devices, byAlias) => {
        const n = run++;
        for (const sameServer of [true, false]) {
          const label = `join1-${n}-${sameServer ? 'one' : 'two'}`;
          const pair = await makePair(ctx, label, {
            sameServer,
            initiatorDevices: 1,
            responderDevices: aliases ? 1 : devices,
          });
          const alias = aliases && byAlias ? aliasName(ctx, label) : undefined;
          const groupId = await connectTo(pair, alias);
          await settlePair(pair);
          const where = `${across(sameServer)}, ${pair.responder.clients.length} responder device(s)${alias === undefined ? '' : ', by alias'}`;
          const group = `${DS}/groups/${groupId}`;
          const origin = pair.initiatorServer.origin;
          expectEqual(
            pair.log
              .filter(
                (s) =>
                  s.path.endsWith('/external_commit_info') ||
                  s.path.endsWith('/join_connection_group'),
              )
              .map(describeSent),
            [
              `POST ${origin}${group}/external_commit_info`,
              `POST ${origin}${group}/join_connection_group`,
            ],
            `the responder's requests for joining (${where})`,
          );
          const joins = pair.responder.clients.flatMap((c) =>
            c.events.filter(
              (e) => e.type === 'joined' && e.groupId === groupId && e.via === 'external-commit',
            ),
          );
          expectThat(
            joins.length === 1,
            `the responder did not join by external commit (${where})`,
            'one joined event via external-commit',
            pair.responder.clients.map((c) => c.events),
          );
        }
      },
      { numRuns: 2 },
    );
  },
});

// --- CONN-JOIN-06 -------------------------------------------------------------------

export const groupCarriesEveryMessage = defineCheck({
  name: 'after acceptance every client of both users receives a message sent by any other',
  rules: ['CONN-JOIN-06'],
  profiles: PROFILES,
  needs: ['reference-client'],
  async run(ctx) {
    let run = 0;
    const aliases = ctx.instance.profile === 'aliases';
    await checkProperty(
      ctx,
      [
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 1, max: 2 }),
        fc.boolean(),
        fc.boolean(),
      ] as [
        fc.Arbitrary<number>,
        fc.Arbitrary<number>,
        fc.Arbitrary<boolean>,
        fc.Arbitrary<boolean>,
      ],
      async (initiatorDevices, responderDevices, sameServer, byAlias) => {
        const label = `join6-${run++}`;
        const pair = await makePair(ctx, label, {
          sameServer,
          initiatorDevices,
          responderDevices: aliases ? 1 : responderDevices,
        });
        const alias = aliases && byAlias ? aliasName(ctx, label) : undefined;
        const groupId = await connectTo(pair, alias);
        await settlePair(pair);
        const everyone = [...pair.initiator.clients, ...pair.responder.clients];
        const name = (i: number) => {
          const c = everyone[i];
          return c === undefined ? '' : `${c.clientId.user_id}/${c.clientId.client}`;
        };
        for (const [i, c] of everyone.entries()) await c.send(groupId, `hello from ${name(i)}`);
        await settlePair(pair);
        const where = `${across(sameServer)}, ${pair.initiator.clients.length} + ${pair.responder.clients.length} devices${alias === undefined ? '' : ', by alias'}`;
        for (const [i, c] of everyone.entries()) {
          expectEqual(
            [...c.received(groupId)].sort(),
            everyone.flatMap((_, j) => (j === i ? [] : [`hello from ${name(j)}`])).sort(),
            `messages ${name(i)} received in the connection group (${where})`,
          );
        }
      },
      { numRuns: 3 },
    );
  },
});

// --- CONN-JOIN-07 -------------------------------------------------------------------

type Joiner = 'unpublished-domain' | 'broken-signature' | 'replayed-info' | 'garbage' | Narrowing;
const JOINERS: readonly Joiner[] = [
  'unpublished-domain',
  'broken-signature',
  'replayed-info',
  'garbage',
  // A leaf binding the joiner's own key signed over the wrong fields (narrowing.ts).
  ...narrowingsOf(['leaf_signature_key']),
];

export const initiatorAuthenticatesJoiner = defineCheck({
  name: 'the initiator takes a joiner as its connection only when the joiner’s credential verifies for its leaf',
  rules: ['CONN-JOIN-07'],
  profiles: PROFILES,
  needs: ['reference-client', 'impostor'],
  async run(ctx) {
    let published: AsCredentialsResponse = {
      as_credentials: [],
      as_intermediate_credentials: [],
      revoked_fingerprints: [],
    };
    const domain = await hostNamed(ctx, FORGED_DOMAIN, (request) =>
      Promise.resolve(
        new URL(request.url).pathname === `${AS}/credentials`
          ? Response.json(published)
          : Response.json({ errcode: 'M_NOT_FOUND', error: 'not served' }, { status: 404 }),
      ),
    );
    const rng = rngFor(ctx, 'join-07');
    const server = serverAt(ctx, 0);
    let run = 0;

    /** A fresh connection group of a fresh initiator; a third party that knows its keys joins it. */
    // An initiator with two clients (both must authenticate the joiner) and a responder
    // that never gets to accept: every attempt is a fresh connection group between them.
    const users = async (servers: string[], devices: number, label: string) =>
      (
        await populate(ctx.instance.env(`join-07 ${label}`), {
          servers,
          usersPerServer: 1,
          devicesPerUser: devices,
          profile: ctx.instance.profile,
          userPrefix: `${ctx.instance.namespace}join7-${label}`,
        })
      ).users[0];
    const initiator = await users([server.serverName], 2, 'i');
    const responder = await users([serverAt(ctx, 1).serverName], 1, 'r');
    if (initiator === undefined || responder === undefined) throw new Error('no users');

    const attempt = async (kind: Joiner | 'valid') => {
      const r = fork(rng, `attempt ${run++}`);
      const groupId = await initiator.primary.connect({ userId: responder.userId });
      const entry = initiator.primary.groups.get(groupId);
      if (entry === undefined) throw new Error(`the initiator holds no group ${groupId}`);
      // The initiator's other clients join by Welcome first; the responder never gets to accept.
      for (const c of initiator.clients.slice(1)) await c.processQueues();
      const url = `${server.origin}${DS}/groups/${groupId}`;
      const ear = encodeUnpaddedBase64(entry.earKey);
      const info = await send(ctx, `${url}/external_commit_info`, { body: { ear_key: ear } });
      expectOk(info, `the third party fetching external commit info of ${groupId}`);
      const body = info.body as {
        group_info: string;
        ratchet_tree: string;
        credential_infos: string[];
      };
      const groupInfo = decodeGroupInfo(bytes(body.group_info));
      const tree = decodeRatchetTree(bytes(body.ratchet_tree));
      if (!groupInfo.ok || !tree.ok) throw new Error('the DS serves undecodable group state');
      const joiner = await memberFrom(r, 'third party');
      const join = await joinByExternalCommit(groupInfo.value, tree.value, joiner);
      if (!join.ok) throw new Error(`cannot build the third party's join: ${join.error.detail}`);
      const credentialInfo = await thirdPartyInfo(kind, {
        rng: r,
        now: ctx.instance.clock.now(),
        domain,
        leaf: joiner.signaturePublicKey,
        credentialKey: entry.credentialKey,
        ownInfo: body.credential_infos[0] ?? '',
        publish: (p) => {
          published = p;
        },
      });
      const next = await exportGroupInfo(join.value.group);
      const joined = await send(ctx, `${url}/join_connection_group`, {
        body: {
          ear_key: ear,
          commit: encodeUnpaddedBase64(encodeMessage(join.value.commit)),
          group_info: encodeUnpaddedBase64(encodeGroupInfo(next.groupInfo)),
          ratchet_tree: encodeUnpaddedBase64(encodeRatchetTree(next.ratchetTree)),
          credential_info: credentialInfo,
          queue: await createQueue(ctx, server, fork(r, 'queue')),
        },
      });
      expectOk(joined, `the third party's join (${kind}) into ${groupId}`);
      const before = initiator.clients.map((c) => c.groups.get(groupId)?.memberUsers);
      for (const c of initiator.clients) await c.processQueues();
      const after = initiator.clients.map((c) => c.groups.get(groupId)?.memberUsers);
      return { groupId, before, after };
    };

    // Control: a joiner whose credential verifies is taken as the connection's other user.
    const control = await attempt('valid');
    expectEqual(
      control.after,
      control.before.map((users) => [...(users ?? []), forgedUser(domain)]),
      `control: the users the initiator sees in its group after ${forgedUser(domain)} joined with a valid credential`,
    );
    for (const kind of JOINERS) {
      const { groupId, before, after } = await attempt(kind);
      expectEqual(
        after,
        before,
        `the users the initiator's clients see in group ${groupId} after a third party joined (${kind})`,
      );
      const rejected = initiator.primary.events.filter(
        (e) => e.type === 'member-rejected' && e.groupId === groupId,
      );
      expectThat(
        rejected.length >= 1,
        `the initiator did not reject the third party's credential (${kind})`,
        'a member-rejected event',
        initiator.primary.events,
      );
    }
    ctx.iterations(JOINERS.length + 1);
  },
});

function bytes(text: string): Uint8Array {
  const decoded = decodeBase64(text);
  if (!decoded.ok) throw new Error('not base64');
  return decoded.value;
}

/** The sealed CredentialInfo the third party joins with. */
async function thirdPartyInfo(
  kind: Joiner | 'valid',
  input: {
    readonly rng: ReturnType<typeof rngFor>;
    readonly now: number;
    /** The forged domain the third party's chain is of. */
    readonly domain: string;
    readonly leaf: Uint8Array;
    readonly credentialKey: Uint8Array;
    /** The initiator's own CredentialInfo, as the DS serves it. */
    readonly ownInfo: string;
    publish(p: AsCredentialsResponse): void;
  },
): Promise<string> {
  const seal = (info: Parameters<typeof sealCredentialInfo>[1]) =>
    sealCredentialInfo(input.credentialKey, info, fork(input.rng, 'seal'));
  switch (kind) {
    case 'garbage':
      return encodeUnpaddedBase64(fork(input.rng, 'garbage').bytes(96));
    case 'replayed-info': {
      // Someone else's valid CredentialInfo, bound to another leaf than the joiner's.
      const opened = openCredentialInfo(input.credentialKey, input.ownInfo);
      if (!opened.ok) throw new Error('the initiator’s own CredentialInfo does not open');
      return seal(opened.value);
    }
    case 'valid':
    case 'unpublished-domain':
    case 'broken-signature':
    case 'extra':
    default: {
      const f = await forgeChain(fork(input.rng, 'chain'), input.now, input.domain);
      const other = await forgeChain(fork(input.rng, 'other chain'), input.now, input.domain);
      // An unpublished domain: the AS publishes another chain than the joiner's.
      input.publish(kind === 'unpublished-domain' ? other.published : f.published);
      const credential =
        kind === 'broken-signature'
          ? { ...f.client, signature: flipped(f.client.signature, 9) }
          : f.client;
      const info = await createCredentialInfo({
        clientKey: f.keys.client,
        clientCredential: credential,
        leafSignatureKey: input.leaf,
      });
      if (kind === 'valid' || kind === 'unpublished-domain' || kind === 'broken-signature')
        return seal(info);
      const binding = await signWithLabel(
        f.keys.client,
        'LeafBinding',
        narrowed({ leaf_signature_key: info.leaf_signature_key }, kind),
      );
      return seal({ ...info, binding: encodeUnpaddedBase64(binding) });
    }
  }
}

export const JOIN_CLIENT_CHECKS = [
  joinAtInitiatorsDs,
  groupCarriesEveryMessage,
  initiatorAuthenticatesJoiner,
];
