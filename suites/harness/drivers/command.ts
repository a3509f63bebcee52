// The command driver: a program the implementer writes, started once per run and
// spoken to in JSON lines over its stdin and stdout (docs/drivers.md). fedconn sends
// one request per line, {"id", "verb", "args"}, and reads one answer per line,
// {"id", "ok": true, "result"} or {"id", "ok": false, "error": {"code", "message"}}.
// The first request is `hello`, whose answer lists the verbs the program knows.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import {
  DriverFailed,
  DriverUnsupported,
  HOW_TO_ADD,
  parseResult,
  VERB_NAMES,
  type Driver,
  type Verb,
  type VerbArgs,
  type VerbResult,
} from './driver.ts';

export const COMMAND_PROTOCOL = 1;

const answerSchema = z.union([
  z.object({ id: z.number(), ok: z.literal(true), result: z.unknown() }),
  z.object({
    id: z.number(),
    ok: z.literal(false),
    error: z.object({ code: z.string(), message: z.string() }),
  }),
]);

const helloSchema = z.object({
  protocol: z.literal(COMMAND_PROTOCOL, { error: `must be ${COMMAND_PROTOCOL}` }),
  verbs: z.array(z.string()),
});

interface Pending {
  readonly verb: Verb | 'hello';
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export function commandDriver(options: {
  readonly command: readonly string[];
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  /** Passed in hello, so one program can serve several servers. */
  readonly server: { readonly serverName: string; readonly baseUrl: string };
}): Driver {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const shown = options.command.join(' ');
  let child: ChildProcessWithoutNullStreams | undefined;
  let started: Promise<ReadonlySet<Verb>> | undefined;
  let exited: string | undefined;
  let stderrTail = '';
  let nextId = 1;
  const pending = new Map<number, Pending>();

  const failAll = (why: string) => {
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      p.reject(new DriverFailed('command', p.verb, why));
      pending.delete(id);
    }
  };

  function send(verb: Verb | 'hello', args: unknown, signal?: AbortSignal): Promise<unknown> {
    const proc = child;
    if (proc === undefined || exited !== undefined)
      return Promise.reject(new DriverFailed('command', verb, exited ?? `${shown} is not running`));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(
          new DriverFailed(
            'command',
            verb,
            `${shown} gave no answer to request ${id} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      pending.set(id, { verb, resolve, reject, timer });
      signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          if (pending.delete(id))
            reject(new DriverFailed('command', verb, 'aborted (the check’s deadline passed)'));
        },
        { once: true },
      );
      proc.stdin.write(`${JSON.stringify({ id, verb, args })}\n`);
    });
  }

  function start(): Promise<ReadonlySet<Verb>> {
    const [program, ...args] = options.command;
    const proc = spawn(program ?? '', args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child = proc;
    proc.stdin.on('error', () => {
      // EPIPE after the program died: the exit handler reports it.
    });
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-2000);
    });
    proc.on('error', (error) => {
      exited = `cannot start ${shown}: ${error.message}`;
      failAll(exited);
    });
    proc.on('exit', (code, sig) => {
      exited = `${shown} exited (${sig ?? `code ${code ?? '?'}`})${stderrTail === '' ? '' : `; its last output: ${stderrTail.trim().split('\n').slice(-3).join(' | ')}`}`;
      failAll(exited);
    });
    const lines = createInterface({ input: proc.stdout });
    lines.on('line', (line) => {
      if (line.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        failAll(`${shown} printed a line that is not JSON: ${line.slice(0, 200)}`);
        return;
      }
      const answer = answerSchema.safeParse(value);
      if (!answer.success) {
        failAll(`${shown} printed an answer without id and ok: ${line.slice(0, 200)}`);
        return;
      }
      const p = pending.get(answer.data.id);
      if (p === undefined) return; // late answer to a request that timed out
      pending.delete(answer.data.id);
      clearTimeout(p.timer);
      if (answer.data.ok) p.resolve(answer.data.result);
      else if (answer.data.error.code === 'unknown_verb' && p.verb !== 'hello')
        p.reject(
          new DriverUnsupported(
            'command',
            p.verb,
            `${shown} answered unknown_verb; ${HOW_TO_ADD.command}`,
          ),
        );
      else
        p.reject(
          new DriverFailed(
            'command',
            p.verb,
            `${answer.data.error.code}: ${answer.data.error.message}`,
          ),
        );
    });
    return send('hello', {
      protocol: COMMAND_PROTOCOL,
      server_name: options.server.serverName,
      base_url: options.server.baseUrl,
      verbs: VERB_NAMES,
    }).then((result) => {
      const hello = helloSchema.safeParse(result);
      if (!hello.success) {
        throw new DriverFailed(
          'command',
          'hello',
          `${shown} answered hello with ${JSON.stringify(result)}: ${hello.error.issues[0]?.path.join('.') ?? ''} ${hello.error.issues[0]?.message ?? ''}`,
        );
      }
      return new Set(VERB_NAMES.filter((v) => hello.data.verbs.includes(v)));
    });
  }

  const verbs = () => (started ??= start());

  return {
    kind: 'command',
    verbs,
    async call<V extends Verb>(
      verb: V,
      args: VerbArgs[V],
      signal?: AbortSignal,
    ): Promise<VerbResult<V>> {
      const known = await verbs();
      if (!known.has(verb))
        throw new DriverUnsupported(
          'command',
          verb,
          `${shown} does not list it in its hello answer; ${HOW_TO_ADD.command}`,
        );
      return parseResult('command', verb, await send(verb, args, signal));
    },
    async close() {
      const proc = child;
      if (proc === undefined || exited !== undefined) return;
      // End of input asks the program to stop; a program that does not is stopped.
      const gone = new Promise<void>((resolve) =>
        proc.once('exit', () => {
          resolve();
        }),
      );
      proc.stdin.end();
      const kill = setTimeout(() => proc.kill('SIGTERM'), 2_000);
      const hard = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(kill);
      clearTimeout(hard);
    },
  };
}
