// fedconn run end to end: verdicts, exit codes, reports, expectations, and a
// target that hangs or lies, which must yield failed rules, never a crash or a hang.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { inProfile, serveFederation } from '../../simulator/serve/serve.ts';
import { toFile } from '../../simulator/serve/target-config.ts';
import { ALL_SERVICES } from '../../simulator/services/index.ts';
import { RULES } from '../../suites/catalog/index.ts';
import { main } from '../main.ts';
import { capturedIo } from '../captured-io.ts';
import { timelessReport } from '../../reports/test-fixture.ts';

const capture = capturedIo;

const dir = mkdtempSync(join(tmpdir(), 'fedconn-run-'));
const file = (name: string, content: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
};
interface Json {
  summary: Record<string, number>;
  rules: {
    id: string;
    status: string;
    failures: {
      message: string;
      repro: string;
      transcript?: { url: string; status?: number; answer?: string }[];
    }[];
  }[];
  exitCode: number;
  mutant?: string;
}
const conformance = (out: string) =>
  JSON.parse(readFileSync(join(out, 'conformance.json'), 'utf8')) as Json;
const rule = (report: Json, id: string) => report.rules.find((r) => r.id === id);

describe('fedconn run against the simulator', () => {
  test('the reference passes its checked rules, exit 0, and the three reports are written', async () => {
    const out = join(dir, 'ref');
    const io = capture();
    expect(await main(['run', '--seed', '5', '--out', out], io)).toBe(0);
    const report = conformance(out);
    expect(rule(report, 'FED-KEYS-03')?.status).toBe('pass');
    const planned = RULES.find((r) => r.planned === true);
    if (planned !== undefined) expect(rule(report, planned.id)?.status).toBe('planned');
    for (const name of ['conformance.json', 'junit.xml', 'report.html'])
      expect(existsSync(join(out, name))).toBe(true);
    // Colours are on under CI=true; compare the text without them.
    const text = io.stdout().replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');
    expect(text).toMatch(/FED-KEYS\s+\d+\s+0\s/);
    // The planned line appears only while some rule is planned (none is, now).
    if (planned !== undefined)
      expect(io.stdout()).toContain('planned: no conformance check exists for them yet');
    else expect(io.stdout()).not.toContain('planned: no conformance check');
  }, 240_000);

  test('--workers 2 gives the report of one worker: verdicts, failures, repros, transcripts', async () => {
    const args = (workers: string, out: string) => [
      'run',
      '--seed',
      '6',
      '--rules',
      'CRED-CHAIN,FED-KEYS',
      '--mutant',
      'FED-KEYS-04/sign-with-foreign-key',
      '--workers',
      workers,
      '--out',
      out,
    ];
    const one = capture();
    const two = capture();
    expect(await main(args('1', join(dir, 'w1')), one)).toBe(1);
    expect(await main(args('2', join(dir, 'w2')), two)).toBe(1);
    const timeless = (out: string) =>
      timelessReport(readFileSync(join(out, 'conformance.json'), 'utf8'));
    expect(timeless(join(dir, 'w2'))).toEqual(timeless(join(dir, 'w1')));
    expect(two.stdout()).toContain('(2 workers)');
    expect(two.stdout()).toMatch(/running \d+ check executions\n\[1\//);
  });

  test('--workers beyond the executions runs as many as there are, and all pass', async () => {
    // FED-NAME-01 is one execution: a second worker would get nothing to run.
    const io = capture();
    const out = join(dir, 'one-check');
    const code = await main(
      ['run', '--seed', '6', '--rules', 'FED-NAME-01', '--workers', '2', '--out', out],
      io,
    );
    expect(io.stderr()).toBe('');
    expect(code).toBe(0);
    expect(rule(conformance(out), 'FED-NAME-01')?.status).toBe('pass');
  });

  test('a mutant fails its rule: exit 1, with the failure, expected vs actual and a repro', async () => {
    const out = join(dir, 'mutant');
    const io = capture();
    const mutantRun = (rules: string, ...more: string[]) => [
      'run',
      '--seed',
      '5',
      '--mutant',
      'FED-KEYS-03/omit-valid-until-ts',
      '--rules',
      rules,
      '--out',
      out,
      ...more,
    ];
    // The family is enough to see the verdict; the whole suite is run above.
    expect(await main(mutantRun('FED-KEYS'), io)).toBe(1);
    const report = conformance(out);
    expect(report.mutant).toBe('FED-KEYS-03/omit-valid-until-ts');
    const failed = rule(report, 'FED-KEYS-03');
    expect(failed?.status).toBe('fail');
    expect(failed?.failures[0]?.repro).toContain(
      '--mutant FED-KEYS-03/omit-valid-until-ts --profile matrix-current --rules FED-KEYS-03 --seed 5',
    );
    expect(io.stdout()).toContain('expected:');
    expect(io.stdout()).toContain('valid_until_ts');
    // The transcript it was judged on: the key request and the answer without valid_until_ts,
    // in conformance.json, in report.html and (all of it) with --verbose.
    const exchanges = failed?.failures[0]?.transcript ?? [];
    const keyFetch = exchanges.find((e) => e.url.includes('/_matrix/key/v2/server'));
    expect(keyFetch?.status).toBe(200);
    expect(keyFetch?.answer).toContain('verify_keys');
    expect(keyFetch?.answer).not.toContain('valid_until_ts');
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('<details class="transcript" open><summary>Transcript:');
    expect(html).toContain('/_matrix/key/v2/server');
    const verbose = capture();
    await main(mutantRun('FED-KEYS-03', '--verbose'), verbose);
    const wireLines = (text: string) =>
      text.split('\n').filter((l) => l.startsWith('  wire: ')).length;
    expect(wireLines(verbose.stdout())).toBeGreaterThanOrEqual(
      failed?.failures[0]?.transcript?.length ?? 1,
    );
  });

  test('--expect turns known failures into xfail (exit 0) and an unexpected pass into xpass (exit 1)', async () => {
    const expectations = file('expect.json', {
      'FED-KEYS-03': 'v1 server',
      'FED-KEYS-04': 'same bug',
    });
    const args = [
      'run',
      '--seed',
      '5',
      '--rules',
      'FED-KEYS-03,FED-KEYS-04',
      '--expect',
      expectations,
    ];
    const out1 = join(dir, 'xfail');
    expect(
      await main(
        [...args, '--mutant', 'FED-KEYS-03/omit-valid-until-ts', '--out', out1],
        capture(),
      ),
    ).toBe(0);
    expect(rule(conformance(out1), 'FED-KEYS-03')?.status).toBe('xfail');
    const out2 = join(dir, 'xpass');
    expect(await main([...args, '--out', out2], capture())).toBe(1);
    expect(rule(conformance(out2), 'FED-KEYS-03')?.status).toBe('xpass');
  });

  test('--rules and --skip select by ID or prefix; --list shows the plan without running', async () => {
    const io = capture();
    expect(
      await main(['run', '--list', '--json', '--rules', 'FED-KEYS', '--skip', 'FED-KEYS-04'], io),
    ).toBe(0);
    const plan = JSON.parse(io.stdout()) as { rules: { id: string; status: string }[] };
    expect(plan.rules.map((r) => r.id)).toContain('FED-KEYS-03');
    expect(plan.rules.map((r) => r.id)).not.toContain('FED-KEYS-04');
    expect(plan.rules.find((r) => r.id === 'FED-KEYS-03')?.status).toBe('will run');
  });

  test.each([
    [['--profile', 'bogus'], /--profile: unknown profile "bogus"/],
    [['--rules', 'NOPE-01'], /--rules: "NOPE-01" matches no rule/],
    [['--target', 'http'], /--target http needs --config/],
    [['--target', 'container'], /--target container needs --image NAME/],
    [
      ['--target', 'container', '--image', 'x', '--mutant', 'FED-KEYS-03/omit-valid-until-ts'],
      /--mutant works only with --target sim/,
    ],
    [
      ['--target', 'container', '--image', 'x', '--config', 'c.json'],
      /--config is for --target http/,
    ],
    [['--target', 'moon'], /--target: unknown target "moon"/],
    [['--mutant', 'nope'], /--mutant: unknown mutant "nope"/],
    [['--workers', '0'], /--workers: expected an integer from 1 to 64/],
    [['--workers', '2', '--shard', '1/2'], /--workers 2 with --shard/],
    [
      ['--client', 'element'],
      /--client: "element" is neither a client fedconn knows \(reference, reference-shim, matrix-js-sdk\) nor a client driver config file/,
    ],
    [['--runs', '0'], /--runs: "0" is not valid/],
    [['--expect', '/nonexistent.json'], /--expect: cannot read/],
  ])('usage error %j exits 2 naming what was wrong', async (args, message) => {
    const io = capture();
    expect(await main(['run', ...args], io)).toBe(2);
    expect(io.stderr()).toMatch(message);
  });

  test('a config error names the field, exit 2', async () => {
    const bad = file('bad.json', {
      fedconn: 1,
      profile: 'aliases',
      servers: [{ server_name: 'hs1', base_url: 'nope', provisioning_token: 't' }],
    });
    const io = capture();
    expect(await main(['run', '--target', 'http', '--config', bad], io)).toBe(2);
    expect(io.stderr()).toMatch(/servers\.0\.base_url: must be an http\(s\) URL/);
  });

  test('an unreachable target exits 3 and names the server', async () => {
    const config = file('down.json', {
      fedconn: 1,
      profile: 'aliases',
      servers: [
        { server_name: 'hs1.example', base_url: 'http://127.0.0.1:1', provisioning_token: 't' },
      ],
    });
    const io = capture();
    expect(
      await main(['run', '--target', 'http', '--config', config, '--timeout', '2000'], io),
    ).toBe(3);
    expect(io.stderr()).toMatch(/target unreachable: hs1\.example at http:\/\/127\.0\.0\.1:1/);
  });
});

describe('fedconn run --target http against fedconn serve', () => {
  test('the same checked rules pass over real HTTP', async () => {
    // Three servers: the reference trust topology needs an untrusted pusher (IS-PUSH).
    const served = await serveFederation({
      servers: inProfile(['hs1.example', 'hs2.example', 'hs3.example'], 'multi-device'),
      seed: 'http run',
      services: ALL_SERVICES,
    });
    try {
      const config = file('served.json', toFile(served.config));
      const out = join(dir, 'http');
      const args = ['run', '--target', 'http', '--config', config, '--seed', '5', '--out', out];
      const code = await main(args, capture());
      const report = conformance(out);
      // Failing rules first, so a failure names the rule rather than only the exit code.
      const bad = report.rules.filter((r) =>
        ['fail', 'error', 'timeout', 'xpass'].includes(r.status),
      );
      expect(bad.map((r) => `${r.id}: ${r.status} ${r.failures[0]?.message ?? ''}`)).toEqual([]);
      for (const id of ['FED-KEYS-03', 'FED-KEYS-04', 'FED-NAME-04', 'IS-PUSH-01']) {
        expect(rule(report, id)?.status).toBe('pass');
      }
      expect(code).toBe(0);
    } finally {
      await served.close();
    }
  }, 240_000);
});

describe('a target that hangs or lies', () => {
  const servers: Server[] = [];
  afterAll(() => {
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });

  const behaviours: Record<string, Parameters<typeof createServer>[1]> = {
    hangs: () => {
      // Accepts the connection and never answers.
    },
    'answers garbage': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"server_name": tru');
    },
    'resets mid-body': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
      res.write('{"server_name": "hs1.exa');
      setTimeout(() => res.socket?.destroy(), 20);
    },
    'sends the wrong content type': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body>It works!</body></html>');
    },
  };

  test.each(Object.keys(behaviours))(
    'a server that %s fails or times out its rules within the timeout; the run completes',
    async (name) => {
      const handler = behaviours[name];
      if (handler === undefined) throw new Error(name);
      const server = createServer(handler);
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as AddressInfo).port;
      const config = file(`${name}.json`, {
        fedconn: 1,
        profile: 'aliases',
        servers: [
          {
            server_name: 'hs1.example',
            base_url: `http://127.0.0.1:${port}`,
            provisioning_token: 't',
          },
        ],
      });
      const out = join(dir, name.replace(/ /g, '-'));
      const start = performance.now();
      const code = await main(
        [
          'run',
          '--target',
          'http',
          '--config',
          config,
          '--profile',
          'matrix-current',
          '--rules',
          'FED-KEYS',
          '--timeout',
          '1500',
          '--out',
          out,
          '--quiet',
        ],
        capture(),
      );
      const seconds = (performance.now() - start) / 1000;
      expect(code).toBe(1);
      // Bounded by the 1.5 s timeout per check, not by the server: a hang would never end.
      // The slack is for a loaded CI machine; this is a hang guard, not a speed budget.
      expect(seconds).toBeLessThan(20);
      const report = conformance(out);
      for (const id of ['FED-KEYS-03', 'FED-KEYS-04']) {
        const r = rule(report, id);
        expect(['fail', 'timeout', 'error']).toContain(r?.status);
        expect(r?.failures[0]?.message.length).toBeGreaterThan(10);
      }
    },
  );
});
