// Randomness for the simulator. Every random byte (key generation included) comes from
// an injected Rng, so a run is reproducible from its seed. The seeded generator is the
// ChaCha20 keystream (RFC 8439, zero nonce) under key SHA-256(domain tag || seed): a
// standard PRF construction, fast, and bit-for-bit identical on every platform.

import { chacha20 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';

export interface Rng {
  /** Returns the next n bytes of the stream. */
  bytes(n: number): Uint8Array;
}

const BLOCK_BYTES = 64;
const ZERO_NONCE = new Uint8Array(12);
// RFC 8439 has a 32-bit block counter: 2**32 blocks of 64 bytes (256 GiB) per stream.
const MAX_BLOCKS = 2 ** 32;

// Type tags keep seededRng(1), seededRng('1') and seededRng(utf8('1')) apart.
const SEED_TAGS = {
  string: utf8ToBytes('fedconn/rng/v1/seed/string\0'),
  number: utf8ToBytes('fedconn/rng/v1/seed/number\0'),
  bytes: utf8ToBytes('fedconn/rng/v1/seed/bytes\0'),
} as const;
const FORK_TAG = utf8ToBytes('fedconn/rng/v1/fork\0');

class ChaChaRng implements Rng {
  /** The stream key; fork() derives children from it, never from the stream position. */
  readonly key: Uint8Array;
  #nextBlock = 0;
  #spare: Uint8Array = new Uint8Array(0);
  /** Bytes read so far: with the key, all it takes to resume the stream (see resumeStream). */
  #offset = 0;

  constructor(key: Uint8Array) {
    this.key = key;
  }

  get offset(): number {
    return this.#offset;
  }

  /** Moves to `offset` bytes into a stream nothing has read yet. */
  skipTo(offset: number): this {
    assertLength(offset);
    if (this.#offset !== 0) throw new Error('only a fresh stream can skip ahead');
    const blocks = Math.floor(offset / BLOCK_BYTES);
    if (blocks >= MAX_BLOCKS) throw new RangeError('rng stream exhausted');
    this.#nextBlock = blocks;
    this.bytes(offset % BLOCK_BYTES);
    this.#offset = offset;
    return this;
  }

  bytes(n: number): Uint8Array {
    assertLength(n);
    this.#offset += n;
    const out = new Uint8Array(n);
    const fromSpare = Math.min(n, this.#spare.length);
    out.set(this.#spare.subarray(0, fromSpare));
    this.#spare = this.#spare.subarray(fromSpare);
    const missing = n - fromSpare;
    if (missing === 0) return out;
    const blocks = Math.ceil(missing / BLOCK_BYTES);
    if (this.#nextBlock + blocks > MAX_BLOCKS) throw new RangeError('rng stream exhausted');
    const keystream = chacha20(
      this.key,
      ZERO_NONCE,
      new Uint8Array(blocks * BLOCK_BYTES),
      undefined,
      this.#nextBlock,
    );
    this.#nextBlock += blocks;
    out.set(keystream.subarray(0, missing), fromSpare);
    this.#spare = keystream.subarray(missing);
    return out;
  }
}

function assertLength(n: number): void {
  // A bad length is a programming error in the caller, not untrusted input.
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`invalid byte count ${n}`);
}

/**
 * A deterministic byte stream: the same seed always yields the same bytes, however the
 * reads are split (bytes(3) then bytes(5) equals the first 8 bytes of bytes(8)).
 * Numbers are seeded by their decimal text, so 0 and -0 are the same seed.
 */
export function seededRng(seed: string | number | Uint8Array): Rng {
  const material =
    typeof seed === 'string'
      ? concatBytes(SEED_TAGS.string, utf8ToBytes(seed))
      : typeof seed === 'number'
        ? concatBytes(SEED_TAGS.number, utf8ToBytes(String(seed)))
        : concatBytes(SEED_TAGS.bytes, seed);
  return new ChaChaRng(sha256(material));
}

/**
 * An independent child stream named by label. For a seeded parent the child depends only
 * on the parent's seed and the label, not on how much of the parent was read, and forking
 * reads nothing from the parent: adding a consumer never shifts anyone else's bytes. The
 * same label always gives the same child, so labels should name the consumer.
 * Any other Rng (systemRng, a test double) seeds the child with 32 bytes read from it.
 */
export function fork(rng: Rng, label: string): Rng {
  const parentKey = rng instanceof ChaChaRng ? rng.key : rng.bytes(32);
  return new ChaChaRng(sha256(concatBytes(FORK_TAG, parentKey, utf8ToBytes(label))));
}

/** Where a seeded stream stands: its key and how many bytes were read from it. */
export interface StreamPosition {
  readonly key: Uint8Array;
  readonly offset: number;
}

/**
 * The position of a seeded stream, so that a holder of many idle streams can keep 40 bytes
 * each instead of the stream; undefined for any other Rng (its bytes cannot be replayed).
 */
export function positionOf(rng: Rng): StreamPosition | undefined {
  return rng instanceof ChaChaRng ? { key: rng.key, offset: rng.offset } : undefined;
}

/** The stream `position` was taken from, continuing with the byte that would have come next. */
export function resumeStream(position: StreamPosition): Rng {
  return new ChaChaRng(position.key).skipTo(position.offset);
}

// crypto.getRandomValues refuses more than 65536 bytes per call.
const MAX_RANDOM_VALUES = 65536;

/** Operating-system randomness, for runs that do not need to be reproducible. */
export const systemRng: Rng = Object.freeze({
  bytes(n: number): Uint8Array {
    assertLength(n);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += MAX_RANDOM_VALUES) {
      globalThis.crypto.getRandomValues(out.subarray(i, Math.min(n, i + MAX_RANDOM_VALUES)));
    }
    return out;
  },
});
