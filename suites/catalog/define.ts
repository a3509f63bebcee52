import type { FamilySpec, RuleSpec } from './types.ts';

/** Rule IDs are FAMILY-NN; the family prefix is checked by the type of `rules`. */
export type FamilyRules<F extends string> = { readonly [K in `${F}-${string}`]?: RuleSpec };

export interface Family<F extends string, R extends FamilyRules<F>> extends FamilySpec {
  readonly id: F;
  readonly rules: R;
}

export function defineFamily<const F extends string, const R extends FamilyRules<F>>(
  id: F,
  spec: FamilySpec,
  // Keys outside the family's prefix map to never, so they fail the typecheck.
  rules: R & { readonly [K in Exclude<keyof R, `${F}-${string}`>]: never },
): Family<F, R> {
  return { id, ...spec, rules };
}
