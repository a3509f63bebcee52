// Server keys as the target serves them (FED-KEYS): fedconn fetches each
// server's key document and validates it the way a federating server must.
import { narrowed, narrowingsOf } from '../../simulator/protocol/narrowing.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { z } from 'zod';
import { checkEventSignature } from '../../simulator/protocol/events/signing.ts';
import { loadVectors } from '../../fixtures/vectors.ts';
import { padBase64 } from '../../simulator/federation/signing-mutants.ts';
import { createFakeServer } from '../../simulator/federation/testing.ts';
import { xMatrixHeader } from '../../simulator/federation/x-matrix.ts';
import { SimNetwork } from '../../simulator/net/transport.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  decodeBase64,
  encodeUnpaddedBase64,
  encodeUnpaddedBase64Url,
} from '../../simulator/protocol/encoding/base64.ts';
import { redactEvent } from '../../simulator/protocol/events/redaction.ts';
import {
  canonicalJson,
  compareCodePoints,
} from '../../simulator/protocol/encoding/canonical-json.ts';
import { checkJsonSignature } from '../../simulator/protocol/encoding/signed-json.ts';
import {
  type CheckContext,
  CheckFailure,
  checkProperty,
  defineCheck,
  eachOf,
  expectThat,
} from '../harness/check.ts';
import type { TargetServer } from '../harness/target.ts';
import {
  answerOf,
  brief,
  canonical,
  createRoom,
  expectAuthenticated,
  expectUnauthorized,
  impostor,
  invitePath,
  inviteBody,
  impostorRoomSummary,
  impostorInvite,
  inviteUser,
  jsonObject,
  memberEvent,
  probe,
  publishedKeys,
  recordingPeer,
  sendPath,
  server,
  signaturesOf,
  userOn,
  withoutSignatures,
  signedPart,
  differingMembers,
  type Answer,
  type Impostor,
  type Json,
  impostorRoom,
  eventAnswer,
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

/**
 * The server's own signature on its key document, checked with `keys`: only the
 * signatures it made with those keys count (a notary's, or an old key's, are not ours
 * to check here).
 */
function checkSelfSigned(body: unknown, serverName: string, keys: ReadonlyMap<string, Uint8Array>) {
  const mine = jsonObject.safeParse(signaturesOf(body as Json)[serverName]).data ?? {};
  return checkJsonSignature(
    {
      ...(body as Json),
      signatures: {
        [serverName]: Object.fromEntries(Object.entries(mine).filter(([id]) => keys.has(id))),
      },
    },
    serverName,
    keys,
  );
}

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
      const verdict = await checkSelfSigned(body, server.serverName, keys);
      expectThat(
        verdict.ok,
        `${server.serverName}: the self-signature does not verify over the canonical JSON`,
        'a valid signature',
        verdict.ok ? 'valid' : verdict.error.detail,
      );
    }
  },
});

