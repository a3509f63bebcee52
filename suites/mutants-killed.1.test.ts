// Shard 1 of the mutant kill tests (see mutants-killed.ts).
import { describeMutantKills } from './mutants-killed.ts';

describeMutantKills(0);
