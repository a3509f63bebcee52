// Every failure kind this layer defines must be produced by some test. The
// catalog below is checked against the unions by the typechecker (a kind added
// or renamed there fails to compile here), and each kind must appear as an
// expected value, `.toBe('kind')`, in the test file of its operation.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type {
  AddClientsFailureKind,
  DecryptFailureKind,
  EncryptFailureKind,
  ExternalJoinCheckFailureKind,
  ExternalJoinFailureKind,
  InspectFailureKind,
  ProcessCommitFailureKind,
  WelcomeFailureKind,
  WireFailureKind,
} from './index.ts';

type Catalog<K extends string> = Record<K, true>;

const catalog = {
  'external-join.test.ts joinByExternalCommit': {
    'wrong-group': true,
    'unsupported-ciphersuite': true,
    'missing-external-pub': true,
    'missing-ratchet-tree': true,
    'invalid-ratchet-tree': true,
    'invalid-group-info-signature': true,
    'invalid-group-info': true,
  } satisfies Catalog<ExternalJoinFailureKind>,
  'inspect.test.ts inspectCommit': {
    'not-a-commit': true,
    encrypted: true,
  } satisfies Catalog<InspectFailureKind>,
  'inspect.test.ts checkConnectionJoin': {
    'not-external-commit': true,
    'forbidden-proposal': true,
    'missing-path': true,
    'unsupported-credential': true,
  } satisfies Catalog<ExternalJoinCheckFailureKind>,
  'commit.test.ts processCommit': {
    'not-a-commit': true,
    'wrong-group': true,
    'stale-epoch': true,
    'future-epoch': true,
    'invalid-membership-tag': true,
    'invalid-signature': true,
    'invalid-confirmation-tag': true,
    'invalid-commit': true,
  } satisfies Catalog<ProcessCommitFailureKind>,
  'welcome.test.ts addClients': {
    'no-key-packages': true,
    'not-active': true,
    'duplicate-member': true,
    'invalid-key-package': true,
  } satisfies Catalog<AddClientsFailureKind>,
  'welcome.test.ts joinByWelcome': {
    'unsupported-ciphersuite': true,
    'not-for-us': true,
    'decryption-failed': true,
    'missing-ratchet-tree': true,
    'invalid-ratchet-tree': true,
    'invalid-group-info-signature': true,
    'invalid-welcome': true,
  } satisfies Catalog<WelcomeFailureKind>,
  'message.test.ts encryptMessage': { 'not-active': true } satisfies Catalog<EncryptFailureKind>,
  'message.test.ts decryptMessage': {
    'not-an-application-message': true,
    'wrong-group': true,
    'stale-epoch': true,
    'future-epoch': true,
    'decryption-failed': true,
    'invalid-signature': true,
    replay: true,
    'invalid-message': true,
  } satisfies Catalog<DecryptFailureKind>,
  'wire.test.ts wire': {
    malformed: true,
    'unexpected-wireformat': true,
  } satisfies Catalog<WireFailureKind>,
};

const folder = new URL('.', import.meta.url);

describe('every failure kind is produced by a test', () => {
  for (const [key, kinds] of Object.entries(catalog)) {
    const [file = '', operation = ''] = key.split(' ');
    const source = readFileSync(new URL(file, folder), 'utf8');
    it.each(Object.keys(kinds))(`${operation}: %s (in ${file})`, (kind) => {
      expect(source).toMatch(new RegExp(`toBe\\(\\s*'${kind}'`));
    });
  }
});
