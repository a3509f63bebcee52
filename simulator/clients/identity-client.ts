// Reference identity-service client (Matrix IS v2 lookup with MSC4004 referrals).
// It fetches hash_details, hashes with sha256 whenever the server offers it (the
// address never leaves the client in clear then, IS-LOOKUP-10), posts /lookup, and
// on M_INVALID_PEPPER re-fetches hash_details once: no retry loop (spec: clients
// SHOULD avoid them). When the answer lists the hash under third_party_mappings, it
// re-hashes with the named server's own pepper and algorithm and asks that server
// (IS-FED-04). Every request goes through the injected Transport.
//
// Addresses are taken as given: normalising them (lower-case email, E.164 msisdn) is
// the caller's job, as the 3PID Types appendix assigns it to whoever forms the address.
import { z } from 'zod';
import {
  lookupHash,
  type LookupAlgorithm,
  type LookupHashFailureKind,
} from '../protocol/identity/hash.ts';
import { err, ok, type Failure, type Result } from '../protocol/result.ts';
import { parseMatrixError } from '../protocol/wire/errors.ts';
import type { Transport } from '../net/transport.ts';
import { IDENTITY_CLIENT_MUTANTS } from './identity-client-mutants.ts';

const IS_PREFIX = '/_matrix/identity/v2';

/** Where an identity service is and the access token this client holds for it. */
export interface IdentityServerAccess {
  readonly baseUrl: string;
  readonly token: string;
}

export interface IdentityClientOptions {
  readonly transport: Transport;
  /** Finds the identity service a third_party_mappings key names, with a token for it. */
  readonly resolve?: (serverName: string) => IdentityServerAccess | undefined;
  /** How many referrals deep to follow; default 1 (the first server and those it names). */
  readonly maxReferrals?: number;
  /** Use `none` when a server offers no sha256. Off by default: it sends the address in clear. */
  readonly allowCleartext?: boolean;
  /** Mutants of this client (identity-client-mutants.ts); for the suite only. */
  readonly mutants?: ReadonlySet<string>;
}

export interface HashDetails {
  readonly lookup_pepper: string;
  readonly algorithms: readonly string[];
  readonly alt_lookup_peppers?: readonly string[] | undefined;
}

/** One /lookup the client made. */
export interface LookupStep {
  readonly baseUrl: string;
  /** The server name the referral used; absent for the server the lookup started at. */
  readonly serverName?: string;
  readonly algorithm: LookupAlgorithm;
  readonly pepper: string;
  /** The entry of `addresses` sent: the hash, or for `none` the cleartext. */
  readonly sent: string;
  /** True when the first attempt met M_INVALID_PEPPER and hash_details was fetched again. */
  readonly refetchedPepper: boolean;
  readonly answer: 'mapping' | 'third-party' | 'unknown';
}

export interface LookupOutcome {
  /** The user id the address is bound to, or undefined when no server knew it. */
  readonly userId: string | undefined;
  /** Every lookup made, in order. */
  readonly path: readonly LookupStep[];
  /** Referred server names `resolve` could not map to an identity service. */
  readonly unresolved: readonly string[];
}

export const IDENTITY_CLIENT_FAILURE_KINDS = [
  'unreachable',
  'bad-response',
  'error-answer',
  'no-hashed-algorithm',
  'invalid-pepper',
  'pepper-rejected',
  'invalid-address',
] as const;
export type IdentityClientFailureKind = (typeof IDENTITY_CLIENT_FAILURE_KINDS)[number];

export interface IdentityClientFailure extends Failure<IdentityClientFailureKind> {
  readonly baseUrl: string;
  readonly status?: number;
  readonly errcode?: string;
}

/** A failure during a lookup, with the steps that completed before it. */
export interface LookupFailure extends IdentityClientFailure {
  readonly path: readonly LookupStep[];
}

const hashDetailsSchema = z.object({
  lookup_pepper: z.string(),
  algorithms: z.array(z.string()),
  alt_lookup_peppers: z.array(z.string()).optional(),
});

const lookupAnswerSchema = z.object({
  mappings: z.record(z.string(), z.string()),
  third_party_mappings: z.record(z.string(), z.array(z.string())).optional(),
});

