import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { z } from 'zod';
import { canonicalJson } from '../../protocol/encoding/canonical-json.ts';
import { signJson } from '../../protocol/encoding/signed-json.ts';
import { decodeBase64, encodeUnpaddedBase64 as encodeKey } from '../../protocol/encoding/base64.ts';
import { unwrap } from '../../protocol/result.ts';
import { createSimFederation, PROVISIONING_TOKEN } from '../../homeserver/sim-federation.ts';
import { federationRequest } from '../../federation/client.ts';
import { validateServerKeysV1 } from '../../federation/keys-v1.ts';
import { MATRIX_MUTANTS } from '../../federation/mutants.ts';
import { MAX_KEY_TRUST_MS, validateServerKeys } from '../../federation/remote-keys.ts';
import {
  currentSigningKey,
  SIGNING_KEY_LIFETIME_MS,
  SIGNING_KEY_RENEW_MARGIN_MS,
} from '../../federation/signing-keys.ts';
import {
  createMatrixFederation,
  expectOk,
  HS1,
  HS2,
  HS3,
  type MatrixFederation,
} from '../../federation/test-support.ts';
import { xMatrixHeader } from '../../federation/x-matrix.ts';
import { connectionCertificate, TLS_CERTIFICATE_HEADER } from '../../net/tls.ts';
import { makeJoinPath, ROOM_VERSION } from '../rooms/index.ts';
import { keysService, KEYS_PROVISION_PREFIX } from './index.ts';

const DAY = 24 * 60 * 60 * 1000;

async function keysOf(m: MatrixFederation, server: string, path = '/_matrix/key/v2/server') {
  const response = await m.fed.transport(new Request(`${m.fed.originOf(server)}${path}`));
  const text = await response.text();
  return { response, text, body: JSON.parse(text) as unknown };
}

const rotate = (m: MatrixFederation, server: string, body?: unknown) =>
  m.provision(server, 'POST', `${KEYS_PROVISION_PREFIX}/rotate`, body);

describe('GET /_matrix/key/v2/server (FED-KEYS-03, -04, -05)', () => {
  test('serves a self-signed document that validates, in canonical JSON', async () => {
    const m = await createMatrixFederation('keys served');
    const now = m.fed.clock.now();
    const { text, body } = await keysOf(m, HS1);
    const validated = unwrap(await validateServerKeys(body, HS1, now));
    const own = currentSigningKey(unwrap2(m, HS1));
    expect([...validated.keys.keys()]).toEqual([own.keyId]);
    expect(validated.keys.get(own.keyId)).toEqual(own.pair.publicKey);
    expect(validated.trustedUntil).toBe(now + SIGNING_KEY_LIFETIME_MS);
    expect(body).toMatchObject({ server_name: HS1, old_verify_keys: {} });
    // Canonical on the wire, so a checker can verify the raw bytes (as Complement does).
    expect(text).toBe(unwrap(canonicalJson(body)));
  });

  test('members the schema does not name are covered by the signature', async () => {
    const m = await createMatrixFederation('keys extra members');
    const { body } = await keysOf(m, HS1);
    const now = m.fed.clock.now();
    const added = { ...(body as Record<string, unknown>), extra: 1 };
    const verdict = await validateServerKeys(added, HS1, now);
    expect(verdict.ok ? 'ok' : verdict.error.kind).toBe('not-self-signed');
  });

  test('is not valid for another server name', async () => {
    const m = await createMatrixFederation('keys wrong name');
    const { body } = await keysOf(m, HS1);
    const verdict = await validateServerKeys(body, HS2, m.fed.clock.now());
    expect(verdict.ok ? 'ok' : verdict.error.kind).toBe('wrong-server-name');
  });

  test.prop([fc.integer({ min: 0, max: 60 * DAY })], { numRuns: 100 })(
    'at any time, the document validates and keeps at least the renew margin',
    async (elapsed) => {
      const fed = await createSimFederation({
        seed: 'keys over time',
        profile: 'multi-device',
        servers: [{ serverName: HS1 }],
        services: [keysService],
      });
      fed.clock.advance(elapsed);
      const now = fed.clock.now();
      const response = await fed.transport(
        new Request(`${fed.originOf(HS1)}/_matrix/key/v2/server`),
      );
      const body: unknown = await response.json();
      const validated = unwrap(await validateServerKeys(body, HS1, now));
      const { valid_until_ts } = z.object({ valid_until_ts: z.int() }).parse(body);
      expect(valid_until_ts - now).toBeGreaterThanOrEqual(SIGNING_KEY_RENEW_MARGIN_MS);
      expect(validated.trustedUntil).toBeLessThanOrEqual(now + MAX_KEY_TRUST_MS);
    },
  );

  test('a wrong method is 405 M_UNRECOGNIZED', async () => {
    const m = await createMatrixFederation('keys method');
    const answer = await m.call(HS1, '/_matrix/key/v2/server', { method: 'DELETE' });
    expect(answer.status).toBe(405);
    expect(answer.body).toMatchObject({ errcode: 'M_UNRECOGNIZED' });
  });
});

