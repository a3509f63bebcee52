// The same connection scenario as in the simulator, with the reference servers
// running as a real HTTP process started by `fedconn serve`.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTargetScenario } from '../scenario.ts';
import { parseTargetConfig, readTargetConfig, type TargetConfig } from './target-config.ts';

function startServe(
  configPath: string,
  profile: string,
): Promise<{ child: ChildProcessWithoutNullStreams; config: TargetConfig }> {
  const child = spawn(process.execPath, [
    'cli/bin.js',
    'serve',
    '--servers',
    '2',
    '--profile',
    profile,
    '--config',
    configPath,
  ]);
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fedconn serve did not become ready: ${output}`));
    }, 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('ready')) {
        clearTimeout(timer);
        const config = readTargetConfig(configPath);
        if (config.ok) resolve({ child, config: config.value });
        else reject(config.error);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fedconn serve exited with ${String(code)}: ${output}`));
    });
  });
}

function stop(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      resolve(code);
    });
    child.kill('SIGTERM');
  });
}

describe.each(['multi-device', 'aliases'])('fedconn serve, %s profile', (profile) => {
  let served: { child: ChildProcessWithoutNullStreams; config: TargetConfig };
  beforeAll(async () => {
    served = await startServe(
      join(mkdtempSync(join(tmpdir(), 'fedconn-')), 'target.json'),
      profile,
    );
  }, 40_000);
  afterAll(async () => {
    // A clean shutdown: the process exits with 0 on SIGTERM.
    expect(await stop(served.child)).toBe(0);
  });

  test('two users on two real HTTP homeservers, three devices each, connect by user id and by alias', async () => {
    const s = await createTargetScenario(served.config, {
      seed: `serve ${profile}`,
      usersPerServer: 2,
      devicesPerUser: 3,
    });
    const pairs = [
      { a: s.user('@user1:hs1.example'), b: s.user('@user1:hs2.example'), by: 'user id' },
      { a: s.user('@user2:hs1.example'), b: s.user('@user2:hs2.example'), by: 'alias' },
    ];
    const groups: string[] = [];
    for (const { a, b, by } of pairs) {
      if (by === 'alias') await b.primary.registerAlias(`alias-${profile}`, 2);
      groups.push(
        await a.primary.connect(
          by === 'alias'
            ? { alias: `alias-${profile}`, server: 'hs2.example' }
            : { userId: b.userId },
        ),
      );
    }
    await s.settle();
    for (const [i, { a, b }] of pairs.entries()) {
      const groupId = groups[i] ?? '';
      const all = [...a.clients, ...b.clients];
      for (const c of all) expect([...c.groups.keys()]).toEqual([groupId]);
      for (const [j, sender] of all.entries()) await sender.send(groupId, `m${j}`);
      await s.settle();
      for (const [j, c] of all.entries()) {
        expect(c.received(groupId).sort()).toEqual(
          all
            .map((_, k) => `m${k}`)
            .filter((_, k) => k !== j)
            .sort(),
        );
      }
    }
  }, 60_000);
});

describe('target config errors name the field and what was wrong', () => {
  const valid = {
    fedconn: 1,
    profile: 'aliases',
    servers: [{ server_name: 'hs1', base_url: 'http://127.0.0.1:1', provisioning_token: 't' }],
  };
  test.each([
    ['not json', '{', /not JSON/],
    ['wrong version', JSON.stringify({ ...valid, fedconn: 3 }), /fedconn: must be 2/],
    [
      'bad url',
      JSON.stringify({ ...valid, servers: [{ ...valid.servers[0], base_url: 'ftp://x' }] }),
      /servers\.0\.base_url: must be an http\(s\) URL/,
    ],
    [
      'empty token',
      JSON.stringify({ ...valid, servers: [{ ...valid.servers[0], provisioning_token: '' }] }),
      /servers\.0\.provisioning_token/,
    ],
    [
      'no servers',
      JSON.stringify({ ...valid, servers: [] }),
      /servers: must list at least one server/,
    ],
    [
      'duplicate',
      JSON.stringify({ ...valid, servers: [valid.servers[0], valid.servers[0]] }),
      /hs1 appears twice/,
    ],
    ['unknown field', JSON.stringify({ ...valid, extra: 1 }), /\(root\)|extra/],
    [
      'capability not a boolean',
      JSON.stringify({ ...valid, capabilities: { client_certificates: 'yes' } }),
      /capabilities\.client_certificates: must be true or false/,
    ],
    [
      'unknown capability',
      JSON.stringify({ ...valid, capabilities: { telepathy: true } }),
      /capabilities/,
    ],
  ])('%s', (_name, text, message) => {
    const r = parseTargetConfig(text, 'target.json');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(message);
  });

  test('capabilities are optional: missing means not declared', () => {
    const bare = parseTargetConfig(JSON.stringify(valid));
    const declared = parseTargetConfig(
      JSON.stringify({ ...valid, capabilities: { client_certificates: true } }),
    );
    expect(bare.ok && bare.value.servers[0]?.capabilities).toEqual({});
    expect(declared.ok && declared.value.servers[0]?.capabilities.client_certificates).toBe(true);
  });

  test('a missing file is named', () => {
    const r = readTargetConfig('/nonexistent/target.json');
    expect(r.ok ? '' : r.error.message).toMatch(/\/nonexistent\/target.json: cannot read/);
  });
});
