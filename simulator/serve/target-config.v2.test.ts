// Target config version 2 (roles, driver and capabilities per server): what parses,
// how errors name the field, how a version 1 file is read as the reference it always
// described, and that the file `toFile` writes reads back as the same config.
import { describe, expect, test } from 'vitest';
import { parseTargetConfig, toFile, type TargetConfig } from './target-config.ts';

const identityOnly = {
  server_name: 'is.example',
  base_url: 'http://127.0.0.1:8090',
  roles: {
    identity: {
      msc4004: true,
      trusts: ['hs1.example'],
      trusted_addresses: ['127.0.0.2'],
    },
  },
  driver: { kind: 'tom', database: '/var/lib/tom/tom.db' },
};

const allRoles = {
  server_name: 'hs1.example',
  base_url: 'http://127.0.0.1:8448/',
  roles: {
    phoenix: { profile: 'aliases' },
    federation: { profiles: ['matrix-2014', 'matrix-current'], room_versions: ['10', '11'] },
    identity: { msc4004: false },
  },
  driver: { kind: 'fedconn', provisioning_token: 'secret' },
  capabilities: { client_certificates: true },
};

const v2 = (servers: readonly unknown[]) => JSON.stringify({ fedconn: 2, servers });

function parsed(text: string): TargetConfig {
  const r = parseTargetConfig(text, 'target.json');
  if (!r.ok) throw new Error(`expected the config to parse, got: ${r.error.message}`);
  return r.value;
}

function errorOf(text: string): string {
  const r = parseTargetConfig(text, 'target.json');
  if (r.ok) throw new Error(`expected a config error, got ${JSON.stringify(r.value)}`);
  return r.error.message;
}

describe('target config version 2', () => {
  test('a mixed config parses: an identity-only server with a tom driver beside a fedconn server with every role', () => {
    const config = parsed(v2([identityOnly, allRoles]));
    expect(config.version).toBe(2);
    expect(config.servers).toHaveLength(2);
    const [is, hs] = config.servers;
    expect(is).toEqual({
      server_name: 'is.example',
      base_url: 'http://127.0.0.1:8090',
      roles: {
        identity: { msc4004: true, trusts: ['hs1.example'], trusted_addresses: ['127.0.0.2'] },
      },
      driver: { kind: 'tom', database: '/var/lib/tom/tom.db' },
      capabilities: {},
    });
    // No Phoenix or federation role is invented for a server that declares none.
    expect(is?.roles.phoenix).toBeUndefined();
    expect(is?.roles.federation).toBeUndefined();
    expect(hs?.roles.phoenix).toEqual({ profile: 'aliases' });
    expect(hs?.roles.federation).toEqual({
      profiles: ['matrix-2014', 'matrix-current'],
      room_versions: ['10', '11'],
    });
    // Optional identity lists default to empty.
    expect(hs?.roles.identity).toEqual({ msc4004: false, trusts: [], trusted_addresses: [] });
    expect(hs?.driver).toEqual({ kind: 'fedconn', provisioning_token: 'secret' });
    expect(hs?.capabilities).toEqual({ client_certificates: true });
  });

  test('the sydent and command drivers parse with their optional fields', () => {
    const config = parsed(
      v2([
        {
          ...identityOnly,
          roles: { identity: { msc4004: false } },
          driver: {
            kind: 'sydent',
            internal_url: 'http://127.0.0.1:8091',
            database: '/tmp/sydent.db',
            rotate_pepper: ['./rotate.sh'],
          },
        },
        {
          ...allRoles,
          driver: {
            kind: 'command',
            command: ['node', 'driver.mjs'],
            cwd: '/tmp',
            env: { TOKEN: 't' },
            timeout_ms: 500,
          },
        },
      ]),
    );
    expect(config.servers.map((s) => s.driver.kind)).toEqual(['sydent', 'command']);
    expect(config.servers[1]?.driver).toEqual({
      kind: 'command',
      command: ['node', 'driver.mjs'],
      cwd: '/tmp',
      env: { TOKEN: 't' },
      timeout_ms: 500,
    });
  });

  test('the matrix-cs driver parses with and without a registration secret, never an empty one', () => {
    const homeserver = {
      server_name: 'localhost:8448',
      base_url: 'http://127.0.0.1:8008',
      roles: { federation: { profiles: ['matrix-current'], room_versions: ['10'] } },
    };
    const config = parsed(
      v2([
        { ...homeserver, driver: { kind: 'matrix-cs', registration_shared_secret: 's' } },
        { ...homeserver, server_name: 'localhost:8449', driver: { kind: 'matrix-cs' } },
      ]),
    );
    expect(config.servers.map((s) => s.driver)).toEqual([
      { kind: 'matrix-cs', registration_shared_secret: 's' },
      { kind: 'matrix-cs' },
    ]);
    expect(
      errorOf(
        v2([{ ...homeserver, driver: { kind: 'matrix-cs', registration_shared_secret: '' } }]),
      ),
    ).toMatch(/servers\.0\.driver\.registration_shared_secret/);
  });
});

