// A member of connection groups: an MLS BasicCredential (RFC 9420 §5.3) whose
// identity bytes the caller chooses (the protocol puts a reference to the
// client's ClientCredential there), a signature key pair, and the ciphersuite
// implementation carrying this member's randomness. KeyPackages (§10) for
// joining by Welcome are generated from it.

import {
  defaultLifetime,
  generateKeyPackageWithKey,
  type Capabilities,
  type CiphersuiteImpl,
  type CredentialBasic,
  type KeyPackage,
  type Lifetime,
  type PrivateKeyPackage,
} from 'ts-mls';
import { CIPHERSUITE, ciphersuite, type RandomSource } from './ciphersuite.ts';
import { meter } from '../crypto/meter.ts';

export interface Member {
  readonly credential: CredentialBasic;
  readonly signaturePublicKey: Uint8Array;
  readonly signaturePrivateKey: Uint8Array;
  /** This member's crypto; every random value it uses comes from its RandomSource. */
  readonly cs: CiphersuiteImpl;
}

/** A KeyPackage and its private keys; the private half never leaves the client. */
export interface KeyPackageBundle {
  readonly publicPackage: KeyPackage;
  readonly privatePackage: PrivateKeyPackage;
  readonly owner: Member;
}

// Fixed rather than ts-mls's defaultCapabilities(): that one adds GREASE values
// chosen with Math.random, which would make KeyPackages and trees irreproducible.
const CAPABILITIES: Capabilities = {
  versions: ['mls10'],
  ciphersuites: [CIPHERSUITE],
  extensions: [],
  proposals: [],
  credentials: ['basic'],
};

/**
 * Creates a member with a fresh Ed25519 signature key pair. Pass `rng` to make the
 * key pair, and everything this member later generates, a function of the seed.
 * Use one RandomSource per member: members acting concurrently would otherwise
 * interleave their draws in scheduling order.
 */
export async function createMember(identity: Uint8Array, rng?: RandomSource): Promise<Member> {
  meter.count('mls.member');
  const cs = ciphersuite(rng);
  const keys = await cs.signature.keygen();
  return {
    credential: { credentialType: 'basic', identity: identity.slice() },
    signaturePublicKey: keys.publicKey,
    signaturePrivateKey: keys.signKey,
    cs,
  };
}

/**
 * A KeyPackage for `member` with fresh init and leaf HPKE keys. The lifetime
 * defaults to unbounded because ts-mls checks it against the wall clock
 * (Date.now), not the simulator's virtual clock.
 */
export async function generateKeyPackage(
  member: Member,
  lifetime: Lifetime = defaultLifetime,
): Promise<KeyPackageBundle> {
  meter.count('mls.keyPackage');
  const { publicPackage, privatePackage } = await generateKeyPackageWithKey(
    member.credential,
    CAPABILITIES,
    lifetime,
    [],
    { signKey: member.signaturePrivateKey, publicKey: member.signaturePublicKey },
    member.cs,
  );
  return { publicPackage, privatePackage, owner: member };
}
