// The reference client as initiator (CONN-CEP and CONN-PKG, CLIENT role): fedconn
// plays the responder with package keys it holds, lets the reference client
// connect, then opens what reached each responder client and reads the group the
// initiator created on its DS. The package checks turn it around: an impostor AS
// serves forged, tampered or stale packages and the initiator must send nothing.
import fc from 'fast-check';
import { fork } from '../../simulator/protocol/crypto/rng.ts';
import { fingerprint } from '../../simulator/protocol/credentials/credential.ts';
import { verifyEstablishmentPackage } from '../../simulator/protocol/packages/establishment-package.ts';
import type { PhoenixDevice } from '../../simulator/clients/phoenix/handle.ts';
import {
  checkProperty,
  defineCheck,
  expectEqual,
  expectThat,
  type CheckContext,
} from '../harness/check.ts';
import {
  cepKeys,
  groupNamedBy,
  heldResponder,
  memberName,
  openWith,
  takeQueued,
  referenceUser,
  type HeldResponder,
} from './initiator-support.ts';
import { AS, expectRefused, fetchCredentials, firstServer, rngFor, send } from './support.ts';
import { encodeUnpaddedBase64 } from '../../simulator/protocol/encoding/base64.ts';
import { DS } from './race-mls.ts';

const BOTH = ['multi-device', 'aliases'] as const;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Connects the initiator to `responder` and opens every message each responder client got. */
async function connectAndOpen(
  ctx: CheckContext,
  initiator: PhoenixDevice,
  responder: HeldResponder,
) {
  const groupId = await initiator.connect({ userId: responder.userId });
  const raw = [];
  const perClient = [];
  for (const held of responder.clients) {
    const messages = await takeQueued(ctx, held);
    raw.push(messages);
    perClient.push(await Promise.all(messages.map((m) => openWith(m, held.packageKeys))));
  }
  return { groupId, perClient, raw };
}

// --- CONN-CEP-01 ----------------------------------------------------------------------

export const packageCarriesAllFieldsSigned = defineCheck({
  name: 'the initiator’s establishment package carries its credential, the group id and both EAR keys, signed over all of them',
  rules: ['CONN-CEP-01'],
  profiles: BOTH,
  needs: ['reference-client'],
  async run(ctx) {
    const server = firstServer(ctx);
    const rng = rngFor(ctx, 'cep01');
    const published = await fetchCredentials(ctx, server);
    const { user } = await referenceUser(ctx, server, 'cep01-i', 1);
    let run = 0;
    await checkProperty(
      ctx,
      [fc.integer({ min: 1, max: 2 })],
      async (devices) => {
        const n = run++;
        const responder = await heldResponder(
          ctx,
          server,
          `cep01-r${n}`,
          devices,
          fork(rng, `${n}`),
          1,
        );
        const { groupId, perClient } = await connectAndOpen(ctx, user.primary, responder);
        const opened = perClient[0] ?? [];
        const first = opened[0];
        expectThat(
          opened.length === 1 && first?.ok === true,
          'the responder client did not receive one establishment package that opens and decodes with every field',
          'one message that opens to a ConnectionEstablishmentPackage',
          opened,
        );
        const cep = first.cep;
        expectEqual(
          fingerprint(cep.sender_client_credential),
          fingerprint(user.primary.credential),
          'the sender_client_credential is the initiating client’s own credential',
        );
        expectEqual(cepKeys(cep).groupId, groupId, 'the connection_group_id names the new group');
        const verified = await verifyEstablishmentPackage({
          cep,
          published,
          now: ctx.instance.clock.now(),
        });
        expectThat(
          verified.ok,
          'the establishment package’s signature does not verify over all of its fields under the sender’s credential',
          'a signature by the sender’s client credential over version, credential, group id and both EAR keys',
          verified.ok ? 'verified' : `${verified.error.kind}: ${verified.error.detail}`,
        );
      },
      { numRuns: 3 },
    );
  },
});

// --- CONN-CEP-03 ----------------------------------------------------------------------

export const onePackagePerResponderClient = defineCheck({
  name: 'the initiator sends one establishment package to each of the responder’s clients, readable by that client alone',
  rules: ['CONN-CEP-03'],
  profiles: ['multi-device'],
  needs: ['reference-client'],
  async run(ctx) {
    const server = firstServer(ctx);
    const rng = rngFor(ctx, 'cep03');
    const { user } = await referenceUser(ctx, server, 'cep03-i', 1);
    let run = 0;
    await checkProperty(
      ctx,
      [fc.integer({ min: 1, max: 5 })],
      async (devices) => {
        const n = run++;
        const responder = await heldResponder(
          ctx,
          server,
          `cep03-r${n}`,
          devices,
          fork(rng, `${n}`),
          1,
        );
        const { groupId, perClient, raw } = await connectAndOpen(ctx, user.primary, responder);
        const counts = perClient.map(
          (opened, i) =>
            `device-${i + 1}: ${opened.filter((o) => o.ok && cepKeys(o.cep).groupId === groupId).length} of ${opened.length}`,
        );
        expectEqual(
          counts,
          perClient.map((_, i) => `device-${i + 1}: 1 of 1`),
          `establishment packages for group ${groupId} that each of ${devices} responder clients received and opened`,
        );
        // Each package opens under its own client's keys only.
        for (const [i, messages] of raw.entries()) {
          for (const [j, other] of responder.clients.entries()) {
            if (i === j) continue;
            for (const m of messages) {
              const cross = await openWith(m, other.packageKeys);
              expectThat(
                !cross.ok,
                `the package queued for device-${i + 1} opens under the package keys of device-${j + 1}`,
                'each package encrypted to its own client’s key',
                'opened',
              );
            }
          }
        }
      },
      { numRuns: 4 },
    );
  },
});