export const narrowedKeyDocumentRefused = defineCheck({
  name: 'a key document self-signed over the wrong fields is not trusted: requests signed with its key get 401',
  rules: ['FED-KEYS-04'],
  profiles: ['matrix-current'],
  needs: ['impostor'],
  async run(ctx) {
    const target = server(ctx, 0).serverName;
    const control = await impostor(ctx, 'whole.keys.example');
    expectAuthenticated(
      await probe(ctx, control, target),
      `${target}: a request of a peer whose key document is signed whole did not authenticate`,
    );
    // The document is served whole; its own key signed a narrowed copy of it.
    const narrowings = narrowingsOf(['server_name', 'valid_until_ts', 'verify_keys']);
    for (const [i, narrowing] of narrowings.entries()) {
      const peer: Impostor = await impostor(ctx, `n${i}.narrowed.keys.example`, (app) => {
        app.get('/_matrix/key/v2/server', async (c) => {
          const document = {
            server_name: peer.serverName,
            valid_until_ts: ctx.instance.clock.now() + DAY,
            verify_keys: {
              [peer.key.keyId]: { key: encodeUnpaddedBase64(peer.key.pair.publicKey) },
            },
          };
          const signed = await peer.sign(narrowed(document, narrowing));
          return c.json({ ...document, signatures: signed.signatures });
        });
      });
      expectUnauthorized(
        await probe(ctx, peer, target),
        `${target} authenticated a request of a peer whose key document is self-signed over the wrong fields (${narrowing})`,
      );
    }
    ctx.iterations(narrowings.length + 1);
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
          `${target} authenticated ${liar.serverName} with a key document whose server_name is ${decoy}`,
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
  needs: ['impostor'],
  async run(ctx) {
    // Where time is real, a validity of seconds is waited out; the 7-day cap only where
    // time can be moved.
    const advance = ctx.instance.advance;
    const wait = async (ms: number) => {
      if (advance === undefined) await sleep(ms, undefined, { signal: ctx.signal });
      else await advance(ms);
    };
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
              server_name: peer.serverName,
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
      await wait(Math.min(validFor, 7 * DAY) + (advance === undefined ? 1500 : 60_000));
      state.serve = false;
      expectUnauthorized(
        await probe(ctx, peer, target),
        `${target} still trusted a key of ${peer.serverName} past min(valid_until_ts, fetch + 7 days) (valid_until_ts was ${validFor} ms ahead)`,
      );
    };
    if (advance === undefined) {
      await trusted(2000);
      ctx.note(
        'time is real here: a key valid for 2 s was tried; the 7-day cap on trust is checked where time can be moved (the simulator)',
      );
    } else {
      // A key valid for ten years, then generated validities from one hour to ten years.
      await trusted(3650 * DAY);
      await checkProperty(
        ctx,
        [fc.integer({ min: 60 * 60 * 1000, max: 3650 * DAY })],
        (validFor) => trusted(validFor),
        { numRuns: 2 },
      );
    }
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

/** The target's key document, parsed and with its keys decoded. */
async function keyDocumentOf(ctx: CheckContext, target: TargetServer, when: string) {
  const body = await fetchKeys(ctx, target.origin);
  const parsed = keyDocument.safeParse(body);
  expectThat(
    parsed.success,
    `${target.serverName}: no key document ${when}`,
    'a key document',
    body,
  );
  const decode = (key: string) => {
    const bytes = decodeBase64(key);
    return bytes.ok ? bytes.value : new Uint8Array();
  };
  return {
    body,
    current: new Map(Object.entries(parsed.data.verify_keys).map(([id, k]) => [id, decode(k.key)])),
    old: new Map(
      Object.entries(parsed.data.old_verify_keys ?? {}).map(([id, k]) => [id, decode(k.key)]),
    ),
  };
}

/** An invite the impostor signs and the target co-signs; the target's signed copy. */
async function coSignedInvite(
  ctx: CheckContext,
  evil: Impostor,
  target: TargetServer,
  label: string,
) {
  const eve = `@eve:${evil.serverName}`;
  const event = await evil.signEvent(
    memberEvent(
      ctx,
      evil.serverName,
      impostorRoom(ctx, evil.serverName, label),
      eve,
      userOn(ctx, target, label),
      'invite',
      // Its own time, not memberEvent's process-wide counter: a shard must see the same event.
      { origin_server_ts: ctx.instance.clock.now() + (label === 'before' ? 1 : 2) },
    ),
  );
  const answer = await impostorInvite(evil, target.serverName, event);
  const signed = jsonObject.safeParse(jsonObject.safeParse(answer.body).data?.event).data;
  expectThat(
    answer.status === 200 && signed !== undefined,
    `${target.serverName}: control: an invite ${label} was not co-signed`,
    '200 with the co-signed event',
    brief(answer),
  );
  return signed as Json;
}

export const ownKeyRotation = defineCheck({
  name: 'after its own key rotation a server publishes the old key in old_verify_keys, its earlier signatures still verify, and it signs with the new key',
  rules: ['FED-KEYS-07'],
  profiles: ['matrix-current'],
  needs: ['impostor'],
  async run(ctx) {
    const target = server(ctx, 0);
    const name = target.serverName;
    const evil = await impostor(ctx, 'rotation.keys.example');
    const before = await keyDocumentOf(ctx, target, 'before the rotation');
    const earlier = await coSignedInvite(ctx, evil, target, 'before');
    const earlierKeys = Object.keys(jsonObject.safeParse(signaturesOf(earlier)[name]).data ?? {});
    // A driver without the verb skips the check here, saying so.
    await target.driver.call('keys.rotate', {}, ctx.signal);
    const after = await keyDocumentOf(ctx, target, 'after the rotation');
    const added = [...after.current.keys()].filter((id) => !before.current.has(id));
    expectThat(
      added.length > 0,
      `${name}: after a rotation verify_keys holds no new key`,
      `a key id not among ${[...before.current.keys()].join(', ')}`,
      after.body,
    );
    for (const [id, key] of before.current) {
      const old = after.old.get(id);
      expectThat(
        old !== undefined && canonical([...old]) === canonical([...key]) && !after.current.has(id),
        `${name}: the rotated-away key ${id} is not in old_verify_keys (with its key) after the rotation`,
        `old_verify_keys["${id}"] = {key, expired_ts}, and ${id} gone from verify_keys`,
        after.body,
      );
    }
    const selfSigned = await checkSelfSigned(after.body, name, after.current);
    expectThat(
      selfSigned.ok,
      `${name}: the key document after the rotation is not signed by its current keys`,
      'a valid signature by a key in verify_keys',
      selfSigned.ok ? 'valid' : selfSigned.error.detail,
    );
    // What it signed before stays verifiable with the keys it now lists as old.
    const stillValid = await checkEventSignature(earlier, name, after.old);
    expectThat(
      stillValid.ok,
      `${name}: an invite it co-signed before the rotation (with ${earlierKeys.join(', ')}) does not verify with its old_verify_keys`,
      'the earlier signature verifies with the published old key',
      stillValid.ok ? 'valid' : stillValid.error.detail,
    );
    const later = await coSignedInvite(ctx, evil, target, 'after');
    const laterKeys = Object.keys(jsonObject.safeParse(signaturesOf(later)[name]).data ?? {});
    expectThat(
      laterKeys.length > 0 && laterKeys.every((id) => after.current.has(id)),
      `${name}: after the rotation it co-signs with a key that is not current`,
      `signatures["${name}"] by ${[...after.current.keys()].join(', ')}`,
      laterKeys,
    );
    ctx.iterations(1);
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
  needs: ['impostor', 'modelled-tls'],
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
                server_name: liar.serverName,
                verify_keys: { [liar.key.keyId]: encodeUnpaddedBase64(liar.key.pair.publicKey) },
                tls_certificate: encodeUnpaddedBase64(other),
              }),
            );
          });
        });
        expectUnauthorized(
          await probe(ctx, liar, target),
          `${target} authenticated ${liar.serverName} although its key document names another TLS certificate`,
        );
      },
      { numRuns: 3 },
    );
  },
});

