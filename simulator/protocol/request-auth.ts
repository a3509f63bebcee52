// Signed client requests for the Phoenix binding. A client proves it holds a
// key by signing the request: method, path with query, origin host, a
// timestamp and the body. The header names the key by reference:
//   Authorization: Fedconn-Sig key="<ref>",ts="<ms>",sig="<unpadded base64>"
// where <ref> is "client:<user_id>/<client>" (client credential),
// "queue:<queue_id>" (QS queue auth key) or "alias:<alias>" (alias auth key).
// The server looks the key up by its reference; the signature covers the
// reference too, so a signature cannot be moved to another key's name.
import type { Ed25519KeyPair } from './crypto/ed25519.ts';
import { decodeBase64, encodeUnpaddedBase64 } from './encoding/base64.ts';
import { signWithLabel, verifyWithLabel } from './labels.ts';
import { fail, ok, type Failure, type Result } from './result.ts';

export const REQUEST_MAX_SKEW_MS = 5 * 60 * 1000;

export interface SignedRequestContent {
  readonly method: string;
  readonly uri: string;
  readonly host: string;
  readonly key: string;
  readonly ts: number;
  readonly content: unknown;
}

/** What a Fedconn-Sig signature covers of a request. */
export const signedRequestContent = (input: {
  readonly keyRef: string;
  readonly method: string;
  readonly url: URL;
  readonly ts: number;
  readonly content: unknown;
}): SignedRequestContent => ({
  method: input.method.toUpperCase(),
  uri: input.url.pathname + input.url.search,
  host: input.url.host,
  key: input.keyRef,
  ts: input.ts,
  content: input.content ?? null,
});

/** The Authorization header carrying `sig`, made at `ts` by the key `keyRef` names. */
export const fedconnSigHeader = (keyRef: string, ts: number, sig: Uint8Array): string =>
  `Fedconn-Sig key="${keyRef}",ts="${ts}",sig="${encodeUnpaddedBase64(sig)}"`;

export async function authorizationHeader(input: {
  readonly key: Ed25519KeyPair;
  readonly keyRef: string;
  readonly method: string;
  readonly url: URL;
  readonly ts: number;
  readonly content: unknown;
}): Promise<string> {
  const sig = await signWithLabel(input.key, 'ClientRequest', signedRequestContent(input));
  return fedconnSigHeader(input.keyRef, input.ts, sig);
}

export interface ParsedAuthorization {
  readonly keyRef: string;
  readonly ts: number;
  readonly sig: Uint8Array;
}

export type RequestAuthFailureKind = 'missing' | 'malformed' | 'stale' | 'bad-signature';

export function parseAuthorization(
  header: string | null,
): Result<ParsedAuthorization, Failure<RequestAuthFailureKind>> {
  if (header === null || header === '') return fail('missing', 'no Authorization header');
  const match = /^Fedconn-Sig\s+(.*)$/i.exec(header.trim());
  if (match?.[1] === undefined) return fail('malformed', 'Authorization is not Fedconn-Sig');
  const params = new Map<string, string>();
  for (const part of match[1].split(',')) {
    const kv = /^\s*([a-z]+)="([^"]*)"\s*$/i.exec(part);
    if (kv?.[1] === undefined || kv[2] === undefined) {
      return fail('malformed', `bad parameter: ${part}`);
    }
    params.set(kv[1].toLowerCase(), kv[2]);
  }
  const keyRef = params.get('key');
  const ts = Number(params.get('ts'));
  const sig = decodeBase64(params.get('sig') ?? '');
  if (keyRef === undefined || keyRef === '' || !Number.isSafeInteger(ts) || !sig.ok) {
    return fail('malformed', 'Authorization needs key, ts and sig');
  }
  return ok({ keyRef, ts, sig: sig.value });
}

/** Verifies a parsed header against the request and the key its reference names. */
export async function verifySignedRequest(input: {
  readonly auth: ParsedAuthorization;
  readonly publicKey: Uint8Array;
  readonly method: string;
  readonly url: URL;
  readonly content: unknown;
  readonly now: number;
  /** Mutants only: a field the verifier forgot, so a signature without it passes too. */
  readonly uncovered?: string;
}): Promise<Result<void, Failure<RequestAuthFailureKind>>> {
  if (Math.abs(input.now - input.auth.ts) > REQUEST_MAX_SKEW_MS) {
    return fail(
      'stale',
      `request timestamp ${input.auth.ts} is more than 5 minutes from ${input.now}`,
    );
  }
  const signed = signedRequestContent({ ...input, keyRef: input.auth.keyRef, ts: input.auth.ts });
  const verdict = await verifyWithLabel(
    input.publicKey,
    'ClientRequest',
    signed,
    input.auth.sig,
    input.uncovered === undefined ? [] : [input.uncovered],
  );
  return verdict.ok ? ok(undefined) : fail('bad-signature', verdict.error.detail);
}
