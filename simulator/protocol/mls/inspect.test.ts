import { beforeAll, describe, expect, it } from 'vitest';
import { createCommit, type Proposal } from 'ts-mls';
import { unwrap } from '../result.ts';
import { checkConnectionJoin, inspectCommit, type CommitInspection } from './inspect.ts';
import { encryptMessage } from './message.ts';
import {
  asPublicMessage,
  connectionFixture,
  publicCommit,
  text,
  type ConnectionFixture,
} from './test-fixture.ts';

let f: ConnectionFixture;
let joinInspection: CommitInspection;
beforeAll(async () => {
  f = await connectionFixture();
  joinInspection = unwrap(inspectCommit(f.join.commit));
});

/** The join commit with its proposal list replaced (the signature no longer matters here). */
function joinWithProposals(proposals: (p: Proposal[]) => Proposal[]): CommitInspection {
  const { message, content } = publicCommit(f.join.commit);
  const original = content.commit.proposals.flatMap((p) =>
    p.proposalOrRefType === 'proposal' ? [p.proposal] : [],
  );
  const commit = {
    ...content.commit,
    proposals: proposals(original).map((proposal) => ({
      proposalOrRefType: 'proposal' as const,
      proposal,
    })),
  };
  return unwrap(inspectCommit(asPublicMessage({ ...message, content: { ...content, commit } })));
}

describe('inspectCommit', () => {
  it('reports an external join: sender, proposals, joiner identity, epoch', () => {
    expect(joinInspection.isExternal).toBe(true);
    expect(joinInspection.sender).toEqual({ type: 'new_member_commit' });
    expect(joinInspection.proposals).toEqual([{ type: 'external_init' }]);
    expect(joinInspection.committerLeaf?.identity).toEqual(text('bob/1'));
    expect(joinInspection.committerLeaf?.signaturePublicKey).toEqual(f.bob1.signaturePublicKey);
    expect(joinInspection.epoch).toBe(0n);
    expect(joinInspection.groupId).toEqual(f.alice0.state.groupContext.groupId);
  });

  it('reports a member commit adding clients, with their identities', () => {
    const inspection = unwrap(inspectCommit(f.added.commit));
    expect(inspection.isExternal).toBe(false);
    expect(inspection.sender).toEqual({ type: 'member', leafIndex: 1 });
    expect(inspection.epoch).toBe(1n);
    expect(inspection.proposals).toEqual([
      { type: 'add', identity: text('bob/2') },
      { type: 'add', identity: text('bob/3') },
    ]);
  });

  it('reports every proposal type it finds', () => {
    const kp = f.kp2.publicPackage;
    const inspection = joinWithProposals((p) => [
      ...p,
      { proposalType: 'add', add: { keyPackage: kp } },
      { proposalType: 'remove', remove: { removed: 0 } },
      {
        proposalType: 'update',
        update: { leafNode: { ...kp.leafNode, leafNodeSource: 'update' } },
      },
      { proposalType: 'group_context_extensions', groupContextExtensions: { extensions: [] } },
      { proposalType: 0xf0f0, proposalData: text('custom') },
    ]);
    expect(inspection.proposals.map((p) => p.type)).toEqual([
      'external_init',
      'add',
      'remove',
      'update',
      'group_context_extensions',
      'custom',
    ]);
  });

  it('refuses what is not a commit: not-a-commit', async () => {
    const sent = unwrap(await encryptMessage(f.alice1, text('hi')));
    const app = inspectCommit(sent.message);
    expect(app.ok ? 'ok' : app.error.kind).toBe('not-a-commit');
    const welcome = inspectCommit({
      version: 'mls10',
      wireformat: 'mls_welcome',
      welcome: f.added.welcome,
    });
    expect(welcome.ok ? 'ok' : welcome.error.kind).toBe('not-a-commit');
  });

  it('cannot see into a PrivateMessage commit: encrypted', async () => {
    const { commit } = await createCommit({ state: f.alice1.state, cipherSuite: f.alice1.cs });
    const result = inspectCommit(commit);
    expect(result.ok ? 'ok' : result.error.kind).toBe('encrypted');
  });
});

describe('checkConnectionJoin', () => {
  it('accepts the external join and names the joiner', () => {
    const join = unwrap(checkConnectionJoin(joinInspection));
    expect(join.joinerIdentity).toEqual(text('bob/1'));
    expect(join.joinerSignaturePublicKey).toEqual(f.bob1.signaturePublicKey);
  });

  it('refuses a member commit: not-external-commit', () => {
    const result = checkConnectionJoin(unwrap(inspectCommit(f.added.commit)));
    expect(result.ok ? 'ok' : result.error.kind).toBe('not-external-commit');
  });

  it.each<[string, (p: Proposal[]) => Proposal[]]>([
    [
      'an Add of another client',
      (p) => [...p, { proposalType: 'add', add: { keyPackage: f.kp2.publicPackage } }],
    ],
    [
      'a Remove of the initiator',
      (p) => [...p, { proposalType: 'remove', remove: { removed: 0 } }],
    ],
    ['a second ExternalInit', (p) => [...p, ...p]],
    ['no ExternalInit at all', () => []],
  ])('refuses %s: forbidden-proposal', (_, edit) => {
    const result = checkConnectionJoin(joinWithProposals(edit));
    expect(result.ok ? 'ok' : result.error.kind).toBe('forbidden-proposal');
  });

  it('allows a PreSharedKey proposal only when asked to', () => {
    const withPsk = joinWithProposals((p) => [
      ...p,
      {
        proposalType: 'psk',
        psk: {
          preSharedKeyId: {
            psktype: 'external',
            pskId: text('offer'),
            pskNonce: new Uint8Array(32),
          },
        },
      },
    ]);
    expect(checkConnectionJoin(withPsk).ok).toBe(false);
    expect(checkConnectionJoin(withPsk, { allowPsk: true }).ok).toBe(true);
  });

  it('refuses an external commit without UpdatePath: missing-path', () => {
    const { message, content } = publicCommit(f.join.commit);
    const pathless = { ...content, commit: { ...content.commit, path: undefined } };
    const result = checkConnectionJoin(
      unwrap(inspectCommit(asPublicMessage({ ...message, content: pathless }))),
    );
    expect(result.ok ? 'ok' : result.error.kind).toBe('missing-path');
  });

  it('refuses a joiner without BasicCredential: unsupported-credential', () => {
    const { message, content } = publicCommit(f.join.commit);
    const path = content.commit.path;
    if (path === undefined) throw new Error('join commit without path');
    const x509 = {
      ...path,
      leafNode: {
        ...path.leafNode,
        credential: { credentialType: 'x509' as const, certificates: [] },
      },
    };
    const inspection = unwrap(
      inspectCommit(
        asPublicMessage({
          ...message,
          content: { ...content, commit: { ...content.commit, path: x509 } },
        }),
      ),
    );
    const result = checkConnectionJoin(inspection);
    expect(result.ok ? 'ok' : result.error.kind).toBe('unsupported-credential');
  });
});
