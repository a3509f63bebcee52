// Named mutants of the reference client that trust the initiator too early or
// join the wrong way: content pushed before acceptance shown to the user, the
// initiator's profile fetched on receipt, the initiator's DS contacted before
// the decision, the join sent to the responder's own DS, a joiner accepted
// without authenticating its credential. Each one is `<rule id>/<what breaks>`
// and is read by the client through env.mutants (suites/connection/trust.ts
// and join-client.ts prove that the suite fails on each).
import { hpkeOpen, type HpkeKeyPair } from '../../protocol/crypto/hpke.ts';
import { decodeBase64 } from '../../protocol/encoding/base64.ts';
import { openCredentialInfo } from '../../protocol/packages/credential-info.ts';
import type { ClientEvent } from './client.ts';

export const TRUST_CLIENT_MUTANTS = {
  /** Show any text the initiator sealed to the package key next to the package (a "greeting"). */
  showPushedContent: 'CONN-TRUST-01/show-pushed-content',
  /** Fetch the initiator's profile from its AS as soon as a package verifies. */
  fetchProfileOnReceipt: 'CONN-TRUST-03/fetch-profile-on-receipt',
  /** Fetch the external commit information before asking the user (a prefetch). */
  prefetchCommitInfo: 'CONN-TRUST-04/prefetch-commit-info',
  /** Join through the responder's own DS instead of the initiator's. */
  joinAtOwnDs: 'CONN-JOIN-01/join-at-own-ds',
  /** Take the user ids of a joining client's CredentialInfo at its word, unverified. */
  acceptAnyJoiner: 'CONN-JOIN-07/accept-any-joiner',
  /** Also take a leaf binding signed without the leaf key it is meant to vouch for. */
  bindingWithoutLeafKey: 'CONN-JOIN-07/verifies-binding-without-leaf-key',
} as const;

// The HPKE info of establishment packages (docs/binding.md, "Signed bytes and values").
const PACKAGE_INFO = new TextEncoder().encode('fedconn-v1 ConnectionEstablishmentPackage');
const PACKAGE_FIELDS = new Set([
  'version',
  'sender_client_credential',
  'connection_group_id',
  'connection_group_ear_key',
  'connection_group_credential_key',
  'signature',
]);

/**
 * The mutant's "preview": every text field the initiator sealed to one of our
 * package keys, beyond the package's own fields, as a message to the user.
 */
export async function pushedContent(
  sealed: unknown,
  keys: Iterable<HpkeKeyPair>,
): Promise<ClientEvent[]> {
  const envelope = sealed as { enc?: unknown; ciphertext?: unknown } | null;
  if (typeof envelope?.enc !== 'string' || typeof envelope.ciphertext !== 'string') return [];
  const enc = decodeBase64(envelope.enc);
  const ciphertext = decodeBase64(envelope.ciphertext);
  if (!enc.ok || !ciphertext.ok) return [];
  for (const keyPair of keys) {
    const opened = await hpkeOpen({
      keyPair,
      sealed: { enc: enc.value, ciphertext: ciphertext.value },
      info: PACKAGE_INFO,
    });
    if (!opened.ok) continue;
    let value: unknown;
    try {
      value = JSON.parse(new TextDecoder().decode(opened.value));
    } catch {
      return [];
    }
    if (value === null || typeof value !== 'object') return [];
    const groupId = (value as { connection_group_id?: unknown }).connection_group_id;
    return Object.entries(value).flatMap(([k, v]) =>
      PACKAGE_FIELDS.has(k) || typeof v !== 'string'
        ? []
        : [{ type: 'message', groupId: typeof groupId === 'string' ? groupId : '', text: v }],
    );
  }
  return [];
}

/** The mutant's shortcut: the user ids the CredentialInfos claim, nothing verified. */
export function unverifiedUsers(credentialKey: Uint8Array, sealed: readonly string[]): string[] {
  return sealed.map((text) => {
    const info = openCredentialInfo(credentialKey, text);
    return info.ok ? info.value.client_credential.payload.client_id.user_id : '(unreadable)';
  });
}

export const TRUST_MUTANT_NAMES: readonly string[] = Object.values(TRUST_CLIENT_MUTANTS);