describe('version 2 errors name the field and what was wrong', () => {
  test.each<[string, string, RegExp]>([
    [
      'an unknown driver kind',
      v2([{ ...identityOnly, driver: { kind: 'synapse' } }]),
      /^target\.json: servers\.0\.driver\.kind: kind must be one of fedconn, sydent, tom, matrix-cs, command$/,
    ],
    [
      'a driver without a kind',
      v2([allRoles, { ...identityOnly, driver: {} }]),
      /^target\.json: servers\.1\.driver\.kind: kind must be one of/,
    ],
    [
      'a trusted_addresses entry that is not an IPv4 address',
      v2([
        {
          ...identityOnly,
          roles: { identity: { msc4004: true, trusted_addresses: ['127.0.0.2', 'localhost'] } },
        },
      ]),
      /^target\.json: servers\.0\.roles\.identity\.trusted_addresses\.1: must be an IPv4 address$/,
    ],
    [
      'empty roles',
      v2([{ ...identityOnly, roles: {} }]),
      /^target\.json: servers\.0\.roles: must declare at least one of phoenix, federation, identity$/,
    ],
    [
      'trusts naming a server the config does not list',
      v2([
        allRoles,
        { ...identityOnly, roles: { identity: { msc4004: true, trusts: ['hs9.example'] } } },
      ]),
      /^target\.json: servers\.1\.roles\.identity\.trusts: "hs9\.example" is not another server of this config$/,
    ],
    [
      'trusts naming the server itself',
      v2([
        allRoles,
        { ...identityOnly, roles: { identity: { msc4004: true, trusts: ['is.example'] } } },
      ]),
      /^target\.json: servers\.1\.roles\.identity\.trusts: "is\.example" is not another server of this config$/,
    ],
    [
      'format version 3',
      JSON.stringify({ fedconn: 3, servers: [identityOnly] }),
      /^target\.json: fedconn: must be 2 .*got 3$/,
    ],
    [
      'an unknown Phoenix profile',
      v2([{ ...allRoles, roles: { phoenix: { profile: 'matrix-current' } } }]),
      /servers\.0\.roles\.phoenix\.profile: must be "multi-device" or "aliases"/,
    ],
    [
      'a federation role without profiles',
      v2([{ ...allRoles, roles: { federation: { profiles: [] } } }]),
      /servers\.0\.roles\.federation\.profiles: must name at least one Matrix profile/,
    ],
    [
      'a command driver with an empty command',
      v2([{ ...allRoles, driver: { kind: 'command', command: [] } }]),
      /servers\.0\.driver\.command: must name a program/,
    ],
    [
      'a field of version 1 in version 2 (provisioning_token on the server)',
      v2([{ ...allRoles, provisioning_token: 't' }]),
      /servers\.0/,
    ],
    [
      'a duplicate server name',
      v2([allRoles, { ...identityOnly, server_name: 'hs1.example' }]),
      /servers: server_name hs1\.example appears twice/,
    ],
  ])('%s', (_name, text, message) => {
    expect(errorOf(text)).toMatch(message);
  });
});

