// The container target's lifecycle and error cases without a Docker engine:
// testcontainers is replaced by a fake engine, so these run everywhere. The
// same paths against a real engine are in container-target.docker.test.ts.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, test, vi } from 'vitest';
import type { Io } from '../../cli/io.ts';
import { main } from '../../cli/main.ts';
import { ContainerTargetError, startContainerTarget } from './container-target.ts';
import { capturedIo } from '../../cli/captured-io.ts';

interface FakeEngine {
  /** Why no engine answers, or undefined when one does. */
  down: string | undefined;
  images: Set<string>;
  /** What the container does once started. */
  behaviour: 'write-config' | 'silent' | 'exit';
  started: number;
  stopped: number;
  mountDir: string | undefined;
}

const engine = vi.hoisted((): FakeEngine => ({
  down: undefined,
  images: new Set(),
  behaviour: 'write-config',
  started: 0,
  stopped: 0,
  mountDir: undefined,
}));

const CONFIG = {
  fedconn: 1,
  profile: 'aliases',
  servers: [
    { server_name: 'hs1.example', base_url: 'http://127.0.0.1:1', provisioning_token: 't' },
  ],
};

vi.mock('testcontainers', async () => {
  const { Readable } = await import('node:stream');
  let running = false;
  class GenericContainer {
    constructor(readonly image: string) {}
    withNetworkMode() {
      return this;
    }
    withLabels() {
      return this;
    }
    withCommand() {
      return this;
    }
    withBindMounts(mounts: { source: string }[]) {
      engine.mountDir = mounts[0]?.source;
      return this;
    }
    start() {
      engine.started++;
      running = engine.behaviour !== 'exit';
      if (engine.behaviour === 'write-config' && engine.mountDir !== undefined)
        writeFileSync(join(engine.mountDir, 'target.json'), JSON.stringify(CONFIG));
      return Promise.resolve({
        getId: () => 'f00dfeedcafe0001',
        logs: () => Promise.resolve(Readable.from(['listening on nothing\n'])),
        stop: () => {
          engine.stopped++;
          running = false;
          return Promise.resolve({});
        },
      });
    }
  }
  return {
    GenericContainer,
    ImageName: { fromString: (string: string) => ({ string }) },
    getContainerRuntimeClient: () =>
      engine.down === undefined
        ? Promise.resolve({
            image: {
              exists: (name: { string: string }) => Promise.resolve(engine.images.has(name.string)),
              pull: () => Promise.reject(new Error('pull access denied for nope/missing')),
            },
            container: {
              getById: (id: string) => ({ id }),
              inspect: () => Promise.resolve({ State: { Running: running, ExitCode: 4 } }),
            },
          })
        : Promise.reject(new Error(engine.down)),
  };
});

const capture = capturedIo;

beforeEach(() => {
  Object.assign(engine, {
    down: undefined,
    images: new Set(['fedconn-ref:latest']),
    behaviour: 'write-config',
    started: 0,
    stopped: 0,
    mountDir: undefined,
  });
});

describe('fedconn run --target container, errors that need no engine', () => {
  test('no engine answers: exit 3, naming the engine and how to start one; nothing is started', async () => {
    engine.down = 'Could not find a working container runtime strategy';
    const io = capture();
    expect(await main(['run', '--target', 'container', '--image', 'fedconn-ref:latest'], io)).toBe(
      3,
    );
    expect(io.stderr()).toMatch(/target unreachable: no container engine answers at \S+/);
    expect(io.stderr()).toContain('Could not find a working container runtime strategy');
    expect(io.stderr()).toContain('dockerd --bridge=none --iptables=false');
    expect(engine.started).toBe(0);
  });

  test('an image the engine lacks and cannot pull: exit 2, naming --image, the image and the pull error', async () => {
    const io = capture();
    expect(await main(['run', '--target', 'container', '--image', 'nope/missing:1'], io)).toBe(2);
    expect(io.stderr()).toMatch(/--image: image "nope\/missing:1" is not in the container engine/);
    expect(io.stderr()).toContain('pull access denied');
    expect(io.stderr()).toContain('npm run image');
    expect(engine.started).toBe(0);
  });

  test('a container that exits before writing its config: exit 3 with its exit code and output; it is removed', async () => {
    engine.behaviour = 'exit';
    const io = capture();
    expect(await main(['run', '--target', 'container', '--image', 'fedconn-ref:latest'], io)).toBe(
      3,
    );
    expect(io.stderr()).toMatch(/exited with code 4 before it was ready/);
    expect(io.stderr()).toContain('wrote no /fedconn/target.json');
    expect(io.stderr()).toContain('listening on nothing');
    expect(engine.stopped).toBe(1);
    expect(existsSync(engine.mountDir ?? '')).toBe(false);
  });

  test('--list names the image without starting a container', async () => {
    let out = '';
    const io: Io = { out: (t) => (out += t), err: () => undefined, columns: undefined };
    expect(
      await main(['run', '--list', '--json', '--target', 'container', '--image', 'x:1'], io),
    ).toBe(0);
    expect((JSON.parse(out) as { target: string }).target).toBe('container x:1');
    expect(engine.started).toBe(0);
  });
});

describe('startContainerTarget', () => {
  test('a container that never writes its config times out as not ready, and is stopped', async () => {
    engine.behaviour = 'silent';
    const started = startContainerTarget({
      image: 'fedconn-ref:latest',
      requestTimeoutMs: 1_000,
      startupTimeoutMs: 300,
    });
    await expect(started).rejects.toThrow(ContainerTargetError);
    await expect(started).rejects.toThrow(/was not ready after 0 s \(it wrote no/);
    expect(engine.stopped).toBe(1);
  });

  test('a ready container yields an http target named after the image (one aliases server: fedconn plays the other); stop is idempotent and removes the mount', async () => {
    const listeners = process.listenerCount('SIGINT');
    const started = await startContainerTarget({
      image: 'fedconn-ref:latest',
      requestTimeoutMs: 1_000,
    });
    expect(started.target.kind).toBe('container');
    expect(started.target.label).toMatch(
      /^container fedconn-ref:latest with fedconn's localhost:\d+ \(aliases\)$/,
    );
    expect(started.target.phoenixProfiles).toEqual(['aliases']);
    const instance = await started.target.open({ seed: 's', profile: 'aliases' });
    expect(instance.servers.map((s) => s.origin)).toEqual([
      'http://127.0.0.1:1',
      expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+$/),
    ]);
    await instance.close();
    await started.target.close();
    // Ctrl-C stops the container while it runs; afterwards the handler is gone.
    expect(process.listenerCount('SIGINT')).toBe(listeners + 1);
    await Promise.all([started.stop(), started.stop()]);
    expect(engine.stopped).toBe(1);
    expect(process.listenerCount('SIGINT')).toBe(listeners);
    expect(existsSync(engine.mountDir ?? '')).toBe(false);
  });
});
