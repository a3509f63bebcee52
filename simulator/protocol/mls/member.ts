// A member of connection groups: an MLS BasicCredential (RFC 9420 §5.3) whose
// identity bytes the caller chooses (the protocol puts a reference to the
// client's ClientCredential there), a signature key pair, and the ciphersuite
// implementation carrying this member's randomness. KeyPackages (§10) for
// joining by Welcome are generated from it, and the bare LeafNodes (§7.2) that a
// group's creator and an external joiner need instead.

import { signLeafNodeKeyPackage } from 'ts-mls/leafNode.js';
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
import { decodeKeyPackage, encodeKeyPackage } from './wire.ts';
import { sameBytes } from './bytes.ts';
import { meter } from '../crypto/meter.ts';
import { positionOf, resumeStream, type StreamPosition } from '../crypto/rng.ts';

export interface Member {
  readonly credential: CredentialBasic;
  readonly signaturePublicKey: Uint8Array;
  readonly signaturePrivateKey: Uint8Array;
  /** This member's crypto; every random value it uses comes from its RandomSource. */
  readonly cs: CiphersuiteImpl;
  /** That RandomSource; undefined when the member draws from the system's. */
  readonly rng: RandomSource | undefined;
  /** Where a seeded `rng` stood when the member was created (replayed by loadKeyPackage). */
  readonly origin: StreamPosition | undefined;
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
  return memberOf(identity, rng);
}

