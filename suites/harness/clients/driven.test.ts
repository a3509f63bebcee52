// The client driver protocol: (a) fedconn's reference client behind it (`fedconn
// client-shim`) passes CLIENT rules of every kind through the process boundary, and a
// client mutant is killed through it; (b) a client that hangs, crashes or writes garbage
// gives timeout or error verdicts and a complete report, in bounded time, leaving no
// process behind; (c) the Python example shim, a client in a second language. The whole
// CLIENT matrix through the shim is CI's (`.ci/run`: `fedconn run --client
// reference-shim` and `fedconn mutants --target client-shim`).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ALL_SERVICES } from '../../../simulator/services/index.ts';
import type { RuleId } from '../../catalog/index.ts';
import { CHECKS } from '../../registry.ts';
import { runChecks } from '../runner.ts';
import { simTarget, withClientUnderTest } from '../target.ts';
import { readClientDriverConfig, startDrivenClient, type ClientDriverConfig } from './driven.ts';
import type { ClientUnderTest } from './index.ts';
import { referenceShimConfig } from './start.ts';

const dir = mkdtempSync(join(tmpdir(), 'fedconn-client-driver-'));

async function judge(client: ClientUnderTest, rules: readonly RuleId[], timeoutMs = 60_000) {
  return runChecks({
    target: withClientUnderTest(simTarget({ services: ALL_SERVICES }), client),
    checks: CHECKS,
    profiles: ['multi-device', 'aliases', 'matrix-current'],
    seed: 3,
    runs: 1,
    timeoutMs,
    selected: (r) => rules.includes(r.id),
    expectedToFail: new Set(),
    strict: true,
    repro: () => '',
    version: 'test',
  });
}

const statuses = (report: Awaited<ReturnType<typeof judge>>) =>
  Object.fromEntries(report.rules.filter((r) => r.status !== 'skip').map((r) => [r.id, r.status]));

const started: ClientUnderTest[] = [];
async function start(config: ClientDriverConfig): Promise<ClientUnderTest> {
  const client = await startDrivenClient(config);
  started.push(client);
  return client;
}
afterAll(async () => {
  await Promise.all(started.map((c) => c.close()));
});

describe('the reference client behind the client driver protocol', () => {
  test('passes CLIENT rules of each kind through its process: chain, decision, race, join, privacy, identity', async () => {
    const client = await start(referenceShimConfig(new Set()));
    expect(client.name).toBe('fedconn reference client (shim)');
    const report = await judge(client, [
      'CRED-CHAIN-03',
      'CONN-TRUST-03',
      'CONN-RACE-04',
      'CONN-JOIN-07',
      'ALIAS-UNLINK-03',
      'IS-FED-04',
    ]);
    expect(statuses(report)).toEqual({
      'CRED-CHAIN-03': 'pass',
      'CONN-TRUST-03': 'pass',
      'CONN-RACE-04': 'pass',
      'CONN-JOIN-07': 'pass',
      'ALIAS-UNLINK-03': 'pass',
      'IS-FED-04': 'pass',
    });
    expect(report.target).toBe('fedconn reference client (shim) (client under test) against sim');
  }, 120_000);

  test('a client mutant in the shim fails its rule, with expected vs actual', async () => {
    const client = await start(referenceShimConfig(new Set(['CONN-RACE-04/retry-join'])));
    const report = await judge(client, ['CONN-RACE-04']);
    const rule = report.rules.find((r) => r.id === 'CONN-RACE-04');
    expect(rule?.status).toBe('fail');
    expect(rule?.failures[0]?.expected).toBeDefined();
    expect(rule?.failures[0]?.actual).toBeDefined();
  }, 120_000);
});

// A client under test that misbehaves as MODE says, after a correct hello.
const FAKE = `
import { createInterface } from 'node:readline';
import { writeFileSync } from 'node:fs';
const mode = process.env.MODE;
if (process.env.PIDFILE) writeFileSync(process.env.PIDFILE, String(process.pid));
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
createInterface({ input: process.stdin }).on('line', (line) => {
  const { id, verb } = JSON.parse(line);
  if (verb === 'hello') {
    if (mode === 'old-protocol') return say({ id, ok: true, result: { protocol: 0, verbs: [] } });
    return say({ id, ok: true, result: { protocol: 1, name: 'fake ' + mode,
      verbs: ['identity.lookup', 'phoenix.create_user', 'phoenix.process_queues'] } });
  }
  if (mode === 'hang') return;
  if (mode === 'crash') { process.stderr.write('segfault in lookup\\n'); process.exit(139); }
  if (mode === 'garbage') return process.stdout.write('<html>oops</html>\\n');
  if (mode === 'wrong-shape') return say({ id, ok: true, result: { outcome: 'maybe' } });
});
`;
const program = join(dir, 'fake-client.mjs');
writeFileSync(program, FAKE);

