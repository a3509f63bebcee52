// The node:http transport does what fetch would have done for the same request: the
// checks judge servers on its answers, so a difference here is a false verdict there.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, test } from 'vitest';
import { httpTransport } from './http.ts';
import { NetworkError } from './transport.ts';

type Route = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;

const open: { close: () => Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

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
  open.push({
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  });
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

  test('a status outside 200 to 599 is a network error, not a crash', async () => {
    const { server, origin } = await serve(() => undefined);
    server.removeAllListeners('request');
    server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
      res.socket?.end('HTTP/1.1 999 Odd\r\ncontent-length: 0\r\n\r\n');
    });
    await expect(transport(new Request(`${origin}/`))).rejects.toThrow(/status 999/);
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

  test('an unreachable port is a network error', async () => {
    const { origin } = await serve(() => undefined);
    await Promise.all(open.splice(0).map((s) => s.close()));
    await expect(transport(new Request(`${origin}/`))).rejects.toThrow(NetworkError);
  });
});
