// Boundary validation of credentials arriving from the wire. Unknown fields are
// rejected rather than stripped: a signature covers exactly what was sent, and
// a credential must not smuggle content past the verifier.
import { z } from 'zod';
import { base64Text as base64 } from '../encoding/base64.ts';
import { fail, ok, type Failure, type Result } from '../result.ts';
import type {
  AsCredential,
  AsIntermediateCredential,
  ClientCredential,
  CredentialType,
} from './credential.ts';

const expirationData = z.strictObject({ not_before: z.int(), not_after: z.int() });
const common = {
  version: z.literal(1),
  expiration_data: expirationData,
  credential_ciphersuite: z.literal('ed25519'),
  verifying_key: base64,
};
const signed = <T extends z.ZodType>(payload: T) =>
  z.strictObject({ payload, self_signature: base64, signature: base64 });

export const asCredentialSchema = signed(z.strictObject({ ...common, domain: z.string().min(1) }));
export const asIntermediateCredentialSchema = signed(
  z.strictObject({ ...common, domain: z.string().min(1), signer_fingerprint: z.string().min(1) }),
);
export const clientCredentialSchema = signed(
  z.strictObject({
    ...common,
    client_id: z.strictObject({ user_id: z.string().min(1), client: z.string().min(1) }),
    signer_fingerprint: z.string().min(1),
  }),
);

const SCHEMAS = {
  AsCredential: asCredentialSchema,
  AsIntermediateCredential: asIntermediateCredentialSchema,
  ClientCredential: clientCredentialSchema,
} as const;

export interface DecodedCredential {
  AsCredential: AsCredential;
  AsIntermediateCredential: AsIntermediateCredential;
  ClientCredential: ClientCredential;
}

/** Validates an untrusted value as a credential of the given type. */
export function decodeCredential<T extends CredentialType>(
  type: T,
  value: unknown,
): Result<DecodedCredential[T], Failure<'malformed-encoding'>> {
  const parsed = SCHEMAS[type].safeParse(value);
  if (parsed.success) return ok(parsed.data as DecodedCredential[T]);
  const issue = parsed.error.issues[0];
  const where =
    issue === undefined ? '' : ` at ${issue.path.join('.') || '(root)'}: ${issue.message}`;
  return fail('malformed-encoding', `not a valid ${type}${where}`);
}
