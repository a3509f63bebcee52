// The 2014 key document, GET /_matrix/key/v1 (seed 003, "Retrieving Server Keys"):
//   { server_name, verify_keys: { "ed25519:auto": "<base64 key>" }, signatures,
//     tls_certificate: "<base64 DER>" }
// "When fetching the keys for a server the client should check that the TLS
// certificate in the JSON matches the TLS server certificate for the connection and
// should check that the JSON signatures are correct for the supplied verify_keys."
// We hold both checks as MUST (FED-KEYS-02) and add today's de facto server_name
// check (FED-KEYS-05). The document has no expiry; see MAX_KEY_TRUST_MS.
import { z } from 'zod';
import { decodeBase64 } from '../protocol/encoding/base64.ts';
import { checkJsonSignature, ED25519_KEY_ID } from '../protocol/encoding/signed-json.ts';
import { fail, ok, type Failure, type Result } from '../protocol/result.ts';
import type { ValidatedKeys } from './remote-keys.ts';

export const serverKeysV1Schema = z.object({
  server_name: z.string().min(1),
  verify_keys: z.record(z.string(), z.string()),
  signatures: z.record(z.string(), z.record(z.string(), z.string())),
  tls_certificate: z.string(),
});
export type ServerKeysV1 = z.output<typeof serverKeysV1Schema>;

export const KEY_V1_FAILURE_KINDS = [
  'bad-response',
  'wrong-server-name',
  'no-connection-certificate',
  'certificate-mismatch',
  'not-self-signed',
] as const;
export type KeyV1FailureKind = (typeof KEY_V1_FAILURE_KINDS)[number];

export interface ValidateV1Options {
  /** The certificate the connection presented (undefined: none was presented). */
  readonly connectionCertificate: Uint8Array | undefined;
  readonly now: number;
  /** How long to trust the keys; the 2014 text gives no expiry. */
  readonly trustMs: number;
  /** Mutant FED-KEYS-02: skip the certificate comparison. */
  readonly skipCertificateCheck?: boolean;
}

/** Validates a /_matrix/key/v1 document fetched from `serverName`. */
export async function validateServerKeysV1(
  value: unknown,
  serverName: string,
  options: ValidateV1Options,
): Promise<Result<ValidatedKeys, Failure<KeyV1FailureKind>>> {
  const parsed = serverKeysV1Schema.safeParse(value);
  if (!parsed.success) {
    return fail(
      'bad-response',
      `not a v1 key object: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
    );
  }
  const body = parsed.data;
  if (body.server_name !== serverName) {
    return fail('wrong-server-name', `asked ${serverName}, answer names ${body.server_name}`);
  }
  const published = decodeBase64(body.tls_certificate);
  if (!published.ok) return fail('bad-response', `tls_certificate: ${published.error.detail}`);
  if (options.skipCertificateCheck !== true) {
    if (options.connectionCertificate === undefined) {
      return fail('no-connection-certificate', 'the connection presented no certificate');
    }
    if (!sameBytes(published.value, options.connectionCertificate)) {
      return fail(
        'certificate-mismatch',
        `tls_certificate of ${serverName} differs from the certificate of the connection`,
      );
    }
  }
  const keys = new Map<string, Uint8Array>();
  for (const [keyId, key] of Object.entries(body.verify_keys)) {
    const bytes = decodeBase64(key);
    if (ED25519_KEY_ID.test(keyId) && bytes.ok && bytes.value.length === 32) {
      keys.set(keyId, bytes.value);
    }
  }
  const own = Object.keys(body.signatures[serverName] ?? {}).filter((id) => keys.has(id));
  if (own.length === 0) {
    return fail('not-self-signed', `no signature by a key in ${serverName}'s verify_keys`);
  }
  // Verify the document as received: the parsed copy lacks members the schema does not name.
  const checked = await checkJsonSignature(value, serverName, keys);
  if (!checked.ok) return fail('not-self-signed', checked.error.detail);
  return ok({
    serverName,
    keys,
    oldKeys: new Map(),
    trustedUntil: options.now + options.trustMs,
    tlsCertificate: published.value,
  });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
