// A recipient's key pair for @hpke/core's decap, which ts-mls's own HPKE open still runs
// on: @hpke/core recovers a public key from its private key by a JWK export and import,
// and a pair handed to it takes the public key as given. Seals and exports run on
// ./hpke-base.ts.
import type { webcrypto } from 'node:crypto';
import { asCryptoKey, importRawPublicKey, knownPublicBytesOfPrivate } from './private-keys.ts';

/**
 * The key pair of a private key imported or derived here (as real WebCrypto keys, for
 * @hpke/core; a handle's are imported now), so HPKE's decap takes the public
 * key as given instead of recomputing it; a key from elsewhere is returned as it is.
 */
export async function withPublicKey(
  privateKey: webcrypto.CryptoKey,
): Promise<webcrypto.CryptoKey | webcrypto.CryptoKeyPair> {
  const known = knownPublicBytesOfPrivate(privateKey);
  const real = await asCryptoKey(privateKey);
  return known === undefined
    ? real
    : { privateKey: real, publicKey: await importRawPublicKey('X25519', known) };
}
