// matrix-js-sdk as the client under test, in-process: its identity lookup (lookupThreePid,
// which hashes with identityHashedLookup) is pointed at an identity server under a name
// of its own (https://id-N.matrix-js-sdk.invalid), and msw, intercepting the SDK's global
// fetch, hands each of its requests to the check's transport at the real server. Only
// those names are intercepted: fedconn's own requests to real servers pass untouched.
//
// matrix-js-sdk 43.0.0 declares Node >= 22; on Node 20.19 what fedconn uses of it (client
// creation, the identity lookups, fetch through msw) works: checked by
// suites/harness/clients/matrix-js-sdk.test.ts on every `npm test`.
import { createRequire } from 'node:module';
import { http } from 'msw';
import { setupServer } from 'msw/node';
import type { IdentityLookupRequest } from './index.ts';
import type { ClientUnderTest } from './index.ts';

const FAKE_DOMAIN = 'matrix-js-sdk.invalid';

/** The installed version, for reports. */
function version(): string {
  const require = createRequire(import.meta.url);
  return (require('matrix-js-sdk/package.json') as { version: string }).version;
}

const silent = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  log: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  getChild: () => silent,
};

export async function matrixJsSdkClient(): Promise<ClientUnderTest> {
  // Loaded only when chosen: it is large, and a run judging servers never needs it.
  const sdk = await import('matrix-js-sdk');
  let lookup = 0;
  // The lookup in progress: its fake origin and where requests to it really go.
  let current: { readonly origin: string; readonly request: IdentityLookupRequest } | undefined;
  const interceptor = setupServer(
    http.all(`https://*.${FAKE_DOMAIN}/*`, async ({ request }) => {
      const url = new URL(request.url);
      if (current === undefined || url.origin !== current.origin)
        return new Response('no identity server under this name', { status: 502 });
      const body = request.body === null ? undefined : await request.arrayBuffer();
      return current.request.transport(
        new Request(
          `${current.request.first.baseUrl.replace(/\/$/, '')}${url.pathname}${url.search}`,
          {
            method: request.method,
            headers: request.headers,
            ...(body === undefined ? {} : { body }),
          },
        ),
      );
    }),
  );
  interceptor.listen({ onUnhandledRequest: 'bypass' });
  return {
    name: `matrix-js-sdk ${version()}`,
    phoenix: false,
    identity: {
      async lookup(request) {
        const origin = `https://id-${++lookup}.${FAKE_DOMAIN}`;
        current = { origin, request };
        try {
          const client = sdk.createClient({
            baseUrl: `https://homeserver.${FAKE_DOMAIN}`,
            idBaseUrl: origin,
            logger: silent,
          });
          const found = await client.lookupThreePid(
            request.medium,
            request.address,
            request.first.token,
          );
          return { ok: true, userId: 'mxid' in found ? found.mxid : undefined };
        } catch (error) {
          return { ok: false, error: error instanceof Error ? error.message : String(error) };
        } finally {
          current = undefined;
        }
      },
    },
    close: () => {
      interceptor.close();
      return Promise.resolve();
    },
  };
}
