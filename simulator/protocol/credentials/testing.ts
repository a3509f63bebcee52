// Builders for complete, valid credential chains. Used by the protocol tests and,
// later, by the conformance suites to generate corruptions of every link.
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import {
  generateEd25519KeyPair,
  SMALL_ORDER_ENCODINGS,
  type Ed25519KeyPair,
} from '../crypto/ed25519.ts';
import { fork, seededRng, type Rng } from '../crypto/rng.ts';
import { decodeBase64, encodeUnpaddedBase64 } from '../encoding/base64.ts';
import type { AsCredentialsResponse } from './chain.ts';
import {
  createSigningRequest,
  fingerprint,
  createClientCredentialRequest,
  issueAsCredential,
  issueIntermediateCredential,
  signRequest,
  type AsCredential,
  type AsIntermediateCredential,
  type ClientCredential,
  type ClientId,
  type Credential,
  type CredentialType,
} from './credential.ts';
import type { ExpirationData } from './expiration.ts';

const DAY = 24 * 60 * 60 * 1000;

/** Default windows nest with a margin: AS 10 years, intermediate 1 year, client 90 days. */
export const defaultWindows = (now: number) => ({
  as: { not_before: now - 365 * DAY, not_after: now + 9 * 365 * DAY },
  intermediate: { not_before: now - 30 * DAY, not_after: now + 335 * DAY },
  client: { not_before: now - DAY, not_after: now + 89 * DAY },
});

export interface ChainFixture {
  readonly now: number;
  readonly asKey: Ed25519KeyPair;
  readonly intermediateKey: Ed25519KeyPair;
  readonly clientKey: Ed25519KeyPair;
  readonly asCredential: AsCredential;
  readonly intermediate: AsIntermediateCredential;
  readonly client: ClientCredential;
  readonly published: AsCredentialsResponse;
}

export interface ChainOptions {
  readonly rng?: Rng;
  readonly now?: number;
  readonly domain?: string;
  readonly clientId?: ClientId;
  readonly windows?: Partial<Record<'as' | 'intermediate' | 'client', ExpirationData>>;
}

export async function buildChain(options: ChainOptions = {}): Promise<ChainFixture> {
  const rng = options.rng ?? seededRng('credential chain');
  const now = options.now ?? Date.UTC(2026, 10, 22);
  const domain = options.domain ?? 'hs1.example';
  const windows = { ...defaultWindows(now), ...options.windows };
  const asKey = await generateEd25519KeyPair(fork(rng, 'as'));
  const intermediateKey = await generateEd25519KeyPair(fork(rng, 'intermediate'));
  const clientKey = await generateEd25519KeyPair(fork(rng, 'client'));
  const asCredential = await issueAsCredential({ key: asKey, domain, expiration: windows.as });
  const intermediate = await issueIntermediateCredential({
    key: intermediateKey,
    asKey,
    asCredential,
    expiration: windows.intermediate,
  });
  const request = await createClientCredentialRequest({
    key: clientKey,
    clientId: options.clientId ?? { user_id: `@alice:${domain}`, client: 'client-1' },
    intermediate,
    expiration: windows.client,
  });
  const client = await signRequest('ClientCredential', intermediateKey, request);
  return {
    now,
    asKey,
    intermediateKey,
    clientKey,
    asCredential,
    intermediate,
    client,
    published: {
      as_credentials: [asCredential],
      as_intermediate_credentials: [intermediate],
      revoked_fingerprints: [],
    },
  };
}

// ---------------------------------------------------------------------------------------
// Corruptions: each breaks exactly one thing, so a verifier's reason can be checked.

/** Issuer signature over an arbitrary (possibly tampered) credential body. */
export function resign<P>(
  type: CredentialType,
  issuer: Ed25519KeyPair,
  credential: Credential<P>,
): Promise<Credential<P>> {
  return signRequest(type, issuer, credential);
}

/** Re-issues the links below a modified credential so that only the modification is wrong. */
export async function relink(
  f: ChainFixture,
  changed: {
    readonly as?: AsCredential;
    readonly intermediate?: AsIntermediateCredential;
    readonly client?: ClientCredential;
  },
): Promise<ChainFixture> {
  const asCredential = changed.as ?? f.asCredential;
  let intermediate = changed.intermediate ?? f.intermediate;
  // Re-issued links get a fresh self-signature by their own key over the new payload,
  // so that nothing but the change itself is wrong in the chain.
  if (changed.as !== undefined && changed.intermediate === undefined) {
    intermediate = await signRequest(
      'AsIntermediateCredential',
      f.asKey,
      await createSigningRequest('AsIntermediateCredential', f.intermediateKey, {
        ...intermediate.payload,
        signer_fingerprint: fingerprint(asCredential),
      }),
    );
  }
  let client = changed.client ?? f.client;
  const issuerChanged = changed.as !== undefined || changed.intermediate !== undefined;
  if (changed.client === undefined && issuerChanged) {
    client = await signRequest(
      'ClientCredential',
      f.intermediateKey,
      await createSigningRequest('ClientCredential', f.clientKey, {
        ...client.payload,
        signer_fingerprint: fingerprint(intermediate),
      }),
    );
  }
  return {
    ...f,
    asCredential,
    intermediate,
    client,
    published: {
      ...f.published,
      as_credentials: [asCredential],
      as_intermediate_credentials: [intermediate],
    },
  };
}

/** Flips one bit of the bytes a base64 field holds and re-encodes them. */
export function flipBase64Bit(text: string, bit: number): string {
  const bytes = decodeBase64(text);
  if (!bytes.ok) throw new Error(`not base64: ${text}`);
  const copy = bytes.value.slice();
  const index = Math.floor(bit / 8) % copy.length;
  copy[index] = (copy[index] ?? 0) ^ (1 << (bit % 8));
  return encodeUnpaddedBase64(copy);
}

/** The group order of Ed25519. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

/** Returns (R, S + L): the classic malleated Ed25519 signature, valid for lenient verifiers. */
export function malleateSignature(signature: Uint8Array): Uint8Array {
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(signature[i] ?? 0);
  let sPlusL = s + L;
  const out = signature.slice();
  for (let i = 32; i < 64; i++) {
    out[i] = Number(sPlusL & 0xffn);
    sPlusL >>= 8n;
  }
  return out;
}

/**
 * A "key pair" whose public key is a point of small order: R = [r]B, S = r satisfies
 * the cofactored equation for every message (and the cofactorless one whenever [k]A = O).
 */
export function smallOrderKey(index: number, rng: Rng): Ed25519KeyPair {
  const publicKey = hexToBytes(SMALL_ORDER_ENCODINGS[index % SMALL_ORDER_ENCODINGS.length] ?? '');
  let draws = 0;
  return {
    get publicKey() {
      return publicKey.slice();
    },
    sign() {
      const r = (bytesToNumberLE(fork(rng, `r ${draws++}`).bytes(32)) % (L - 1n)) + 1n;
      const out = new Uint8Array(64);
      out.set(ed25519.Point.BASE.multiply(r).toBytes(), 0);
      out.set(numberToBytesLE(r, 32), 32);
      return Promise.resolve(out);
    },
  };
}
