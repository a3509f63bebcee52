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
  /**
   * AS credentials and intermediates checked whole, as the decoded objects of one AS answer
   * (frozen by chain.ts, which decodes each answer once): a client checks every member of a
   * domain against the same two, so the second check needs neither their canonical JSON
   * nor their memo keys.
   */
  readonly #goodPairs = new WeakMap<object, WeakSet<object>>();

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

  /** True when `intermediate` and the `anchor` that signed it were found good together. */
  hasGoodPair(anchor: object, intermediate: object): boolean {
    return this.#goodPairs.get(anchor)?.has(intermediate) === true;
  }

  addGoodPair(anchor: object, intermediate: object): void {
    let intermediates = this.#goodPairs.get(anchor);
    if (intermediates === undefined) {
      intermediates = new WeakSet();
      this.#goodPairs.set(anchor, intermediates);
    }
    intermediates.add(intermediate);
  }
}
