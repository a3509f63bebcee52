// The network, not the handler, says which certificate a connection presented.
import { describe, expect, test } from 'vitest';
import { connectionCertificate, presentCertificate, TLS_CERTIFICATE_HEADER } from './tls.ts';

const certificate = new Uint8Array(64).fill(7);

describe('presentCertificate', () => {
  test('a handler’s own response carries the certificate, over anything the handler claimed', async () => {
    const handler = presentCertificate(certificate, () =>
      Promise.resolve(
        Response.json({ ok: true }, { status: 201, headers: { [TLS_CERTIFICATE_HEADER]: 'AAAA' } }),
      ),
    );
    const response = await handler(new Request('https://hs1.example/x'));
    expect(connectionCertificate(response)).toEqual(certificate);
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ ok: true });
  });

  test('a response with immutable headers (from fetch) is rebuilt with the certificate', async () => {
    const fetched = await fetch('data:application/json,{"from":"fetch"}');
    expect(() => {
      fetched.headers.set('x-probe', '1');
    }).toThrow(TypeError);
    const handler = presentCertificate(certificate, () => Promise.resolve(fetched));
    const response = await handler(new Request('https://hs1.example/x'));
    expect(connectionCertificate(response)).toEqual(certificate);
    expect(await response.json()).toEqual({ from: 'fetch' });
  });
});
