// Checks and mutants of the connection area: the race part (see index.ts).
import { RACE_CLIENT_MUTANTS } from '../../simulator/clients/phoenix/mutants-race.ts';
import { DS_JOIN_MUTANTS } from '../../simulator/services/phoenix-mutants.ts';
import type { Check } from '../harness/check.ts';
import {
  joinAddsOnlyTheJoiner,
  oneCommitPerEpoch,
  onlyMembersAddClients,
  secondJoinRefused,
} from './join.ts';
import { acceptorAddsItsSiblings, queueCheckedFirst, welcomeBundleWins } from './race-client.ts';
import { failedJoinRechecksQueue, loserLeavesNoGroupBehind } from './race-loser.ts';
import { oneGroupWhateverTheRace } from './race.ts';

export const RACE_CHECKS: readonly Check[] = [
  secondJoinRefused,
  oneCommitPerEpoch,
  joinAddsOnlyTheJoiner,
  onlyMembersAddClients,
  queueCheckedFirst,
  welcomeBundleWins,
  acceptorAddsItsSiblings,
  failedJoinRechecksQueue,
  oneGroupWhateverTheRace,
  loserLeavesNoGroupBehind,
];
export const RACE_MUTANTS: readonly string[] = [
  ...Object.values(DS_JOIN_MUTANTS),
  ...Object.values(RACE_CLIENT_MUTANTS),
];
