// Every named mutant of the reference: a deliberate violation of one rule. A
// check counts only once the suite has been seen to fail on the mutant of its
// rule; `fedconn mutants` and the mutant meta-test prove that for each one.
import { CONNECTION_MUTANTS } from './connection/index.ts';
import { FEDERATION_MUTANTS } from './federation/index.ts';
import { IDENTITY_MUTANTS } from './identity/index.ts';
import { getRule, isRuleId, type RuleId } from './catalog/index.ts';
import { IDENTITY_CLIENT_MUTANTS } from '../simulator/clients/identity-client-mutants.ts';
import { INITIATOR_CLIENT_MUTANTS } from '../simulator/clients/phoenix/mutants-initiator.ts';
import { PRIVACY_CLIENT_MUTANTS } from '../simulator/clients/phoenix/mutants-privacy.ts';
import { RACE_CLIENT_MUTANTS } from '../simulator/clients/phoenix/mutants-race.ts';
import { RESPONDER_CLIENT_MUTANTS } from '../simulator/clients/phoenix/mutants-responder.ts';
import { TRUST_CLIENT_MUTANTS } from '../simulator/clients/phoenix/mutants-trust.ts';

export interface Mutant {
  /** `<rule id>/<what breaks>` */
  readonly name: string;
  readonly violates: RuleId;
  /**
   * What it breaks: the reference servers (served by `fedconn serve --mutant`), or
   * fedconn's reference client (only ever in fedconn's own process).
   */
  readonly breaks: 'server' | 'client';
}

// The switches the reference client reads (simulator/clients); every other is a server's.
const CLIENT_MUTANTS = new Set<string>([
  ...Object.values(IDENTITY_CLIENT_MUTANTS),
  ...Object.values(INITIATOR_CLIENT_MUTANTS),
  ...Object.values(PRIVACY_CLIENT_MUTANTS),
  ...Object.values(RACE_CLIENT_MUTANTS),
  ...Object.values(RESPONDER_CLIENT_MUTANTS),
  ...Object.values(TRUST_CLIENT_MUTANTS),
]);

function fromName(name: string): Mutant {
  const id = name.slice(0, name.indexOf('/'));
  if (!isRuleId(id)) throw new Error(`mutant ${name} names no rule of the catalog`);
  return { name, violates: getRule(id).id, breaks: CLIENT_MUTANTS.has(name) ? 'client' : 'server' };
}

export const MUTANTS: readonly Mutant[] = [
  ...CONNECTION_MUTANTS,
  ...FEDERATION_MUTANTS,
  ...IDENTITY_MUTANTS,
].map(fromName);

export function findMutant(name: string): Mutant | undefined {
  return MUTANTS.find((m) => m.name === name);
}
