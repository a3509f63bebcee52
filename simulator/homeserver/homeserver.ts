// A homeserver: its services composed on one HTTP surface. Each service is a
// router built from the shared context; the homeserver adds the observer (so
// every request it receives is recorded) and stamps its outbound requests.
import type { Hono } from 'hono';
import { generateEd25519KeyPair } from '../protocol/crypto/ed25519.ts';
import { fork, type Rng } from '../protocol/crypto/rng.ts';
import type { Clock } from '../net/clock.ts';
import { observed, type Recording } from '../net/observer.ts';
import type { StoreLatency } from '../net/latent-store.ts';
import type { Handler, Transport } from '../net/transport.ts';
import type { Directory, HomeserverConfig, HomeserverContext } from './context.ts';
import { router } from './http.ts';

/** A service contributes routes with full paths (for example /_fedconn/v1/as/...). */
export type Service = (ctx: HomeserverContext) => Hono;

export interface HomeserverOptions {
  readonly config: HomeserverConfig;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly transport: Transport;
  readonly observer: Recording;
  readonly directory: Directory;
  readonly services: readonly Service[];
  /** Latency of the store rows races are judged on (net/latent-store.ts). */
  readonly storeLatency?: StoreLatency;
}

export interface Homeserver {
  readonly serverName: string;
  readonly fetch: Handler;
  readonly ctx: HomeserverContext;
}

const SIGNING_KEY_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

export async function createHomeserver(options: HomeserverOptions): Promise<Homeserver> {
  const { config } = options;
  const rng = fork(options.rng, `homeserver ${config.serverName}`);
  const pair = await generateEd25519KeyPair(fork(rng, 'signing key'));
  const outbound: Transport = (request) => {
    const stamped = new Request(request);
    stamped.headers.set('x-fedconn-from', config.serverName);
    return options.transport(stamped);
  };
  const ctx: HomeserverContext = {
    config,
    clock: options.clock,
    rng,
    transport: outbound,
    recorder: options.observer.recorder(config.serverName),
    signingKey: {
      keyId: 'ed25519:1',
      pair,
      validUntil: options.clock.now() + SIGNING_KEY_LIFETIME_MS,
    },
    directory: options.directory,
    ...(options.storeLatency === undefined ? {} : { storeLatency: options.storeLatency }),
  };
  const app = router();
  for (const service of options.services) app.route('/', service(ctx));
  const handle: Handler = async (request) => app.fetch(request);
  return { serverName: config.serverName, fetch: observed(ctx.recorder, handle), ctx };
}
