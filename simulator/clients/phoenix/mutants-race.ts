// Named mutants of the reference client in the race between a responder's
// devices (CONN-RACE): each one deliberately breaks one rule of how a device
// handles an establishment package that other devices of its user also got, so
// the suite can prove that its check for that rule fails
// (suites/connection/race*.ts). A client runs a mutant when its environment
// lists the name. Names are `<rule id>/<what breaks>`.
import type { Rng } from '../../protocol/crypto/rng.ts';
import { fork } from '../../protocol/crypto/rng.ts';
import { encodeUnpaddedBase64, encodeUnpaddedBase64Url } from '../../protocol/encoding/base64.ts';
import { createConnectionGroup, createMember, exportGroupInfo } from '../../protocol/mls/index.ts';
import { encodeGroupInfo, encodeRatchetTree } from '../../protocol/mls/wire.ts';
import type { QueueRef } from '../../services/qs/queues.ts';
import { call, type ClientEnv } from './env.ts';

export const RACE_CLIENT_MUTANTS = {
  /** Verify and join at once, without first looking at the QS queue. */
  skipQueueCheck: 'CONN-RACE-01/skip-queue-check',
  /** Look at the queue but ignore a WelcomeBundle for the package's group: join by external commit anyway. */
  ignoreWelcomeBundle: 'CONN-RACE-02/ignore-welcome-bundle',
  /** The accepting client adds none of its user's other clients. */
  addNoSiblings: 'CONN-RACE-03/add-no-siblings',
  /** The accepting client adds only the first of its user's other clients. */
  addOnlyOneSibling: 'CONN-RACE-03/add-only-one-sibling',
  /** A failed join is tried again (twice more) before anything else. */
  retryJoin: 'CONN-RACE-04/retry-join',
  /** A failed join discards the package at once, without checking the queue again. */
  abortWithoutRecheck: 'CONN-RACE-04/abort-without-recheck',
  /** A client whose join failed creates a fresh group of its own on its DS. */
  loserCreatesOwnGroup: 'CONN-RACE-06/loser-creates-own-group',
  /** A client whose join failed ignores the WelcomeBundle that arrives later for that group. */
  loserIgnoresLateWelcome: 'CONN-RACE-06/loser-ignores-late-welcome',
  /** A join that could not reach the DS (offline) counts as refused: the package is discarded. */
  offlineJoinDiscardsPackage: 'CONN-RACE-04/offline-join-discards-package',
  /** An accepting client that went offline while adding its siblings never adds them once back. */
  forgetSiblingsAfterOutage: 'CONN-RACE-03/forget-siblings-after-outage',
} as const;

export type RaceClientMutant = (typeof RACE_CLIENT_MUTANTS)[keyof typeof RACE_CLIENT_MUTANTS];

export const isRaceMutant = (env: ClientEnv, name: RaceClientMutant): boolean =>
  env.mutants?.has(name) === true;

/** The siblings an accepting client adds: all of them, unless a CONN-RACE-03 mutant is active. */
export function siblingsToAdd<T>(env: ClientEnv, siblings: readonly T[]): readonly T[] {
  if (isRaceMutant(env, RACE_CLIENT_MUTANTS.addNoSiblings)) return [];
  if (isRaceMutant(env, RACE_CLIENT_MUTANTS.addOnlyOneSibling)) return siblings.slice(0, 1);
  return siblings;
}

/**
 * What CONN-RACE-06/loser-creates-own-group does after losing: a one-member group
 * of its own on the DS at `origin`, which nobody else will ever join.
 */
export async function createStrayGroup(
  env: ClientEnv,
  origin: string,
  queue: QueueRef,
  rng: Rng,
): Promise<void> {
  const idBytes = fork(rng, 'stray group id').bytes(16);
  const member = await createMember(fork(rng, 'stray pseudonym').bytes(16), fork(rng, 'member'));
  const exported = await exportGroupInfo(await createConnectionGroup(idBytes, member));
  await call(env, `${origin}/_fedconn/v1/ds/groups`, {
    body: {
      group_id: encodeUnpaddedBase64Url(idBytes),
      ear_key: encodeUnpaddedBase64(fork(rng, 'stray ear key').bytes(32)),
      group_info: encodeUnpaddedBase64(encodeGroupInfo(exported.groupInfo)),
      ratchet_tree: encodeUnpaddedBase64(encodeRatchetTree(exported.ratchetTree)),
      // Opaque to the DS: random bytes stand in for a sealed CredentialInfo.
      credential_infos: [encodeUnpaddedBase64(fork(rng, 'stray info').bytes(96))],
      queue,
    },
  });
}
