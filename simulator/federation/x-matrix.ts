// X-Matrix request authentication (Matrix Server-Server API, Request
// Authentication): the origin signs { method, uri, origin, destination,
// content? } with its server key, and sends
//   Authorization: X-Matrix origin="…",destination="…",key="ed25519:…",sig="…"
// Receivers parse parameters case-insensitively and in any order, ignore unknown
// ones, accept quoted values with backslash escapes and unquoted values.
import type { Ed25519KeyPair } from '../protocol/crypto/ed25519.ts';
import { checkJsonSignature, signJson } from '../protocol/encoding/signed-json.ts';
import { fail, ok, type Failure, type Result } from '../protocol/result.ts';
import { parseServerName, type Profile } from '../protocol/server-name/index.ts';

export interface XMatrixAuth {
  readonly origin: string;
  readonly destination?: string;
  readonly key: string;
  readonly sig: string;
}

export interface RequestToSign {
  readonly method: string;
  readonly uri: string;
  readonly origin: string;
  readonly destination: string;
  readonly content?: unknown;
}

const quote = (value: string) => `"${value.replace(/(["\\])/g, '\\$1')}"`;

/** What an X-Matrix signature covers: the request as JSON, content only where there is a body. */
export function xMatrixSignedJson(request: RequestToSign): Record<string, unknown> {
  return {
    method: request.method.toUpperCase(),
    uri: request.uri,
    origin: request.origin,
    destination: request.destination,
    ...(request.content === undefined ? {} : { content: request.content }),
  };
}

/** The Authorization header carrying `sig`, made by `keyId` of the request's origin. */
export const xMatrixHeaderWith = (request: RequestToSign, keyId: string, sig: string): string =>
  `X-Matrix origin=${quote(request.origin)},destination=${quote(request.destination)},key=${quote(keyId)},sig=${quote(sig)}`;

export async function xMatrixHeader(
  request: RequestToSign,
  signingKey: { readonly keyId: string; readonly pair: Ed25519KeyPair },
): Promise<string> {
  const signed = await signJson(xMatrixSignedJson(request), {
    entity: request.origin,
    keyId: signingKey.keyId,
    keyPair: signingKey.pair,
  });
  if (!signed.ok) throw new Error(`cannot sign request: ${signed.error.detail}`);
  const sig = signed.value.signatures[request.origin]?.[signingKey.keyId] ?? '';
  return xMatrixHeaderWith(request, signingKey.keyId, sig);
}

export const X_MATRIX_FAILURE_KINDS = [
  'missing',
  'malformed',
  'invalid-origin',
  'wrong-destination',
  'unknown-key',
  'bad-signature',
] as const;
export type XMatrixFailureKind = (typeof X_MATRIX_FAILURE_KINDS)[number];

/** Parses the parameter list; values may be quoted (with escapes) or bare. */
export function parseXMatrix(
  header: string | null,
): Result<XMatrixAuth, Failure<XMatrixFailureKind>> {
  if (header === null) return fail('missing', 'no Authorization header');
  const match = /^\s*X-Matrix\s+(.*)$/i.exec(header);
  if (match?.[1] === undefined) return fail('malformed', 'Authorization is not X-Matrix');
  const params = new Map<string, string>();
  const text = match[1];
  let i = 0;
  while (i < text.length) {
    while (text[i] === ' ' || text[i] === ',') i++;
    const eq = text.indexOf('=', i);
    if (eq < 0) break;
    const name = text.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    let value = '';
    if (text[i] === '"') {
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\') i++;
        value += text[i] ?? '';
        i++;
      }
      if (text[i] !== '"') return fail('malformed', `unterminated quoted value for ${name}`);
      i++;
    } else {
      const end = text.indexOf(',', i);
      value = text.slice(i, end < 0 ? undefined : end).trim();
      i = end < 0 ? text.length : end;
    }
    if (name !== '' && !params.has(name)) params.set(name, value);
  }
  const origin = params.get('origin');
  const key = params.get('key');
  // The prose calls it `signature`, the example and implementations `sig`.
  const sig = params.get('sig') ?? params.get('signature');
  if (origin === undefined || key === undefined || sig === undefined || origin === '') {
    return fail('malformed', 'X-Matrix needs origin, key and sig');
  }
  const destination = params.get('destination');
  return ok({ origin, key, sig, ...(destination === undefined ? {} : { destination }) });
}

