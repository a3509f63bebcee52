// Checks and mutants of the connection area: the race part (see index.ts).
import { DS_JOIN_MUTANTS } from '../../simulator/services/phoenix-mutants.ts';
import type { Check } from '../harness/check.ts';
import { joinAddsOnlyTheJoiner, oneCommitPerEpoch, secondJoinRefused } from './join.ts';
import { oneGroupWhateverTheRace } from './race.ts';

export const RACE_CHECKS: readonly Check[] = [
  secondJoinRefused,
  oneCommitPerEpoch,
  joinAddsOnlyTheJoiner,
  oneGroupWhateverTheRace,
];
export const RACE_MUTANTS: readonly string[] = Object.values(DS_JOIN_MUTANTS);