function unwrap2(m: MatrixFederation, server: string) {
  const hs = m.fed.servers.get(server);
  if (hs === undefined) throw new Error(`no ${server}`);
  return hs.ctx;
}

describe('key rotation (FED-KEYS-07)', () => {
  test('the old key moves to old_verify_keys with expired_ts, the new key signs', async () => {
    const m = await createMatrixFederation('rotation document');
    const ctx = unwrap2(m, HS1);
    const before = currentSigningKey(ctx);
    m.fed.clock.advance(1000);
    const answer = await rotate(m, HS1);
    const rotated = z
      .object({ key_id: z.string(), old_key_id: z.string(), expired_ts: z.int() })
      .parse(expectOk('rotate', answer));
    expect(rotated.old_key_id).toBe(before.keyId);
    expect(rotated.expired_ts).toBe(m.fed.clock.now());
    expect(currentSigningKey(ctx).keyId).toBe(rotated.key_id);
    const { body } = await keysOf(m, HS1);
    const validated = unwrap(await validateServerKeys(body, HS1, m.fed.clock.now()));
    expect([...validated.keys.keys()]).toEqual([rotated.key_id]);
    expect(validated.oldKeys.get(before.keyId)).toEqual({
      key: before.pair.publicKey,
      expiredTs: rotated.expired_ts,
    });
    // The rotation is a stored row the observer saw.
    const rows = m.fed.observer
      .view(HS1)
      .events.filter((e) => e.kind === 'row' && e.table === 'server_signing_keys');
    expect(rows.length).toBeGreaterThanOrEqual(3);
  });

  test('requests signed with the old key get 401, the new key works', async () => {
    const m = await createMatrixFederation('rotation requests');
    const room = await m.createRoom(HS2, `@alice:${HS2}`, 'public');
    const hs1 = unwrap2(m, HS1);
    const uri = makeJoinPath(room, `@bob:${HS1}`, [ROOM_VERSION]);
    // hs2 learns (and caches) hs1's first key.
    expect((await federationRequest(hs1, HS2, 'GET', uri)).status).toBe(200);
    const oldKey = currentSigningKey(hs1);
    expectOk('rotate', await rotate(m, HS1));
    // The first request with the new key makes hs2 refetch: the key id is unknown to it.
    expect((await federationRequest(hs1, HS2, 'GET', uri)).status).toBe(200);
    const withOldKey = async (destination: string) => {
      const authorization = await xMatrixHeader(
        { method: 'GET', uri, origin: HS1, destination },
        oldKey,
      );
      return m.call(destination, uri, { headers: { authorization } });
    };
    for (const destination of [HS2, HS3]) {
      const answer = await withOldKey(destination);
      expect(answer.status, destination).toBe(401);
      expect(answer.body).toMatchObject({ errcode: 'M_UNAUTHORIZED' });
    }
  });

  test('mutant FED-KEYS-07: the old key still authenticates', async () => {
    const m = await createMatrixFederation('rotation mutant', {
      servers: [
        { serverName: HS1 },
        { serverName: HS2, mutants: [MATRIX_MUTANTS.oldKeysAuthenticateRequests] },
      ],
    });
    const room = await m.createRoom(HS2, `@alice:${HS2}`, 'public');
    const hs1 = unwrap2(m, HS1);
    const uri = makeJoinPath(room, `@bob:${HS1}`, [ROOM_VERSION]);
    const oldKey = currentSigningKey(hs1);
    expectOk('rotate', await rotate(m, HS1));
    const authorization = await xMatrixHeader(
      { method: 'GET', uri, origin: HS1, destination: HS2 },
      oldKey,
    );
    expect((await m.call(HS2, uri, { headers: { authorization } })).status).toBe(200);
  });

  test('rotation is provisioning only, and key ids are checked', async () => {
    const m = await createMatrixFederation('rotation guard');
    const path = `${KEYS_PROVISION_PREFIX}/rotate`;
    const missing = await m.call(HS1, path, { method: 'POST' });
    expect([missing.status, missing.body]).toMatchObject([401, { errcode: 'M_MISSING_TOKEN' }]);
    const wrong = await m.call(HS1, path, { method: 'POST', token: 'nope' });
    expect([wrong.status, wrong.body]).toMatchObject([401, { errcode: 'M_UNKNOWN_TOKEN' }]);
    const invalid = await rotate(m, HS1, { key_id: 'rsa:1' });
    expect([invalid.status, invalid.body]).toMatchObject([400, { errcode: 'M_INVALID_PARAM' }]);
    expectOk('rotate', await rotate(m, HS1, { key_id: 'ed25519:chosen' }));
    const reused = await rotate(m, HS1, { key_id: 'ed25519:chosen' });
    expect([reused.status, reused.body]).toMatchObject([409, { errcode: 'M_CONFLICT' }]);
    const notJson = await m.call(HS1, path, {
      method: 'POST',
      token: PROVISIONING_TOKEN,
      body: '{',
    });
    expect([notJson.status, notJson.body]).toMatchObject([400, { errcode: 'M_NOT_JSON' }]);
  });
});

