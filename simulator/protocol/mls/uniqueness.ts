// RFC 9420 §7.3: a leaf's signature_key and encryption_key must be unique among
// the group's members, and no two tree nodes may share an HPKE key. ts-mls
// 1.6.4 checks the existing tree but never compares the new leaf of a commit
// (or an added KeyPackage's HPKE key) against it, so a joiner could take an
// existing member's key. Checking the tree an operation produced closes that.

import type { RatchetTree } from 'ts-mls';
import { toBase64 } from './wire.ts';

/** Describes the first repeated key in `tree`, or undefined if all are unique. */
export function findDuplicateKey(tree: RatchetTree): string | undefined {
  const signatureKeys = new Map<string, number>();
  const hpkeKeys = new Map<string, number>();
  for (const [nodeIndex, node] of tree.entries()) {
    if (node === undefined) continue;
    const hpke = toBase64(
      node.nodeType === 'leaf' ? node.leaf.hpkePublicKey : node.parent.hpkePublicKey,
    );
    const earlier = hpkeKeys.get(hpke);
    if (earlier !== undefined) return `nodes ${earlier} and ${nodeIndex} share an HPKE key`;
    hpkeKeys.set(hpke, nodeIndex);
    if (node.nodeType !== 'leaf') continue;
    const signature = toBase64(node.leaf.signaturePublicKey);
    const other = signatureKeys.get(signature);
    if (other !== undefined) return `nodes ${other} and ${nodeIndex} share a signature key`;
    signatureKeys.set(signature, nodeIndex);
  }
  return undefined;
}
