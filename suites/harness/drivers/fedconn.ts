// The fedconn driver: fedconn's own provisioning API (docs/binding.md), which the
// reference implements and `fedconn serve` exposes behind a provisioning token.
import type { Transport } from '../../../simulator/net/transport.ts';
import {
  DriverFailed,
  DriverUnsupported,
  HOW_TO_ADD,
  parseResult,
  VERB_NAMES,
  type Driver,
  type Verb,
} from './driver.ts';

export const PROVISION_IDENTITY = '/_fedconn/v1/provision/identity';

const PATHS: Record<Verb, string> = {
  'identity.token': `${PROVISION_IDENTITY}/token`,
  'identity.expiring_token': `${PROVISION_IDENTITY}/token`,
  'identity.bind': `${PROVISION_IDENTITY}/bind`,
  'identity.rotate_pepper': `${PROVISION_IDENTITY}/pepper/rotate`,
  'identity.retire_pepper': `${PROVISION_IDENTITY}/pepper/retire`,
  'identity.push': `${PROVISION_IDENTITY}/push`,
  'identity.push_raw': `${PROVISION_IDENTITY}/push`,
  'keys.rotate': '/_fedconn/v1/provision/keys/rotate',
  'as.revoke': '/_fedconn/v1/provision/as/revoke',
};

/**
 * A request to fedconn's provisioning API of a server: `Authorization: Bearer <token>`,
 * and the body as JSON. The one way the driver, the test network and the clock build one.
 */
export function provisioningRequest(options: {
  readonly origin: string;
  readonly provisioningToken: string;
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  readonly signal?: AbortSignal | undefined;
}): Request {
  const { body, signal } = options;
  return new Request(`${options.origin}${options.path}`, {
    method: options.method,
    headers: {
      authorization: `Bearer ${options.provisioningToken}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    ...(signal === undefined ? {} : { signal }),
  });
}

export function fedconnDriver(options: {
  readonly origin: string;
  readonly provisioningToken: string;
  readonly transport: Transport;
}): Driver {
  const verbs = new Set<Verb>(VERB_NAMES);
  return {
    kind: 'fedconn',
    verbs: () => Promise.resolve(verbs),
    async call(verb, args, signal) {
      const path = PATHS[verb];
      const response = await options.transport(
        provisioningRequest({ ...options, method: 'POST', path, body: args, signal }),
      );
      const text = await response.text();
      let value: unknown = text;
      try {
        value = JSON.parse(text) as unknown;
      } catch {
        // Keep the text for the message.
      }
      // 404 from a server that has no provisioning API at all: nothing to judge with.
      if (response.status === 404) {
        throw new DriverUnsupported(
          'fedconn',
          verb,
          `${HOW_TO_ADD.fedconn} (POST ${path} answered 404); declare the driver that fits the server (docs/drivers.md)`,
        );
      }
      if (response.status !== 200) {
        throw new DriverFailed(
          'fedconn',
          verb,
          `POST ${path} answered ${response.status} ${text.slice(0, 300)}`,
        );
      }
      if (verb === 'identity.push' || verb === 'identity.push_raw') {
        const report = value as { answer?: { status?: unknown } } | null;
        const status = report?.answer?.status;
        return parseResult('fedconn', verb, {
          ...(typeof status === 'number' ? { status } : {}),
          report: value,
        });
      }
      return parseResult('fedconn', verb, value);
    },
    close: () => Promise.resolve(),
  };
}
