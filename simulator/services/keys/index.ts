// The keys service: a homeserver's signing keys on its HTTP surface.
//   GET  /_matrix/key/v2/server                today's self-signed key document
//   GET  /_matrix/key/v2/server/{keyId}        the same, where servers before spec v1.6
//                                              (MSC3938 removed {keyId}) ask for it
//   GET  /_matrix/key/v1                       the 2014 document, with tls_certificate
//   POST /_fedconn/v1/provision/keys/rotate    test-only key rotation (provisioning token)
// The HTTP binding is docs/binding-matrix.part.md. Documents are answered as
// canonical JSON, so a checker may verify over the raw bytes (as Complement does).
import type { Hono } from 'hono';
import { z } from 'zod';
import { canonicalJson } from '../../protocol/encoding/canonical-json.ts';
import type { HomeserverContext } from '../../homeserver/context.ts';
import type { Service } from '../../homeserver/homeserver.ts';
import { fail, readJson, router } from '../../homeserver/http.ts';
import { provisioningDenied } from '../../federation/provisioning.ts';
import { rotateSigningKey } from '../../federation/signing-keys.ts';
import { serverKeysV1, serverKeysV2 } from './documents.ts';

export { serverKeysV1, serverKeysV2 } from './documents.ts';

export const KEYS_PROVISION_PREFIX = '/_fedconn/v1/provision/keys';

const rotateRequestSchema = z.strictObject({
  key_id: z.string().optional(),
});

function canonicalResponse(value: unknown): Response {
  const text = canonicalJson(value);
  if (!text.ok) return fail('M_UNKNOWN', `cannot encode key document: ${text.error.detail}`);
  return new Response(text.value, { headers: { 'content-type': 'application/json' } });
}

export const keysService: Service = (ctx: HomeserverContext): Hono => {
  const app = router();
  app.get('/_matrix/key/v2/server', async () => canonicalResponse(await serverKeysV2(ctx)));
  // Synapse 1.67 still fetches by key id; the document lists every key either way.
  app.get('/_matrix/key/v2/server/:keyId', async () => canonicalResponse(await serverKeysV2(ctx)));
  app.get('/_matrix/key/v1', async () => canonicalResponse(await serverKeysV1(ctx)));

  app.post(`${KEYS_PROVISION_PREFIX}/rotate`, async (c) => {
    const denied = provisioningDenied(ctx, c);
    if (denied !== undefined) return denied;
    // An empty body means "choose the key id"; anything else must be the JSON object.
    // (Hono caches the body, so readJson may read it again.)
    const empty = (await c.req.arrayBuffer()).byteLength === 0;
    let keyId: string | undefined;
    if (!empty) {
      const body = await readJson(c, rotateRequestSchema);
      if (!body.ok) return body.error;
      keyId = body.value.key_id;
    }
    const rotated = await rotateSigningKey(ctx, keyId === undefined ? {} : { keyId });
    if (!rotated.ok) {
      switch (rotated.error.kind) {
        case 'invalid-key-id':
          return fail('M_INVALID_PARAM', rotated.error.detail);
        case 'key-id-in-use':
          return fail('M_CONFLICT', rotated.error.detail);
      }
    }
    const { keyId: newKeyId, oldKeyId, expiredTs } = rotated.value;
    return c.json({ key_id: newKeyId, old_key_id: oldKeyId, expired_ts: expiredTs });
  });

  // A known path with the wrong method is 405 M_UNRECOGNIZED (Matrix), not 404.
  for (const path of [
    '/_matrix/key/v2/server',
    '/_matrix/key/v1',
    `${KEYS_PROVISION_PREFIX}/rotate`,
  ]) {
    app.all(path, (c) =>
      fail('M_UNRECOGNIZED', `${c.req.method} is not allowed on ${c.req.path}`, {}, 405),
    );
  }
  return app;
};
