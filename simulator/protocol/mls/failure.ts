// The boundary between ts-mls, which rejects input by throwing, and this layer,
// which returns Results. ts-mls throws subclasses of MlsError whose class says
// roughly what went wrong (ValidationError, CryptoVerificationError, ...) and
// whose message says exactly what; each operation lists the rules that turn
// those into its own failure kinds, most specific first.

import {
  CodecError,
  CryptoError,
  CryptoVerificationError,
  MlsError,
  UsageError,
  ValidationError,
} from 'ts-mls/mlsError.js';
import { fail, ok, type Err, type Failure, type Result } from '../result.ts';

type ErrorClass =
  | typeof CodecError
  | typeof CryptoError
  | typeof CryptoVerificationError
  | typeof UsageError
  | typeof ValidationError;

/** Maps errors of class `error` (any class if absent) whose message matches `message`. */
export interface ErrorRule<K extends string> {
  readonly kind: K;
  readonly error?: ErrorClass;
  readonly message?: RegExp;
}

export function classify<K extends string>(
  thrown: unknown,
  rules: readonly ErrorRule<K>[],
  fallback: K,
): Err<Failure<K>> {
  const detail = describe(thrown);
  const message = thrown instanceof Error ? thrown.message : '';
  const rule = rules.find(
    (r) =>
      (r.error === undefined || thrown instanceof r.error) &&
      (r.message === undefined || r.message.test(message)),
  );
  return fail(rule?.kind ?? fallback, detail);
}

/**
 * Runs a ts-mls call and turns whatever it throws into a failure. Non-MLS
 * exceptions (a TypeError on a structurally odd input) land on the fallback
 * too: for the caller they are equally a rejected input.
 */
export async function attempt<T, K extends string>(
  run: () => Promise<T>,
  rules: readonly ErrorRule<K>[],
  fallback: K,
): Promise<Result<T, Failure<K>>> {
  try {
    return ok(await run());
  } catch (thrown) {
    return classify(thrown, rules, fallback);
  }
}

function describe(thrown: unknown): string {
  if (thrown instanceof MlsError) return `ts-mls ${thrown.name}: ${thrown.message}`;
  if (thrown instanceof Error) return `${thrown.name}: ${thrown.message}`;
  return String(thrown);
}
