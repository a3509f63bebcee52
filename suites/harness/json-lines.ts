// A program fedconn talks to in JSON lines over its stdin and stdout: the command driver
// (docs/drivers.md) and the client driver (docs/client-driver.md) both speak it. One JSON
// object per line. fedconn's requests are {"id", "verb", "args"}; the program answers
// {"id", "ok": true, "result"} or {"id", "ok": false, "error": {"code", "message"}}.
// A program may ask fedconn too (the client driver's user decisions): a line of its own
// with "verb" is a request, answered on the program's stdin with the same "id".
//
// Whatever the program does (dies, hangs, prints garbage), every request settles: with its
// answer, or with a JsonLinesError naming what went wrong, within the timeout.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { z } from 'zod';

const answerSchema = z.union([
  z.object({ id: z.number(), ok: z.literal(true), result: z.unknown() }),
  z.object({
    id: z.number(),
    ok: z.literal(false),
    error: z.object({ code: z.string(), message: z.string() }),
  }),
]);

const requestSchema = z.object({ id: z.number(), verb: z.string(), args: z.unknown() });

/** A request that did not get a successful answer; `code` is the program's, if it answered. */
export class JsonLinesError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'JsonLinesError';
  }
}

export interface JsonLinesOptions {
  readonly command: readonly string[];
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** How long each answer may take, in ms. */
  readonly timeoutMs: number;
  /** Answers the program's own requests; an error thrown is sent back as `failed`. */
  readonly onRequest?: (verb: string, args: unknown) => Promise<unknown>;
}

export interface JsonLinesProcess {
  /** `command` as one string, for messages. */
  readonly shown: string;
  /** `timeoutMs` overrides the process's own for this request. */
  request(verb: string, args: unknown, signal?: AbortSignal, timeoutMs?: number): Promise<unknown>;
  /** Closes stdin (which means stop), then SIGTERM after 2 s and SIGKILL after 5 s. */
  close(): Promise<void>;
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** Starts the program; the first request is the caller's (`hello` in both protocols). */
export function startJsonLines(options: JsonLinesOptions): JsonLinesProcess {
  const shown = options.command.join(' ');
  const [program, ...args] = options.command;
  let exited: string | undefined;
  let stderrTail = '';
  let nextId = 1;
  const pending = new Map<number, Pending>();

  const failAll = (why: string) => {
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      p.reject(new JsonLinesError(why));
      pending.delete(id);
    }
  };

  const proc: ChildProcessWithoutNullStreams = spawn(program ?? '', args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
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
  // 'close', not 'exit': by then stdout and stderr are read to the end, so a last answer
  // is taken and the stderr tail quoted is whole.
  proc.on('close', (code, sig) => {
    exited ??= `${shown} exited (${sig ?? `code ${code ?? '?'}`})${stderrTail === '' ? '' : `; its last output: ${stderrTail.trim().split('\n').slice(-3).join(' | ')}`}`;
    failAll(exited);
  });
  const write = (message: unknown) => {
    if (exited === undefined) proc.stdin.write(`${JSON.stringify(message)}\n`);
  };

  const answerProgram = async (id: number, verb: string, args: unknown) => {
    try {
      if (options.onRequest === undefined) throw new Error(`fedconn takes no requests`);
      write({ id, ok: true, result: await options.onRequest(verb, args) });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      write({ id, ok: false, error: { code: 'failed', message } });
    }
  };

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
    const asked = requestSchema.safeParse(value);
    if (asked.success) {
      void answerProgram(asked.data.id, asked.data.verb, asked.data.args);
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
    else
      p.reject(
        new JsonLinesError(
          `${answer.data.error.code}: ${answer.data.error.message}`,
          answer.data.error.code,
        ),
      );
  });

  return {
    shown,
    request(verb, args, signal, timeoutMs = options.timeoutMs) {
      if (exited !== undefined) return Promise.reject(new JsonLinesError(exited));
      if (signal?.aborted === true)
        return Promise.reject(new JsonLinesError('aborted (the check’s deadline passed)'));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const onAbort = () => {
          clearTimeout(timer);
          if (pending.delete(id))
            reject(new JsonLinesError('aborted (the check’s deadline passed)'));
        };
        // Whichever way it settles, the request lets go of the signal.
        const settle =
          <T>(f: (value: T) => void) =>
          (value: T) => {
            signal?.removeEventListener('abort', onAbort);
            f(value);
          };
        const timer = setTimeout(() => {
          pending.delete(id);
          signal?.removeEventListener('abort', onAbort);
          reject(
            new JsonLinesError(`${shown} gave no answer to request ${id} within ${timeoutMs} ms`),
          );
        }, timeoutMs);
        pending.set(id, { resolve: settle(resolve), reject: settle(reject), timer });
        signal?.addEventListener('abort', onAbort, { once: true });
        write({ id, verb, args });
      });
    },
    async close() {
      // Gone already (its 'close' may still be on its way): nothing to wait for.
      if (exited !== undefined || proc.exitCode !== null || proc.signalCode !== null) return;
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
