// Request bodies of the identity service, validated at the boundary. Matrix bodies
// ignore unknown members (z.object); the test-only provisioning bodies are strict.
import { z } from 'zod';
import { PEPPER_PATTERN } from '../../protocol/identity/hash.ts';

export const IS_PREFIX = '/_matrix/identity/v2';
export const PROVISION_PREFIX = '/_fedconn/v1/provision/identity';

/** Algorithms hash_details offers, in the order the spec's example lists them. */
export const OFFERED_ALGORITHMS = ['none', 'sha256'] as const;

/** Most addresses one lookup may carry (Sydent has such a limit; the spec has none). */
export const MAX_LOOKUP_ADDRESSES = 1000;
/** Most hashes one push may carry; a trusted server splits larger sets over several pushes. */
export const MAX_PUSHED_HASHES = 10_000;

/** A sha256 lookup hash: 32 bytes, URL-safe unpadded base64 (43 characters). */
export const SHA256_HASH = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

export const lookupRequestSchema = z.object({
  algorithm: z.string(),
  pepper: z.string(),
  addresses: z.array(z.string()),
});

export const pushRequestSchema = z.object({
  algorithm: z.string(),
  pepper: z.string(),
  mappings: z.record(z.string(), z.array(z.string())),
});

const address = z.string().regex(/^\S+$/u, 'an address is non-empty, without whitespace');
const medium = z.string().regex(/^[a-z0-9_.-]+$/, 'a medium is a lower-case token');
const userId = z.string().regex(/^@[^\s:]+:\S+$/, 'a user id is @localpart:server_name');

export const bindRequestSchema = z.strictObject({ address, medium, user_id: userId });

export const tokenRequestSchema = z.strictObject({
  user_id: userId,
  expires_in_ms: z.int().positive().optional(),
});

export const rotateRequestSchema = z.strictObject({
  lookup_pepper: z.string().regex(PEPPER_PATTERN, 'a pepper is [a-zA-Z0-9]+').optional(),
});

export const retireRequestSchema = z.strictObject({ pepper: z.string() });

export const pushDriveRequestSchema = z.strictObject({
  destination: z.string().min(1),
  addresses: z.array(z.strictObject({ address, medium })).optional(),
  pepper: z.string().regex(PEPPER_PATTERN, 'a pepper is [a-zA-Z0-9]+').optional(),
  /** Sign and send this body as it is, in place of one made from addresses (IS-PUSH-07, -08). */
  content: z.record(z.string(), z.unknown()).optional(),
});
export type PushDriveRequest = z.output<typeof pushDriveRequestSchema>;
