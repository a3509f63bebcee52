// Imported keys (WebCrypto CryptoKeys and Node KeyObjects), by their bytes. ts-mls hands
// over the raw signing key on every signature and re-imports HPKE private keys it stored
// as bytes; importing costs about as much as the operation it serves, so each distinct
// key is imported once here and reused. Imported keys are immutable, so sharing one
// between callers that hold the same bytes changes nothing they can observe.
import { bytesToHex } from '@noble/hashes/utils.js';
import type { KeyObject, webcrypto } from 'node:crypto';

/** What each kind of key is imported as: Ed25519 signs and verifies on Node KeyObjects. */
export interface KeyKinds {
  readonly 'ed25519-sign': KeyObject;
  readonly 'ed25519-verify': KeyObject;
  readonly 'x25519-private': webcrypto.CryptoKey;
  readonly 'x25519-public': webcrypto.CryptoKey;
}
export type KeyKind = keyof KeyKinds;

// Bounded so that runs creating millions of keys keep a flat memory profile; the
// least recently used key is dropped first (Map order is insertion order).
const LIMIT = 8192;
const cache = new Map<string, Promise<unknown>>();

const id = (kind: KeyKind, bytes: Uint8Array) => `${kind}:${bytesToHex(bytes)}`;

function put(key: string, value: Promise<unknown>): void {
  cache.set(key, value);
  if (cache.size > LIMIT) {
    const oldest = cache.keys().next();
    if (oldest.done !== true) cache.delete(oldest.value);
  }
}

/** The key imported from `bytes`, importing it only the first time. A failed import is not kept. */
export function cachedKey<K extends KeyKind>(
  kind: K,
  bytes: Uint8Array,
  load: () => KeyKinds[K] | Promise<KeyKinds[K]>,
): Promise<KeyKinds[K]> {
  const key = id(kind, bytes);
  // Only `put` below and `rememberKey` fill the cache, each under the kind's own type.
  const hit = cache.get(key) as Promise<KeyKinds[K]> | undefined;
  if (hit !== undefined) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  // A load that throws rejects, like one that fails asynchronously.
  const loaded = new Promise<KeyKinds[K]>((resolve) => {
    resolve(load());
  });
  put(key, loaded);
  loaded.catch(() => {
    if (cache.get(key) === loaded) cache.delete(key);
  });
  return loaded;
}

/** Records that `key` is the import of `bytes` (e.g. when a key was just exported to them). */
export function rememberKey<K extends KeyKind>(kind: K, bytes: Uint8Array, key: KeyKinds[K]): void {
  put(id(kind, bytes), Promise.resolve(key));
}
