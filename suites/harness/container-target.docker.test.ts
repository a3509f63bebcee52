// --target container against a real Docker engine: the reference image is built
// (scripts/build-image.sh, a few seconds), started with testcontainers, checked
// over HTTP and removed. Without a reachable engine the tests are skipped, with
// the reason in their names and on stderr, so they never pass unseen.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Io } from '../../cli/io.ts';
import { main } from '../../cli/main.ts';
import { startContainerTarget } from './container-target.ts';

const IMAGE = `fedconn-vitest:${process.pid}`;
const work = mkdtempSync(join(tmpdir(), 'fedconn-docker-test-'));
const outDir = (name: string) => {
  const dir = join(work, name);
  mkdirSync(dir);
  return dir;
};
const RULES = ['CRED-CHAIN-02', 'CONN-DISC-01', 'FED-KEYS-03', 'IS-LOOKUP-02'];

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', timeout: 30_000, stdio: 'pipe' }).trim();
}

function engineMissing(): string | undefined {
  try {
    docker('info', '--format', '{{.ServerVersion}}');
    return undefined;
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') return 'the docker client is missing (apt-get install docker.io)';
    const why = (e.stderr ?? e.message).trim().split('\n').at(-1) ?? '';
    return `no Docker engine answers (${why}); start one: dockerd --bridge=none --iptables=false`;
  }
}

const SKIP_REASON = engineMissing();
if (SKIP_REASON !== undefined)
  console.warn(`SKIPPED container target tests against Docker: ${SKIP_REASON}`);
const name = (title: string) =>
  SKIP_REASON === undefined ? title : `${title} (SKIPPED: ${SKIP_REASON})`;

/** Whether the engine still has the container (by id or id prefix), stopped or not. */
const exists = (id: string) => docker('ps', '--all', '--quiet', '--filter', `id=${id}`) !== '';

beforeAll(() => {
  if (SKIP_REASON !== undefined) return;
  execFileSync('bash', ['scripts/build-image.sh', IMAGE], { stdio: 'pipe', timeout: 120_000 });
}, 150_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  if (SKIP_REASON === undefined) docker('image', 'rm', '--force', IMAGE);
});

test.skipIf(SKIP_REASON !== undefined)(
  name('a few rules pass through --target container, and the container is gone afterwards'),
  async () => {
    const out = outDir('run');
    let stdout = '';
    let stderr = '';
    const io: Io = { out: (t) => (stdout += t), err: (t) => (stderr += t), columns: undefined };
    const code = await main(
      [
        'run',
        '--target',
        'container',
        '--image',
        IMAGE,
        '--rules',
        RULES.join(','),
        '--seed',
        '1',
      ].concat(['--out', out]),
      io,
    );
    expect(code, `${stderr}\n${stdout}`).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'conformance.json'), 'utf8')) as {
      target: string;
      rules: { id: string; status: string }[];
    };
    expect(report.target).toBe(`container ${IMAGE}`);
    for (const id of RULES) expect(report.rules.find((r) => r.id === id)?.status, id).toBe('pass');
    const id = /container ([0-9a-f]{12}) started/.exec(stderr)?.[1];
    expect(id, stderr).toBeDefined();
    expect(exists(id ?? '')).toBe(false);
  },
);

test.skipIf(SKIP_REASON !== undefined)(
  name('a container that exits before it is ready is reported with its exit code, and removed'),
  async () => {
    let log = '';
    const started = startContainerTarget({
      image: IMAGE,
      requestTimeoutMs: 5_000,
      startupTimeoutMs: 30_000,
      command: ['/usr/local/bin/node', '-e', 'console.log("giving up"); process.exit(4)'],
      log: (t) => (log += t),
    });
    await expect(started).rejects.toThrow(/exited with code 4 before it was ready[^]*giving up/);
    const id = /container ([0-9a-f]{12}) started/.exec(log)?.[1];
    expect(id, log).toBeDefined();
    expect(exists(id ?? '')).toBe(false);
  },
);

test.skipIf(SKIP_REASON !== undefined)(
  name('Ctrl-C during a run removes the container and ends fedconn with SIGINT, writing no report'),
  async () => {
    const out = outDir('interrupted');
    const child = spawn(
      process.execPath,
      ['cli/bin.js', 'run', '--target', 'container', '--image', IMAGE, '--seed', '1', '--out', out],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => {
        resolve({ code, signal });
      }),
    );
    // Interrupt once the checks are running against the container.
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (stdout.includes('running ') || child.exitCode !== null) {
          clearInterval(poll);
          resolve();
        }
      }, 100);
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    });
    child.kill('SIGINT');
    const { code, signal } = await ended;
    // Killed by SIGINT itself, or exit 130 where another SIGINT listener kept the process alive.
    expect({ code, signal }, stderr).toSatisfy(
      (end: { code: number | null; signal: string | null }) =>
        end.signal === 'SIGINT' || end.code === 130,
    );
    expect(stderr).toContain('SIGINT: stopping the container');
    const id = /container ([0-9a-f]{12}) started/.exec(stderr)?.[1];
    expect(id, stderr).toBeDefined();
    expect(exists(id ?? '')).toBe(false);
    expect(existsSync(join(out, 'conformance.json'))).toBe(false);
  },
);
