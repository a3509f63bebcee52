import { X509Certificate } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { withLoopbackHttps } from './http.ts';
import { loopbackPeers } from './loopback-peers.ts';
import { selfSignedIdentity } from './self-signed.ts';
import { NetworkError } from './transport.ts';

const unreachable = () => Promise.reject(new Error('not loopback'));

describe('fedconn peers over HTTPS on loopback', () => {
  test('the certificate names localhost and the loopback addresses', async () => {
    const { cert, key } = await selfSignedIdentity();
    const x509 = new X509Certificate(cert);
    expect(x509.subjectAltName).toContain('DNS:localhost');
    expect(x509.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(key).toContain('BEGIN PRIVATE KEY');
    expect(Date.parse(x509.validTo)).toBeGreaterThan(Date.now());
  });

  test('a peer is named localhost:PORT, answers over TLS as its name, and is gone once closed', async () => {
    const peers = loopbackPeers();
    const transport = withLoopbackHttps(unreachable, 2000);
    const peer = await peers.host((serverName) =>
      Promise.resolve((request: Request) =>
        Promise.resolve(Response.json({ serverName, path: new URL(request.url).pathname })),
      ),
    );
    expect(peer.serverName).toMatch(/^localhost:\d+$/);
    const answer = await transport(new Request(`https://${peer.serverName}/_matrix/key/v2/server`));
    expect(await answer.json()).toEqual({
      serverName: peer.serverName,
      path: '/_matrix/key/v2/server',
    });
    await peers.close();
    await expect(transport(new Request(`${peer.origin}/`))).rejects.toThrow(NetworkError);
  });

  test('a peer whose handler throws answers 500 naming the failure', async () => {
    const peers = loopbackPeers();
    try {
      const peer = await peers.host(() => Promise.resolve(() => Promise.reject(new Error('boom'))));
      const answer = await withLoopbackHttps(unreachable, 2000)(new Request(`${peer.origin}/`));
      expect(answer.status).toBe(500);
      expect(await answer.text()).toContain('boom');
    } finally {
      await peers.close();
    }
  });
});