describe('version 1 still loads, as the reference it always described', () => {
  const v1 = {
    fedconn: 1,
    profile: 'aliases',
    servers: ['hs1.example', 'hs2.example', 'hs3.example'].map((server_name, i) => ({
      server_name,
      base_url: `http://127.0.0.1:${8001 + i}`,
      provisioning_token: `token${i}`,
    })),
    capabilities: { client_certificates: true },
  };

  test('every server gets every role, the fedconn driver with its token, and the capabilities', () => {
    const config = parsed(JSON.stringify(v1));
    expect(config.version).toBe(1);
    expect(config.servers.map((s) => s.server_name)).toEqual([
      'hs1.example',
      'hs2.example',
      'hs3.example',
    ]);
    for (const [i, s] of config.servers.entries()) {
      expect(s.base_url).toBe(`http://127.0.0.1:${8001 + i}`);
      expect(s.roles.phoenix).toEqual({ profile: 'aliases' });
      expect(s.roles.federation?.profiles).toEqual(['matrix-2014', 'matrix-current']);
      expect(s.roles.identity?.msc4004).toBe(true);
      expect(s.roles.identity?.trusted_addresses).toEqual([]);
      expect(s.driver).toEqual({ kind: 'fedconn', provisioning_token: `token${i}` });
      expect(s.capabilities).toEqual({ client_certificates: true });
    }
  });

  test('trust follows the reference topology: the first two servers trust each other, the third no one', () => {
    const config = parsed(JSON.stringify(v1));
    expect(config.servers.map((s) => s.roles.identity?.trusts)).toEqual([
      ['hs2.example'],
      ['hs1.example'],
      [],
    ]);
  });

  test('the multi-device profile is carried to every server', () => {
    const config = parsed(JSON.stringify({ ...v1, profile: 'multi-device' }));
    expect(config.servers.map((s) => s.roles.phoenix?.profile)).toEqual([
      'multi-device',
      'multi-device',
      'multi-device',
    ]);
  });
});

describe('toFile writes a version 2 file that reads back as the same config', () => {
  test('a version 2 config round-trips unchanged', () => {
    const config = parsed(v2([identityOnly, allRoles]));
    const file = toFile(config);
    expect((file as { fedconn: unknown }).fedconn).toBe(2);
    const again = parsed(JSON.stringify(file));
    expect(again).toEqual(config);
    // And once more: the file is a fixed point.
    expect(toFile(again)).toEqual(file);
  });

  test('a version 1 config comes back as version 2 with the same servers, roles, drivers and capabilities', () => {
    const v1 = {
      fedconn: 1,
      profile: 'multi-device',
      servers: ['hs1.example', 'hs2.example', 'hs3.example'].map((server_name, i) => ({
        server_name,
        base_url: `http://127.0.0.1:${9001 + i}`,
        provisioning_token: 'tok',
      })),
    };
    const config = parsed(JSON.stringify(v1));
    const again = parsed(JSON.stringify(toFile(config)));
    expect(again.version).toBe(2);
    expect(again.servers).toEqual(config.servers);
  });

  test('an empty capabilities object is left out of the file and still reads back as {}', () => {
    const config = parsed(v2([{ ...identityOnly, roles: { identity: { msc4004: true } } }]));
    const file = toFile(config) as { servers: Record<string, unknown>[] };
    expect(file.servers[0]).not.toHaveProperty('capabilities');
    expect(parsed(JSON.stringify(file)).servers[0]?.capabilities).toEqual({});
  });
});
