// Imported WebCrypto keys, by their bytes. Importing a key costs more than using
// it: about 0.4 ms for a PKCS#8 private key on Node 20 (OpenSSL 3's decoder),
// against 0.15 ms for an Ed25519 signature. ts-mls imports the signing key on every
// signature and re-imports HPKE private keys it stored as bytes, so each distinct
// key is imported once here and reused. A CryptoKey is immutable, so sharing one
// between callers that hold the same bytes changes nothing they can observe.
import { bytesToHex } from '@noble/hashes/utils.js';
import type { webcrypto } from 'node:crypto';

export type KeyKind = 'ed25519-sign' | 'ed25519-verify' | 'x25519-private' | 'x25519-public';

// Bounded so that runs creating millions of keys keep a flat memory profile; the
// least recently used key is dropped first (Map order is insertion order).
const LIMIT = 8192;
const cache = new Map<string, Promise<webcrypto.CryptoKey>>();

const id = (kind: KeyKind, bytes: Uint8Array) => `${kind}:${bytesToHex(bytes)}`;

function put(key: string, value: Promise<webcrypto.CryptoKey>): void {
  cache.set(key, value);
  if (cache.size > LIMIT) {
    const oldest = cache.keys().next();
    if (oldest.done !== true) cache.delete(oldest.value);
  }
}

/** The key imported from `bytes`, importing it only the first time. A failed import is not kept. */
export function cachedKey(
  kind: KeyKind,
  bytes: Uint8Array,
  load: () => Promise<webcrypto.CryptoKey>,
): Promise<webcrypto.CryptoKey> {
  const key = id(kind, bytes);
  const hit = cache.get(key);
  if (hit !== undefined) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const loaded = load();
  put(key, loaded);
  loaded.catch(() => {
    if (cache.get(key) === loaded) cache.delete(key);
  });
  return loaded;
}

/** Records that `key` is the import of `bytes` (e.g. when a key was just exported to them). */
export function rememberKey(kind: KeyKind, bytes: Uint8Array, key: webcrypto.CryptoKey): void {
  put(id(kind, bytes), Promise.resolve(key));
}
