// The sydent driver (Matrix's reference identity server, IS v2 without MSC4004).
// Tokens are rows in its SQLite tables (the real way needs an OpenID token checked
// against a homeserver); bindings go through its internal bind API; the pepper,
// which sydent reads only at start, is rotated by a command that restarts it.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Transport } from '../../../simulator/net/transport.ts';
import {
  DriverFailed,
  DriverUnsupported,
  HOW_TO_ADD,
  type Driver,
  type Verb,
  type VerbArgs,
  type VerbResult,
} from './driver.ts';
import { runSql } from './sqlite.ts';

/** A binding of the driver's own, never looked up by a check (see token()). */
const SYNC_ADDRESS = 'driver-sync@fedconn.invalid';
const SYNC_USER = '@driver-sync:fedconn.invalid';

export function sydentDriver(options: {
  readonly internalUrl: string;
  readonly database: string;
  readonly rotatePepper?: readonly string[];
  readonly transport: Transport;
}): Driver {
  const verbs = new Set<Verb>(['identity.token', 'identity.bind']);
  if (options.rotatePepper !== undefined) verbs.add('identity.rotate_pepper');
  const failed = (verb: Verb) => (error: unknown) => {
    throw error instanceof DriverFailed
      ? error
      : new DriverFailed('sydent', verb, error instanceof Error ? error.message : String(error));
  };

  async function token(args: VerbArgs['identity.token'], signal?: AbortSignal) {
    const value = randomBytes(24).toString('base64url');
    // sydent leaves a read transaction open after some lookups (a "none" lookup that
    // finds a binding, for one), which blocks every other writer of its database until
    // its next commit; a bind through its own API commits, so one comes first.
    await bind({ medium: 'email', address: SYNC_ADDRESS, user_id: SYNC_USER }, signal);
    await runSql(options.database, [
      {
        sql: 'INSERT OR IGNORE INTO accounts(user_id, created_ts, consent_version) VALUES (?, ?, NULL)',
        params: [args.user_id, Date.now()],
      },
      { sql: 'INSERT INTO tokens(token, user_id) VALUES (?, ?)', params: [value, args.user_id] },
    ]);
    return { token: value };
  }

  async function bind(args: VerbArgs['identity.bind'], signal?: AbortSignal) {
    const path = '/_matrix/identity/internal/bind';
    const response = await options.transport(
      new Request(`${options.internalUrl.replace(/\/$/, '')}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ medium: args.medium, address: args.address, mxid: args.user_id }),
        ...(signal === undefined ? {} : { signal }),
      }),
    );
    const text = await response.text();
    if (response.status !== 200) {
      throw new DriverFailed(
        'sydent',
        'identity.bind',
        `POST ${path} answered ${response.status} ${text.slice(0, 300)}`,
      );
    }
    return {};
  }

  function rotate(command: readonly string[]) {
    const [program, ...rest] = command;
    return new Promise<Record<string, never>>((resolve, reject) => {
      execFile(program ?? 'false', rest, { timeout: 90_000 }, (error, _stdout, stderr) => {
        if (error === null) resolve({});
        else
          reject(
            new DriverFailed(
              'sydent',
              'identity.rotate_pepper',
              `${command.join(' ')}: ${error.message.split('\n')[0] ?? ''} ${stderr.slice(-300)}`.trim(),
            ),
          );
      });
    });
  }

  return {
    kind: 'sydent',
    verbs: () => Promise.resolve(verbs),
    async call<V extends Verb>(
      verb: V,
      args: VerbArgs[V],
      signal?: AbortSignal,
    ): Promise<VerbResult<V>> {
      const run = (): Promise<unknown> => {
        switch (verb) {
          case 'identity.token':
            return token(args as VerbArgs['identity.token'], signal);
          case 'identity.bind':
            return bind(args as VerbArgs['identity.bind'], signal);
          case 'identity.rotate_pepper':
            if (options.rotatePepper !== undefined) return rotate(options.rotatePepper);
            throw new DriverUnsupported(
              'sydent',
              verb,
              'declare driver.rotate_pepper, a command that restarts sydent with a new pepper (scripts/real-servers.sh writes one)',
            );
          case 'identity.expiring_token':
            throw new DriverUnsupported('sydent', verb, 'sydent’s v2 access tokens do not expire');
          case 'identity.retire_pepper':
          case 'identity.push':
          case 'identity.push_raw':
            throw new DriverUnsupported(
              'sydent',
              verb,
              `${HOW_TO_ADD.sydent} (sydent implements IS v2 without MSC4004)`,
            );
          case 'keys.rotate':
          case 'as.revoke':
            throw new DriverUnsupported('sydent', verb, 'sydent is an identity server only');
        }
      };
      return (await run().catch(failed(verb))) as VerbResult<V>;
    },
    close: () => Promise.resolve(),
  };
}