function fakeConfig(mode: string): { config: ClientDriverConfig; pid: () => number } {
  const pidFile = join(dir, `pid-${mode}`);
  return {
    config: {
      command: [process.execPath, program],
      env: { MODE: mode, PIDFILE: pidFile },
      timeout_ms: 1_500,
    },
    pid: () => Number(readFileSync(pidFile, 'utf8')),
  };
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('a client that misbehaves on the protocol', () => {
  test.each([
    ['hang', /gave no answer to request \d+ within 1500 ms/],
    ['crash', /exited \(code 139\); its last output: segfault in lookup/],
    ['garbage', /printed a line that is not JSON: <html>oops<\/html>/],
    ['wrong-shape', /answered \{"outcome":"maybe"\}: outcome/],
  ])(
    '%s: every rule gets an error verdict naming it, the run ends, the process is gone',
    async (mode, message) => {
      const fake = fakeConfig(mode);
      const client = await startDrivenClient(fake.config);
      const began = performance.now();
      let report;
      try {
        report = await judge(client, ['IS-LOOKUP-02', 'IS-LOOKUP-10', 'CRED-CHAIN-03'], 20_000);
      } finally {
        await client.close();
      }
      expect(performance.now() - began).toBeLessThan(20_000);
      const judged = report.rules.filter((r) => r.status !== 'skip');
      expect(judged.map((r) => r.id).sort()).toEqual([
        'CRED-CHAIN-03',
        'IS-LOOKUP-02',
        'IS-LOOKUP-10',
      ]);
      for (const rule of judged) {
        expect(rule.status, rule.id).toBe('error');
        expect(rule.failures[0]?.message, rule.id).toMatch(
          // A Phoenix user is never created by a client that cannot answer.
          rule.id === 'CRED-CHAIN-03' && mode !== 'hang' && mode !== 'crash'
            ? /client driver: phoenix\.create_user failed/
            : message,
        );
      }
      expect(running(fake.pid())).toBe(false);
    },
    60_000,
  );

  test('a hello of another protocol version: the client does not start, saying why', async () => {
    const fake = fakeConfig('old-protocol');
    await expect(startDrivenClient(fake.config)).rejects.toThrow(
      /client driver: hello failed: .* answered .*protocol.* must be 1/,
    );
    expect(running(fake.pid())).toBe(false);
  });

  test('a program that cannot start', async () => {
    await expect(startDrivenClient({ command: [join(dir, 'no-such-client')] })).rejects.toThrow(
      /cannot start .*no-such-client.*ENOENT/,
    );
  });
});

describe('client driver config files', () => {
  const write = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  test('errors name the file and the field', () => {
    expect(() => readClientDriverConfig(join(dir, 'absent.json'))).toThrow(
      /absent\.json: cannot read it/,
    );
    expect(() => readClientDriverConfig(write('bad.json', '{'))).toThrow(/bad\.json: not JSON/);
    expect(() => readClientDriverConfig(write('empty.json', '{"command": []}'))).toThrow(
      /empty\.json: command: must name the program to start/,
    );
    expect(() =>
      readClientDriverConfig(write('extra.json', '{"command": ["x"], "timeout": 5}')),
    ).toThrow(/extra\.json: .*timeout/);
    expect(() =>
      readClientDriverConfig(write('short.json', '{"command": ["x"], "timeout_ms": 5}')),
    ).toThrow(/short\.json: timeout_ms/);
  });
  test('a relative cwd is the config file’s neighbour', () => {
    const config = readClientDriverConfig(write('ok.json', '{"command": ["python3", "x.py"]}'));
    expect(config.cwd).toBe(dir);
  });
});

const python = (() => {
  try {
    execFileSync('python3', ['--version']);
    return true;
  } catch {
    return false;
  }
})();

describe('the Python example shim (examples/client-shim), a client in a second language', () => {
  test.skipIf(!python)(
    'passes every identity-client rule (needs python3 on PATH)',
    async () => {
      const client = await start(
        readClientDriverConfig(
          join(import.meta.dirname, '../../../examples/client-shim/python.json'),
        ),
      );
      expect(client.name).toBe('python identity shim 0.1');
      expect(client.phoenix).toBe(false);
      const report = await judge(client, [
        'IS-LOOKUP-02',
        'IS-LOOKUP-10',
        'IS-FED-04',
        'CRED-CHAIN-03',
      ]);
      expect(statuses(report)).toEqual({
        'IS-LOOKUP-02': 'pass',
        'IS-LOOKUP-10': 'pass',
        'IS-FED-04': 'pass',
        // Not a Phoenix client: its rules do not apply.
        'CRED-CHAIN-03': 'n/a',
      });
    },
    60_000,
  );
});
