// Deliberately wrong JSON signing, for the mutants of FED-KEYS-08, -09 and -10 only.
// Each differs from signJson (protocol/encoding/signed-json.ts) in exactly one way, and
// only on the inputs where that way matters: keys that sort differently by UTF-16 code
// unit than by code point, a present `unsigned`, or the '=' padding of the base64. So a
// mutant server federates as usual until a check feeds it those inputs. On room events
// the code-unit mutant also gets content hashes wrong: the signature covers only the
// redacted event, whose keys are ASCII, while the hash covers everything.
import { sha256 } from '@noble/hashes/sha2.js';
import type { Ed25519KeyPair } from '../protocol/crypto/ed25519.ts';
import { encodeUnpaddedBase64 } from '../protocol/encoding/base64.ts';
import { canonicalJson } from '../protocol/encoding/canonical-json.ts';
import { signJson, type SignedObject } from '../protocol/encoding/signed-json.ts';
import { unwrap } from '../protocol/result.ts';

export type SigningFlaw = 'sort-by-code-unit' | 'keep-unsigned' | 'pad-base64';

/** JSON with object keys in JavaScript's default order (UTF-16 code units): not canonical. */
function codeUnitJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(codeUnitJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${codeUnitJson(record[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The content hash as the code-unit mutant computes it (FED-KEYS-08 on room events). */
export function contentHashByCodeUnit(event: Record<string, unknown>): string {
  const rest = Object.fromEntries(
    Object.entries(event).filter(([k]) => k !== 'signatures' && k !== 'unsigned' && k !== 'hashes'),
  );
  return encodeUnpaddedBase64(sha256(new TextEncoder().encode(codeUnitJson(rest))));
}

/** Pads unpadded base64 to a multiple of four characters. */
export const padBase64 = (text: string): string => text + '='.repeat((4 - (text.length % 4)) % 4);

/** Signs `object` as `entity` with `flaw`; the result has signJson's shape. */
export async function signJsonWithFlaw(
  object: Record<string, unknown>,
  signer: { readonly entity: string; readonly keyId: string; readonly keyPair: Ed25519KeyPair },
  flaw: SigningFlaw,
): Promise<SignedObject> {
  if (flaw === 'pad-base64') {
    const signed = unwrap(await signJson(object, signer));
    const mine = signed.signatures[signer.entity] ?? {};
    const sig = mine[signer.keyId] ?? '';
    return {
      ...signed,
      signatures: {
        ...signed.signatures,
        [signer.entity]: { ...mine, [signer.keyId]: padBase64(sig) },
      },
    };
  }
  const rest: Record<string, unknown> = { ...object };
  delete rest.signatures;
  if (flaw === 'sort-by-code-unit') delete rest.unsigned;
  const text = flaw === 'sort-by-code-unit' ? codeUnitJson(rest) : unwrap(canonicalJson(rest));
  const sig = encodeUnpaddedBase64(await signer.keyPair.sign(new TextEncoder().encode(text)));
  const existing = (object.signatures ?? {}) as Record<string, Record<string, string>>;
  return {
    ...object,
    signatures: {
      ...existing,
      [signer.entity]: { ...(existing[signer.entity] ?? {}), [signer.keyId]: sig },
    },
  };
}
