// What a reference client is given, and how it talks HTTP: JSON in and out,
// optional Fedconn-Sig signing, and one error type that names the request and
// what the server answered.
import type { Ed25519KeyPair } from '../../protocol/crypto/ed25519.ts';
import type { Rng } from '../../protocol/crypto/rng.ts';
import { withKnownBody } from '../../net/request-body.ts';
import { authorizationHeader } from '../../protocol/request-auth.ts';
import { parseMatrixError } from '../../protocol/wire/errors.ts';
import type { Clock } from '../../net/clock.ts';
import type { Transport } from '../../net/transport.ts';
import type { CreateUser } from './handle.ts';

export interface ClientEnv {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly rng: Rng;
  /** Base URL of a server by server_name (the client's view of discovery). */
  readonly originOf: (serverName: string) => string;
  /** Bearer token for the test-only provisioning endpoints of a server. */
  readonly provisioningTokenOf: (serverName: string) => string;
  /** Mutants of the reference client active in this environment (simulator only). */
  readonly mutants?: ReadonlySet<string>;
  /**
   * Creates users on another client than the reference in this process: a client under
   * test (suites/harness/clients/phoenix-driven.ts). The reference's when absent.
   */
  readonly createUser?: CreateUser;
  /** Every server name `originOf` knows now (impostors included), for a client elsewhere. */
  readonly knownServers?: () => readonly string[];
}

export class RequestFailed extends Error {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly status: number,
    readonly errcode: string | undefined,
    detail: string,
    /** How the request authenticated: not at all, a bearer token, or the signing key's reference. */
    readonly authenticatedAs: 'nothing' | 'bearer' | { readonly keyRef: string } = 'nothing',
  ) {
    super(`${method} ${url} -> ${status}${errcode === undefined ? '' : ` ${errcode}`}: ${detail}`);
    this.name = 'RequestFailed';
  }
}

export interface CallOptions {
  readonly method?: string;
  readonly body?: unknown;
  /** Sign the request with this key under this key reference. */
  readonly signer?: { readonly key: Ed25519KeyPair; readonly keyRef: string };
  readonly bearer?: string;
}

/**
 * Builds a JSON request: body, bearer token, or a Fedconn-Sig signature made at
 * time `now`. Shared by the reference client and the conformance checks, so both
 * speak the binding the same way.
 */
export async function buildRequest(
  now: number,
  url: string,
  options: CallOptions & { readonly signal?: AbortSignal } = {},
): Promise<Request> {
  const method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
  const headers = new Headers({ accept: 'application/json' });
  if (options.body !== undefined) headers.set('content-type', 'application/json');
  if (options.bearer !== undefined) headers.set('authorization', `Bearer ${options.bearer}`);
  if (options.signer !== undefined) {
    headers.set(
      'authorization',
      await authorizationHeader({
        key: options.signer.key,
        keyRef: options.signer.keyRef,
        method,
        url: new URL(url),
        ts: now,
        content: options.body,
      }),
    );
  }
  const body =
    options.body === undefined ? undefined : new TextEncoder().encode(JSON.stringify(options.body));
  const request = new Request(url, {
    method,
    headers,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(body === undefined ? {} : { body }),
  });
  // Whoever records or handles it in this process takes these bytes, not the stream.
  return body === undefined ? request : withKnownBody(request, body);
}

/** Calls a JSON endpoint; throws RequestFailed on a non-2xx answer. */
export async function call<T = unknown>(
  env: ClientEnv,
  url: string,
  options: CallOptions = {},
): Promise<T> {
  const request = await buildRequest(env.clock.now(), url, options);
  const response = await env.transport(request);
  const text = await response.text();
  let value: unknown = undefined;
  try {
    value = text === '' ? undefined : JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (!response.ok) {
    const error = parseMatrixError(value);
    throw new RequestFailed(
      request.method,
      url,
      response.status,
      error?.errcode,
      error?.error ?? text.slice(0, 200),
      options.signer !== undefined
        ? { keyRef: options.signer.keyRef }
        : options.bearer !== undefined
          ? 'bearer'
          : 'nothing',
    );
  }
  return value as T;
}