/** The invited target co-signs an invite of the impostor's: the answer and the sent event. */
async function coSign(
  evil: Impostor,
  invitedServer: string,
  event: Json,
): Promise<{ answer: Answer; returned: Json | undefined }> {
  const answer = await impostorInvite(evil, invitedServer, event);
  const returned = eventAnswer.safeParse(answer.body).data?.event;
  return { answer, returned };
}

/** An invite of `eve` (on the impostor) for a fresh user of `invited`, with extra members. */
function inviteFor(ctx: CheckContext, evil: Impostor, invited: TargetServer, extra: Json): Json {
  const eve = `@eve:${evil.serverName}`;
  return memberEvent(
    ctx,
    evil.serverName,
    impostorRoom(ctx, evil.serverName),
    eve,
    userOn(ctx, invited, 'bob'),
    'invite',
    extra,
  );
}

// Keys whose order differs between code points and UTF-16 code units (U+E000 sorts
// before U+1F600 by code point, after it by code unit), in every generated object.
const ORDER_PROBE: Json = { '\u{1F600}': 'astral', '\uE000': 'private use', z: 'ascii' };
const MAX_INT = Number.MAX_SAFE_INTEGER;
// Any code point but the surrogates, drawn as fast-check's 'binary' unit draws it (an index
// into [0, 0xD7FF] then [0xE000, 0x10FFFF]). The 'binary' unit itself maps every code point
// up front (about 0.9 s) for shrinking without context, which these runs never need.
const codePoint = fc
  .integer({ min: 0, max: 0x10ffff - 0x800 })
  .map((n) => String.fromCodePoint(n < 0xd800 ? n : n + 0x800));
