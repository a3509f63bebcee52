// Server keys as the target serves them (FED-KEYS): fedconn fetches each
// server's key document and validates it the way a federating server must.
import fc from 'fast-check';
import { z } from 'zod';
import { createFakeServer } from '../../simulator/federation/testing.ts';
import { SimNetwork } from '../../simulator/net/transport.ts';
import { decodeBase64, encodeUnpaddedBase64 } from '../../simulator/protocol/encoding/base64.ts';
import { checkJsonSignature } from '../../simulator/protocol/encoding/signed-json.ts';
import {
  CheckFailure,
  checkProperty,
  defineCheck,
  expectThat,
  type CheckContext,
} from '../harness/check.ts';
import {
  answerOf,
  brief,
  expectAuthenticated,
  expectUnauthorized,
  impostor,
  probe,
  server,
  type Impostor,
} from './support.ts';

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

const keyDocumentV1 = z.object({
  server_name: z.string().min(1),
  verify_keys: z.record(z.string().regex(/^ed25519:[a-zA-Z0-9_]+$/), z.string()),
  signatures: z.record(z.string(), z.record(z.string(), z.string())),
  tls_certificate: z.string().min(1),
});

export const keyDocumentV1Shape = defineCheck({
  name: 'each server serves a 2014 key document with its TLS certificate at /_matrix/key/v1',
  rules: ['FED-KEYS-01'],
  profiles: ['matrix-2014'],
  async run(ctx) {
    for (const server of ctx.instance.servers) {
      const response = await ctx.instance.transport(
        new Request(`${server.origin}/_matrix/key/v1`, { signal: ctx.signal }),
      );
      const answer = await answerOf(response);
      expectThat(
        answer.status === 200,
        `${server.serverName}: GET /_matrix/key/v1 must answer 200`,
        200,
        brief(answer),
      );
      const parsed = keyDocumentV1.safeParse(answer.body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new CheckFailure(
          `${server.serverName}: the v1 key document lacks a required field or has a wrong one`,
          {
            expected:
              'server_name, verify_keys {ed25519:<id>: <key>}, signatures, tls_certificate (base64)',
            actual: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''}`,
          },
        );
      }
      expectThat(
        parsed.data.server_name === server.serverName,
        `${server.serverName}: the v1 key document names another server`,
        server.serverName,
        parsed.data.server_name,
      );
      expectThat(
        Object.keys(parsed.data.verify_keys).length > 0 &&
          parsed.data.signatures[server.serverName] !== undefined,
        `${server.serverName}: the v1 key document has no key or no signature of the server`,
        'at least one verify key and a signature under signatures[server_name]',
        { verify_keys: parsed.data.verify_keys, signatures: parsed.data.signatures },
      );
      const certificate = decodeBase64(parsed.data.tls_certificate);
      expectThat(
        certificate.ok && certificate.value.length > 0,
        `${server.serverName}: tls_certificate is not base64`,
        'the certificate in unpadded base64',
        parsed.data.tls_certificate,
      );
      // Where the connection reports its certificate (the simulator's modelled TLS), the
      // published one must be the same bytes.
      const presented = response.headers.get('x-fedconn-tls-certificate');
      if (presented !== null) {
        expectThat(
          presented.replace(/=+$/, '') === parsed.data.tls_certificate.replace(/=+$/, ''),
          `${server.serverName}: tls_certificate is not the certificate of the connection`,
          presented,
          parsed.data.tls_certificate,
        );
      }
    }
  },
});

/** Any other server name, valid, derived from `label`. */
const decoyName = fc
  .stringMatching(/^[a-z][a-z0-9]{0,8}$/)
  .map((label) => `${label}.decoy.example`);

export const keyServerNameMismatch = defineCheck({
  name: 'a key document naming another server than the one asked is not used',
  rules: ['FED-KEYS-05'],
  profiles: ['matrix-current'],
  needs: ['impostor'],
  async run(ctx) {
    const target = server(ctx, 0).serverName;
    // Control: an honest impostor's requests authenticate, so the probe can tell.
    const honest = await impostor(ctx, 'honest.keys.example');
    expectAuthenticated(
      await probe(ctx, honest, target),
      `${target}: a request of a peer with a valid key document did not authenticate`,
    );
    let run = 0;
    await checkProperty(
      ctx,
      [decoyName],
      async (decoy) => {
        const name = `liar${run++}.keys.example`;
        // The liar serves a correctly signed document that names the decoy server.
        const decoyServer = await createFakeServer({
          serverName: decoy,
          network: new SimNetwork(),
          register: false,
          transport: ctx.instance.transport,
          seed: `${ctx.seed} decoy ${decoy}`,
          now: () => ctx.instance.clock.now(),
        });
        const liar = await impostor(ctx, name, (app) => {
          app.get('/_matrix/key/v2/server', async () =>
            decoyServer.fetch(new Request(`https://${decoy}/_matrix/key/v2/server`)),
          );
        });
        const answer = await probe(ctx, liar, target, { key: decoyServer.key });
        expectUnauthorized(
          answer,
          `${target} authenticated ${name} with a key document whose server_name is ${decoy}`,
        );
      },
      { numRuns: 3 },
    );
  },
});

const DAY = 24 * 60 * 60 * 1000;

