// What one request costs on the stack the establishment runs on, with no protocol work
// in it: the reference client's call() to a route of our router that reads a small JSON
// body against a schema and answers with JSON of about the size of an AS credentials
// answer. In the simulator it crosses the in-process network, the observer and Hono;
// over loopback HTTP, as `fedconn serve` does, also the reference HTTP transport (node:http, kept alive) and Hono's node
// adapter. Times an establishment's request count, it is the least any implementation on
// this stack pays before doing anything the protocol asks, so it says how far below the
// rest of an establishment tuning could go.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { z } from 'zod';
import { call, type ClientEnv } from '../simulator/clients/phoenix/env.ts';
import { readJson, router } from '../simulator/homeserver/http.ts';
import { systemClock } from '../simulator/net/clock.ts';
import { Observer, observed } from '../simulator/net/observer.ts';
import { SimNetwork, type Transport } from '../simulator/net/transport.ts';
import { httpTransport } from '../simulator/net/http.ts';
import { seededRng } from '../simulator/protocol/crypto/rng.ts';
import { median } from './stats.ts';

/** Median ms of one bare round trip, a GET and a POST apart (their costs differ). */
export interface RoundTrip {
  readonly getMs: number;
  readonly postMs: number;
}

export interface StackFigure {
  /** In the simulator. */
  readonly sim: RoundTrip;
  /** Over loopback HTTP. */
  readonly http: RoundTrip;
}

/** What `gets` GETs and `posts` other requests cost as bare round trips. */
export const priceRequests = (trip: RoundTrip, gets: number, posts: number) =>
  gets * trip.getMs + posts * trip.postMs;

const bodySchema = z.strictObject({ queue_id: z.string(), since: z.number().int() });
// About 1 KB, the size of the answers most establishment requests get.
const answer = { items: Array.from({ length: 8 }, (_, i) => `${'A'.repeat(120)}${i}`) };

function app() {
  const r = router();
  r.get('/bare/:id', (c) => c.json({ id: c.req.param('id'), ...answer }));
  r.post('/bare', async (c) => {
    const body = await readJson(c, bodySchema);
    return body.ok ? c.json({ since: body.value.since, ...answer }) : body.error;
  });
  return r;
}

async function roundTrips(transport: Transport, origin: string, runs: number): Promise<RoundTrip> {
  const env: ClientEnv = {
    transport,
    clock: systemClock,
    rng: seededRng('bench stack'),
    originOf: () => origin,
    provisioningTokenOf: () => '',
  };
  const get = (i: number) => call(env, `${origin}/bare/${i}`);
  const post = (i: number) => call(env, `${origin}/bare`, { body: { queue_id: 'q', since: i } });
  const timed = async (once: (i: number) => Promise<unknown>) => {
    // Untimed first: the path is measured hot, as the establishments are.
    for (let i = 0; i < runs; i++) await once(i);
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      await once(i);
      samples.push(performance.now() - start);
    }
    return median(samples);
  };
  return { getMs: await timed(get), postMs: await timed(post) };
}

export async function measureStack(runs = 1000): Promise<StackFigure> {
  const network = new SimNetwork();
  const observer = new Observer(systemClock);
  const hono = app();
  network.register(
    'https://bare.example',
    observed(observer.recorder('bare.example'), async (request) => hono.fetch(request)),
  );
  const sim = await roundTrips(network.transport, 'https://bare.example', runs);

  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: hono.fetch, port: 0, hostname: '127.0.0.1' }, () => {
      resolve(s);
    });
  });
  try {
    const { port } = server.address() as AddressInfo;
    const http = await roundTrips(
      httpTransport({ timeoutMs: 10_000 }),
      `http://127.0.0.1:${port}`,
      runs,
    );
    return { sim, http };
  } finally {
    // fetch keeps its connection alive; close would wait for it.
    if ('closeAllConnections' in server) server.closeAllConnections();
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  }
}
