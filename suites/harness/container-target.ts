// The container target: an image started with testcontainers on the host's
// network, then the http target against the servers inside it. fedconn mounts a
// fresh directory at /fedconn; the image is ready once it has written its target
// config there (/fedconn/target.json, the format `fedconn serve` writes). The
// container is stopped and removed at the end, on failure, and on SIGINT/SIGTERM.
// testcontainers is loaded only here, so the other targets never pay for it.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StartedTestContainer } from 'testcontainers';
import { parseTargetConfig, type TargetConfig } from '../../simulator/serve/target-config.ts';
import { openHttpTarget, type Target } from './target.ts';
import { ALL_SERVICES } from '../../simulator/services/index.ts';

/** Where the image writes its target config, inside the container. */
export const CONTAINER_CONFIG_PATH = '/fedconn/target.json';

/** What went wrong: the image (a usage error), or the engine or the container (unreachable). */
export type ContainerProblem = 'image' | 'engine' | 'startup';

export class ContainerTargetError extends Error {
  constructor(
    readonly problem: ContainerProblem,
    message: string,
  ) {
    super(message);
  }
}

export interface ContainerTargetOptions {
  readonly image: string;
  /** Per-request timeout of the http target. */
  readonly requestTimeoutMs: number;
  /** How long the container may take to write its target config. */
  readonly startupTimeoutMs?: number;
  /** Replaces the image's command (tests use it to make containers that never get ready). */
  readonly command?: readonly string[];
  /** Where progress and interruption notes go. */
  readonly log?: (text: string) => void;
}

export interface StartedContainerTarget {
  readonly target: Target;
  readonly containerId: string;
  /** Stops and removes the container; safe to call more than once. */
  readonly stop: () => Promise<void>;
}

const DEFAULT_STARTUP_MS = 60_000;
const POLL_MS = 200;
/** serve stops within milliseconds of SIGTERM; past this the engine kills the container. */
const STOP_GRACE_MS = 5_000;
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** A label on every container fedconn starts, so leftovers can be found (docker ps --filter label=...). */
export const CONTAINER_LABEL = 'org.fedconn.target';

function describe(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).trim();
}

