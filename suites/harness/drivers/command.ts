// The command driver: a program the implementer writes, started once per run and
// spoken to in JSON lines over its stdin and stdout (docs/drivers.md). fedconn sends
// one request per line, {"id", "verb", "args"}, and reads one answer per line,
// {"id", "ok": true, "result"} or {"id", "ok": false, "error": {"code", "message"}}.
// The first request is `hello`, whose answer lists the verbs the program knows.
import { z } from 'zod';
import { JsonLinesError, startJsonLines, type JsonLinesProcess } from '../json-lines.ts';
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

const helloSchema = z.object({
  protocol: z.literal(COMMAND_PROTOCOL, { error: `must be ${COMMAND_PROTOCOL}` }),
  verbs: z.array(z.string()),
});

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
  let child: JsonLinesProcess | undefined;
  let started: Promise<ReadonlySet<Verb>> | undefined;

  async function send(verb: Verb | 'hello', args: unknown, signal?: AbortSignal): Promise<unknown> {
    if (child === undefined) throw new DriverFailed('command', verb, `${shown} is not running`);
    try {
      return await child.request(verb, args, signal);
    } catch (error) {
      if (!(error instanceof JsonLinesError)) throw error;
      if (error.code === 'unknown_verb' && verb !== 'hello')
        throw new DriverUnsupported(
          'command',
          verb,
          `${shown} answered unknown_verb; ${HOW_TO_ADD.command}`,
        );
      throw new DriverFailed('command', verb, error.message);
    }
  }

  function start(): Promise<ReadonlySet<Verb>> {
    child = startJsonLines({
      command: options.command,
      timeoutMs,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      ...(options.env === undefined ? {} : { env: options.env }),
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
      await child?.close();
    },
  };
}
