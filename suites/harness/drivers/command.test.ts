// The command driver: (a) its JSON-lines protocol against a tiny fake driver program,
// written here into a temp dir, whose every misbehaviour must become a DriverUnsupported
// (skip) or a DriverFailed (error) with a message, in bounded time, leaving no process
// behind; (b) the example driver wrapping fedconn's provisioning API, run by the real
// runner against the reference served over HTTP, with and without mutants.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { getRule, PROFILES, RULES } from '../../catalog/index.ts';
import { CHECKS } from '../../registry.ts';
import { ALL_SERVICES } from '../../../simulator/services/index.ts';
import { IDENTITY_SERVER_MUTANTS } from '../../../simulator/services/identity/mutants.ts';
import {
  inProfile,
  serveFederation,
  type ServedFederation,
} from '../../../simulator/serve/serve.ts';
import {
  parseTargetConfig,
  toFile,
  type TargetConfig,
} from '../../../simulator/serve/target-config.ts';
import { CheckSkipped } from '../check.ts';
import type { RunReport } from '../report.ts';
import { runChecks } from '../runner.ts';
import { httpTarget } from '../target.ts';
import { commandDriver } from './command.ts';
import { DriverFailed, DriverUnsupported, VERB_NAMES, type Driver } from './driver.ts';

const dir = mkdtempSync(join(tmpdir(), 'fedconn-command-driver-'));

// MODE picks the misbehaviour; PIDFILE receives the pid; LOG receives every request line.
const FAKE = `
import { createInterface } from 'node:readline';
import { appendFileSync, writeFileSync } from 'node:fs';
const mode = process.env.MODE ?? 'normal';
if (process.env.PIDFILE) writeFileSync(process.env.PIDFILE, String(process.pid));
if (mode === 'crash-at-start') {
  process.stderr.write('fatal: cannot open database /nonexistent/tom.db\\n');
  process.exit(3);
}
if (mode === 'stubborn' || mode === 'ignore-sigterm') setInterval(() => {}, 1000);
if (mode === 'ignore-sigterm') process.on('SIGTERM', () => {});
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (process.env.LOG) appendFileSync(process.env.LOG, line + '\\n');
  const { id, verb, args } = JSON.parse(line);
  if (mode === 'silent') return;
  if (verb === 'hello') {
    if (mode === 'bad-hello') return say({ id, ok: true, result: { protocol: 2, verbs: [] } });
    if (mode === 'refuse-hello')
      return say({ id, ok: false, error: { code: 'failed', message: 'set MY_TOKEN' } });
    return say({ id, ok: true, result: { protocol: 1, verbs: [
      'identity.token', 'identity.bind', 'identity.rotate_pepper', 'identity.retire_pepper',
      'identity.expiring_token', 'identity.frobnicate',
    ] } });
  }
  switch (verb) {
    case 'identity.token':
      if (mode === 'exit-on-call') {
        process.stderr.write('panic: lost the connection to the database\\n');
        process.exit(7);
      }
      if (args.user_id === '@bad:x') return say({ id, ok: true, result: { tok: 'x' } });
      return say({ id, ok: true, result: { token: 'tok-' + args.user_id } });
    case 'identity.bind':
      return say({ id, ok: false, error: { code: 'failed', message: 'no such user ' + args.user_id } });
    case 'identity.rotate_pepper':
      return say({ id, ok: false, error: { code: 'unknown_verb', message: 'not in this build' } });
    case 'identity.retire_pepper':
      return process.stdout.write('Traceback (most recent call last): oops\\n');
    case 'identity.expiring_token':
      return; // never answers
  }
});
lines.on('close', () => {
  if (mode !== 'stubborn' && mode !== 'ignore-sigterm') process.exit(0);
});
`;
const program = join(dir, 'fake-driver.mjs');
writeFileSync(program, FAKE);

const drivers: Driver[] = [];
let counter = 0;

