// The ToM driver (linagora's identity server and its MSC4004 federated identity
// service). ToM re-reads its SQLite tables on every request, so state is set up by
// SQL: tokens in accessTokens, lookup hashes in hashes (one row per pepper still
// accepted), peppers in keys as `pepper` and `previousPepper`. A side table keeps
// the clear-text bindings fedconn made, so a rotation can rehash them.
import { randomBytes } from 'node:crypto';
import { lookupHash } from '../../../simulator/protocol/identity/hash.ts';
import {
  DriverFailed,
  DriverUnsupported,
  HOW_TO_ADD,
  type Driver,
  type Verb,
  type VerbArgs,
  type VerbResult,
} from './driver.ts';
import { runSql, type Statement } from './sqlite.ts';

const SIDE_TABLE =
  'CREATE TABLE IF NOT EXISTS _fedconn_bindings(medium TEXT, address TEXT, user_id TEXT, PRIMARY KEY (medium, address))';

function hash(address: string, medium: string, pepper: string): string {
  const hashed = lookupHash({ algorithm: 'sha256', address, medium, pepper });
  if (!hashed.ok) throw new Error(`cannot hash ${address} ${medium}: ${hashed.error.detail}`);
  return hashed.value;
}

/** A pepper like ToM's own: [a-zA-Z0-9], 32 characters. */
function newPepper(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(32), (b) => alphabet.charAt(b % alphabet.length)).join('');
}

export function tomDriver(options: { readonly database: string }): Driver {
  const db = options.database;
  const verbs = new Set<Verb>([
    'identity.token',
    'identity.bind',
    'identity.rotate_pepper',
    'identity.retire_pepper',
  ]);

  async function peppers(): Promise<{ pepper: string; previous: string | undefined }> {
    const rows = await runSql(db, [
      { sql: "SELECT name, data FROM keys WHERE name IN ('pepper', 'previousPepper')" },
    ]);
    const of = (n: string) => rows.find((r) => r[0] === n)?.[1];
    const pepper = of('pepper');
    const previous = of('previousPepper');
    if (typeof pepper !== 'string' || pepper === '') throw new Error(`${db}: keys has no pepper`);
    return {
      pepper,
      previous: typeof previous === 'string' && previous !== '' ? previous : undefined,
    };
  }

  async function bindings(): Promise<{ medium: string; address: string; user_id: string }[]> {
    const rows = await runSql(db, [
      { sql: SIDE_TABLE },
      { sql: 'SELECT medium, address, user_id FROM _fedconn_bindings' },
    ]);
    return rows.map((r) => ({
      medium: String(r[0]),
      address: String(r[1]),
      user_id: String(r[2]),
    }));
  }

  const hashRows = (
    list: readonly { medium: string; address: string; user_id: string }[],
    pepper: string,
  ): Statement[] =>
    list.map((b) => ({
      sql: 'INSERT OR REPLACE INTO hashes(hash, pepper, type, value, active) VALUES (?, ?, ?, ?, 1)',
      params: [hash(b.address, b.medium, pepper), pepper, b.medium, b.user_id],
    }));

  async function rotate(): Promise<void> {
    const { pepper, previous } = await peppers();
    const next = newPepper();
    await runSql(db, [
      ...(previous === undefined
        ? []
        : [{ sql: 'DELETE FROM hashes WHERE pepper = ?', params: [previous] }]),
      {
        sql: "INSERT OR REPLACE INTO keys(name, data) VALUES ('previousPepper', ?)",
        params: [pepper],
      },
      { sql: "INSERT OR REPLACE INTO keys(name, data) VALUES ('pepper', ?)", params: [next] },
      ...hashRows(await bindings(), next),
    ]);
  }

  async function retire(pepper: string): Promise<void> {
    let current = await peppers();
    // The current pepper cannot be retired in place: rotate it into the alternatives first.
    if (current.pepper === pepper) {
      await rotate();
      current = await peppers();
    }
    if (current.previous === pepper) {
      await runSql(db, [
        { sql: 'DELETE FROM hashes WHERE pepper = ?', params: [pepper] },
        { sql: "DELETE FROM keys WHERE name = 'previousPepper'" },
      ]);
    }
    // Otherwise ToM no longer holds the pepper: it is retired already.
  }

  async function run(verb: Verb, args: VerbArgs[Verb]): Promise<unknown> {
    switch (verb) {
      case 'identity.token': {
        const { user_id } = args as VerbArgs['identity.token'];
        const token = randomBytes(24).toString('base64url');
        await runSql(db, [
          {
            sql: 'INSERT OR REPLACE INTO accessTokens(id, data) VALUES (?, ?)',
            params: [token, JSON.stringify({ sub: user_id, epoch: Math.floor(Date.now() / 1000) })],
          },
        ]);
        return { token };
      }
      case 'identity.bind': {
        const b = args as VerbArgs['identity.bind'];
        const { pepper, previous } = await peppers();
        const row = { medium: b.medium, address: b.address, user_id: b.user_id };
        await runSql(db, [
          { sql: SIDE_TABLE },
          {
            sql: 'INSERT OR REPLACE INTO _fedconn_bindings(medium, address, user_id) VALUES (?, ?, ?)',
            params: [b.medium, b.address, b.user_id],
          },
          ...hashRows([row], pepper),
          ...(previous === undefined ? [] : hashRows([row], previous)),
        ]);
        return {};
      }
      case 'identity.rotate_pepper':
        await rotate();
        return {};
      case 'identity.retire_pepper':
        await retire((args as VerbArgs['identity.retire_pepper']).pepper);
        return {};
      case 'identity.expiring_token':
        throw new DriverUnsupported(
          'tom',
          verb,
          'ToM’s access tokens carry no expiry that ToM checks',
        );
      case 'identity.push':
      case 'identity.push_raw':
        throw new DriverUnsupported(
          'tom',
          verb,
          `${HOW_TO_ADD.tom}: the federated identity service receives pushes and sends none; fedconn pushes to it as a peer (roles.identity.trusted_addresses)`,
        );
      case 'keys.rotate':
      case 'as.revoke':
        throw new DriverUnsupported('tom', verb, 'ToM’s identity service is not a homeserver');
    }
  }

  return {
    kind: 'tom',
    verbs: () => Promise.resolve(verbs),
    async call<V extends Verb>(verb: V, args: VerbArgs[V]): Promise<VerbResult<V>> {
      try {
        return (await run(verb, args)) as VerbResult<V>;
      } catch (error) {
        if (error instanceof DriverUnsupported || error instanceof DriverFailed) throw error;
        throw new DriverFailed('tom', verb, error instanceof Error ? error.message : String(error));
      }
    },
    close: () => Promise.resolve(),
  };
}
