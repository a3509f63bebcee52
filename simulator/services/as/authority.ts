// The AS's own credentials: an AS credential (trust anchor of the domain) and an
// intermediate that signs client credentials. Generated once per homeserver from
// its rng, valid for years around the clock's start.
import { generateEd25519KeyPair, type Ed25519KeyPair } from '../../protocol/crypto/ed25519.ts';
import { fork, type Rng } from '../../protocol/crypto/rng.ts';
import {
  issueAsCredential,
  issueIntermediateCredential,
  type AsCredential,
  type AsIntermediateCredential,
} from '../../protocol/credentials/credential.ts';

const YEAR = 365 * 24 * 60 * 60 * 1000;

export interface Authority {
  readonly asCredential: AsCredential;
  readonly intermediate: AsIntermediateCredential;
  readonly intermediateKey: Ed25519KeyPair;
}

export async function createAuthority(input: {
  readonly domain: string;
  readonly rng: Rng;
  readonly now: number;
}): Promise<Authority> {
  const asKey = await generateEd25519KeyPair(fork(input.rng, 'as credential'));
  const intermediateKey = await generateEd25519KeyPair(fork(input.rng, 'intermediate credential'));
  const asCredential = await issueAsCredential({
    key: asKey,
    domain: input.domain,
    expiration: { not_before: input.now - YEAR, not_after: input.now + 9 * YEAR },
  });
  const intermediate = await issueIntermediateCredential({
    key: intermediateKey,
    asKey,
    asCredential,
    expiration: { not_before: input.now - YEAR / 2, not_after: input.now + 2 * YEAR },
  });
  return { asCredential, intermediate, intermediateKey };
}
