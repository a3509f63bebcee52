// Unit costs of the crypto operations the protocol needs, measured in this
// process: the prices of the crypto floor.
import { generateEd25519KeyPair, verifyEd25519 } from '../simulator/protocol/crypto/ed25519.ts';
import { deriveHpkeKeyPair, hpkeOpen, hpkeSeal } from '../simulator/protocol/crypto/hpke.ts';
import { CRYPTO_OPS, type CryptoOp } from '../simulator/protocol/crypto/meter.ts';
import { fork, seededRng } from '../simulator/protocol/crypto/rng.ts';
import {
  addClients,
  createConnectionGroup,
  createMember,
  decryptMessage,
  encryptMessage,
  exportGroupInfo,
  generateKeyPackage,
  joinByExternalCommit,
  joinByWelcome,
  processCommit,
  type KeyPackageBundle,
} from '../simulator/protocol/mls/index.ts';
import { median } from './stats.ts';

/** Median wall time and median CPU time (all threads: WebCrypto runs on libuv's pool). */
export interface Cost {
  readonly ms: number;
  readonly cpuMs: number;
}

export interface Floor {
  /** Unit cost in wall time, median ms. */
  readonly wall: Readonly<Record<CryptoOp, number>>;
  /** Unit cost in CPU time, median ms: steadier than wall time on a shared machine. */
  readonly cpu: Readonly<Record<CryptoOp, number>>;
}

const cpuNow = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/** Median wall and CPU time of `op` over `iterations` calls, after a few untimed ones. */
export async function time(iterations: number, op: (i: number) => Promise<unknown>): Promise<Cost> {
  // Warm-up calls get indices of their own, so an op on fresh inputs stays fresh.
  for (let i = 0; i < Math.min(5, iterations); i++) await op(iterations + i);
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    const cpuStart = cpuNow();
    await op(i);
    cpu.push(cpuNow() - cpuStart);
    wall.push(performance.now() - start);
  }
  return { ms: median(wall), cpuMs: median(cpu) };
}

const minus = (a: Cost, b: Cost): Cost => ({
  ms: Math.max(0, a.ms - b.ms),
  cpuMs: Math.max(0, a.cpuMs - b.cpuMs),
});

export const must = <T>(
  r: { ok: true; value: T } | { ok: false; error: { detail: string } },
): T => {
  if (!r.ok) throw new Error(r.error.detail);
  return r.value;
};

export async function measureFloor(iterations = 40): Promise<Floor> {
  const rng = seededRng('floor');
  const r = (label: string) => fork(rng, label);
  const key = await generateEd25519KeyPair(r('key'));
  const message = new Uint8Array(200).fill(7);
  const signature = await key.sign(message);
  const hpke = await deriveHpkeKeyPair(r('hpke'));
  const sealed = must(
    await hpkeSeal({
      publicKey: hpke.publicKey,
      plaintext: new Uint8Array(1500),
      info: new Uint8Array(),
      rng: r('s'),
    }),
  );
  const creator = await createMember(new Uint8Array(16), r('creator'));
  const group = await createConnectionGroup(new Uint8Array(16).fill(1), creator);
  const exported = await exportGroupInfo(group);
  const joiner = await createMember(new Uint8Array(16).fill(2), r('joiner'));
  const join = must(await joinByExternalCommit(exported.groupInfo, exported.ratchetTree, joiner));
  // Seeded members, as the reference's clients are: a member on system randomness runs
  // HPKE through WebCrypto, which made joinByWelcome cost 2.5 times as much (priced that
  // way until 2026-12-05).
  const kps: [KeyPackageBundle, KeyPackageBundle] = [
    await generateKeyPackage(await createMember(new Uint8Array(16).fill(3), r('kp3'))),
    await generateKeyPackage(await createMember(new Uint8Array(16).fill(4), r('kp4'))),
  ];
  const added = must(
    await addClients(
      join.group,
      kps.map((k) => k.publicPackage),
    ),
  );
  const receiver = must(await processCommit(group, join.commit));
  const app = must(await encryptMessage(join.group, new Uint8Array(100)));

  const tree = (await exportGroupInfo(added.group)).ratchetTree;
  const keyPackage = await time(iterations, async () => generateKeyPackage(creator));
  const verify = await time(iterations * 4, () => verifyEd25519(key.publicKey, message, signature));
  // Keys never seen before: each verify pays the key's validation and import once.
  const fresh = await Promise.all(
    Array.from({ length: iterations * 2 + 5 }, async (_, i) => {
      const k = await generateEd25519KeyPair(r(`fresh${i}`));
      return { publicKey: k.publicKey, signature: await k.sign(message) };
    }),
  );
  const firstSight = await time(iterations * 2, (i) =>
    verifyEd25519(fresh[i]?.publicKey ?? key.publicKey, message, fresh[i]?.signature ?? signature),
  );
  const costs: Record<CryptoOp, Cost> = {
    'ed25519.keygen': await time(iterations * 4, (i) => generateEd25519KeyPair(r(`k${i}`))),
    'ed25519.sign': await time(iterations * 4, () => key.sign(message)),
    // With the key already imported; a first sight is priced apart, below.
    'ed25519.verify': verify,
    'ed25519.importKey': minus(firstSight, verify),
    'hpke.derive': await time(iterations, (i) => deriveHpkeKeyPair(r(`h${i}`))),
    'hpke.seal': await time(iterations, (i) =>
      hpkeSeal({
        publicKey: hpke.publicKey,
        plaintext: new Uint8Array(1500),
        info: new Uint8Array(),
        rng: r(`s${i}`),
      }),
    ),
    'hpke.open': await time(iterations, () =>
      hpkeOpen({ keyPair: hpke, sealed, info: new Uint8Array() }),
    ),
    'mls.member': await time(iterations, (i) => createMember(new Uint8Array(16), r(`m${i}`))),
    'mls.keyPackage': keyPackage,
    // A creator brings a fresh LeafNode (HPKE key pair and signature, RFC 9420 §11), which
    // is part of this price; an external joiner's leaf is the one its UpdatePath signs.
    'mls.createGroup': await time(iterations, () =>
      createConnectionGroup(new Uint8Array(16).fill(9), creator),
    ),
    'mls.exportGroupInfo': await time(iterations, () => exportGroupInfo(group)),
    'mls.externalJoin': await time(iterations, () =>
      joinByExternalCommit(exported.groupInfo, exported.ratchetTree, joiner),
    ),
    'mls.processCommit': await time(iterations, () => processCommit(group, join.commit)),
    'mls.addClients': await time(iterations, () =>
      addClients(
        join.group,
        kps.map((k) => k.publicPackage),
      ),
    ),
    'mls.joinByWelcome': await time(iterations, (i) =>
      joinByWelcome(added.welcome, i % 2 === 0 ? kps[0] : kps[1], tree),
    ),
    'mls.encrypt': await time(iterations, () => encryptMessage(group, new Uint8Array(100))),
    'mls.decrypt': await time(iterations, () => decryptMessage(receiver, app.message)),
  };
  const pick = (f: (c: Cost) => number) =>
    Object.fromEntries(CRYPTO_OPS.map((op) => [op, f(costs[op])])) as Record<CryptoOp, number>;
  return { wall: pick((c) => c.ms), cpu: pick((c) => c.cpuMs) };
}