export async function startContainerTarget(
  options: ContainerTargetOptions,
): Promise<StartedContainerTarget> {
  // The reaper (Ryuk) is itself an image to pull, which offline engines cannot;
  // fedconn removes its containers itself. A user may still turn it back on.
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  // Containers share the host's network, so the servers are on this host's
  // loopback; without this, testcontainers running inside a container looks for
  // a "bridge" network that a dockerd started with --bridge=none does not have.
  process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
  const log = options.log ?? (() => undefined);
  const { GenericContainer, ImageName, getContainerRuntimeClient } = await import('testcontainers');

  let client: Awaited<ReturnType<typeof getContainerRuntimeClient>>;
  try {
    client = await getContainerRuntimeClient();
  } catch (error) {
    const where = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
    throw new ContainerTargetError(
      'engine',
      `no container engine answers at ${where} (${describe(error)}); start one, e.g. \`dockerd --bridge=none --iptables=false\`, or set DOCKER_HOST`,
    );
  }

  const imageName = ImageName.fromString(options.image);
  if (!(await client.image.exists(imageName))) {
    let why = 'the registry does not have it';
    try {
      await client.image.pull(imageName);
    } catch (error) {
      why = describe(error);
    }
    if (!(await client.image.exists(imageName))) {
      throw new ContainerTargetError(
        'image',
        `--image: image "${options.image}" is not in the container engine and could not be pulled (${why}); build the reference image with \`npm run image\` (scripts/build-image.sh) or name one that \`docker images\` lists`,
      );
    }
  }

  const dir = mkdtempSync(join(tmpdir(), 'fedconn-container-'));
  const configFile = join(dir, 'target.json');
  let container: StartedTestContainer | undefined;
  let starting: Promise<StartedTestContainer> | undefined;
  let stopping: Promise<void> | undefined;
  let interrupted = false;

  const detach = () => {
    for (const s of SIGNALS) process.off(s, onSignal);
  };
  const stop = (graceMs = STOP_GRACE_MS) =>
    (stopping ??= (async () => {
      detach();
      const started = container ?? (await starting?.catch(() => undefined));
      try {
        await started?.stop({ timeout: graceMs, remove: true });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    })());
  // Ctrl-C or a CI runner's SIGTERM: kill the container at once (the run is
  // abandoned, so nothing in it matters), then die of the same signal (or exit
  // 128+n where someone else also listens for it).
  function onSignal(signal: NodeJS.Signals) {
    interrupted = true;
    log(`fedconn: ${signal}: stopping the container of ${options.image}\n`);
    void stop(0)
      .catch((error: unknown) => {
        log(`fedconn: could not stop the container: ${describe(error)}\n`);
      })
      .finally(() => {
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
        else process.exit(signal === 'SIGINT' ? 130 : 143);
      });
  }
  for (const s of SIGNALS) process.on(s, onSignal);

  try {
    let definition = new GenericContainer(options.image)
      .withNetworkMode('host')
      .withBindMounts([{ source: dir, target: '/fedconn', mode: 'rw' }])
      .withLabels({ [CONTAINER_LABEL]: 'container' });
    if (options.command !== undefined) definition = definition.withCommand([...options.command]);
    starting = definition.start();
    try {
      container = await starting;
    } catch (error) {
      throw new ContainerTargetError(
        'startup',
        `the container of ${options.image} did not start: ${describe(error)}`,
      );
    }
    log(`container ${container.getId().slice(0, 12)} started from ${options.image}\n`);
    const config = await awaitConfig(
      container,
      configFile,
      options.image,
      options.startupTimeoutMs ?? DEFAULT_STARTUP_MS,
      async () => {
        const id = container?.getId() ?? '';
        const state = (await client.container.inspect(client.container.getById(id))).State;
        return state.Running ? undefined : state.ExitCode;
      },
    );
    const target = await openHttpTarget(config, {
      timeoutMs: options.requestTimeoutMs,
      label: `container ${options.image}`,
      services: ALL_SERVICES,
      log,
    });
    return {
      target: {
        ...target,
        kind: 'container',
        // The container runs on the host's network (--network host), so its servers reach
        // fedconn's peers on loopback, and fedconn provisions them as over http.
        // Once interrupted, no further check starts: the run stalls until the
        // container is gone and the process dies, instead of failing every rule
        // against a vanished server and writing reports of it.
        open: async (o) => (interrupted ? new Promise<never>(() => undefined) : target.open(o)),
      },
      containerId: container.getId(),
      stop: () => stop(),
    };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

/** Polls for the target config until it is valid, the container exits, or time runs out. */
async function awaitConfig(
  container: StartedTestContainer,
  file: string,
  image: string,
  timeoutMs: number,
  exitCode: () => Promise<number | undefined>,
): Promise<TargetConfig> {
  const deadline = performance.now() + timeoutMs;
  let last = `it wrote no ${CONTAINER_CONFIG_PATH}`;
  for (;;) {
    if (existsSync(file)) {
      const parsed = parseTargetConfig(readFileSync(file, 'utf8'), CONTAINER_CONFIG_PATH);
      if (parsed.ok) return parsed.value;
      // The file may be half written: keep polling, and report the error at the deadline.
      last = parsed.error.message;
    }
    const code = await exitCode();
    if (code !== undefined) {
      throw new ContainerTargetError(
        'startup',
        `the container of ${image} exited with code ${code} before it was ready (${last}); its last output:\n${await tail(container)}`,
      );
    }
    if (performance.now() > deadline) {
      throw new ContainerTargetError(
        'startup',
        `the container of ${image} was not ready after ${(timeoutMs / 1000).toFixed(0)} s (${last}); its last output:\n${await tail(container)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** The container's last log lines, for error messages. */
async function tail(container: StartedTestContainer): Promise<string> {
  try {
    const stream = await container.logs({ tail: 20 });
    const chunks: string[] = [];
    // logs() follows the output; a running container never ends the stream.
    await new Promise<void>((resolve) => {
      const done = setTimeout(resolve, 1_000);
      stream.on('data', (chunk: string | Buffer) => chunks.push(chunk.toString()));
      stream.on('end', () => {
        clearTimeout(done);
        resolve();
      });
      stream.on('error', () => {
        clearTimeout(done);
        resolve();
      });
    });
    stream.destroy();
    const text = chunks.join('').trimEnd();
    return text === '' ? '  (nothing)' : text.replace(/^/gm, '  ');
  } catch (error) {
    return `  (logs unavailable: ${describe(error)})`;
  }
}
