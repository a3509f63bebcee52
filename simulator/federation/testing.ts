// A scriptable federation peer for tests and adversarial checks: a server name, a
// signing key the caller controls, its key document at /_matrix/key/v2/server (and
// /_matrix/key/v1 with a modelled certificate), and any routes the caller adds. It
// signs requests and JSON like a homeserver, or forges them on request. The reference
// servers cannot tell it from a homeserver, which is the point.
import { narrowed, type Narrowing } from '../protocol/narrowing.ts';
import { xMatrixHeaderWith, xMatrixSignedJson, type RequestToSign } from './x-matrix.ts';
import { Hono } from 'hono';
import { generateEd25519KeyPair, type Ed25519KeyPair } from '../protocol/crypto/ed25519.ts';
import { fork, seededRng } from '../protocol/crypto/rng.ts';
import { encodeUnpaddedBase64 } from '../protocol/encoding/base64.ts';
import { signJson, type SignedObject } from '../protocol/encoding/signed-json.ts';
import { coSignEvent, hashAndSignEvent, type SignedEvent } from '../protocol/events/signing.ts';
import { unwrap } from '../protocol/result.ts';
import {
  clientCertificateHeader,
  modelCertificate,
  presentCertificate,
  TLS_CLIENT_CERTIFICATE_HEADER,
} from '../net/tls.ts';
import type { SimNetwork, Transport } from '../net/transport.ts';
import { xMatrixHeader } from './x-matrix.ts';

export interface FakeKey {
  readonly keyId: string;
  readonly pair: Ed25519KeyPair;
}

export interface FakeServer {
  readonly serverName: string;
  readonly key: FakeKey;
  /** The certificate its connections present. */
  readonly certificate: Uint8Array;
  /** Add routes here; the key routes are already there (and can be overridden first). */
  readonly app: Hono;
  /** Signs `object` as this server (or with `key` under this server's name). */
  sign(object: unknown, key?: FakeKey): Promise<SignedObject>;
  /** Hashes and signs a room event (room version 10: the signature covers the redacted event). */
  signEvent<E extends Record<string, unknown>>(event: E, key?: FakeKey): Promise<SignedEvent<E>>;
  /** Adds this server's signature to a hashed room event, keeping the others (co-signing). */
  coSignEvent<E extends Record<string, unknown>>(event: E, key?: FakeKey): Promise<SignedEvent<E>>;
  /** Sends an X-Matrix request to `destination` (at https://<destination>). */
  request(
    destination: string,
    method: string,
    uri: string,
    content?: unknown,
    forge?: Forgery,
  ): Promise<Response>;
}

/** Ways to lie in an X-Matrix request: another origin, destination or key than the truth. */
export interface Forgery {
  readonly origin?: string;
  readonly destination?: string;
  readonly key?: FakeKey;
  /** Replace the Authorization header entirely. */
  readonly authorization?: string | null;
  /** Sign this content but send `sentContent` (a replayed or altered body). */
  readonly sentContent?: unknown;
  /** Present this TLS client certificate (simulator/net/tls.ts); none when absent. */
  readonly clientCertificate?: Uint8Array;
}

export interface FakeServerOptions {
  readonly serverName: string;
  readonly network: SimNetwork;
  /** Outbound transport, normally the federation's (faults included). */
  readonly transport: Transport;
  readonly seed?: string;
  /** valid_until_ts of the served v2 document (default: far enough, 1 day from `now`). */
  readonly validUntil?: number;
  readonly now?: () => number;
  /** Do not register on the network; the caller registers `fetch` itself. */
  readonly register?: boolean;
  /** Routes installed before the key routes, so they can override them. */
  readonly setup?: (app: Hono) => void;
}

