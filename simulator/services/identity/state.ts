// Everything the identity service of one homeserver stores: 3PID bindings, access
// tokens, the pepper state, and hashes trusted servers pushed (MSC4004). All of it
// lives in observer-recorded Tables; the per-pepper hash index is a cache derived
// from the bindings and holds nothing the bindings do not.
//
// Pushed hashes and rotation: a pushed hash was computed with the pepper that was
// current when it was pushed and cannot be re-derived for another pepper. So each
// pushed hash is kept under its pepper. It keeps answering lookups made with that
// pepper while the pepper is accepted (current, then in alt_lookup_peppers), and is
// deleted when the pepper is retired. Lookups with the new pepper see it only once
// the trusted server pushes again with the new pepper.
import { lookupHash } from '../../protocol/identity/hash.ts';
import { fail, ok, type Failure, type Result } from '../../protocol/result.ts';
import type { Rng } from '../../protocol/crypto/rng.ts';
import { encodeUnpaddedBase64Url } from '../../protocol/encoding/base64.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import type { ServerRecorder } from '../../net/observer.ts';
import { Table } from '../../net/store.ts';
import { generatePepper } from './pepper.ts';

export interface Binding {
  readonly address: string;
  readonly medium: string;
  readonly user_id: string;
}

export interface AccessToken {
  readonly user_id: string;
  /** Milliseconds since the epoch; null for a token that never expires. */
  readonly expires_at: number | null;
}

export interface PepperState {
  readonly lookup_pepper: string;
  /** Older peppers still accepted, most recent first (MSC4004 alt_lookup_peppers). */
  readonly alt_lookup_peppers: readonly string[];
}

export interface PushedHash {
  readonly pepper: string;
  readonly hash: string;
  /** The trusted servers that declared this hash, sorted. */
  readonly servers: readonly string[];
}

/** Deliberate weaknesses, for the reference's mutants only (see mutants.ts). */
export interface StateMutations {
  readonly pepperWithUnderscore?: boolean;
  readonly standardBase64?: boolean;
  readonly dropOldPeppers?: boolean;
  readonly acceptRetiredPepper?: boolean;
  readonly storeNothing?: boolean;
  readonly refuseExpiringTokens?: boolean;
}

export type RotateFailureKind = 'pepper-in-use';
export type RetireFailureKind = 'current-pepper' | 'unknown-pepper';

const PEPPER_ROW = 'pepper';
const TOKEN_BYTES = 32;

const bindingKey = (medium: string, address: string): string => JSON.stringify([medium, address]);
// Peppers are [a-zA-Z0-9]+ and hashes URL-safe base64, so '/' cannot occur in either.
const pushedKey = (pepper: string, hash: string): string => `${pepper}/${hash}`;

export class IdentityState {
  readonly #bindings: Table<Binding>;
  readonly #tokens: Table<AccessToken>;
  readonly #peppers: Table<PepperState>;
  readonly #pushed: Table<PushedHash>;
  readonly #pepperRng: Rng;
  readonly #tokenRng: Rng;
  /** pepper -> (sha256 hash -> user id), rebuilt lazily after every bind. */
  readonly #index = new Map<string, Map<string, string>>();
  readonly #mutations: StateMutations;
  /** Only under the IS-FED-02 mutant: retired peppers it keeps accepting. */
  readonly #retired = new Set<string>();

