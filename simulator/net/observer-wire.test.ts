import { describe, expect, test } from 'vitest';
import { systemClock } from './clock.ts';
import { Observer, observeWire } from './observer.ts';
import { compose, type Transport } from './transport.ts';

const answer: Transport = (request) =>
  Promise.resolve(
    new URL(request.url).pathname === '/missing'
      ? new Response('{}', { status: 404 })
      : Response.json({ ok: true }),
  );

describe('a server’s view from the wire', () => {
  test('each request to a target server is in its view, in order, with the answer’s status; others are not', async () => {
    const observer = new Observer(systemClock);
    const servers = new Map([
      ['http://127.0.0.1:4001', 'hs1.example'],
      ['http://127.0.0.1:4002', 'hs2.example'],
    ]);
    const send = compose(
      answer,
      observeWire(observer, (url) => servers.get(url.origin)),
    );
    await send(
      new Request('http://127.0.0.1:4001/_fedconn/v1/as/credentials?x=1', {
        method: 'POST',
        headers: { authorization: 'Bearer t', 'x-other': 'dropped' },
        body: JSON.stringify({ a: 1 }),
      }),
    );
    await send(new Request('http://127.0.0.1:4001/missing'));
    await send(new Request('http://127.0.0.1:4002/x'));
    await send(new Request('https://localhost:9999/peer'));
    const hs1 = observer.view('hs1.example').events;
    expect(hs1).toEqual([
      expect.objectContaining({
        kind: 'request',
        method: 'POST',
        path: '/_fedconn/v1/as/credentials',
        query: '?x=1',
        headers: { authorization: 'Bearer t', 'content-type': 'text/plain;charset=UTF-8' },
        body: { a: 1 },
        status: 200,
      }),
      expect.objectContaining({ path: '/missing', status: 404 }),
    ]);
    expect(observer.view('hs2.example').events.map((e) => e.kind === 'request' && e.path)).toEqual([
      '/x',
    ]);
    expect(observer.views().map((v) => v.server)).toEqual(['hs1.example', 'hs2.example']);
  });
});