// --- CONN-CEP-06 ----------------------------------------------------------------------

export const freshGroupPerConnection = defineCheck({
  name: 'before sending, the initiator creates a new group on its own DS with a fresh id and fresh EAR keys, and the package names it',
  rules: ['CONN-CEP-06'],
  profiles: BOTH,
  needs: ['reference-client'],
  async run(ctx) {
    const server = firstServer(ctx);
    const { user, log } = await referenceUser(ctx, server, 'cep06-i', 1);
    const responder = await heldResponder(ctx, server, 'cep06-r', 1, rngFor(ctx, 'cep06'), 1);
    // Across every connection of the check, nothing may repeat.
    const seen = { groups: new Set<string>(), ear: new Set<string>(), cred: new Set<string>() };
    const attacker = rngFor(ctx, 'cep06 second creator');
    let total = 0;
    await checkProperty(
      ctx,
      [fc.integer({ min: 1, max: 3 })],
      async (connections) => {
        for (let i = 0; i < connections; i++) {
          const k = total++;
          const mark = log.length;
          const { groupId, perClient } = await connectAndOpen(ctx, user.primary, responder);
          const first = perClient[0]?.[0];
          if (first?.ok !== true)
            throw new Error(`connection ${k}: no package reached the responder`);
          const keys = cepKeys(first.cep);
          const sent = log.slice(mark);
          const created = sent.findIndex(
            (s) =>
              s.method === 'POST' &&
              s.path === `${DS}/groups` &&
              (s.body as { group_id?: string } | undefined)?.group_id === keys.groupId,
          );
          const delivered = sent.findIndex(
            (s) => s.method === 'POST' && s.path.endsWith('/queue') && s.path.startsWith(`${AS}/`),
          );
          expectThat(
            created >= 0 &&
              created < delivered &&
              sent[created]?.host === new URL(server.origin).host,
            `connection ${k + 1}: the group the package names was not created on the initiator’s own DS before the package was sent`,
            `POST ${DS}/groups with group_id ${keys.groupId} to ${server.serverName}, then the delivery`,
            sent.map((s) => `${s.method} ${s.host}${s.path}`),
          );
          expectEqual(
            keys.groupId,
            groupId,
            `connection ${k + 1}: the package names the group created for it`,
          );
          // The DS half: a create names a new group. Someone else creating the package's
          // group id again (another EAR key, another queue) is refused, and the group stays
          // the initiator's.
          const creation = sent[created].body as Record<string, unknown>;
          const again = await send(ctx, `${server.origin}${DS}/groups`, {
            body: {
              ...creation,
              ear_key: encodeUnpaddedBase64(attacker.bytes(32)),
              queue: { server: server.serverName, queue_id: `q-${hex(attacker.bytes(8))}` },
            },
          });
          expectRefused(
            again,
            `connection ${k + 1}: creating the package's group id a second time`,
          );
          const group = await groupNamedBy(ctx, first.cep);
          expectEqual(
            [...new Set(group.members.map((m) => (typeof m === 'string' ? m : m.user_id)))],
            [user.userId],
            `connection ${k + 1}: the users of the group on the initiator’s DS, read with the package’s keys`,
          );
          const fresh = [
            ['group id', seen.groups, keys.groupId],
            ['group state EAR key', seen.ear, hex(keys.earKey)],
            ['credential EAR key', seen.cred, hex(keys.credentialKey)],
          ] as const;
          for (const [what, set, value] of fresh) {
            expectThat(
              !set.has(value),
              `connection ${k + 1} reuses the ${what} of an earlier connection`,
              `a freshly sampled ${what}`,
              value,
            );
            set.add(value);
          }
        }
      },
      { numRuns: 3 },
    );
  },
});

// --- CONN-CEP-07 ----------------------------------------------------------------------

export const groupHoldsAllInitiatorClients = defineCheck({
  name: 'the connection group the initiator creates holds all of the initiator’s clients before acceptance',
  rules: ['CONN-CEP-07'],
  profiles: ['multi-device'],
  needs: ['reference-client'],
  async run(ctx) {
    const server = firstServer(ctx);
    const rng = rngFor(ctx, 'cep07');
    let run = 0;
    await checkProperty(
      ctx,
      [fc.integer({ min: 1, max: 5 })],
      async (devices) => {
        const n = run++;
        const { user } = await referenceUser(ctx, server, `cep07-i${n}`, devices);
        const responder = await heldResponder(ctx, server, `cep07-r${n}`, 1, fork(rng, `${n}`), 1);
        const { perClient } = await connectAndOpen(ctx, user.primary, responder);
        const first = perClient[0]?.[0];
        if (first?.ok !== true) throw new Error('no establishment package reached the responder');
        const group = await groupNamedBy(ctx, first.cep);
        expectEqual(
          { leaves: group.leaves, members: group.members.map(memberName).sort() },
          {
            leaves: devices,
            members: user.clients.map((c) => `${c.clientId.user_id}/${c.clientId.client}`).sort(),
          },
          `the connection group on the DS before acceptance (initiator with ${devices} clients)`,
        );
      },
      { numRuns: 3 },
    );
  },
});