const jsonLeaf = fc.oneof(
  fc.string({ unit: codePoint, maxLength: 8 }),
  fc.constantFrom(MAX_INT, -MAX_INT, 0, -1),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
const jsonKey = fc.string({ unit: codePoint, minLength: 1, maxLength: 6 });
const jsonMembers = fc.dictionary(
  jsonKey,
  fc.oneof(
    jsonLeaf,
    fc.array(jsonLeaf, { maxLength: 3 }),
    fc.dictionary(jsonKey, jsonLeaf, { maxKeys: 3 }),
  ),
  { maxKeys: 5 },
);

export const canonicalJsonSigning = defineCheck({
  name: 'the target signs and checks signatures over canonical JSON: code-point key order, raw UTF-8, boundary integers',
  rules: ['FED-KEYS-08'],
  // Judged on federation documents (key documents, invites), whatever the IS half says.
  roles: ['FED'],
  profiles: ['matrix-current'],
  needs: ['impostor'],
  async run(ctx) {
    // fedconn's canonical JSON reproduces every published example before it judges anyone.
    for (const vector of loadVectors('matrix-canonical-json').tests) {
      if (vector.result !== 'valid') continue;
      const ours = canonicalJson(JSON.parse(vector.input));
      if (!ours.ok || ours.value !== vector.expected) {
        throw new Error(`fedconn's canonical JSON disagrees with vector ${vector.tcId}`);
      }
    }
    const invited = server(ctx, 0);
    const evil = await impostor(ctx, 'canonical.keys.example');
    const keys = await publishedKeys(ctx, invited);
    await checkProperty(
      ctx,
      [jsonMembers, jsonMembers],
      async (content, member) => {
        const event = await evil.signEvent(
          inviteFor(ctx, evil, invited, {
            content: { ...content, ...ORDER_PROBE, membership: 'invite' },
            'org.fedconn.extra': { ...member, ...ORDER_PROBE },
          }),
        );
        const { answer, returned } = await coSign(evil, invited.serverName, event);
        expectThat(
          answer.status === 200 && returned !== undefined,
          `${invited.serverName} refused an invite whose signature is valid over canonical JSON (it canonicalises differently)`,
          '200 {"event": <co-signed>}',
          brief(answer),
        );
        // The content hash covers the whole event: a server that canonicalises otherwise
        // finds it wrong and keeps only the redacted copy, which is what comes back.
        const changed = differingMembers(signedPart(event), signedPart(returned));
        expectThat(
          Object.keys(changed.expected).length + Object.keys(changed.actual).length === 0,
          `${invited.serverName} returned the invite changed (redacted?): its content hash over canonical JSON disagrees with fedconn's (the members that differ)`,
          changed.expected,
          changed.actual,
        );
        const verdict = await checkEventSignature(returned, invited.serverName, keys);
        expectThat(
          verdict.ok,
          `${invited.serverName}'s signature does not verify over the canonical JSON of the invite`,
          `a valid signature over ${JSON.stringify(unwrapText(canonicalJson(withoutSignatures(returned))).slice(0, 200))}`,
          verdict.ok ? 'valid' : verdict.error.detail,
        );
      },
      { numRuns: 8 },
    );
    // Numbers canonical JSON cannot hold: an invite carrying one, signed over the same
    // encoding with the number printed as JavaScript prints it, must not be signed.
    const withNumber = async (number: number) => {
      const unhashed = inviteFor(ctx, evil, invited, {
        content: { membership: 'invite', count: number },
      });
      // Hashed and signed as v10 does, with the number printed as JavaScript prints it.
      const event: Json = { ...unhashed, hashes: { sha256: lenientHash(unhashed) } };
      const signed = {
        ...event,
        signatures: {
          [evil.serverName]: {
            [evil.key.keyId]: await lenientSignature(evil, redactEvent(event)),
          },
        },
      };
      const uri = invitePath(String(event.room_id), lenientEventId(event));
      const content = inviteBody(
        signed,
        await impostorRoomSummary(evil, String(event.room_id), String(event.sender)),
      );
      const request = {
        method: 'PUT',
        uri,
        origin: evil.serverName,
        destination: invited.serverName,
        content,
      };
      const authorization = `X-Matrix origin="${evil.serverName}",destination="${invited.serverName}",key="${evil.key.keyId}",sig="${await lenientSignature(evil, request)}"`;
      return answerOf(
        await evil.request(invited.serverName, 'PUT', uri, content, { authorization }),
      );
    };
    // Control: the same construction with the largest integer allowed is accepted.
    const control = await withNumber(MAX_INT);
    expectThat(
      control.status === 200,
      `${invited.serverName} refused an invite holding ${MAX_INT}, the largest integer canonical JSON allows`,
      200,
      brief(control),
    );
    await checkProperty(
      ctx,
      [eachOf(2 ** 53, -(2 ** 53), 2 ** 60, 1.5, -0.25, 1e21)],
      async (number) => {
        const answer = await withNumber(number);
        const body = jsonObject.safeParse(answer.body).data ?? {};
        expectThat(
          answer.status >= 400 && answer.status < 500 && !('event' in body),
          `${invited.serverName} accepted an invite holding ${number}, which canonical JSON cannot encode`,
          'a 4xx refusal, nothing signed',
          brief(answer),
        );
      },
      { numRuns: 3 },
    );
  },
});

/** Sorted-key JSON with numbers as JavaScript prints them: canonical JSON, minus its number rule. */
function lenientJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(lenientJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Json;
    return `{${Object.keys(record)
      .sort(compareCodePoints)
      .map((k) => `${JSON.stringify(k)}:${lenientJson(record[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The impostor's signature over `object` (without signatures and unsigned), leniently encoded. */
async function lenientSignature(evil: Impostor, object: Json): Promise<string> {
  const rest = Object.fromEntries(
    Object.entries(object).filter(([k]) => k !== 'signatures' && k !== 'unsigned'),
  );
  return encodeUnpaddedBase64(
    await evil.key.pair.sign(new TextEncoder().encode(lenientJson(rest))),
  );
}

/** The content hash over lenient JSON (numbers as JavaScript prints them). */
const lenientHash = (event: Json): string =>
  encodeUnpaddedBase64(
    sha256(
      new TextEncoder().encode(
        lenientJson(
          Object.fromEntries(
            Object.entries(event).filter(
              ([k]) => k !== 'signatures' && k !== 'unsigned' && k !== 'hashes',
            ),
          ),
        ),
      ),
    ),
  );

/** The v4+ event id over lenient JSON; the redacted event holds no odd number, so it is exact. */
const lenientEventId = (event: Json): string => {
  const rest = Object.fromEntries(
    Object.entries(redactEvent(event)).filter(([k]) => k !== 'signatures' && k !== 'unsigned'),
  );
  return `$${encodeUnpaddedBase64Url(sha256(new TextEncoder().encode(lenientJson(rest))))}`;
};

const unwrapText = (result: { ok: true; value: string } | { ok: false }) =>
  result.ok ? result.value : '(not canonical)';

/** Key ids of algorithms no checker knows, with base64-looking values. */
const unknownAlgorithmSignatures = fc.dictionary(
  fc
    .tuple(
      fc.constantFrom('curve25519', 'foo', 'ed448', 'x'),
      fc.stringMatching(/^[a-zA-Z0-9_]{1,6}$/),
    )
    .map(([alg, version]) => `${alg}:${version}`),
  fc.uint8Array({ minLength: 64, maxLength: 64 }).map(encodeUnpaddedBase64),
  { minKeys: 1, maxKeys: 3 },
);

export const jsonSigningRules = defineCheck({
  name: 'signatures exclude unsigned, keep existing signatures, skip unknown algorithms, and fail with no usable one',
  rules: ['FED-KEYS-09'],
  // Judged on federation documents (key documents, invites), whatever the IS half says.
  roles: ['FED'],
  profiles: ['matrix-current'],
  needs: ['impostor'],
  async run(ctx) {
    const invited = server(ctx, 0);
    const evil = await impostor(ctx, 'signing.keys.example');
    const keys = await publishedKeys(ctx, invited);
    await checkProperty(
      ctx,
      [jsonMembers, unknownAlgorithmSignatures],
      async (unsigned, foreign) => {
        const signed = await evil.signEvent(
          inviteFor(ctx, evil, invited, { unsigned: { ...unsigned, age: 1 } }),
        );
        const own = signed.signatures[evil.serverName] ?? {};
        // Signatures of unknown algorithms next to the real one: ignored, and kept.
        const event: Json = {
          ...signed,
          signatures: { ...signed.signatures, [evil.serverName]: { ...own, ...foreign } },
        };
        const { answer, returned } = await coSign(evil, invited.serverName, event);
        expectThat(
          answer.status === 200 && returned !== undefined,
          `${invited.serverName} refused an invite with a valid ed25519 signature next to signatures of unknown algorithms, or with an unsigned member`,
          '200 {"event": <co-signed>}',
          brief(answer),
        );
        const verdict = await checkEventSignature(returned, invited.serverName, keys);
        expectThat(
          verdict.ok,
          `${invited.serverName}'s signature does not verify over the event without signatures and unsigned`,
          'a valid signature over the canonical JSON without signatures and unsigned',
          verdict.ok ? 'valid' : verdict.error.detail,
        );
        const kept = signaturesOf(returned)[evil.serverName];
        expectThat(
          canonical(kept) === canonical({ ...own, ...foreign }),
          `${invited.serverName} removed or changed existing signatures when adding its own`,
          { ...own, ...foreign },
          kept,
        );
        // Only signatures of unknown algorithms (and an ed25519 id of no published key)
        // leave no usable signature: the invite must be refused.
        const unusable = await coSign(evil, invited.serverName, {
          ...signed,
          origin_server_ts: Number(signed.origin_server_ts) + 1,
          signatures: {
            [evil.serverName]: { ...foreign, 'ed25519:nosuchkey': Object.values(own)[0] ?? '' },
          },
        });
        expectThat(
          unusable.answer.status >= 400 && unusable.returned === undefined,
          `${invited.serverName} signed an invite with no usable signature of its sender`,
          '4xx (M_INVALID_PARAM), nothing signed',
          brief(unusable.answer),
        );
      },
      { numRuns: 5 },
    );
  },
});

const STANDARD_UNPADDED = /^[A-Za-z0-9+/]*$/;

/** Problems of a base64 value that should be unpadded standard base64 of `bytes` bytes. */
function base64Problem(value: unknown, bytes: number): string | undefined {
  if (typeof value !== 'string') return 'not a string';
  if (value.includes('=')) return 'padded';
  if (!STANDARD_UNPADDED.test(value)) return 'not in the standard alphabet';
  const decoded = decodeBase64(value);
  if (!decoded.ok) return decoded.error.detail;
  if (decoded.value.length !== bytes) return `${decoded.value.length} bytes, not ${bytes}`;
  return undefined;
}

/** Base64 fields of a signatures object: signatures[entity][keyId]. */
const signatureValues = (where: string, signatures: unknown): [string, unknown, number][] =>
  Object.entries(jsonObject.safeParse(signatures).data ?? {}).flatMap(([entity, byKey]) =>
    Object.entries(jsonObject.safeParse(byKey).data ?? {}).map(
      ([keyId, sig]) =>
        [`${where} signatures.${entity}.${keyId}`, sig, 64] as [string, unknown, number],
    ),
  );

export const unpaddedBase64Emitted = defineCheck({
  name: 'every base64 value the target emits (keys, signatures, request signatures) is unpadded',
  rules: ['FED-KEYS-10'],
  // Judged on federation documents (key documents, invites), whatever the IS half says.
  roles: ['FED'],
  profiles: ['matrix-current', 'matrix-2014'],
  needs: ['impostor'],
  async run(ctx) {
    const target = server(ctx, 0);
    const v1 = ctx.profile === 'matrix-2014';
    const values: [string, unknown, number][] = [];
    const { peer: evil, received } = await recordingPeer(ctx, 'base64.keys.example');
    // The key document.
    const doc = await answerOf(
      await ctx.instance.transport(
        new Request(`${target.origin}${v1 ? '/_matrix/key/v1' : '/_matrix/key/v2/server'}`, {
          signal: ctx.signal,
        }),
      ),
    );
    const body = jsonObject.safeParse(doc.body).data ?? {};
    for (const [id, entry] of Object.entries(jsonObject.safeParse(body.verify_keys).data ?? {})) {
      values.push([
        `key document verify_keys.${id}`,
        v1 ? entry : jsonObject.safeParse(entry).data?.key,
        32,
      ]);
    }
    for (const [id, entry] of Object.entries(
      jsonObject.safeParse(body.old_verify_keys).data ?? {},
    )) {
      values.push([
        `key document old_verify_keys.${id}`,
        jsonObject.safeParse(entry).data?.key,
        32,
      ]);
    }
    values.push(...signatureValues('key document', body.signatures));
    if (v1 && typeof body.tls_certificate === 'string') {
      const problem = body.tls_certificate.includes('=') ? 'padded' : undefined;
      expectThat(
        problem === undefined,
        `${target.serverName}: tls_certificate is padded`,
        'unpadded base64',
        body.tls_certificate,
      );
    }
    await checkProperty(
      ctx,
      [fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/)],
      async (local) => {
        // An event signature: the target co-signs an invite.
        const { returned } = await coSign(
          evil,
          target.serverName,
          await evil.signEvent(
            inviteFor(ctx, evil, target, { content: { membership: 'invite', displayname: local } }),
          ),
        );
        if (returned !== undefined) {
          values.push(
            ...signatureValues('co-signed invite', {
              [target.serverName]: signaturesOf(returned)[target.serverName],
            }),
          );
        }
        // A request signature: the target invites a user of the impostor.
        const roomId = await createRoom(
          ctx,
          target,
          userOn(ctx, target, `alice${local}`),
          'invite',
        );
        await inviteUser(
          ctx,
          target,
          roomId,
          userOn(ctx, target, `alice${local}`),
          `@${local}:${evil.serverName}`,
        );
      },
      { numRuns: 3 },
    );
    for (const { authorization } of received) {
      values.push(['X-Matrix sig', /sig="?([^",]*)"?/i.exec(authorization ?? '')?.[1], 64]);
    }
    expectThat(
      ['X-Matrix', 'key document signatures', 'co-signed invite'].every((kind) =>
        values.some(([where]) => where.startsWith(kind)),
      ),
      `${target.serverName}: fedconn saw no request signature, key document signature or invite co-signature to judge`,
      'a key document signature, an invite co-signature and an X-Matrix signature of the target',
      values.map(([where]) => where),
    );
    const bad = values.flatMap(([where, value, bytes]) => {
      const problem = base64Problem(value, bytes);
      return problem === undefined ? [] : [`${where}: ${JSON.stringify(value)} (${problem})`];
    });
    expectThat(
      bad.length === 0,
      `${target.serverName} emitted base64 that is not unpadded standard base64`,
      'unpadded standard base64 of 32-byte keys and 64-byte signatures',
      bad,
    );
  },
});

export const paddedBase64Accepted = defineCheck({
  name: 'padded base64 keys and signatures from a peer are accepted',
  rules: ['FED-KEYS-11'],
  // Judged on federation documents (key documents, invites), whatever the IS half says.
  roles: ['FED'],
  profiles: ['matrix-current'],
  needs: ['impostor'],
  async run(ctx) {
    const target = server(ctx, 0).serverName;
    let run = 0;
    await checkProperty(
      ctx,
      [
        fc
          .record({ key: fc.boolean(), document: fc.boolean(), request: fc.boolean() })
          .filter((p) => p.key || p.document || p.request),
      ],
      async (padded) => {
        const name = `padded${run++}.keys.example`;
        const peer: Impostor = await impostor(ctx, name, (app) => {
          app.get('/_matrix/key/v2/server', async (c) => {
            const key = encodeUnpaddedBase64(peer.key.pair.publicKey);
            const doc = await peer.sign({
              server_name: peer.serverName,
              valid_until_ts: ctx.instance.clock.now() + DAY,
              verify_keys: { [peer.key.keyId]: { key: padded.key ? padBase64(key) : key } },
              old_verify_keys: {},
            });
            const sig = doc.signatures[peer.serverName]?.[peer.key.keyId] ?? '';
            return c.json({
              ...doc,
              signatures: {
                [peer.serverName]: { [peer.key.keyId]: padded.document ? padBase64(sig) : sig },
              },
            });
          });
        });
        const uri = sendPath(`pad${ctx.seed}x${run}`);
        const origin = peer.serverName;
        const content = { origin, origin_server_ts: ctx.instance.clock.now(), pdus: [] };
        const header = await xMatrixHeader(
          { method: 'PUT', uri, origin, destination: target, content },
          peer.key,
        );
        const authorization = padded.request
          ? header.replace(/sig="([^"]*)"/, (_m, sig: string) => `sig="${padBase64(sig)}"`)
          : header;
        const answer = await answerOf(
          await peer.request(target, 'PUT', uri, content, { authorization }),
        );
        expectAuthenticated(
          answer,
          `${target} refused a request of ${origin} with padded base64 (${Object.entries(padded)
            .filter(([, v]) => v)
            .map(([k]) => k)
            .join(', ')})`,
        );
      },
      { numRuns: 6 },
    );
  },
});