  constructor(
    recorder: ServerRecorder,
    rngs: { readonly pepper: Rng; readonly token: Rng },
    mutations: StateMutations = {},
  ) {
    this.#mutations = mutations;
    this.#bindings = new Table('identity_bindings', recorder);
    this.#tokens = new Table('identity_tokens', recorder);
    this.#peppers = new Table('identity_peppers', recorder);
    this.#pushed = new Table('identity_pushed_hashes', recorder);
    this.#pepperRng = rngs.pepper;
    this.#tokenRng = rngs.token;
    this.#peppers.put(PEPPER_ROW, {
      lookup_pepper: this.#newPepper(),
      alt_lookup_peppers: [],
    });
  }

  // --- peppers ------------------------------------------------------------------------

  #newPepper(): string {
    const pepper = generatePepper(this.#pepperRng);
    return this.#mutations.pepperWithUnderscore === true ? `${pepper.slice(1)}_` : pepper;
  }

  get peppers(): PepperState {
    const state = this.#peppers.get(PEPPER_ROW);
    if (state === undefined) throw new Error('identity pepper state is missing');
    return state;
  }

  /** True for the current pepper and every alternative pepper not yet retired. */
  acceptsPepper(pepper: string): boolean {
    const { lookup_pepper, alt_lookup_peppers } = this.peppers;
    return (
      pepper === lookup_pepper ||
      alt_lookup_peppers.includes(pepper) ||
      (this.#mutations.acceptRetiredPepper === true && this.#retired.has(pepper))
    );
  }

  /** Makes `next` (or a generated pepper) current; the old one becomes the first alternative. */
  rotate(next?: string): Result<PepperState, Failure<RotateFailureKind>> {
    const { lookup_pepper, alt_lookup_peppers } = this.peppers;
    const pepper = next ?? this.#newPepper();
    if (this.acceptsPepper(pepper)) {
      return fail('pepper-in-use', `pepper ${pepper} is already current or an alternative`);
    }
    const state = {
      lookup_pepper: pepper,
      alt_lookup_peppers:
        this.#mutations.dropOldPeppers === true ? [] : [lookup_pepper, ...alt_lookup_peppers],
    };
    this.#peppers.put(PEPPER_ROW, state);
    return ok(state);
  }

  /** Stops accepting an alternative pepper and forgets the hashes pushed under it. */
  retire(pepper: string): Result<PepperState, Failure<RetireFailureKind>> {
    const { lookup_pepper, alt_lookup_peppers } = this.peppers;
    if (pepper === lookup_pepper) {
      return fail('current-pepper', 'the current pepper cannot be retired; rotate first');
    }
    if (!alt_lookup_peppers.includes(pepper)) {
      return fail('unknown-pepper', `${pepper} is not an alternative pepper`);
    }
    const state = {
      lookup_pepper,
      alt_lookup_peppers: alt_lookup_peppers.filter((p) => p !== pepper),
    };
    this.#peppers.put(PEPPER_ROW, state);
    if (this.#mutations.acceptRetiredPepper === true) this.#retired.add(pepper);
    for (const [key, pushed] of this.#pushed.entries()) {
      if (pushed.pepper === pepper) this.#pushed.delete(key);
    }
    this.#index.delete(pepper);
    return ok(state);
  }

  // --- bindings -----------------------------------------------------------------------

  /** Binds (or re-binds) a 3PID to a user id. */
  bind(binding: Binding): void {
    this.#bindings.put(bindingKey(binding.medium, binding.address), binding);
    this.#index.clear();
  }

  bindingList(): readonly Binding[] {
    return this.#bindings.values();
  }

  binding(medium: string, address: string): Binding | undefined {
    return this.#bindings.get(bindingKey(medium, address));
  }

  /** The user bound to a sha256 hash made with `pepper`, if any. */
  userForHash(pepper: string, hash: string): string | undefined {
    let index = this.#index.get(pepper);
    if (index === undefined) {
      index = new Map();
      for (const { address, medium, user_id } of this.#bindings.values()) {
        if (this.#mutations.standardBase64 === true) {
          const digest = sha256(utf8ToBytes(`${address} ${medium} ${pepper}`));
          index.set(Buffer.from(digest).toString('base64').replace(/=+$/, ''), user_id);
          continue;
        }
        const hashed = lookupHash({ algorithm: 'sha256', address, medium, pepper });
        if (hashed.ok) index.set(hashed.value, user_id);
      }
      this.#index.set(pepper, index);
    }
    return index.get(hash);
  }

  // --- access tokens ------------------------------------------------------------------

  issueToken(userId: string, expiresAt: number | null): string {
    const token = encodeUnpaddedBase64Url(this.#tokenRng.bytes(TOKEN_BYTES));
    this.#tokens.put(token, { user_id: userId, expires_at: expiresAt });
    return token;
  }

  /** The user a token belongs to, or undefined for unknown and expired tokens. */
  tokenUser(token: string, now: number): string | undefined {
    const entry = this.#tokens.get(token);
    if (entry === undefined) return undefined;
    if (entry.expires_at !== null && now >= entry.expires_at) return undefined;
    if (entry.expires_at !== null && this.#mutations.refuseExpiringTokens === true)
      return undefined;
    return entry.user_id;
  }

  // --- pushed hashes (MSC4004) ----------------------------------------------------------

  /** Records that `server` declared `hashes`, made with `pepper`. Pushes add, never replace. */
  recordPush(server: string, pepper: string, hashes: readonly string[]): void {
    if (this.#mutations.storeNothing === true) return;
    for (const hash of new Set(hashes)) {
      const key = pushedKey(pepper, hash);
      const servers = this.#pushed.get(key)?.servers ?? [];
      if (servers.includes(server)) continue;
      this.#pushed.put(key, { pepper, hash, servers: [...servers, server].sort() });
    }
  }

  /** The servers that declared this hash under this pepper. */
  pushedServers(pepper: string, hash: string): readonly string[] {
    return this.#pushed.get(pushedKey(pepper, hash))?.servers ?? [];
  }
}
