// Every named mutant of the reference: a deliberate violation of one rule. A
// check counts only once the suite has been seen to fail on the mutant of its
// rule; `fedconn mutants` and the mutant meta-test prove that for each one.
import { CONNECTION_MUTANTS } from './connection/index.ts';
import { FEDERATION_MUTANTS } from './federation/index.ts';
import { IDENTITY_MUTANTS } from './identity/index.ts';
import { getRule, isRuleId, type RuleId } from './catalog/index.ts';

export interface Mutant {
  /** `<rule id>/<what breaks>` */
  readonly name: string;
  readonly violates: RuleId;
}

function fromName(name: string): Mutant {
  const id = name.slice(0, name.indexOf('/'));
  if (!isRuleId(id)) throw new Error(`mutant ${name} names no rule of the catalog`);
  return { name, violates: getRule(id).id };
}

export const MUTANTS: readonly Mutant[] = [
  ...CONNECTION_MUTANTS,
  ...FEDERATION_MUTANTS,
  ...IDENTITY_MUTANTS,
].map(fromName);

export function findMutant(name: string): Mutant | undefined {
  return MUTANTS.find((m) => m.name === name);
}
