// The mandatory crypto floor of one connection establishment: the operations any correct
// implementation of the protocol must perform for n initiator and m responder devices,
// derived term by term in bench/mandatory-floor.md (each term names the rule that forces
// it). The establishment benchmark prices these counts at the unit costs of its own run.
//
// Two choices keep the floor honest rather than flattering:
//   - key imports are in it: each device must decompress and import every key it never
//     saw, although the simulator shares one import cache between all devices (so the
//     reference performs fewer than a real deployment would);
//   - KeyPackages are not: MLS needs only a LeafNode to create a group or join externally
//     (the reference gives ts-mls just that), and the MLS operations are priced at the
//     group sizes where they occur (bench/mls-at-shape.ts).
import type { CryptoOp } from '../simulator/protocol/crypto/meter.ts';

export interface EstablishmentShape {
  /** Devices of the initiator (n) and of the responder (m), each at least 1. */
  readonly initiatorDevices: number;
  readonly responderDevices: number;
  /** Both users on one homeserver, or each on its own. */
  readonly sameServer: boolean;
}

/** How many of each metered operation the protocol forces on one establishment. */
export function mandatoryOps(shape: EstablishmentShape): Readonly<Record<CryptoOp, number>> {
  const n = shape.initiatorDevices;
  const m = shape.responderDevices;
  if (!Number.isInteger(n) || !Number.isInteger(m) || n < 1 || m < 1)
    throw new RangeError(`device counts must be integers from 1, got n=${n}, m=${m}`);
  const dn = n >= 2 ? 1 : 0;
  const dm = m >= 2 ? 1 : 0;
  const devices = n + m;
  // Credential domains (AS credential and intermediate) each device must verify, summed.
  const domains = shape.sameServer ? devices : 2 * devices - 2 + dn + dm;
  return {
    'ed25519.keygen': 0,
    // One CEP signature, two LeafBindings, one signed dequeue per initiator device and two
    // per responder device; across servers one X-Matrix request per remote WelcomeBundle.
    'ed25519.sign': shape.sameServer ? n + 2 * m + 3 : n + 3 * m + 2,
    // Servers: every signed request. Clients: m packages, one CEP, three signatures per
    // other member, four per credential domain.
    'ed25519.verify': shape.sameServer
      ? 3 * devices ** 2 + 2 * n + 4 * m + 1
      : 3 * devices ** 2 + 6 * n + 9 * m - 8 + 4 * dn + 4 * dm,
    'ed25519.importKey': devices * (devices - 1) + 2 * domains,
    'hpke.derive': 0,
    // m CEPs, and one joiner info per Welcome recipient.
    'hpke.seal': n + 2 * m - 2,
    'hpke.open': n + 2 * m - 2,
    // Fresh leaves for I1's group and R1's external join.
    'mls.member': 2,
    'mls.keyPackage': 0,
    'mls.createGroup': 1,
    'mls.exportGroupInfo': 2 + dn + dm,
    'mls.externalJoin': 1,
    'mls.processCommit': n * (1 + dm),
    'mls.addClients': dn + dm,
    'mls.joinByWelcome': n + m - 2,
    'mls.encrypt': 0,
    'mls.decrypt': 0,
  };
}