async function memberOf(identity: Uint8Array, rng: RandomSource | undefined): Promise<Member> {
  const origin = rng === undefined ? undefined : positionOf(rng);
  const cs = ciphersuite(rng);
  const keys = await cs.signature.keygen();
  return {
    credential: { credentialType: 'basic', identity: identity.slice() },
    signaturePublicKey: keys.publicKey,
    signaturePrivateKey: keys.signKey,
    cs,
    rng,
    origin,
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

/**
 * The LeafNode a member brings to a group it creates (RFC 9420 §11): a fresh HPKE key
 * pair and the signed leaf, in the KeyPackage shape ts-mls's createGroup takes. Of that
 * shape ts-mls reads the leaf node and its HPKE private key only, so there is no init
 * key and no KeyPackage signature: MLS asks for neither here, and nothing is sent.
 */
export async function creatorLeaf(member: Member): Promise<KeyPackageBundle> {
  const cs = member.cs;
  const keys = await cs.hpke.generateKeyPair();
  const leafNode = await signLeafNodeKeyPackage(
    { ...leafOf(member), hpkePublicKey: await cs.hpke.exportPublicKey(keys.publicKey) },
    member.signaturePrivateKey,
    cs.signature,
  );
  return leafOnly(member, leafNode, await cs.hpke.exportPrivateKey(keys.privateKey));
}

/**
 * What an external joiner brings (RFC 9420 §12.4.3.2): its credential, capabilities and
 * signature key. ts-mls's joinGroupExternal takes them in a KeyPackage's leaf node and
 * signs a new leaf, with the HPKE key of its UpdatePath, in the commit; it reads nothing
 * else of the package. So this leaf carries no HPKE key and no signature of its own,
 * and never leaves the joiner.
 */
export function externalJoinerLeaf(member: Member): KeyPackageBundle {
  return leafOnly(member, { ...leafOf(member), hpkePublicKey: NONE, signature: NONE }, NONE);
}

/** No bytes: the fields of the KeyPackage shape that MLS does not ask for here. */
const NONE = new Uint8Array(0);

/** What a member's leaf says of it, as in its KeyPackages' leaves. */
const leafOf = (member: Member) => ({
  leafNodeSource: 'key_package' as const,
  signaturePublicKey: member.signaturePublicKey,
  extensions: [],
  credential: member.credential,
  capabilities: CAPABILITIES,
  lifetime: defaultLifetime,
});

function leafOnly(
  member: Member,
  leafNode: KeyPackage['leafNode'],
  hpkePrivateKey: Uint8Array,
): KeyPackageBundle {
  return {
    publicPackage: {
      version: 'mls10',
      cipherSuite: CIPHERSUITE,
      initKey: NONE,
      leafNode,
      extensions: [],
      signature: NONE,
    },
    privatePackage: {
      initPrivateKey: NONE,
      hpkePrivateKey,
      signaturePrivateKey: member.signaturePrivateKey,
    },
    owner: member,
  };
}

/**
 * A KeyPackageBundle as a client keeps it from publishing until a Welcome uses it: the
 * KeyPackage as it went on the wire, its two HPKE private keys in one array, and its
 * owner as the position of the owner's random stream. Decoded, a KeyPackage and its
 * member are over a hundred small objects and arrays (about 5 KiB); each client keeps
 * three, and a researcher's federation may hold hundreds of thousands of clients.
 */
export interface StoredKeyPackage {
  /** The KeyPackage's MLSMessage encoding (RFC 9420 §6), as published. */
  readonly encoded: Uint8Array;
  /** init_key's private key, then encryption_key's (the leaf's), 32 bytes each. */
  readonly privateKeys: Uint8Array;
  /**
   * A seeded owner is a function of its credential (in the KeyPackage) and its stream, so
   * where its stream began and how far it was read are enough to rebuild it; an owner
   * drawing system randomness is kept whole.
   */
  readonly owner: { readonly origin: StreamPosition; readonly offset: number } | Member;
}

const X25519_PRIVATE_KEY = 32;

/** The bundle, kept compactly. Its owner must not be used after this: only the copy lives on. */
export function storeKeyPackage(bundle: KeyPackageBundle): StoredKeyPackage {
  const { initPrivateKey, hpkePrivateKey, signaturePrivateKey } = bundle.privatePackage;
  if (initPrivateKey.length !== X25519_PRIVATE_KEY || hpkePrivateKey.length !== X25519_PRIVATE_KEY)
    throw new RangeError('a KeyPackage private key is not a 32-byte X25519 key');
  // Kept once, on the owner: the bundle's signature key is the member's own.
  if (signaturePrivateKey !== bundle.owner.signaturePrivateKey)
    throw new Error('a KeyPackage is signed by a key other than its owner’s');
  const privateKeys = new Uint8Array(2 * X25519_PRIVATE_KEY);
  privateKeys.set(initPrivateKey, 0);
  privateKeys.set(hpkePrivateKey, X25519_PRIVATE_KEY);
  const { origin, rng } = bundle.owner;
  const offset = rng === undefined ? undefined : positionOf(rng)?.offset;
  return {
    encoded: encodeKeyPackage(bundle.publicPackage),
    privateKeys,
    owner: origin === undefined || offset === undefined ? bundle.owner : { origin, offset },
  };
}

/** The public KeyPackage of a stored bundle; it was encoded by storeKeyPackage, so it decodes. */
export function storedPublicPackage(stored: StoredKeyPackage): KeyPackage {
  const decoded = decodeKeyPackage(stored.encoded);
  if (!decoded.ok) throw new Error(`a stored KeyPackage does not decode: ${decoded.error.detail}`);
  return decoded.value;
}

/**
 * The bundle `stored` keeps, its owner rebuilt as it stood when stored. `publicPackage`,
 * when given, is its KeyPackage already decoded (storedInitKey's): decoded once, not twice.
 */
export async function loadKeyPackage(
  stored: StoredKeyPackage,
  publicPackage: KeyPackage = storedPublicPackage(stored),
): Promise<KeyPackageBundle> {
  const owner =
    'cs' in stored.owner ? stored.owner : await replayOwner(publicPackage, stored.owner);
  const privatePackage: PrivateKeyPackage = {
    initPrivateKey: stored.privateKeys.slice(0, X25519_PRIVATE_KEY),
    hpkePrivateKey: stored.privateKeys.slice(X25519_PRIVATE_KEY),
    signaturePrivateKey: owner.signaturePrivateKey,
  };
  return { publicPackage, privatePackage, owner };
}

/** The init key pair that opens what is sealed to the stored KeyPackage's init_key. */
export function storedInitKey(stored: StoredKeyPackage): {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
  /** The KeyPackage it was read from, for loadKeyPackage. */
  readonly publicPackage: KeyPackage;
} {
  const publicPackage = storedPublicPackage(stored);
  return {
    privateKey: stored.privateKeys.subarray(0, X25519_PRIVATE_KEY),
    publicKey: publicPackage.initKey,
    publicPackage,
  };
}

/** Creates the member again where its stream began, then reads on to where it stood. */
async function replayOwner(
  publicPackage: KeyPackage,
  stored: { readonly origin: StreamPosition; readonly offset: number },
): Promise<Member> {
  const { credential, signaturePublicKey } = publicPackage.leafNode;
  if (credential.credentialType !== 'basic')
    throw new Error('a stored KeyPackage has no basic credential');
  const rng = resumeStream(stored.origin);
  const owner = await memberOf(credential.identity, rng);
  const read = positionOf(rng)?.offset ?? 0;
  if (read > stored.offset)
    throw new Error('a stored owner’s stream stands before the draws that created it');
  rng.bytes(stored.offset - read);
  if (!sameBytes(owner.signaturePublicKey, signaturePublicKey))
    throw new Error('a stored KeyPackage’s owner did not replay to its signature key');
  return owner;
}
