import { beforeAll, describe, expect, it } from 'vitest';
import { createCommit, type MLSMessage } from 'ts-mls';
import { unwrap } from '../result.ts';
import { processCommit } from './commit.ts';
import { joinByExternalCommit } from './external-join.ts';
import { createConnectionGroup, exportGroupInfo, type ConnectionGroup } from './group.ts';
import { createMember } from './member.ts';
import { decryptMessage, encryptMessage } from './message.ts';
import { connectionFixture, flipByte, text, type ConnectionFixture } from './test-fixture.ts';

let f: ConnectionFixture;
beforeAll(async () => {
  f = await connectionFixture();
});

const kindOf = (r: { ok: boolean; error?: { kind: string } }): string => r.error?.kind ?? 'ok';

async function send(group: ConnectionGroup, body: string): Promise<MLSMessage> {
  return unwrap(await encryptMessage(group, text(body))).message;
}

function withCiphertext(message: MLSMessage, edit: (c: Uint8Array) => Uint8Array): MLSMessage {
  if (message.wireformat !== 'mls_private_message') throw new Error('not a PrivateMessage');
  const pm = message.privateMessage;
  return { ...message, privateMessage: { ...pm, ciphertext: edit(pm.ciphertext) } };
}

describe('encryptMessage / decryptMessage', () => {
  it('round-trips, and a message from a retained past epoch still decrypts', async () => {
    const inEpoch1 = await send(f.alice1, 'epoch one');
    // bob1 has moved to epoch 2 but keeps epoch 1's receiver keys for a while.
    expect(unwrap(await decryptMessage(f.bob1Group2, inEpoch1)).plaintext).toEqual(
      text('epoch one'),
    );
  });

  it('refuses a replayed message: replay', async () => {
    const message = await send(f.alice2, 'once');
    const first = unwrap(await decryptMessage(f.bob2Group2, message));
    expect(kindOf(await decryptMessage(first.group, message))).toBe('replay');
  });

  it('refuses a tampered ciphertext: decryption-failed', async () => {
    const message = withCiphertext(await send(f.alice2, 'x'), (c) => flipByte(c, 20));
    expect(kindOf(await decryptMessage(f.bob2Group2, message))).toBe('decryption-failed');
  });

  it('refuses a message from a member who signs with a key not in its leaf: invalid-signature', async () => {
    const mallory = await createMember(text('mallory'));
    const impostor: ConnectionGroup = {
      ...f.alice2,
      state: { ...f.alice2.state, signaturePrivateKey: mallory.signaturePrivateKey },
    };
    expect(kindOf(await decryptMessage(f.bob2Group2, await send(impostor, 'x')))).toBe(
      'invalid-signature',
    );
  });

  it('refuses a message from an epoch the receiver never had: stale-epoch', async () => {
    // bob2 joined at epoch 2, so it never held epoch 1's keys.
    const inEpoch1 = await send(f.alice1, 'before you came');
    expect(kindOf(await decryptMessage(f.bob2Group2, inEpoch1))).toBe('stale-epoch');
  });

  it('refuses a message from an epoch the receiver has not reached: future-epoch', async () => {
    expect(kindOf(await decryptMessage(f.alice1, await send(f.bob2Group2, 'x')))).toBe(
      'future-epoch',
    );
  });

  it("refuses another group's message: wrong-group", async () => {
    const dave = await createMember(text('dave/1'));
    const other = await createConnectionGroup(text('other-group'), dave);
    const { groupInfo, ratchetTree } = await exportGroupInfo(other);
    const carol = unwrap(await joinByExternalCommit(groupInfo, ratchetTree, f.bob1));
    const dave1 = unwrap(await processCommit(other, carol.commit));
    expect(kindOf(await decryptMessage(f.alice1, await send(dave1, 'x')))).toBe('wrong-group');
  });

  it('refuses commits and other non-application messages: not-an-application-message', async () => {
    expect(kindOf(await decryptMessage(f.alice1, f.added.commit))).toBe(
      'not-an-application-message',
    );
  });

  it('refuses a generation far ahead of the ratchet: invalid-message', async () => {
    // ts-mls ratchets forward at most 200 generations (defaultKeyRetentionConfig).
    let sender = f.alice2;
    let last: MLSMessage | undefined;
    for (let i = 0; i < 202; i++) {
      const sent = unwrap(await encryptMessage(sender, text(`${i}`)));
      sender = sent.group;
      last = sent.message;
    }
    if (last === undefined) throw new Error('nothing sent');
    expect(kindOf(await decryptMessage(f.bob2Group2, last))).toBe('invalid-message');
  });

  it('refuses to send once removed: not-active', async () => {
    const removal = await createCommit(
      { state: f.alice2.state, cipherSuite: f.alice2.cs },
      {
        extraProposals: [{ proposalType: 'remove', remove: { removed: 2 } }],
        wireAsPublicMessage: true,
      },
    );
    const removed = unwrap(await processCommit(f.bob2Group2, removal.commit));
    expect(kindOf(await encryptMessage(removed, text('still here?')))).toBe('not-active');
  });
});
