// The key documents a server publishes about itself, built from its keyring:
// - matrix-current: GET /_matrix/key/v2/server, {server_name, verify_keys
//   {id: {key}}, old_verify_keys {id: {key, expired_ts}}, valid_until_ts, signatures};
// - matrix-2014: GET /_matrix/key/v1, {server_name, verify_keys {id: key},
//   signatures, tls_certificate}.
// Both are self-signed with the current key over canonical JSON.
import { generateEd25519KeyPair } from '../../protocol/crypto/ed25519.ts';
import { fork } from '../../protocol/crypto/rng.ts';
import { encodeUnpaddedBase64 } from '../../protocol/encoding/base64.ts';
import { signJson, type SignedObject } from '../../protocol/encoding/signed-json.ts';
import { unwrap } from '../../protocol/result.ts';
import { isMutant, type HomeserverContext } from '../../homeserver/context.ts';
import { MATRIX_MUTANTS } from '../../federation/mutants.ts';
import {
  oldSigningKeys,
  publishableSigningKey,
  type OldKey,
} from '../../federation/signing-keys.ts';
import { serverCertificate } from '../../federation/tls-certificate.ts';

/** The v2 document (the object GET /_matrix/key/v2/server answers with). */
export async function serverKeysV2(ctx: HomeserverContext): Promise<SignedObject> {
  const current = publishableSigningKey(ctx);
  const document = {
    server_name: ctx.config.serverName,
    verify_keys: { [current.keyId]: { key: encodeUnpaddedBase64(current.pair.publicKey) } },
    // Always present, even empty: sytest requires it although today's spec does not.
    old_verify_keys: Object.fromEntries(
      oldSigningKeys(ctx).map((old: OldKey) => [
        old.keyId,
        { key: encodeUnpaddedBase64(old.publicKey), expired_ts: old.expiredTs },
      ]),
    ),
    ...(isMutant(ctx, MATRIX_MUTANTS.omitValidUntil) ? {} : { valid_until_ts: current.validUntil }),
  };
  return sign(ctx, document, current);
}

/** The 2014 document (GET /_matrix/key/v1). */
export async function serverKeysV1(ctx: HomeserverContext): Promise<SignedObject> {
  const current = publishableSigningKey(ctx);
  const document = {
    server_name: ctx.config.serverName,
    verify_keys: { [current.keyId]: encodeUnpaddedBase64(current.pair.publicKey) },
    ...(isMutant(ctx, MATRIX_MUTANTS.omitTlsCertificate)
      ? {}
      : { tls_certificate: encodeUnpaddedBase64(serverCertificate(ctx)) }),
  };
  return sign(ctx, document, current);
}

async function sign(
  ctx: HomeserverContext,
  document: Record<string, unknown>,
  current: { readonly keyId: string; readonly pair: Parameters<typeof signJson>[1]['keyPair'] },
): Promise<SignedObject> {
  // Mutant FED-KEYS-04: a key that is not in verify_keys signs under the published key id.
  const keyPair = isMutant(ctx, MATRIX_MUTANTS.signWithForeignKey)
    ? await generateEd25519KeyPair(fork(ctx.rng, 'mutant foreign key'))
    : current.pair;
  // Our own documents are plain JSON with integers: signing cannot fail.
  return unwrap(
    await signJson(document, { entity: ctx.config.serverName, keyId: current.keyId, keyPair }),
  );
}
