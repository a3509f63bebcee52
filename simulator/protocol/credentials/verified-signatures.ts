// The signatures one verifier has already checked and found good. A signature's
// validity is a function of its bytes alone (key, label, content, signature), so a
// client that meets the same credential again (every commit of a group carries the
// credentials of the members it adds, and a WelcomeBundle those of every member)
// need not verify it again; expiry, issuers and revocation are still judged each
// time. Each client keeps its own, as each device would: nothing is shared between
// verifiers, so the crypto one device performs is what that device must perform.
import { createHash } from 'node:crypto';

/** How many signatures one verifier remembers; past it, it starts afresh. */
const LIMIT = 4096;

export class VerifiedSignatures {
  readonly #good = new Set<string>();

  static key(publicKey: Uint8Array, label: string, json: string, signature: Uint8Array): string {
    return createHash('sha256')
      .update(publicKey)
      .update(`\0${label}\0${json}\0`, 'utf8')
      .update(signature)
      .digest('hex');
  }

  has(key: string): boolean {
    return this.#good.has(key);
  }

  add(key: string): void {
    if (this.#good.size >= LIMIT) this.#good.clear();
    this.#good.add(key);
  }
}
