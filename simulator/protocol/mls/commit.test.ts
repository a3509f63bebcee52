import { beforeAll, describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { acceptAll, emptyPskIndex, processMessage } from 'ts-mls';
import { unwrap } from '../result.ts';
import { processCommit } from './commit.ts';
import { joinByExternalCommit } from './external-join.ts';
import { createConnectionGroup, epochOf, exportGroupInfo } from './group.ts';
import { encryptMessage } from './message.ts';
import { createMember } from './member.ts';
import {
  asPublicMessage,
  connectionFixture,
  flipByte,
  publicCommit,
  text,
  type ConnectionFixture,
} from './test-fixture.ts';
import { decodeMessage, encodeMessage } from './wire.ts';

let f: ConnectionFixture;
beforeAll(async () => {
  f = await connectionFixture();
});

describe('processCommit', () => {
  it('rejects a second external join on the same epoch once the first is in: stale-epoch', async () => {
    // Two clients of the responder (or two users) raced on the epoch-0 GroupInfo;
    // the DS ordered bob1's commit first, so carol's is for a past epoch.
    const carol = await createMember(text('carol/1'));
    const { groupInfo, ratchetTree } = f.exported0;
    const late = unwrap(await joinByExternalCommit(groupInfo, ratchetTree, carol));
    const result = await processCommit(f.alice1, late.commit);
    expect(result.ok ? 'ok' : result.error.kind).toBe('stale-epoch');
    // Had it arrived first, it would have been accepted.
    expect(epochOf(unwrap(await processCommit(f.alice0, late.commit)))).toBe(1n);
  });

  it('rejects a commit for an epoch not reached yet: future-epoch', async () => {
    const result = await processCommit(f.alice0, f.added.commit);
    expect(result.ok ? 'ok' : result.error.kind).toBe('future-epoch');
  });

  it("rejects another group's commit: wrong-group", async () => {
    const dave = await createMember(text('dave/1'));
    const other = await createConnectionGroup(text('another-group'), dave);
    const { groupInfo, ratchetTree } = await exportGroupInfo(other);
    const join = unwrap(await joinByExternalCommit(groupInfo, ratchetTree, f.bob1));
    const result = await processCommit(f.alice0, join.commit);
    expect(result.ok ? 'ok' : result.error.kind).toBe('wrong-group');
  });

  it('rejects what is not a commit: not-a-commit', async () => {
    const sent = unwrap(await encryptMessage(f.alice1, text('hi')));
    const app = await processCommit(f.alice1, sent.message);
    expect(app.ok ? 'ok' : app.error.kind).toBe('not-a-commit');
    const welcome = await processCommit(f.alice1, {
      version: 'mls10',
      wireformat: 'mls_welcome',
      welcome: f.added.welcome,
    });
    expect(welcome.ok ? 'ok' : welcome.error.kind).toBe('not-a-commit');
  });

  it('rejects a bad FramedContent signature: invalid-signature', async () => {
    const { message, auth } = publicCommit(f.join.commit);
    const forged = asPublicMessage({
      ...message,
      auth: { ...auth, signature: flipByte(auth.signature, 3) },
    });
    const result = await processCommit(f.alice0, forged);
    expect(result.ok ? 'ok' : result.error.kind).toBe('invalid-signature');
  });

  it('rejects a bad confirmation tag: invalid-confirmation-tag', async () => {
    // The signature covers the content, not the tag, so only the key schedule catches it.
    const { message, auth } = publicCommit(f.join.commit);
    const forged = asPublicMessage({
      ...message,
      auth: { ...auth, confirmationTag: flipByte(auth.confirmationTag) },
    });
    const result = await processCommit(f.alice0, forged);
    expect(result.ok ? 'ok' : result.error.kind).toBe('invalid-confirmation-tag');
  });

  it('rejects a member commit with a bad membership tag: invalid-membership-tag', async () => {
    const { message } = publicCommit(f.added.commit);
    if (message.senderType !== 'member') throw new Error('expected a member commit');
    const forged = asPublicMessage({ ...message, membershipTag: flipByte(message.membershipTag) });
    const result = await processCommit(f.alice1, forged);
    expect(result.ok ? 'ok' : result.error.kind).toBe('invalid-membership-tag');
  });

  it('rejects a validly signed but invalid commit: invalid-commit', async () => {
    // Alice "joins" her own group with her own signature key: the commit is
    // authentic, but a tree may not hold one signature key twice (RFC 9420 §7.9).
    const { groupInfo, ratchetTree } = f.exported0;
    const twin = unwrap(await joinByExternalCommit(groupInfo, ratchetTree, f.alice));
    const result = await processCommit(f.alice0, twin.commit);
    expect(result.ok ? 'ok' : result.error.kind).toBe('invalid-commit');
    // ts-mls 1.6.4 on its own accepts it: the reason for uniqueness.ts. If this
    // starts failing, ts-mls enforces RFC 9420 §7.3 itself.
    const { commit } = twin;
    if (commit.wireformat !== 'mls_public_message') throw new Error('not a PublicMessage');
    const raw = await processMessage(commit, f.alice0.state, emptyPskIndex, acceptAll, f.alice0.cs);
    expect(raw.newState.groupContext.epoch).toBe(1n);
  });

  it('leaves the input state untouched (the same commit applies twice)', async () => {
    const a = unwrap(await processCommit(f.alice0, f.join.commit));
    const b = unwrap(await processCommit(f.alice0, f.join.commit));
    expect(a.state.groupContext).toEqual(b.state.groupContext);
  });

  // Each run processes one commit (about 5-20 ms of MLS work), so the budget is
  // small; positions cover the whole encoding across runs and seeds.
  test.prop([fc.nat(), fc.integer({ min: 1, max: 255 })], { numRuns: 30 })(
    'a commit with any byte flipped is rejected, never accepted, never thrown',
    async (position, mask) => {
      const bytes = flipByte(encodeMessage(f.join.commit), position, mask);
      const decoded = decodeMessage(bytes);
      if (!decoded.ok) return; // caught at the wire: fine
      const result = await processCommit(f.alice0, decoded.value);
      expect(result.ok).toBe(false);
    },
  );
});