export async function createFakeServer(
  options: FakeServerOptions,
): Promise<FakeServer & { readonly fetch: (request: Request) => Promise<Response> }> {
  const rng = seededRng(options.seed ?? `fake server ${options.serverName}`);
  const pair = await generateEd25519KeyPair(fork(rng, 'signing key'));
  // A key id of its own: a real server caches keys by (server name, key id), and a
  // loopback port, hence a peer's name, can come round again with another key.
  const key: FakeKey = {
    keyId: `ed25519:fake${Buffer.from(fork(rng, 'key id').bytes(3)).toString('hex')}`,
    pair,
  };
  const certificate = modelCertificate(fork(rng, 'tls certificate'));
  const now = options.now ?? (() => Date.now());
  const { serverName } = options;

  const sign = async (object: unknown, by: FakeKey = key) =>
    unwrap(await signJson(object, { entity: serverName, keyId: by.keyId, keyPair: by.pair }));

  const signer = (by: FakeKey) => ({ entity: serverName, keyId: by.keyId, keyPair: by.pair });
  const signEvent = async <E extends Record<string, unknown>>(event: E, by: FakeKey = key) =>
    unwrap(await hashAndSignEvent(event, signer(by)));
  const coSign = async <E extends Record<string, unknown>>(event: E, by: FakeKey = key) =>
    unwrap(await coSignEvent(event, signer(by)));

  const app = new Hono();
  options.setup?.(app);
  app.get('/_matrix/key/v2/server', async (c) =>
    c.json(
      await sign({
        server_name: serverName,
        valid_until_ts: options.validUntil ?? now() + 24 * 60 * 60 * 1000,
        verify_keys: { [key.keyId]: { key: encodeUnpaddedBase64(pair.publicKey) } },
        old_verify_keys: {},
      }),
    ),
  );
  app.get('/_matrix/key/v1', async (c) =>
    c.json(
      await sign({
        server_name: serverName,
        verify_keys: { [key.keyId]: encodeUnpaddedBase64(pair.publicKey) },
        tls_certificate: encodeUnpaddedBase64(certificate),
      }),
    ),
  );

  const fetch = presentCertificate(certificate, async (request) =>
    app.fetch(legacyKeyPath(request)),
  );
  if (options.register !== false) options.network.register(`https://${serverName}`, fetch);

  const request: FakeServer['request'] = async (destination, method, uri, content, forge = {}) => {
    const url = new URL(uri, `https://${destination}`);
    const signedUri = url.pathname + url.search;
    const authorization =
      forge.authorization !== undefined
        ? forge.authorization
        : await xMatrixHeader(
            {
              method,
              uri: signedUri,
              origin: forge.origin ?? serverName,
              destination: forge.destination ?? destination,
              ...(content === undefined ? {} : { content }),
            },
            forge.key ?? key,
          );
    const sent = 'sentContent' in forge ? forge.sentContent : content;
    const headers = new Headers({ 'content-type': 'application/json' });
    if (authorization !== null) headers.set('authorization', authorization);
    headers.set('x-fedconn-from', serverName);
    if (forge.clientCertificate !== undefined) {
      headers.set(TLS_CLIENT_CERTIFICATE_HEADER, clientCertificateHeader(forge.clientCertificate));
    }
    return options.transport(
      new Request(url, {
        method,
        headers,
        ...(sent === undefined ? {} : { body: JSON.stringify(sent) }),
      }),
    );
  };

  return {
    serverName,
    key,
    certificate,
    app,
    sign,
    signEvent,
    coSignEvent: coSign,
    request,
    fetch,
  };
}

/**
 * Servers before spec v1.6 (Synapse 1.67) fetch /_matrix/key/v2/server/{keyId}; MSC3938
 * removed {keyId}. It is the same document, so it goes to the same route, and a check
 * that overrides the key route (a lying key server) lies on both paths.
 */
function legacyKeyPath(request: Request): Request {
  const url = new URL(request.url);
  if (!/^\/_matrix\/key\/v2\/server\/[^/]+$/.test(url.pathname)) return request;
  url.pathname = '/_matrix/key/v2/server';
  return new Request(url, { method: request.method, headers: request.headers });
}

/**
 * An X-Matrix header whose signature, by the right key, covers the wrong fields of the
 * request (simulator/protocol/narrowing.ts): the request itself is sent whole.
 */
export async function narrowedXMatrixHeader(
  request: RequestToSign,
  signingKey: { readonly keyId: string; readonly pair: Ed25519KeyPair },
  narrowing: Narrowing,
): Promise<string> {
  const signed = unwrap(
    await signJson(narrowed(xMatrixSignedJson(request), narrowing), {
      entity: request.origin,
      keyId: signingKey.keyId,
      keyPair: signingKey.pair,
    }),
  );
  return xMatrixHeaderWith(
    request,
    signingKey.keyId,
    signed.signatures[request.origin]?.[signingKey.keyId] ?? '',
  );
}
