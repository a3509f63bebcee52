// A device does not verify the CredentialInfo of its own leaf (it holds that leaf's
// private key, so there is nobody to authenticate), but it still refuses an entry for
// its own leaf that names another client: skipping the crypto must not open a way to
// put someone else's name on our leaf.
import { describe, expect, test } from 'vitest';
import type { Middleware } from '../net/transport.ts';
import { encodeUnpaddedBase64 } from '../protocol/encoding/base64.ts';
import { seededRng } from '../protocol/crypto/rng.ts';
import {
  openCredentialInfo,
  sealCredentialInfo,
  type CredentialInfo,
} from '../protocol/packages/credential-info.ts';
import type { ClientCredential } from '../protocol/credentials/credential.ts';
import { createScenario } from '../scenario.ts';

interface Forgery {
  readonly credentialKey: Uint8Array;
  readonly ownLeaf: string;
  readonly otherCredential: ClientCredential;
}

/** Rewrites the QS's answers: the entry for `ownLeaf` names `otherCredential` instead. */
function renameOwnEntry(armed: { forgery?: Forgery }): Middleware {
  return (next) => async (request) => {
    const response = await next(request);
    const forgery = armed.forgery;
    if (forgery === undefined || !new URL(request.url).pathname.includes('/qs/queues/'))
      return response;
    const body = (await response.json()) as {
      messages: { message: { kind: string; credential_infos?: string[] } }[];
    };
    for (const { message } of body.messages) {
      if (message.kind !== 'commit' || message.credential_infos === undefined) continue;
      message.credential_infos = message.credential_infos.map((sealed) => {
        const info = openCredentialInfo(forgery.credentialKey, sealed);
        if (!info.ok || info.value.leaf_signature_key !== forgery.ownLeaf) return sealed;
        const renamed: CredentialInfo = {
          ...info.value,
          client_credential: forgery.otherCredential,
        };
        return sealCredentialInfo(forgery.credentialKey, renamed, seededRng('forgery'));
      });
    }
    return Response.json(body, { status: response.status });
  };
}

describe('a device and the CredentialInfo of its own leaf', () => {
  test.each([
    ['as the DS sent it', false],
    ['renamed to the responder', true],
  ] as const)('own entry %s', async (_, forge) => {
    const armed: { forgery?: Forgery } = {};
    const s = await createScenario({
      seed: 'own credential info',
      homeservers: 1,
      usersPerServer: 2,
      devicesPerUser: 1,
      profile: 'multi-device',
      faults: [renameOwnEntry(armed)],
    });
    const initiator = s.user('@user1:hs1.example').primary;
    const responder = s.user('@user2:hs1.example').primary;
    const groupId = await initiator.connect({ userId: responder.clientId.user_id });
    await responder.processQueues();
    const view = initiator.groups.get(groupId);
    const status = initiator.groupStatus(groupId);
    if (view === undefined || status === undefined) throw new Error('the initiator has no group');
    if (forge)
      armed.forgery = {
        credentialKey: view.credentialKey,
        ownLeaf: encodeUnpaddedBase64(status.ownSignatureKey),
        otherCredential: responder.credential,
      };
    await initiator.processQueues();
    const rejected = initiator.events.filter(
      (e) => e.type === 'member-rejected' && e.groupId === groupId,
    );
    if (forge) {
      expect(rejected.map((e) => (e.type === 'member-rejected' ? e.reason : ''))).toEqual([
        'the credential info for our own leaf names another client',
      ]);
      // The commit is not taken: the initiator stays alone at the epoch before the join.
      expect(initiator.groupStatus(groupId)?.epoch).toBe(status.epoch);
      expect(initiator.groups.get(groupId)?.memberUsers).toEqual(view.memberUsers);
    } else {
      expect(rejected).toEqual([]);
      expect(initiator.groupStatus(groupId)?.epoch).toBe(status.epoch + 1n);
      expect(initiator.groups.get(groupId)?.memberUsers).toEqual([
        initiator.clientId.user_id,
        responder.clientId.user_id,
      ]);
    }
  });
});
