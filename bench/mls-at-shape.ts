// The MLS operations of one establishment, priced at the group sizes at which the
// protocol forces them. An external join into a group of three members encrypts its
// path secrets to more nodes than a join into a group of one, and a member of a group of
// four processes a larger commit than a member of a group of one; the unit costs of
// floor.ts are measured on groups of one or two members. Here the establishment's MLS
// sequence (bench/mandatory-floor.md §1) runs alone, without the protocol around it,
// and each of its operations is timed where it occurs:
//   I1 creates the group (1 member) and exports a GroupInfo; with siblings it adds the
//   n-1 of them (to n members), exports again, and each sibling joins by Welcome at n;
//   R1 joins externally (n to n+1) and exports; every initiator device processes that
//   join; with siblings R1 adds the m-1 of them (to n+m) and exports, every initiator
//   device processes that commit and each responder sibling joins by Welcome at n+m.
import type { CryptoOp } from '../simulator/protocol/crypto/meter.ts';
import { fork, seededRng } from '../simulator/protocol/crypto/rng.ts';
import {
  addClients,
  createConnectionGroup,
  createMember,
  exportGroupInfo,
  generateKeyPackage,
  joinByExternalCommit,
  joinByWelcome,
  processCommit,
  type ConnectionGroup,
} from '../simulator/protocol/mls/index.ts';
import type { EstablishmentShape } from './mandatory.ts';
import { must, time } from './floor.ts';

export type MlsOp = Extract<
  CryptoOp,
  | 'mls.createGroup'
  | 'mls.exportGroupInfo'
  | 'mls.externalJoin'
  | 'mls.processCommit'
  | 'mls.addClients'
  | 'mls.joinByWelcome'
>;

/**
 * Per operation that occurs in the shape, its mean cost over its occurrences (wall and
 * CPU ms), and how often it occurs (bench/mandatory.ts's counts).
 */
export interface MlsAtShape {
  readonly wall: Readonly<Partial<Record<MlsOp, number>>>;
  readonly cpu: Readonly<Partial<Record<MlsOp, number>>>;
  readonly count: Readonly<Partial<Record<MlsOp, number>>>;
}

export async function measureMlsAtShape(
  shape: EstablishmentShape,
  iterations = 15,
): Promise<MlsAtShape> {
  const n = shape.initiatorDevices;
  const m = shape.responderDevices;
  const rng = seededRng(`mls at shape ${n} ${m}`);
  const sums = new Map<MlsOp, { wall: number; cpu: number; count: number }>();
  /** Times `run` (pure: every operation leaves its inputs usable) as one occurrence of op. */
  const occurs = async <T>(op: MlsOp, run: () => Promise<T>): Promise<T> => {
    const cost = await time(iterations, run);
    const sum = sums.get(op) ?? { wall: 0, cpu: 0, count: 0 };
    sums.set(op, { wall: sum.wall + cost.ms, cpu: sum.cpu + cost.cpuMs, count: sum.count + 1 });
    return run();
  };
  const member = (label: string) =>
    createMember(new TextEncoder().encode(label.padEnd(16, '.')), fork(rng, label));
  const keyPackages = async (prefix: string, count: number) =>
    Promise.all(
      Array.from({ length: count }, async (_, i) =>
        generateKeyPackage(await member(`${prefix}${i + 2}`)),
      ),
    );

  /**
   * A device adds `count` siblings of its user in one commit and exports the GroupInfo
   * after it; `join` has each sibling join by the Welcome, at the group's new size.
   */
  const addSiblings = async (group: ConnectionGroup, prefix: string, count: number) => {
    const siblings = await keyPackages(prefix, count);
    const added = must(
      await occurs('mls.addClients', () =>
        addClients(
          group,
          siblings.map((s) => s.publicPackage),
        ),
      ),
    );
    const exported = await occurs('mls.exportGroupInfo', () => exportGroupInfo(added.group));
    const join = async () => {
      const members: ConnectionGroup[] = [];
      for (const sibling of siblings)
        members.push(
          must(
            await occurs('mls.joinByWelcome', () =>
              joinByWelcome(added.welcome, sibling, exported.ratchetTree),
            ),
          ),
        );
      return members;
    };
    return { ...added, exported, join };
  };

  // The initiator: I1 creates the group and adds its siblings.
  const i1 = await member('I1');
  let creator = await occurs('mls.createGroup', () =>
    createConnectionGroup(new Uint8Array(16).fill(1), i1),
  );
  let exported = await occurs('mls.exportGroupInfo', () => exportGroupInfo(creator));
  const initiators: ConnectionGroup[] = [];
  if (n >= 2) {
    const added = await addSiblings(creator, 'I', n - 1);
    creator = added.group;
    exported = added.exported;
    initiators.push(...(await added.join()));
  }
  initiators.unshift(creator);

  // The responder: R1 joins externally; every initiator device processes the join.
  const r1 = await member('R1');
  const join = must(
    await occurs('mls.externalJoin', () =>
      joinByExternalCommit(exported.groupInfo, exported.ratchetTree, r1),
    ),
  );
  await occurs('mls.exportGroupInfo', () => exportGroupInfo(join.group));
  const joined: ConnectionGroup[] = [];
  for (const group of initiators)
    joined.push(must(await occurs('mls.processCommit', () => processCommit(group, join.commit))));

  // R1 adds its siblings; the initiator devices process that commit too.
  if (m >= 2) {
    const added = await addSiblings(join.group, 'R', m - 1);
    for (const group of joined)
      await occurs('mls.processCommit', () => processCommit(group, added.commit));
    await added.join();
  }

  const pick = (f: (s: { wall: number; cpu: number; count: number }) => number) =>
    Object.fromEntries([...sums].map(([op, sum]) => [op, f(sum)])) as Partial<
      Record<MlsOp, number>
    >;
  return {
    wall: pick((s) => s.wall / s.count),
    cpu: pick((s) => s.cpu / s.count),
    count: pick((s) => s.count),
  };
}