function fake(
  mode: string,
  timeoutMs = 10_000,
): { driver: Driver; pid: () => number; log: () => string[] } {
  const n = counter++;
  const pidFile = join(dir, `pid${n}`);
  const logFile = join(dir, `log${n}`);
  writeFileSync(logFile, '');
  const driver = commandDriver({
    command: [process.execPath, program],
    env: { MODE: mode, PIDFILE: pidFile, LOG: logFile },
    timeoutMs,
    server: { serverName: 'is.example', baseUrl: 'http://127.0.0.1:9' },
  });
  drivers.push(driver);
  return {
    driver,
    pid: () => Number(readFileSync(pidFile, 'utf8')),
    log: () =>
      readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => l !== ''),
  };
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-error: ${String(error)}`);
  }
  throw new Error('expected a rejection, got a result');
}

afterAll(async () => {
  await Promise.all(drivers.map((d) => d.close()));
});

describe('the command driver protocol against a fake driver program', () => {
  test('hello sends protocol, server and verbs, and the answer lists the verbs fedconn knows', async () => {
    const f = fake('normal');
    const verbs = await f.driver.verbs();
    // identity.frobnicate is no verb of fedconn's; identity.push is not listed by the program.
    expect([...verbs].sort()).toEqual(
      [
        'identity.bind',
        'identity.expiring_token',
        'identity.retire_pepper',
        'identity.rotate_pepper',
        'identity.token',
      ].sort(),
    );
    expect(f.driver.kind).toBe('command');
    const [hello] = f.log().map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(hello).toEqual({
      id: 1,
      verb: 'hello',
      args: {
        protocol: 1,
        server_name: 'is.example',
        base_url: 'http://127.0.0.1:9',
        verbs: VERB_NAMES,
      },
    });
    // The program is started once: a second verbs() sends no second hello.
    await f.driver.verbs();
    expect(f.log()).toHaveLength(1);
    await f.driver.close();
  });

  test('a listed verb answered ok returns its result, sent as {id, verb, args}', async () => {
    const f = fake('normal');
    expect(await f.driver.call('identity.token', { user_id: '@a:is.example' })).toEqual({
      token: 'tok-@a:is.example',
    });
    const requests = f.log().map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(requests[1]).toEqual({
      id: 2,
      verb: 'identity.token',
      args: { user_id: '@a:is.example' },
    });
    await f.driver.close();
  });

  test('a verb the program does not list is DriverUnsupported (a skip) saying to add the verb, and is never sent', async () => {
    const f = fake('normal');
    const error = await rejection(
      f.driver.call('identity.push', { destination: 'hs2.example', addresses: [] }),
    );
    expect(error).toBeInstanceOf(DriverUnsupported);
    if (!(error instanceof CheckSkipped)) throw error;
    const reason = error.reason;
    expect(reason).toContain('the command driver cannot identity.push');
    expect(reason).toContain('does not list it in its hello answer');
    expect(reason).toContain('add the verb to your command driver');
    expect(f.log().map((l) => (JSON.parse(l) as { verb: string }).verb)).toEqual(['hello']);
    await f.driver.close();
  });

  test('an unknown_verb answer is DriverUnsupported (a skip) saying to add the verb', async () => {
    const f = fake('normal');
    const error = await rejection(f.driver.call('identity.rotate_pepper', {}));
    if (!(error instanceof DriverUnsupported)) throw error;
    expect(error.reason).toMatch(
      /cannot identity\.rotate_pepper: .* answered unknown_verb; add the verb to your command driver/,
    );
    await f.driver.close();
  });

  test('{"ok": false} is DriverFailed carrying the code and the message', async () => {
    const f = fake('normal');
    const error = await rejection(
      f.driver.call('identity.bind', { medium: 'email', address: 'a@b.c', user_id: '@u:x' }),
    );
    expect(error).toBeInstanceOf(DriverFailed);
    expect(error).not.toBeInstanceOf(CheckSkipped);
    expect(error.message).toBe('driver command: identity.bind failed: failed: no such user @u:x');
    // The driver still works after a refused verb.
    expect(await f.driver.call('identity.token', { user_id: '@b:x' })).toEqual({
      token: 'tok-@b:x',
    });
    await f.driver.close();
  });

  test('a result that does not fit the verb is DriverFailed naming the field', async () => {
    const f = fake('normal');
    const error = await rejection(f.driver.call('identity.token', { user_id: '@bad:x' }));
    expect(error).toBeInstanceOf(DriverFailed);
    expect(error.message).toMatch(/identity\.token failed: answered \{"tok":"x"\}: token: /);
    await f.driver.close();
  });

  test('a line that is not JSON is DriverFailed quoting the line', async () => {
    const f = fake('normal');
    const error = await rejection(f.driver.call('identity.retire_pepper', { pepper: 'p' }));
    expect(error).toBeInstanceOf(DriverFailed);
    expect(error.message).toContain('printed a line that is not JSON');
    expect(error.message).toContain('Traceback (most recent call last): oops');
    await f.driver.close();
  });

  test('a verb never answered is DriverFailed within timeout_ms', async () => {
    // Long enough for the program to start and answer hello on a loaded CI machine (at
    // 300 ms, hello itself timed out there once).
    const f = fake('normal', 2_000);
    await f.driver.verbs();
    const start = performance.now();
    const error = await rejection(
      f.driver.call('identity.expiring_token', { user_id: '@u:x', expires_in_ms: 1000 }),
    );
    const elapsed = performance.now() - start;
    expect(error).toBeInstanceOf(DriverFailed);
    expect(error.message).toMatch(/gave no answer to request 2 within 2000 ms/);
    expect(elapsed).toBeGreaterThanOrEqual(1_990);
    expect(elapsed).toBeLessThan(2_000 + 3000);
    await f.driver.close();
  });

  test('a program that never answers hello is DriverFailed within timeout_ms', async () => {
    const f = fake('silent', 300);
    const start = performance.now();
    const error = await rejection(f.driver.call('identity.token', { user_id: '@u:x' }));
    expect(error).toBeInstanceOf(DriverFailed);
    expect(error.message).toMatch(/^driver command: hello failed: .* gave no answer .* 300 ms$/);
    expect(performance.now() - start).toBeLessThan(300 + 3000);
    await f.driver.close();
  });

  test('an aborted call is DriverFailed at once, not at the timeout', async () => {
    const f = fake('normal', 20_000);
    await f.driver.verbs();
    const controller = new AbortController();
    const start = performance.now();
    const pending = rejection(
      f.driver.call(
        'identity.expiring_token',
        { user_id: '@u:x', expires_in_ms: 1000 },
        controller.signal,
      ),
    );
    setTimeout(() => {
      controller.abort();
    }, 50);
    const error = await pending;
    expect(error).toBeInstanceOf(DriverFailed);
    expect(error.message).toContain('aborted');
    expect(performance.now() - start).toBeLessThan(5000);
    await f.driver.close();
  });

  test('a hello with the wrong protocol is DriverFailed naming the field', async () => {
    const f = fake('bad-hello');
    const error = await rejection(f.driver.verbs());
    expect(error).toBeInstanceOf(DriverFailed);
    expect(error.message).toMatch(/hello failed: .*answered hello with .*protocol must be 1/);
    await f.driver.close();
  });

  test('a refused hello is DriverFailed with the program’s message', async () => {
    const f = fake('refuse-hello');
    const error = await rejection(f.driver.verbs());
    expect(error).toBeInstanceOf(DriverFailed);
    expect(error.message).toBe('driver command: hello failed: failed: set MY_TOKEN');
    await f.driver.close();
  });

  test('a program that exits on a call is DriverFailed quoting its exit code and stderr; later calls fail at once', async () => {
    const f = fake('exit-on-call');
    await f.driver.verbs();
    const error = await rejection(f.driver.call('identity.token', { user_id: '@u:x' }));
    expect(error).toBeInstanceOf(DriverFailed);
    expect(error.message).toContain('exited (code 7)');
    expect(error.message).toContain('panic: lost the connection to the database');
    const start = performance.now();
    const again = await rejection(f.driver.call('identity.token', { user_id: '@u:x' }));
    expect(again).toBeInstanceOf(DriverFailed);
    expect(again.message).toContain('exited (code 7)');
    expect(performance.now() - start).toBeLessThan(1000);
    expect(running(f.pid())).toBe(false);
    await f.driver.close();
  });

  test('a program that exits at start is DriverFailed for hello, quoting its stderr', async () => {
    const f = fake('crash-at-start');
    const error = await rejection(f.driver.verbs());
    expect(error).toBeInstanceOf(DriverFailed);
    expect(error.message).toMatch(/^driver command: hello failed: .* exited \(code 3\)/);
    expect(error.message).toContain('fatal: cannot open database /nonexistent/tom.db');
    await f.driver.close();
  });

  test('a program that cannot be started is DriverFailed naming it', async () => {
    const driver = commandDriver({
      command: [join(dir, 'no-such-program')],
      server: { serverName: 'is.example', baseUrl: 'http://127.0.0.1:9' },
      timeoutMs: 5000,
    });
    drivers.push(driver);
    const error = await rejection(driver.verbs());
    expect(error).toBeInstanceOf(DriverFailed);
    expect(error.message).toContain('no-such-program');
    await driver.close();
  });

  test('close() ends a cooperative program at end of input, and is safe to call twice', async () => {
    const f = fake('normal');
    await f.driver.verbs();
    const pid = f.pid();
    expect(running(pid)).toBe(true);
    await f.driver.close();
    expect(running(pid)).toBe(false);
    await f.driver.close();
  });

  test('close() stops a program that ignores end of input', async () => {
    const f = fake('stubborn');
    await f.driver.verbs();
    const pid = f.pid();
    await f.driver.close();
    expect(running(pid)).toBe(false);
  });

  test('close() kills a program that ignores end of input and SIGTERM', async () => {
    const f = fake('ignore-sigterm');
    await f.driver.verbs();
    const pid = f.pid();
    const start = performance.now();
    await f.driver.close();
    expect(running(pid)).toBe(false);
    expect(performance.now() - start).toBeLessThan(15_000);
  }, 20_000);

  test('close() of a driver never started starts nothing', async () => {
    const f = fake('normal');
    await f.driver.close();
    expect(f.log()).toEqual([]);
  });
});

// (b) The example command driver through the real runner, against the reference over HTTP.

const EXAMPLE = [process.execPath, 'examples/command-driver/fedconn-provisioning.mjs'];
const FAMILIES = ['IS-LOOKUP', 'IS-FED', 'IS-PUSH'];
const SERVERS = ['hs1.example', 'hs2.example', 'hs3.example'];

/** The served config with every server's driver replaced by the example command driver. */
function throughCommandDriver(served: TargetConfig): TargetConfig {
  const file = toFile(served) as { servers: Record<string, unknown>[] };
  const token = served.servers[0]?.driver.kind === 'fedconn' ? served.servers[0].driver : undefined;
  if (token === undefined) throw new Error('the served config has no fedconn driver');
  const rewritten = {
    ...file,
    servers: file.servers.map((s) => ({
      ...s,
      driver: {
        kind: 'command',
        command: EXAMPLE,
        env: { FEDCONN_PROVISIONING_TOKEN: token.provisioning_token },
      },
    })),
  };
  const parsed = parseTargetConfig(JSON.stringify(rewritten), 'command.json');
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}

async function runIdentity(
  config: TargetConfig,
  rules: (id: string) => boolean,
  label: string,
): Promise<RunReport> {
  const target = httpTarget(config, { timeoutMs: 10_000, label });
  try {
    return await runChecks({
      target,
      checks: CHECKS,
      profiles: PROFILES,
      seed: 7,
      runs: 1,
      timeoutMs: 30_000,
      selected: (r) => rules(r.id),
      expectedToFail: new Set(),
      strict: false,
      repro: (rule) => `fedconn run --rules ${rule}`,
      version: 'test',
    });
  } finally {
    await target.close();
  }
}

// What the reference over HTTP gets through the command driver, as observed: every rule
// passes but IS-PUSH-03, which needs a signer whose key the target can fetch (an impostor
// on the sim target, or a trusted peer address the reference does not declare).
const OBSERVED_STATUSES = new Set(['pass', 'skip']);
const EXPECTED_SKIPS = ['IS-PUSH-03'];

const hasServerRole = (id: string) =>
  RULES.find((r) => r.id === id)?.roles.some((r) => r !== 'CLIENT');
const inFamilies = (id: string) => FAMILIES.some((f) => id.startsWith(`${f}-`));

describe('the example command driver against the reference over HTTP', () => {
  let served: ServedFederation;
  let report: RunReport;
  beforeAll(async () => {
    served = await serveFederation({
      servers: inProfile(SERVERS, 'multi-device'),
      seed: 'command driver',
      services: ALL_SERVICES,
    });
    report = await runIdentity(throughCommandDriver(served.config), inFamilies, 'http (command)');
  }, 120_000);
  afterAll(async () => {
    await served.close();
  });

  test('the driver config keeps the served roles: every role, reference trust', () => {
    const config = throughCommandDriver(served.config);
    expect(config.servers.map((s) => s.roles)).toEqual(served.config.servers.map((s) => s.roles));
    expect(config.servers.map((s) => s.driver.kind)).toEqual(['command', 'command', 'command']);
  });

  test('every IS-LOOKUP, IS-FED and IS-PUSH rule with a server role passes, or skips with a reason', () => {
    const rules = report.rules.filter((r) => inFamilies(r.id) && hasServerRole(r.id));
    expect(rules.length).toBeGreaterThanOrEqual(18);
    const statuses = Object.fromEntries(rules.map((r) => [r.id, r.status]));
    console.log(
      'command driver, reference over HTTP:',
      rules.map((r) => `${r.id} ${r.status}${r.note === undefined ? '' : ` (${r.note})`}`),
    );
    const broken = rules
      .filter((r) => r.status !== 'pass' && r.status !== 'skip')
      .map((r) => `${r.id}: ${r.status} ${r.failures[0]?.message ?? r.note ?? ''}`);
    expect(broken).toEqual([]);
    for (const r of rules.filter((x) => x.status === 'skip'))
      expect(r.note?.length ?? 0, `${r.id} skips without a reason`).toBeGreaterThan(10);
    expect(new Set(Object.values(statuses))).toEqual(OBSERVED_STATUSES);
    expect(
      rules
        .filter((r) => r.status === 'skip')
        .map((r) => r.id)
        .sort(),
    ).toEqual(EXPECTED_SKIPS);
  });

  test('the CLIENT-only rules of these families are n/a over HTTP', () => {
    const clientOnly = report.rules.filter((r) => inFamilies(r.id) && !hasServerRole(r.id));
    expect(clientOnly.map((r) => r.id).sort()).toEqual(['IS-FED-04', 'IS-LOOKUP-10']);
    for (const r of clientOnly) expect(r.status).toBe('n/a');
  });

  test('every check execution that ran reached the server through the command driver (no driver error)', () => {
    const errors = report.checks.filter((c) => c.status === 'error');
    expect(errors.map((c) => `${c.check}: ${c.failure?.message ?? ''}`)).toEqual([]);
    expect(report.checks.filter((c) => c.status === 'pass').length).toBeGreaterThanOrEqual(15);
  });
});

describe('the example command driver against mutants of the reference: the violated rule fails', () => {
  const mutants = [
    IDENTITY_SERVER_MUTANTS.ignorePepper,
    IDENTITY_SERVER_MUTANTS.acceptRetiredPepper,
    IDENTITY_SERVER_MUTANTS.acceptUntrustedPush,
    IDENTITY_SERVER_MUTANTS.ignorePushPepper,
    IDENTITY_SERVER_MUTANTS.storeNothing,
  ];
  const federations: ServedFederation[] = [];
  afterAll(async () => {
    await Promise.all(federations.map((f) => f.close()));
  });

  test.each(mutants)(
    '%s',
    async (mutant) => {
      const rule = mutant.split('/')[0] ?? '';
      expect(getRule(rule as Parameters<typeof getRule>[0]).id).toBe(rule);
      const served = await serveFederation({
        servers: inProfile(SERVERS, 'multi-device'),
        seed: `command driver ${mutant}`,
        services: ALL_SERVICES,
        mutants: [mutant],
      });
      federations.push(served);
      const report = await runIdentity(
        throughCommandDriver(served.config),
        (id) => id === rule,
        `http (command, ${mutant})`,
      );
      const verdict = report.rules.find((r) => r.id === rule);
      expect(
        verdict?.status,
        `${rule}: ${verdict?.note ?? ''} ${verdict?.failures[0]?.message ?? ''}`,
      ).toBe('fail');
      expect(verdict?.failures[0]?.message.length).toBeGreaterThan(10);
      expect(report.exitCode).toBe(1);
      await served.close();
    },
    60_000,
  );
});