type Step<T> = Result<T, IdentityClientFailure>;

const failure = (
  kind: IdentityClientFailureKind,
  baseUrl: string,
  detail: string,
  extra: { status?: number; errcode?: string } = {},
) => err<IdentityClientFailure>({ kind, baseUrl, detail, ...extra });

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

async function request(
  transport: Transport,
  server: IdentityServerAccess,
  method: 'GET' | 'POST',
  path: string,
  content?: unknown,
): Promise<Step<Answer>> {
  const url = `${server.baseUrl.replace(/\/+$/, '')}${IS_PREFIX}${path}`;
  let response: Response;
  try {
    response = await transport(
      new Request(url, {
        method,
        headers: {
          authorization: `Bearer ${server.token}`,
          ...(content === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(content === undefined ? {} : { body: JSON.stringify(content) }),
      }),
    );
  } catch (error) {
    return failure('unreachable', server.baseUrl, `${method} ${url}: ${String(error)}`);
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    return failure('bad-response', server.baseUrl, `${method} ${url}: answer is not JSON`, {
      status: response.status,
    });
  }
  return ok({ status: response.status, body });
}

function errorAnswer(server: IdentityServerAccess, what: string, answer: Answer) {
  const matrix = parseMatrixError(answer.body);
  return failure(
    'error-answer',
    server.baseUrl,
    `${what} answered ${answer.status}${matrix === undefined ? '' : ` ${matrix.errcode}: ${matrix.error}`}`,
    { status: answer.status, ...(matrix === undefined ? {} : { errcode: matrix.errcode }) },
  );
}

/** GET hash_details, validated. */
export async function fetchHashDetails(
  transport: Transport,
  server: IdentityServerAccess,
): Promise<Step<HashDetails>> {
  const answer = await request(transport, server, 'GET', '/hash_details');
  if (!answer.ok) return answer;
  if (answer.value.status !== 200) return errorAnswer(server, 'hash_details', answer.value);
  const parsed = hashDetailsSchema.safeParse(answer.value.body);
  if (!parsed.success) {
    return failure('bad-response', server.baseUrl, 'hash_details body is malformed');
  }
  return ok(parsed.data);
}

function chooseAlgorithm(
  options: IdentityClientOptions,
  server: IdentityServerAccess,
  details: HashDetails,
): Step<LookupAlgorithm> {
  if (details.algorithms.includes('sha256')) return ok('sha256');
  if (options.allowCleartext === true && details.algorithms.includes('none')) return ok('none');
  return failure(
    'no-hashed-algorithm',
    server.baseUrl,
    `the server offers ${JSON.stringify(details.algorithms)}, no sha256`,
  );
}

const HASH_FAILURES: Record<LookupHashFailureKind, IdentityClientFailureKind> = {
  // MSC2134: a pepper outside [a-zA-Z0-9]+ (an empty one included) means stop.
  'invalid-pepper': 'invalid-pepper',
  'invalid-address': 'invalid-address',
  'invalid-medium': 'invalid-address',
  // chooseAlgorithm only picks sha256 or none.
  'unsupported-algorithm': 'no-hashed-algorithm',
};

const mutant = (options: IdentityClientOptions, name: string) =>
  options.mutants?.has(name) === true;

/** URL-safe unpadded base64 respelled as standard padded base64 (a mutant's mistake). */
const standardBase64 = (urlSafe: string) => Buffer.from(urlSafe, 'base64url').toString('base64');

/**
 * One server: hash_details, hash, /lookup, and one re-fetch on M_INVALID_PEPPER.
 * `referredFrom` is the step whose answer named this server (absent for the first).
 */
async function lookupAt(
  options: IdentityClientOptions,
  server: IdentityServerAccess,
  serverName: string | undefined,
  referredFrom: LookupStep | undefined,
  address: string,
  medium: string,
): Promise<Step<{ step: LookupStep; userId?: string; referrals: readonly string[] }>> {
  for (let attempt = 0; ; attempt++) {
    const details = await fetchHashDetails(options.transport, server);
    if (!details.ok) return details;
    let algorithm = chooseAlgorithm(options, server, details.value);
    if (!algorithm.ok) return algorithm;
    if (
      referredFrom !== undefined &&
      details.value.algorithms.includes('none') &&
      mutant(options, IDENTITY_CLIENT_MUTANTS.cleartextOnReferral)
    ) {
      algorithm = ok('none');
    }
    const pepper = details.value.lookup_pepper;
    const hashed = lookupHash({ algorithm: algorithm.value, address, medium, pepper });
    if (!hashed.ok) {
      return failure(HASH_FAILURES[hashed.error.kind], server.baseUrl, hashed.error.detail);
    }
    const sent =
      referredFrom !== undefined && mutant(options, IDENTITY_CLIENT_MUTANTS.reuseFirstHash)
        ? referredFrom.sent
        : algorithm.value === 'sha256' &&
            mutant(options, IDENTITY_CLIENT_MUTANTS.standardBase64Hash)
          ? standardBase64(hashed.value)
          : hashed.value;
    const answer = await request(options.transport, server, 'POST', '/lookup', {
      algorithm: algorithm.value,
      pepper,
      addresses: [sent],
    });
    if (!answer.ok) return answer;
    if (answer.value.status !== 200) {
      if (parseMatrixError(answer.value.body)?.errcode !== 'M_INVALID_PEPPER') {
        return errorAnswer(server, 'lookup', answer.value);
      }
      if (attempt === 0) continue;
      return failure('pepper-rejected', server.baseUrl, 'M_INVALID_PEPPER again after re-fetch', {
        status: answer.value.status,
        errcode: 'M_INVALID_PEPPER',
      });
    }
    const parsed = lookupAnswerSchema.safeParse(answer.value.body);
    if (!parsed.success) return failure('bad-response', server.baseUrl, 'lookup body is malformed');
    const userId = parsed.data.mappings[sent];
    const referrals = Object.entries(parsed.data.third_party_mappings ?? {})
      .filter(([, entries]) => entries.includes(sent))
      .map(([name]) => name);
    const step: LookupStep = {
      baseUrl: server.baseUrl,
      ...(serverName === undefined ? {} : { serverName }),
      algorithm: algorithm.value,
      pepper,
      sent,
      refetchedPepper: attempt > 0,
      answer: userId !== undefined ? 'mapping' : referrals.length > 0 ? 'third-party' : 'unknown',
    };
    return ok({ step, ...(userId === undefined ? {} : { userId }), referrals });
  }
}

/**
 * Looks up the user bound to (address, medium), starting at `server` and following
 * third_party_mappings referrals depth-first, in the order the answer lists them,
 * never asking the same base URL twice.
 */
export async function lookup(
  options: IdentityClientOptions,
  server: IdentityServerAccess,
  address: string,
  medium: string,
): Promise<Result<LookupOutcome, LookupFailure>> {
  const path: LookupStep[] = [];
  const unresolved: string[] = [];
  const visited = new Set<string>([server.baseUrl]);
  const maxReferrals = options.maxReferrals ?? 1;

  const walk = async (
    at: IdentityServerAccess,
    serverName: string | undefined,
    referredFrom: LookupStep | undefined,
    depth: number,
  ): Promise<Step<string | undefined>> => {
    const result = await lookupAt(options, at, serverName, referredFrom, address, medium);
    if (!result.ok) return result;
    path.push(result.value.step);
    if (result.value.userId !== undefined) return ok(result.value.userId);
    if (depth >= maxReferrals) return ok(undefined);
    for (const name of result.value.referrals) {
      const next = options.resolve?.(name);
      if (next === undefined) {
        unresolved.push(name);
        continue;
      }
      if (visited.has(next.baseUrl)) continue;
      visited.add(next.baseUrl);
      const found = await walk(next, name, result.value.step, depth + 1);
      if (!found.ok || found.value !== undefined) return found;
    }
    return ok(undefined);
  };

  const found = await walk(server, undefined, undefined, 0);
  if (!found.ok) return err({ ...found.error, path });
  return ok({ userId: found.value, path, unresolved });
}
