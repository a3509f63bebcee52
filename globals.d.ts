// @types/node 20 declares WebCrypto's key types only inside `webcrypto`, while
// ts-mls and @hpke/core name the global ones; without these aliases their key
// types silently degrade to `any` under skipLibCheck.
import type { webcrypto } from 'node:crypto';

declare global {
  type CryptoKey = webcrypto.CryptoKey;
  type CryptoKeyPair = webcrypto.CryptoKeyPair;
}
