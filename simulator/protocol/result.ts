// Every check in the protocol core returns a Result instead of throwing, so a
// caller (and a conformance report) always learns the precise reason a value
// was rejected. Error kinds are string literal unions per module, which makes
// `switch (error.kind)` exhaustive under the typechecker.

export type Ok<T> = { readonly ok: true; readonly value: T };
export type Err<E> = { readonly ok: false; readonly error: E };
export type Result<T, E> = Ok<T> | Err<E>;

/** A rejection reason: a machine-readable kind plus a human-readable detail. */
export interface Failure<K extends string> {
  readonly kind: K;
  readonly detail: string;
}

export const ok = <T>(value: T): Ok<T> => ({ ok: true, value });
export const err = <E>(error: E): Err<E> => ({ ok: false, error });
export const fail = <K extends string>(kind: K, detail: string): Err<Failure<K>> =>
  err({ kind, detail });

/** Unwraps a Result or throws; for tests and code paths where failure is a bug. */
export function unwrap<T, E>(result: Result<T, E>): T {
  if (result.ok) return result.value;
  throw new Error(`unexpected failure: ${JSON.stringify(result.error)}`);
}