/** Looks up a verify key of a remote server that is valid for authenticating requests now. */
export type KeyLookup = (serverName: string, keyId: string) => Promise<Uint8Array | undefined>;

/** Deliberate weaknesses, for the reference's mutants only. */
export interface XMatrixMutations {
  readonly acceptAnyOrigin?: boolean;
  readonly ignoreDestination?: boolean;
  readonly skipSignature?: boolean;
  /** Refuse a padded signature (FED-KEYS-11 mutant). */
  readonly strictBase64?: boolean;
  /** Parse only the one usual spelling of the header (FED-AUTH-04 mutant). */
  readonly fixedSpelling?: boolean;
  /** Also take a signature over the request without this field (FED-AUTH-03 mutant). */
  readonly uncovered?: string;
}

// The one spelling a naive parser understands: lower-case names, quoted values, this order.
const FIXED_SPELLING =
  /^X-Matrix origin="([^"\\]*)",destination="([^"\\]*)",key="([^"\\]*)",sig="([^"\\]*)"$/;

/**
 * Authenticates an inbound request; returns the verified origin server_name. With
 * `originProfile`, an origin that is not a server name of that profile fails as
 * 'invalid-origin' before any key is fetched for it (FED-NAME-04).
 */
export async function verifyXMatrix(input: {
  readonly header: string | null;
  readonly method: string;
  readonly uri: string;
  readonly content: unknown;
  readonly ownServerName: string;
  readonly lookup: KeyLookup;
  readonly originProfile?: Profile;
  readonly mutations?: XMatrixMutations;
}): Promise<Result<string, Failure<XMatrixFailureKind>>> {
  const mutations = input.mutations ?? {};
  const auth = parseXMatrix(input.header);
  if (!auth.ok) return auth;
  if (mutations.fixedSpelling === true && !FIXED_SPELLING.test(input.header ?? '')) {
    return fail('malformed', 'X-Matrix header not in the expected spelling');
  }
  const { origin, destination, key, sig } = auth.value;
  if (mutations.strictBase64 === true && sig.includes('=')) {
    return fail('bad-signature', 'padded base64 signature');
  }
  if (input.originProfile !== undefined && mutations.acceptAnyOrigin !== true) {
    const name = parseServerName(origin, input.originProfile);
    if (!name.ok) {
      return fail('invalid-origin', `origin ${JSON.stringify(origin)}: ${name.error.detail}`);
    }
  }
  if (
    destination !== undefined &&
    destination !== input.ownServerName &&
    mutations.ignoreDestination !== true
  ) {
    return fail(
      'wrong-destination',
      `request is for ${destination}, this is ${input.ownServerName}`,
    );
  }
  // The origin is untrusted input: a lookup that fails on it finds no key.
  const publicKey = await input.lookup(origin, key).catch(() => undefined);
  if (publicKey === undefined)
    return fail('unknown-key', `no valid key ${key} known for ${origin}`);
  if (mutations.skipSignature === true) return ok(origin);
  const json = {
    method: input.method.toUpperCase(),
    uri: input.uri,
    origin,
    // A missing destination is accepted for backwards compatibility, and then it is us.
    destination: destination ?? input.ownServerName,
    ...(input.content === undefined ? {} : { content: input.content }),
    signatures: { [origin]: { [key]: sig } },
  };
  const checked = await checkJsonSignature(
    json,
    origin,
    new Map([[key, publicKey]]),
    mutations.uncovered,
  );
  return checked.ok ? ok(origin) : fail('bad-signature', checked.error.detail);
}
