// Builders for complete, valid credential chains. Used by the protocol tests and,
// later, by the conformance suites to generate corruptions of every link.
import { generateEd25519KeyPair, type Ed25519KeyPair } from '../crypto/ed25519.ts';
import { fork, seededRng, type Rng } from '../crypto/rng.ts';
import type { AsCredentialsResponse } from './chain.ts';
import {
  createClientCredentialRequest,
  issueAsCredential,
  issueIntermediateCredential,
  signRequest,
  type AsCredential,
  type AsIntermediateCredential,
  type ClientCredential,
  type ClientId,
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
