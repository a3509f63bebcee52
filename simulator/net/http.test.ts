// The node:http transport does what fetch would have done for the same request: the
// checks judge servers on its answers, so a difference here is a false verdict there.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createHttpsServer } from 'node:https';
import { deflateRawSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, test } from 'vitest';
import { httpTransport } from './http.ts';
import { withKnownBody } from './request-body.ts';
import { selfSignedIdentity } from './self-signed.ts';
import { NetworkError } from './transport.ts';

type Route = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;

/** The servers a test opened; each is closed, with its connections, after it. */
const open: Server[] = [];
const closeAll = () =>
  Promise.all(
    open.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => {
            resolve();
          });
          server.closeAllConnections();
        }),
    ),
  );
afterEach(closeAll);

/** A loopback server answering by `route`; its origin, and what it received. */
async function serve(route: Route) {
  const received: { method: string; url: string; headers: IncomingMessage['headers'] }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      route(req, Buffer.concat(chunks), res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  open.push(server);
  return { origin, received, server };
}

const transport = httpTransport({ timeoutMs: 2000 });

describe('plain HTTP on node:http', () => {
  test('sends method, headers and body, and answers status, headers and body', async () => {
    const { origin, received } = await serve((req, body, res) => {
      res.writeHead(201, { 'content-type': 'application/json', 'x-echo': req.headers['x-in'] });
      res.end(JSON.stringify({ got: body.toString() }));
    });
    const answer = await transport(
      new Request(`${origin}/a?b=c`, {
        method: 'PUT',
        headers: { 'x-in': 'yes', 'content-type': 'application/json' },
        body: '{"k":1}',
      }),
    );
    expect(answer.status).toBe(201);
    expect(answer.headers.get('x-echo')).toBe('yes');
    expect(await answer.json()).toEqual({ got: '{"k":1}' });
    expect(received[0]).toMatchObject({ method: 'PUT', url: '/a?b=c' });
    expect(received[0]?.headers['content-length']).toBe('7');
    // fetch's defaults, where the request names none
    expect(received[0]?.headers).toMatchObject({ accept: '*/*', 'user-agent': 'fedconn' });
    expect(received[0]?.headers).not.toHaveProperty('accept-encoding');
  });

  test('a Host header the request names is sent as named (fetch would replace it)', async () => {
    const { origin, received } = await serve((_req, _body, res) => res.end());
    await transport(new Request(`${origin}/`, { headers: { host: 'delegated.example:8448' } }));
    expect(received[0]?.headers.host).toBe('delegated.example:8448');
  });

  test('redirects are followed as fetch follows them, or handed back when asked', async () => {
    const { origin, received } = await serve((req, _body, res) => {
      if (req.url === '/see-other') res.writeHead(303, { location: '/target' }).end();
      else if (req.url === '/keep') res.writeHead(307, { location: '/target' }).end();
      else res.end(`${req.method ?? ''} ${req.headers.authorization ?? 'no auth'}`);
    });
    const post = (path: string, redirect: 'follow' | 'manual' | 'error' = 'follow') =>
      transport(
        new Request(`${origin}${path}`, {
          method: 'POST',
          body: 'x',
          redirect,
          headers: { authorization: 'Bearer t' },
        }),
      );
    expect(await (await post('/see-other')).text()).toBe('GET Bearer t');
    expect(await (await post('/keep')).text()).toBe('POST Bearer t');
    expect(received.at(-1)?.headers['content-length']).toBe('1');
    const manual = await post('/keep', 'manual');
    expect(manual.status).toBe(307);
    expect(manual.headers.get('location')).toBe('/target');
    await expect(post('/keep', 'error')).rejects.toThrow(NetworkError);
  });

  test('credentials do not follow a redirect to another origin', async () => {
    const other = await serve((req, _body, res) => res.end(req.headers.authorization ?? 'none'));
    const { origin } = await serve((_req, _body, res) =>
      res.writeHead(302, { location: `${other.origin}/x` }).end(),
    );
    const answer = await transport(
      new Request(`${origin}/`, { headers: { authorization: 'Bearer secret' } }),
    );
    expect(await answer.text()).toBe('none');
  });

  test('a redirect loop ends as a network error', async () => {
    const { origin, received } = await serve((_req, _body, res) =>
      res.writeHead(302, { location: '/again' }).end(),
    );
    await expect(transport(new Request(`${origin}/`))).rejects.toThrow(/more than 20 redirects/);
    expect(received).toHaveLength(21);
  });

  test('a compressed answer is inflated, as fetch would', async () => {
    const { origin } = await serve((_req, _body, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' });
      res.end(gzipSync('{"ok":true}'));
    });
    expect(await (await transport(new Request(`${origin}/`))).json()).toEqual({ ok: true });
  });

  test('an answer that breaks off mid-body is an answer whose body fails, as with fetch', async () => {
    const { origin } = await serve((_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
      res.write('{"server_name": "hs1.exa');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const answer = await transport(new Request(`${origin}/`));
    expect(answer.status).toBe(200);
    await expect(answer.text()).rejects.toThrow(TypeError);
  });

  test('an encoding fetch does not know is left as it came', async () => {
    const { origin } = await serve((_req, _body, res) => {
      res.writeHead(200, { 'content-encoding': 'x-odd' });
      res.end('as is');
    });
    expect(await (await transport(new Request(`${origin}/`))).text()).toBe('as is');
  });

  test('HEAD and 204 answers have no body', async () => {
    const { origin } = await serve((req, _body, res) =>
      req.method === 'HEAD' ? res.writeHead(200, { 'x-a': '1' }).end() : res.writeHead(204).end(),
    );
    const head = await transport(new Request(`${origin}/`, { method: 'HEAD' }));
    expect(head.body).toBeNull();
    expect(head.headers.get('x-a')).toBe('1');
    expect((await transport(new Request(`${origin}/`))).body).toBeNull();
  });

  test('a server that never answers is a timeout naming the limit, and nothing is left open', async () => {
    const { origin, server } = await serve(() => {
      // never answers
    });
    const slow = httpTransport({ timeoutMs: 100 });
    const failed = await slow(new Request(`${origin}/`)).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(NetworkError);
    expect(failed).toMatchObject({ kind: 'timeout', message: 'no answer within 100 ms' });
    // The socket was destroyed: the server sees no open connection for long.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const count = await new Promise<number>((resolve) => {
      server.getConnections((_e, n) => {
        resolve(n);
      });
    });
    expect(count).toBe(0);
  });

  test('an aborted request fails at once', async () => {
    const { origin } = await serve(() => undefined);
    const controller = new AbortController();
    const pending = transport(new Request(`${origin}/`, { signal: controller.signal }));
    controller.abort();
    await expect(pending).rejects.toThrow(/aborted/);
  });

  test('a connection cut after the request arrived is a network error, sent once', async () => {
    // fedconn's loopback gateway cuts a client's connection this way to take it offline.
    let seen = 0;
    const { origin } = await serve((req, _body, res) => {
      seen++;
      if (req.url === '/cut') {
        res.destroy();
        req.socket.destroy();
      } else res.end('ok');
    });
    // A kept-alive connection first, so that the cut one is a reused one.
    expect(await (await transport(new Request(`${origin}/warm`))).text()).toBe('ok');
    const cut = transport(new Request(`${origin}/cut`, { method: 'POST', body: 'join' }));
    await expect(cut).rejects.toThrow(NetworkError);
    expect(seen).toBe(2);
  });

  test('a request already aborted fails as a network error, sending nothing', async () => {
    const { origin, received } = await serve((_req, _body, res) => res.end());
    const controller = new AbortController();
    controller.abort();
    await expect(
      transport(new Request(`${origin}/`, { signal: controller.signal })),
    ).rejects.toThrow(NetworkError);
    expect(received).toHaveLength(0);
  });

  test('a redirect elsewhere than http(s), or to no URL at all, is a network error', async () => {
    const { origin } = await serve((req, _body, res) =>
      res.writeHead(302, { location: req.url === '/ftp' ? 'ftp://x.example/' : 'http://[' }).end(),
    );
    await expect(transport(new Request(`${origin}/ftp`))).rejects.toThrow(/no http\(s\) URL/);
    await expect(transport(new Request(`${origin}/bad`))).rejects.toThrow(NetworkError);
  });

  test('a header node:http refuses to send is a network error, not a crash', async () => {
    const { origin, received } = await serve((_req, _body, res) => res.end());
    const headers = new Headers({ 'x-odd': 'a\u0001b' });
    await expect(transport(new Request(`${origin}/`, { headers }))).rejects.toThrow(NetworkError);
    expect(received).toHaveLength(0);
  });

  test('the bytes its maker gave a request are the ones sent', async () => {
    let got = '';
    const { origin } = await serve((_req, body, res) => {
      got = body.toString();
      res.end();
    });
    const bytes = new TextEncoder().encode('{"known":true}');
    await transport(
      withKnownBody(new Request(`${origin}/`, { method: 'POST', body: bytes }), bytes),
    );
    expect(got).toBe('{"known":true}');
  });

  test('a 303 drops the body and its headers; another origin gets no credentials', async () => {
    const other = await serve((req, body, res) =>
      res.end(JSON.stringify({ method: req.method, headers: req.headers, body: body.length })),
    );
    const { origin } = await serve((_req, _body, res) =>
      res.writeHead(303, { location: `${other.origin}/seen` }).end(),
    );
    const answer = await transport(
      new Request(`${origin}/`, {
        method: 'POST',
        body: 'x',
        headers: {
          'content-type': 'text/plain',
          'content-language': 'en',
          cookie: 'a=b',
          authorization: 'Bearer t',
          'x-kept': 'yes',
        },
      }),
    );
    const seen = (await answer.json()) as { method: string; body: number; headers: object };
    expect(seen.method).toBe('GET');
    expect(seen.body).toBe(0);
    expect(seen.headers).toMatchObject({ 'x-kept': 'yes' });
    for (const name of ['content-type', 'content-language', 'cookie', 'authorization'])
      expect(seen.headers).not.toHaveProperty(name);
  });

  test('the deadline is the whole request, redirects included', async () => {
    const { origin } = await serve((_req, _body, res) => {
      setTimeout(() => res.writeHead(302, { location: '/again' }).end(), 40);
    });
    const slow = httpTransport({ timeoutMs: 150 });
    await expect(slow(new Request(`${origin}/`))).rejects.toMatchObject({ kind: 'timeout' });
  });

  test('a body that stalls after the status line breaks off; the server is not silent', async () => {
    const { origin } = await serve((_req, _body, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
    });
    const answer = await httpTransport({ timeoutMs: 150 })(new Request(`${origin}/`));
    expect(answer.status).toBe(200);
    await expect(answer.text()).rejects.toThrow(/no whole body within 150 ms/);
  });

  test('a body that breaks off before any byte can be cancelled, and fails when read', async () => {
    const make = async () => {
      const { origin } = await serve((_req, _body, res) => {
        res.writeHead(200, { 'content-length': '10' });
        res.flushHeaders();
        setTimeout(() => res.socket?.destroy(), 10);
      });
      return transport(new Request(`${origin}/`));
    };
    await expect((await make()).body?.cancel()).resolves.toBeUndefined();
    await expect((await make()).text()).rejects.toThrow(TypeError);
  });

  test('a status the Fetch API has no room for is handed on, as fetch does', async () => {
    const { server, origin } = await serve(() => undefined);
    server.removeAllListeners('request');
    server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
      res.socket?.end('HTTP/1.1 999 Odd\r\ncontent-length: 2\r\n\r\nhi');
    });
    const answer = await transport(new Request(`${origin}/`));
    expect(answer.status).toBe(999);
    expect(answer.ok).toBe(false);
    expect(await answer.text()).toBe('hi');
  });

  test('a repeated header keeps every value, joined as fetch joins them', async () => {
    const { server, origin } = await serve(() => undefined);
    server.removeAllListeners('request');
    server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
      res.socket?.end(
        'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-type: text/html\r\ncontent-length: 0\r\n\r\n',
      );
    });
    const answer = await transport(new Request(`${origin}/`));
    expect(answer.headers.get('content-type')).toBe('application/json, text/html');
  });

  test('compressed answers inflate as fetch inflates them, short or raw', async () => {
    const bodies: Record<string, [Record<string, string>, Buffer]> = {
      '/empty': [{ 'content-encoding': 'gzip' }, Buffer.alloc(0)],
      '/short': [{ 'content-encoding': 'gzip' }, gzipSync('hello there').subarray(0, -8)],
      '/raw': [{ 'content-encoding': 'deflate' }, deflateRawSync('raw deflate')],
      '/unknown-first': [{ 'content-encoding': 'x-odd, gzip' }, Buffer.from('as is')],
    };
    const { origin } = await serve((req, _body, res) => {
      const [headers, body] = bodies[req.url ?? ''] ?? [{}, Buffer.alloc(0)];
      res.writeHead(200, headers).end(body);
    });
    const text = async (path: string) => (await transport(new Request(`${origin}${path}`))).text();
    expect(await text('/empty')).toBe('');
    expect(await text('/short')).toBe('hello there');
    expect(await text('/raw')).toBe('raw deflate');
    expect(await text('/unknown-first')).toBe('as is');
  });

  test('a redirect from http to https checks the certificate, as fetch does', async () => {
    const { cert, key } = await selfSignedIdentity();
    const tls = createHttpsServer({ cert, key }, (_req, res) => res.end('secret'));
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    open.push(tls);
    const port = (tls.address() as AddressInfo).port;
    const { origin } = await serve((_req, _body, res) =>
      res.writeHead(302, { location: `https://127.0.0.1:${port}/` }).end(),
    );
    await expect(transport(new Request(`${origin}/`))).rejects.toThrow(NetworkError);
  });

  test('an unreachable port is a network error', async () => {
    const { origin } = await serve(() => undefined);
    await closeAll();
    await expect(transport(new Request(`${origin}/`))).rejects.toThrow(NetworkError);
  });
});
