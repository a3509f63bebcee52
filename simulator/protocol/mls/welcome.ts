// Adding clients by Welcome (RFC 9420 §12.4.3.1): once the responder's client
// has joined, it commits Add proposals for the user's other clients; the Commit
// goes to the group, the Welcome to the new clients.

import {
  createCommit,
  joinGroup,
  makePskIndex,
  type KeyPackage,
  type MLSMessage,
  type Proposal,
  type RatchetTree,
  type Welcome,
} from 'ts-mls';
import {
  CryptoError,
  CryptoVerificationError,
  UsageError,
  ValidationError,
} from 'ts-mls/mlsError.js';
import { fail, ok, type Failure, type Result } from '../result.ts';
import { CIPHERSUITE } from './ciphersuite.ts';
import { attempt, type ErrorRule } from './failure.ts';
import type { ConnectionGroup } from './group.ts';
import type { KeyPackageBundle } from './member.ts';
import { findDuplicateKey } from './uniqueness.ts';
import { meter } from '../crypto/meter.ts';

export type AddClientsFailureKind =
  /** Nothing to add; an empty commit would only burn an epoch. */
  | 'no-key-packages'
  /** This member was removed from the group and can no longer commit. */
  | 'not-active'
  /** A KeyPackage's client is already a member, or two KeyPackages share keys. */
  | 'duplicate-member'
  /** A KeyPackage is invalid: bad signature, wrong ciphersuite, expired lifetime... */
  | 'invalid-key-package';

export interface AddedClients {
  /** The Commit (a PublicMessage, so the DS can follow membership) for the group. */
  readonly commit: MLSMessage;
  /** One Welcome for all added clients. */
  readonly welcome: Welcome;
  readonly group: ConnectionGroup;
}

const ADD_RULES: readonly ErrorRule<AddClientsFailureKind>[] = [
  {
    kind: 'duplicate-member',
    error: ValidationError,
    message: /not unique|already in the group|same client/,
  },
];

/**
 * Commits an Add for each KeyPackage and returns the Commit and the Welcome.
 * With `includeRatchetTree` the Welcome's GroupInfo carries the tree; otherwise
 * the new clients need it from elsewhere (the DS).
 */
export async function addClients(
  group: ConnectionGroup,
  keyPackages: readonly KeyPackage[],
  options: { readonly includeRatchetTree?: boolean; readonly authenticatedData?: Uint8Array } = {},
): Promise<Result<AddedClients, Failure<AddClientsFailureKind>>> {
  meter.count('mls.addClients');
  if (keyPackages.length === 0) return fail('no-key-packages', 'no KeyPackage to add');
  const active = group.state.groupActiveState.kind;
  if (active !== 'active') return fail('not-active', `group state is ${active}`);
  const proposals: Proposal[] = keyPackages.map((keyPackage) => ({
    proposalType: 'add',
    add: { keyPackage },
  }));
  const committed = await attempt(
    () =>
      createCommit(
        { state: group.state, cipherSuite: group.cs },
        {
          extraProposals: proposals,
          wireAsPublicMessage: true,
          ratchetTreeExtension: options.includeRatchetTree === true,
          ...(options.authenticatedData === undefined
            ? {}
            : { authenticatedData: options.authenticatedData }),
        },
      ),
    ADD_RULES,
    'invalid-key-package',
  );
  if (!committed.ok) return committed;
  const { commit, welcome, newState } = committed.value;
  if (welcome === undefined) throw new Error('ts-mls made no Welcome for a commit with Adds');
  const duplicate = findDuplicateKey(newState.ratchetTree);
  if (duplicate !== undefined) return fail('duplicate-member', `RFC 9420 §7.3: ${duplicate}`);
  return ok({ commit, welcome, group: { state: newState, cs: group.cs } });
}

export type WelcomeFailureKind =
  /** The Welcome uses a ciphersuite other than CIPHERSUITE. */
  | 'unsupported-ciphersuite'
  /** The Welcome has no EncryptedGroupSecrets for this KeyPackage. */
  | 'not-for-us'
  /** The group secrets or the GroupInfo do not decrypt (wrong key, tampered ciphertext). */
  | 'decryption-failed'
  /** No ratchet tree was given and the GroupInfo has no ratchet_tree extension. */
  | 'missing-ratchet-tree'
  /** The tree fails validation against the GroupInfo (tree hash, signatures...). */
  | 'invalid-ratchet-tree'
  /** The GroupInfo is not signed by the leaf the tree puts at its signer index. */
  | 'invalid-group-info-signature'
  /** Anything else: undecodable secrets, bad confirmation tag, own leaf absent... */
  | 'invalid-welcome';

const WELCOME_RULES: readonly ErrorRule<WelcomeFailureKind>[] = [
  { kind: 'not-for-us', error: ValidationError, message: /No matching secret/ },
  { kind: 'decryption-failed', error: CryptoError },
  { kind: 'missing-ratchet-tree', error: UsageError, message: /No RatchetTree/ },
  { kind: 'invalid-group-info-signature', error: CryptoVerificationError, message: /groupInfo/i },
  // Checks made by validateRatchetTree.
  {
    kind: 'invalid-ratchet-tree',
    message:
      /tree hash|parent hash|structurally sound|not unique|unmerged|intermediate node|leaf node signature|signer leafNode|non blank leaf/i,
  },
];

/**
 * Joins by Welcome with the KeyPackage the Welcome was made for; `ratchetTree`
 * is needed unless the Welcome's GroupInfo carries the tree.
 */
export async function joinByWelcome(
  welcome: Welcome,
  keyPackage: KeyPackageBundle,
  ratchetTree?: RatchetTree,
): Promise<Result<ConnectionGroup, Failure<WelcomeFailureKind>>> {
  meter.count('mls.joinByWelcome');
  if (welcome.cipherSuite !== CIPHERSUITE) {
    return fail('unsupported-ciphersuite', `Welcome uses ${welcome.cipherSuite}`);
  }
  const { cs } = keyPackage.owner;
  const joined = await attempt(
    () =>
      joinGroup(
        welcome,
        keyPackage.publicPackage,
        keyPackage.privatePackage,
        makePskIndex(undefined, {}),
        cs,
        ratchetTree,
      ),
    WELCOME_RULES,
    'invalid-welcome',
  );
  if (!joined.ok) return joined;
  return ok({ state: joined.value, cs });
}