describe('GET /_matrix/key/v1 and the 2014 validation (FED-KEYS-01, -02)', () => {
  test('serves tls_certificate equal to the certificate the connection presents', async () => {
    const m = await createMatrixFederation('keys v1', { matrixProfile: 'matrix-2014' });
    const { response, body } = await keysOf(m, HS1, '/_matrix/key/v1');
    const presented = connectionCertificate(response);
    expect(presented).toBeDefined();
    const { tls_certificate } = z.object({ tls_certificate: z.string() }).parse(body);
    expect(unwrap(decodeBase64(tls_certificate))).toEqual(presented);
    const validated = unwrap(
      await validateServerKeysV1(body, HS1, {
        connectionCertificate: presented,
        now: m.fed.clock.now(),
        trustMs: MAX_KEY_TRUST_MS,
      }),
    );
    expect(validated.keys.get(currentSigningKey(unwrap2(m, HS1)).keyId)).toBeDefined();
  });

  test('a certificate mismatch, a missing certificate or a bad signature is refused', async () => {
    const m = await createMatrixFederation('keys v1 refused', { matrixProfile: 'matrix-2014' });
    const { response, body } = await keysOf(m, HS1, '/_matrix/key/v1');
    const presented = connectionCertificate(response) ?? new Uint8Array();
    const other = presented.map((b, i) => (i === 0 ? b ^ 1 : b));
    const kind = async (value: unknown, certificate: Uint8Array | undefined, name = HS1) => {
      const verdict = await validateServerKeysV1(value, name, {
        connectionCertificate: certificate,
        now: 0,
        trustMs: MAX_KEY_TRUST_MS,
      });
      return verdict.ok ? 'ok' : verdict.error.kind;
    };
    expect(await kind(body, presented)).toBe('ok');
    expect(await kind(body, other)).toBe('certificate-mismatch');
    expect(await kind(body, undefined)).toBe('no-connection-certificate');
    expect(await kind(body, presented, HS2)).toBe('wrong-server-name');
    const doc = z.looseObject({ verify_keys: z.record(z.string(), z.string()) }).parse(body);
    const tampered = { ...doc, server_name: HS1, extra: 1 };
    expect(await kind(tampered, presented)).toBe('not-self-signed');
    const noCertificate = Object.fromEntries(
      Object.entries(doc).filter(([k]) => k !== 'tls_certificate'),
    );
    expect(await kind(noCertificate, presented)).toBe('bad-response');
  });

  test('a 2014 server refuses requests from an impostor whose certificate mismatches', async () => {
    const m = await createMatrixFederation('keys v1 impostor', { matrixProfile: 'matrix-2014' });
    const room = await m.createRoom(HS2, `@alice:${HS2}`, 'public');
    // The impostor's document names one certificate, its connections present another.
    const honest = await m.fake('honest.example');
    const impostor = await m.fake('impostor.example', {
      setup: (app) => {
        app.get('/_matrix/key/v1', async (c) =>
          c.json(
            await impostor.sign({
              server_name: 'impostor.example',
              verify_keys: { [impostor.key.keyId]: encodeKey(impostor.key.pair.publicKey) },
              tls_certificate: encodeKey(honest.certificate),
            }),
          ),
        );
      },
    });
    const uri = (user: string) => makeJoinPath(room, user, [ROOM_VERSION]);
    const ok = await honest.request(HS2, 'GET', uri('@h:honest.example'));
    expect(ok.status).toBe(200);
    const refused = await impostor.request(HS2, 'GET', uri('@i:impostor.example'));
    expect(refused.status).toBe(401);
    expect(refused.headers.has(TLS_CERTIFICATE_HEADER)).toBe(true);
  });

  test('mutants: omit tls_certificate, skip the certificate check', async () => {
    const m = await createMatrixFederation('keys v1 mutants', {
      matrixProfile: 'matrix-2014',
      servers: [
        { serverName: HS1, mutants: [MATRIX_MUTANTS.omitTlsCertificate] },
        { serverName: HS2, mutants: [MATRIX_MUTANTS.skipCertificateCheck] },
        { serverName: HS3 },
      ],
    });
    const { body } = await keysOf(m, HS1, '/_matrix/key/v1');
    expect(body).not.toHaveProperty('tls_certificate');
    const room = await m.createRoom(HS2, `@alice:${HS2}`, 'public');
    const impostor = await m.fake('impostor.example', {
      setup: (app) => {
        app.get('/_matrix/key/v1', async (c) =>
          c.json(
            await impostor.sign({
              server_name: 'impostor.example',
              verify_keys: { [impostor.key.keyId]: encodeKey(impostor.key.pair.publicKey) },
              tls_certificate: encodeKey(new Uint8Array(64)),
            }),
          ),
        );
      },
    });
    const answer = await impostor.request(
      HS2,
      'GET',
      makeJoinPath(room, '@i:impostor.example', [ROOM_VERSION]),
    );
    expect(answer.status).toBe(200);
  });
});

