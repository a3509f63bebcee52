// Identity service v2 lookup hashing (identity-service-api.md § "Lookup algorithms";
// MSC2134). `sha256`: SHA-256 of "<address> <medium> <pepper>", URL-safe unpadded base64.
// `none`: the cleartext "<address> <medium>". The pepper is validated for both, because
// MSC2134 requires a valid pepper even when it is not hashed in.

import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { fail, ok, type Failure, type Result } from '../result.ts';
import { encodeUnpaddedBase64Url } from '../encoding/base64.ts';

export const LOOKUP_ALGORITHMS = ['sha256', 'none'] as const;
export type LookupAlgorithm = (typeof LOOKUP_ALGORITHMS)[number];

export const LOOKUP_HASH_FAILURE_KINDS = [
  'unsupported-algorithm',
  'invalid-pepper',
  'invalid-address',
  'invalid-medium',
] as const;
export type LookupHashFailureKind = (typeof LOOKUP_HASH_FAILURE_KINDS)[number];

export interface LookupHashInput {
  /** As received from the wire; anything but sha256 and none is M_INVALID_PARAM. */
  readonly algorithm: string;
  /** The 3PID address, already normalised (3PID Types appendix: email lower-cased, ...). */
  readonly address: string;
  /** The medium, lower case: `email`, `msisdn`. */
  readonly medium: string;
  /** The lookup_pepper from /hash_details. */
  readonly pepper: string;
}

/** MSC2134: a pepper is one or more of [a-zA-Z0-9]; an empty pepper tells clients to stop. */
export const PEPPER_PATTERN = /^[a-zA-Z0-9]+$/;

export function isLookupAlgorithm(algorithm: string): algorithm is LookupAlgorithm {
  return (LOOKUP_ALGORITHMS as readonly string[]).includes(algorithm);
}

/** The string a client sends in `addresses` for one 3PID under the given algorithm. */
export function lookupHash(input: LookupHashInput): Result<string, Failure<LookupHashFailureKind>> {
  const { algorithm, address, medium, pepper } = input;
  if (!isLookupAlgorithm(algorithm)) {
    return fail('unsupported-algorithm', `${JSON.stringify(algorithm)} is not sha256 or none`);
  }
  if (!PEPPER_PATTERN.test(pepper)) {
    return fail('invalid-pepper', `pepper ${JSON.stringify(pepper)} does not match [a-zA-Z0-9]+`);
  }
  // Fields are joined by single spaces and Sydent splits `none` entries on whitespace, so
  // whitespace inside a field would make the string ambiguous.
  if (address === '' || /\s/u.test(address)) {
    return fail('invalid-address', `address ${JSON.stringify(address)} is empty or has whitespace`);
  }
  if (!/^[a-z0-9_.-]+$/.test(medium)) {
    return fail('invalid-medium', `medium ${JSON.stringify(medium)} is not a lower-case token`);
  }
  switch (algorithm) {
    case 'none':
      return ok(`${address} ${medium}`);
    case 'sha256':
      return ok(encodeUnpaddedBase64Url(sha256(utf8ToBytes(`${address} ${medium} ${pepper}`))));
  }
}