export const keyTrustCapped = defineCheck({
  name: 'a key is trusted no longer than min(valid_until_ts, fetch + 7 days); expired documents are refused',
  rules: ['FED-KEYS-06'],
  profiles: ['matrix-current'],
  needs: ['impostor', 'virtual-time'],
  async run(ctx) {
    const advance = ctx.instance.advance;
    if (advance === undefined) throw new Error('this target cannot move time');
    const target = server(ctx, 0).serverName;
    let run = 0;
    const trusted = async (validFor: number) => {
      const name = `ephemeral${run++}.keys.example`;
      const state = { validUntil: ctx.instance.clock.now() + validFor, serve: true };
      const peer: Impostor = await impostor(ctx, name, (app) => {
        app.get('/_matrix/key/v2/server', async (c) => {
          if (!state.serve) return c.json({ errcode: 'M_NOT_FOUND', error: 'gone' }, 404);
          return c.json(
            await peer.sign({
              server_name: name,
              valid_until_ts: state.validUntil,
              verify_keys: {
                [peer.key.keyId]: { key: encodeUnpaddedBase64(peer.key.pair.publicKey) },
              },
              old_verify_keys: {},
            }),
          );
        });
      });
      expectAuthenticated(
        await probe(ctx, peer, target),
        `${target}: a request signed with a fresh key (valid ${validFor} ms) did not authenticate`,
      );
      // Past min(valid_until_ts, fetch + 7 days) the key may no longer be used, and the
      // peer no longer vouches for it.
      advance(Math.min(validFor, 7 * DAY) + 60_000);
      state.serve = false;
      expectUnauthorized(
        await probe(ctx, peer, target),
        `${target} still trusted a key of ${name} past min(valid_until_ts, fetch + 7 days) (valid_until_ts was ${validFor} ms ahead)`,
      );
    };
    // A key valid for ten years, then generated validities from one hour to ten years.
    await trusted(3650 * DAY);
    await checkProperty(
      ctx,
      [fc.integer({ min: 60 * 60 * 1000, max: 3650 * DAY })],
      (validFor) => trusted(validFor),
      { numRuns: 2 },
    );
    // A document already expired when fetched is refused.
    const late: Impostor = await impostor(ctx, 'expired.keys.example', (app) => {
      app.get('/_matrix/key/v2/server', async (c) =>
        c.json(
          await late.sign({
            server_name: late.serverName,
            valid_until_ts: ctx.instance.clock.now() - 1000,
            verify_keys: {
              [late.key.keyId]: { key: encodeUnpaddedBase64(late.key.pair.publicKey) },
            },
            old_verify_keys: {},
          }),
        ),
      );
    });
    expectUnauthorized(
      await probe(ctx, late, target),
      `${target} authenticated a request with a key whose document had already expired`,
    );
  },
});

export const oldKeysNeverAuthenticate = defineCheck({
  name: 'a key listed in old_verify_keys never authenticates a request',
  rules: ['FED-KEYS-07'],
  profiles: ['matrix-current'],
  needs: ['impostor'],
  async run(ctx) {
    const target = server(ctx, 0).serverName;
    const retired = await createFakeServer({
      serverName: 'retired.keys.example',
      network: new SimNetwork(),
      register: false,
      transport: ctx.instance.transport,
      seed: `${ctx.seed} retired key`,
    });
    const oldKey = { keyId: 'ed25519:old', pair: retired.key.pair };
    const peer: Impostor = await impostor(ctx, 'rotated.keys.example', (app) => {
      app.get('/_matrix/key/v2/server', async (c) =>
        c.json(
          await peer.sign({
            server_name: peer.serverName,
            valid_until_ts: ctx.instance.clock.now() + DAY,
            verify_keys: {
              [peer.key.keyId]: { key: encodeUnpaddedBase64(peer.key.pair.publicKey) },
            },
            old_verify_keys: {
              [oldKey.keyId]: {
                key: encodeUnpaddedBase64(oldKey.pair.publicKey),
                expired_ts: ctx.instance.clock.now() - 1000,
              },
            },
          }),
        ),
      );
    });
    expectAuthenticated(
      await probe(ctx, peer, target),
      `${target}: a request signed with the current key did not authenticate`,
    );
    expectUnauthorized(
      await probe(ctx, peer, target, { key: oldKey }),
      `${target} authenticated a request signed with a key from old_verify_keys`,
    );
    ctx.iterations(2);
  },
});

export const keyCertificateChecked = defineCheck({
  name: 'a 2014 key document whose tls_certificate is not the connection’s certificate is not used',
  rules: ['FED-KEYS-02'],
  profiles: ['matrix-2014'],
  needs: ['impostor'],
  async run(ctx) {
    const target = server(ctx, 0).serverName;
    // Control: a peer whose v1 document names its real certificate authenticates.
    const honest = await impostor(ctx, 'honest.v1.example');
    expectAuthenticated(
      await probe(ctx, honest, target),
      `${target}: a request of a peer with a valid 2014 key document did not authenticate`,
    );
    let run = 0;
    await checkProperty(
      ctx,
      [fc.uint8Array({ minLength: 1, maxLength: 64 }).filter((mask) => mask.some((b) => b !== 0))],
      async (mask) => {
        const name = `liar${run++}.v1.example`;
        // The liar's document is correctly signed, but names a certificate that differs
        // from the one its connections present (its real one, XORed with the mask).
        const liar: Impostor = await impostor(ctx, name, (app) => {
          app.get('/_matrix/key/v1', async () => {
            const other = liar.certificate.map((b, i) => b ^ (mask[i % mask.length] ?? 0));
            return Response.json(
              await liar.sign({
                server_name: name,
                verify_keys: { [liar.key.keyId]: encodeUnpaddedBase64(liar.key.pair.publicKey) },
                tls_certificate: encodeUnpaddedBase64(other),
              }),
            );
          });
        });
        expectUnauthorized(
          await probe(ctx, liar, target),
          `${target} authenticated ${name} although its key document names another TLS certificate`,
        );
      },
      { numRuns: 3 },
    );
  },
});
