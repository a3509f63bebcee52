// ExpirationData: the validity window every credential and package carries.
// Times are integer milliseconds since the Unix epoch, so they survive canonical JSON.

export interface ExpirationData {
  readonly not_before: number;
  readonly not_after: number;
}

export type ValidityAt = 'valid' | 'expired' | 'not-yet-valid';

/** Where `now` falls relative to the window; both ends are inclusive. */
export function validityAt(window: ExpirationData, now: number): ValidityAt {
  if (now < window.not_before) return 'not-yet-valid';
  if (now > window.not_after) return 'expired';
  return 'valid';
}

/** True when `inner` lies within `outer`, ends included (a signer may not vouch beyond its own life). */
export function nestsWithin(inner: ExpirationData, outer: ExpirationData): boolean {
  return inner.not_before >= outer.not_before && inner.not_after <= outer.not_after;
}

export function expirationData(notBefore: number, lifetimeMs: number): ExpirationData {
  return { not_before: notBefore, not_after: notBefore + lifetimeMs };
}
