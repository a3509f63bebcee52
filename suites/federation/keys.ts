// Server keys as the target serves them (FED-KEYS): fedconn fetches each
// server's key document and validates it the way a federating server must.
import { z } from 'zod';
import { decodeBase64 } from '../../simulator/protocol/encoding/base64.ts';
import { checkJsonSignature } from '../../simulator/protocol/encoding/signed-json.ts';
import { CheckFailure, defineCheck, expectThat, type CheckContext } from '../harness/check.ts';

const keyDocument = z.object({
  server_name: z.string().min(1),
  valid_until_ts: z.int(),
  verify_keys: z.record(z.string().regex(/^ed25519:[a-zA-Z0-9_]+$/), z.object({ key: z.string() })),
  old_verify_keys: z
    .record(z.string(), z.object({ key: z.string(), expired_ts: z.int() }))
    .optional(),
  signatures: z.record(z.string(), z.record(z.string(), z.string())),
});

async function fetchKeys(ctx: CheckContext, origin: string): Promise<unknown> {
  const response = await ctx.instance.transport(
    new Request(`${origin}/_matrix/key/v2/server`, { signal: ctx.signal }),
  );
  expectThat(
    response.status === 200,
    'GET /_matrix/key/v2/server must answer 200',
    200,
    response.status,
  );
  try {
    return await response.json();
  } catch {
    throw new CheckFailure('the key document is not JSON', {
      expected: 'a JSON object',
      actual: response.headers.get('content-type') ?? '',
    });
  }
}

export const keyDocumentShape = defineCheck({
  name: 'each server serves a well-formed key document at /_matrix/key/v2/server',
  rules: ['FED-KEYS-03'],
  profiles: ['matrix-current'],
  async run(ctx) {
    for (const server of ctx.instance.servers) {
      const body = await fetchKeys(ctx, server.origin);
      const parsed = keyDocument.safeParse(body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new CheckFailure(
          `${server.serverName}: the key document lacks a required field or has a wrong one`,
          {
            expected:
              'server_name, verify_keys {ed25519:<id>: {key}}, valid_until_ts (integer), signatures',
            actual: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''}`,
          },
        );
      }
      expectThat(
        Object.keys(parsed.data.verify_keys).length > 0,
        `${server.serverName}: verify_keys is empty`,
        'at least one key',
        parsed.data.verify_keys,
      );
    }
  },
});

export const keyDocumentSelfSigned = defineCheck({
  name: 'each key document is signed by the server with a key among its own verify_keys',
  rules: ['FED-KEYS-04'],
  profiles: ['matrix-current'],
  async run(ctx) {
    for (const server of ctx.instance.servers) {
      const body = await fetchKeys(ctx, server.origin);
      const parsed = keyDocument.safeParse(body);
      expectThat(
        parsed.success,
        `${server.serverName}: not a key document`,
        'a key document',
        body,
      );
      const keys = new Map<string, Uint8Array>();
      for (const [id, { key }] of Object.entries(parsed.data.verify_keys)) {
        const bytes = decodeBase64(key);
        if (bytes.ok) keys.set(id, bytes.value);
      }
      const own = Object.keys(parsed.data.signatures[server.serverName] ?? {}).filter((id) =>
        keys.has(id),
      );
      expectThat(
        own.length > 0,
        `${server.serverName}: no signature by a key in its own verify_keys`,
        `a signature under signatures["${server.serverName}"] by one of ${[...keys.keys()].join(', ')}`,
        parsed.data.signatures,
      );
      const onlyOwn = {
        ...(body as Record<string, unknown>),
        signatures: {
          [server.serverName]: Object.fromEntries(
            own.map((id) => [id, parsed.data.signatures[server.serverName]?.[id] ?? '']),
          ),
        },
      };
      const verdict = await checkJsonSignature(onlyOwn, server.serverName, keys);
      expectThat(
        verdict.ok,
        `${server.serverName}: the self-signature does not verify over the canonical JSON`,
        'a valid signature',
        verdict.ok ? 'valid' : verdict.error.detail,
      );
    }
  },
});