describe('mutants of the v2 document', () => {
  test('FED-KEYS-03 omits valid_until_ts, FED-KEYS-04 signs with a foreign key', async () => {
    const m = await createMatrixFederation('keys v2 mutants', {
      servers: [
        { serverName: HS1, mutants: [MATRIX_MUTANTS.omitValidUntil] },
        { serverName: HS2, mutants: [MATRIX_MUTANTS.signWithForeignKey] },
      ],
    });
    const now = m.fed.clock.now();
    const kind = async (server: string) => {
      const verdict = await validateServerKeys((await keysOf(m, server)).body, server, now);
      return verdict.ok ? 'ok' : verdict.error.kind;
    };
    expect(await kind(HS1)).toBe('bad-response');
    expect(await kind(HS2)).toBe('not-self-signed');
  });
});

describe('what a reference server accepts from a peer (FED-KEYS-05, -06)', () => {
  const EVIL = 'evil.example';

  async function world(
    seed: string,
    mutants: readonly string[],
    document: (now: number) => object,
  ) {
    const m = await createMatrixFederation(seed, {
      servers: [{ serverName: HS1 }, { serverName: HS2, mutants }],
    });
    let fetches = 0;
    const state = { signAs: EVIL };
    const evil = await m.fake(EVIL, {
      setup: (app) => {
        app.get('/_matrix/key/v2/server', async (c) => {
          fetches++;
          const signed = await signJson(document(m.fed.clock.now()), {
            entity: state.signAs,
            keyId: evil.key.keyId,
            keyPair: evil.key.pair,
          });
          return c.json(unwrap(signed));
        });
      },
    });
    const keyDocument = (now: number, extra: object = {}) => ({
      server_name: EVIL,
      valid_until_ts: now + DAY,
      verify_keys: { [evil.key.keyId]: { key: encodeKey(evil.key.pair.publicKey) } },
      ...extra,
    });
    const room = await m.createRoom(HS2, `@alice:${HS2}`, 'public');
    const ask = async () =>
      (await evil.request(HS2, 'GET', makeJoinPath(room, `@eve:${EVIL}`, [ROOM_VERSION]))).status;
    return {
      m,
      evil,
      keyDocument,
      ask,
      fetches: () => fetches,
      set signAs(entity: string) {
        state.signAs = entity;
      },
    };
  }

  test('a document naming another server is refused, unless mutant FED-KEYS-05', async () => {
    // A valid document of another server (here signed by the key it lists) answers for evil.
    let build: (now: number) => object = () => ({});
    for (const [mutants, expected] of [
      [[], 401],
      [[MATRIX_MUTANTS.acceptAnyServerName], 200],
    ] as const) {
      const w = await world(`keys wrong name ${expected}`, mutants, (now) => build(now));
      build = (now) => ({ ...w.keyDocument(now), server_name: 'other.example' });
      w.signAs = 'other.example';
      expect(await w.ask()).toBe(expected);
    }
  });

  test('an expired document is refused; trust is capped at 7 days unless mutant FED-KEYS-06', async () => {
    let build: (now: number) => object = () => ({});
    const expired = await world('keys expired', [], (now) => build(now));
    build = (now) => expired.keyDocument(now, { valid_until_ts: now - 1 });
    expect(await expired.ask()).toBe(401);

    for (const [mutants, refetches] of [
      [[], 2],
      [[MATRIX_MUTANTS.uncappedKeyTrust], 1],
    ] as const) {
      const w = await world(`keys capped ${refetches}`, mutants, (now) => build(now));
      build = (now) => w.keyDocument(now, { valid_until_ts: now + 3650 * DAY });
      expect(await w.ask()).toBe(200);
      w.m.fed.clock.advance(8 * DAY);
      expect(await w.ask()).toBe(200);
      expect(w.fetches()).toBe(refetches);
    }
  });
});
