import { describe, expect, test } from 'vitest';
import { Hono } from 'hono';
import { seededRng } from '../protocol/crypto/rng.ts';
import { VirtualClock } from './clock.ts';
import { delay, drop, duplicate, partition } from './faults.ts';
import { Observer, observed } from './observer.ts';
import { Table } from './store.ts';
import { compose, NetworkError, SimNetwork } from './transport.ts';

describe('VirtualClock', () => {
  test('fires sleeps in deadline order, moving time to each deadline', async () => {
    const clock = new VirtualClock(1000);
    const fired: [string, number][] = [];
    await Promise.all([
      clock.sleep(50).then(() => fired.push(['b', clock.now()])),
      clock.sleep(10).then(() => fired.push(['a', clock.now()])),
      clock.sleep(50).then(() => fired.push(['c', clock.now()])),
    ]);
    expect(fired).toEqual([
      ['a', 1010],
      ['b', 1050],
      ['c', 1050],
    ]);
  });

  test('advance fires due timers at once and never goes back', async () => {
    const clock = new VirtualClock(0);
    const done = clock.sleep(100);
    clock.advance(150);
    await done;
    expect(clock.now()).toBe(150);
    expect(() => {
      clock.advance(-1);
    }).toThrow(RangeError);
  });

  test('an aborted sleep rejects and leaves no timer behind', async () => {
    const clock = new VirtualClock(0);
    const controller = new AbortController();
    const sleeping = clock.sleep(100, controller.signal);
    controller.abort(new Error('stop'));
    await expect(sleeping).rejects.toThrow('stop');
    expect(clock.pending).toBe(0);
  });
});

describe('SimNetwork and faults', () => {
  const echo = async (request: Request) =>
    new Response(`${request.method} ${new URL(request.url).pathname}`);

  test('routes by origin and fails like an unreachable host otherwise', async () => {
    const net = new SimNetwork();
    net.register('https://hs1.example', echo);
    expect(await (await net.transport(new Request('https://hs1.example/x'))).text()).toBe('GET /x');
    await expect(net.transport(new Request('https://hs2.example/x'))).rejects.toBeInstanceOf(
      NetworkError,
    );
    expect(() => {
      net.register('https://hs1.example', echo);
    }).toThrow(/already registered/);
  });

  test('drop is reproducible from the seed', async () => {
    const outcomes = async (seed: string) => {
      const t = compose(echo, drop({ rng: seededRng(seed), p: 0.5 }));
      const results: boolean[] = [];
      for (let i = 0; i < 32; i++) {
        results.push(
          await t(new Request('https://a/')).then(
            () => true,
            () => false,
          ),
        );
      }
      return results;
    };
    const a = await outcomes('s');
    expect(await outcomes('s')).toEqual(a);
    expect(a.some((x) => x) && a.some((x) => !x)).toBe(true);
  });

  test('delay reorders concurrent requests by their drawn virtual latency', async () => {
    const clock = new VirtualClock(0);
    const arrivals: string[] = [];
    const server = async (r: Request) => {
      arrivals.push(new URL(r.url).pathname);
      return new Response('ok');
    };
    const t = compose(server, delay({ rng: seededRng('d'), clock, minMs: 1, maxMs: 1000 }));
    await Promise.all(
      ['/1', '/2', '/3', '/4', '/5', '/6'].map((p) => t(new Request(`https://a${p}`))),
    );
    expect([...arrivals].sort()).toEqual(['/1', '/2', '/3', '/4', '/5', '/6']);
    expect(arrivals).not.toEqual(['/1', '/2', '/3', '/4', '/5', '/6']);
  });

  test('duplicate delivers the same request twice', async () => {
    let count = 0;
    const t = compose(
      async (r: Request) => {
        count++;
        return new Response(await r.text());
      },
      duplicate({ rng: seededRng('x'), p: 1 }),
    );
    const r = await t(new Request('https://a/', { method: 'POST', body: 'hi' }));
    expect(await r.text()).toBe('hi');
    expect(count).toBe(2);
  });

  test('partition cuts traffic across the split only while active', async () => {
    let active = true;
    const t = compose(echo, partition({ side: new Set(['hs1.example']), isActive: () => active }));
    const from = (host: string, to: string) =>
      t(new Request(`https://${to}/`, { headers: { 'x-fedconn-from': host } }));
    await expect(from('hs1.example', 'hs2.example')).rejects.toBeInstanceOf(NetworkError);
    expect((await from('hs2.example', 'hs3.example')).status).toBe(200);
    active = false;
    expect((await from('hs1.example', 'hs2.example')).status).toBe(200);
  });
});

describe('Observer', () => {
  test('records requests and rows of each server in one global order', async () => {
    const clock = new VirtualClock(5);
    const observer = new Observer(clock);
    const rec = observer.recorder('hs1');
    const table = new Table<{ key: Uint8Array }>('packages', rec);
    const handler = observed(rec, async () => {
      table.put('k', { key: new Uint8Array([1, 2]) });
      return new Response('ok');
    });
    await handler(
      new Request('https://hs1/_fedconn/v1/x?y=1', {
        method: 'POST',
        body: JSON.stringify({ a: 1 }),
        headers: { authorization: 'secret', 'user-agent': 'noise' },
      }),
    );
    table.delete('k');
    const view = observer.view('hs1');
    expect(view.events.map((e) => e.kind)).toEqual(['request', 'row', 'row']);
    expect(view.events[0]).toMatchObject({
      method: 'POST',
      path: '/_fedconn/v1/x',
      query: '?y=1',
      body: { a: 1 },
      headers: { authorization: 'secret' },
      at: 5,
    });
    expect(view.events[1]).toMatchObject({
      op: 'put',
      table: 'packages',
      value: { key: { bytes: 'AQI' } },
    });
    expect(view.events[2]).toMatchObject({ op: 'delete', key: 'k' });
    expect(observer.view('hs2').events).toEqual([]);
  });

  test('a non-JSON body is recorded as base64 bytes', async () => {
    const observer = new Observer(new VirtualClock());
    const rec = observer.recorder('hs1');
    await observed(
      rec,
      async () => new Response(),
    )(new Request('https://hs1/', { method: 'PUT', body: 'not json' }));
    expect(observer.view('hs1').events[0]).toMatchObject({ body: { bytes: 'bm90IGpzb24' } });
  });
});

describe('homeserver http helpers', () => {
  test('unknown routes and handler crashes answer in Matrix style and the server keeps running', async () => {
    const { router } = await import('../homeserver/http.ts');
    const app = router();
    const inner = new Hono();
    inner.get('/boom', () => {
      throw new Error('kaput');
    });
    inner.get('/ok', (c) => c.text('fine'));
    app.route('/', inner);
    const missing = await app.fetch(new Request('https://x/nope'));
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ errcode: 'M_UNRECOGNIZED' });
    const boom = await app.fetch(new Request('https://x/boom'));
    expect(boom.status).toBe(500);
    expect(await boom.json()).toMatchObject({ errcode: 'M_UNKNOWN' });
    expect(await (await app.fetch(new Request('https://x/ok'))).text()).toBe('fine');
  });
});
