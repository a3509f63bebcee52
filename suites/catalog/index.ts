// The rule catalog: the single source of truth for rule IDs. Reports, the CLI,
// mutants, coverage and docs/spec.md all derive from RULES.
import {
  ALIAS_UNLINK,
  CONN_CEP,
  CONN_DISC,
  CONN_JOIN,
  CONN_PKG,
  CONN_PRIV,
  CONN_RACE,
  CONN_TRUST,
  CRED_CHAIN,
} from './families/connection.ts';
import { FED_AUTH, FED_KEYS, FED_NAME } from './families/federation.ts';
import { IS_FED, IS_LOOKUP, IS_PUSH } from './families/identity.ts';
import { FED_INVITE, FED_JOIN } from './families/invite.ts';
import type { FamilySpec, RuleSpec } from './types.ts';

/** Families in the order docs and reports present them. */
export const FAMILIES = [
  CRED_CHAIN,
  CONN_PKG,
  CONN_DISC,
  CONN_CEP,
  CONN_TRUST,
  CONN_RACE,
  CONN_JOIN,
  ALIAS_UNLINK,
  CONN_PRIV,
  FED_NAME,
  FED_KEYS,
  FED_AUTH,
  FED_INVITE,
  FED_JOIN,
  IS_LOOKUP,
  IS_FED,
  IS_PUSH,
] as const;

type Families = typeof FAMILIES;
export type FamilyId = Families[number]['id'];
/** Every rule ID; a mistyped ID anywhere in the code fails the typecheck. */
export type RuleId = Extract<RuleIdOf<Families[number]>, string>;
type RuleIdOf<F> = F extends { readonly rules: infer R } ? keyof R : never;

export interface Rule extends RuleSpec {
  readonly id: RuleId;
  readonly family: FamilyId;
}

export interface FamilyInfo extends FamilySpec {
  readonly id: FamilyId;
  readonly rules: readonly Rule[];
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export const FAMILY_INFO: readonly FamilyInfo[] = FAMILIES.map((family) => {
  const rules = Object.entries(family.rules as Record<string, RuleSpec>)
    .map(([id, spec]) => ({ ...spec, id: id as RuleId, family: family.id }))
    .sort(byId);
  return {
    id: family.id,
    title: family.title,
    part: family.part,
    summary: family.summary,
    rules,
  };
});

/** All rules, retired ones included, in family order then ID order. */
export const RULES: readonly Rule[] = FAMILY_INFO.flatMap((f) => f.rules);

const RULE_INDEX = new Map<string, Rule>(RULES.map((r) => [r.id, r]));

export function isRuleId(id: string): id is RuleId {
  return RULE_INDEX.has(id);
}

export function getRule(id: RuleId): Rule {
  const rule = RULE_INDEX.get(id);
  if (!rule) throw new Error(`rule ${id} missing from the catalog index`);
  return rule;
}

/** Rules that are in force (not retired). */
export const activeRules = (): readonly Rule[] => RULES.filter((r) => r.retired === undefined);

export * from './types.ts';
