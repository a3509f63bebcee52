// `fedconn run --workers N`: the run as N shards (`--shard K/N`), one per core: N-1 in child
// processes and the last in this process, joined as `fedconn merge` joins them. Each check
// already has its own seed, so the verdicts, counterexamples and reports are those of a
// one-worker run of the seed (suites/harness/merge.test.ts). Every shard reports progress
// as JSON lines; the parent shows one progress of the whole run.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mergeShards, readShard } from '../../suites/harness/merge.ts';
import type { CheckResult, RunReport } from '../../suites/harness/report.ts';
import type { ProgressEvent } from '../../suites/harness/runner.ts';
import { EXIT, type Io } from '../io.ts';

const BIN = fileURLToPath(new URL('../bin.js', import.meta.url));

/** A progress line a child writes (`--events`), one JSON object per line. */
export type WorkerEvent =
  | { readonly type: 'start'; readonly total: number }
  | { readonly type: 'check-end'; readonly result: CheckResult };

/**
 * The merged report of the run, or the exit code of a worker that could not run (usage,
 * unreachable, crash), whose message is already on standard error.
 */
export async function runInWorkers(options: {
  /** The run's own arguments, less --workers, --shard, --out and output options. */
  readonly args: readonly string[];
  readonly count: number;
  readonly onProgress: (event: ProgressEvent) => void;
  readonly io: Io;
}): Promise<RunReport | number> {
  const dir = mkdtempSync(join(tmpdir(), 'fedconn-workers-'));
  const children: ChildProcess[] = [];
  const stop = () => {
    for (const child of children) child.kill('SIGTERM');
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const started = Date.now();
    const totals = new Map<number, number>();
    let done = 0;
    // Results that end before every worker has said how many it runs wait for the total.
    const early: CheckResult[] = [];
    const ended = (result: CheckResult) => {
      options.onProgress({ type: 'check-end', index: done++, total: sum(totals), result });
    };
    /** Feeds a worker's output, chunk by chunk, to the progress of the whole run. */
    const progressOf = (k: number) => {
      let pending = '';
      return (chunk: string) => {
        pending += chunk;
        for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          let event: WorkerEvent;
          try {
            event = JSON.parse(line) as WorkerEvent;
          } catch {
            continue;
          }
          if (event.type === 'start') {
            totals.set(k, event.total);
            if (totals.size === options.count) {
              options.onProgress({ type: 'start', total: sum(totals) });
              for (const result of early.splice(0)) ended(result);
            }
          } else if (totals.size < options.count) {
            early.push(event.result);
          } else {
            ended(event.result);
          }
        }
      };
    };
    const shardArgs = (k: number) => [
      'run',
      ...options.args,
      '--shard',
      `${k + 1}/${options.count}`,
      '--workers',
      '1',
      '--out',
      join(dir, String(k + 1)),
      '--events',
    ];
    // Every shard but the last in a child process; the last in this one, which has already
    // loaded the suite (a child takes about a second to load it before its first check).
    const last = options.count - 1;
    const exits = await Promise.all(
      Array.from({ length: options.count }, async (_, k) => {
        if (k === last) {
          let stderr = '';
          const { main } = await import('../main.ts');
          const code = await main(shardArgs(k), {
            out: progressOf(k),
            err: (text) => {
              stderr += text;
            },
            columns: undefined,
          });
          return { code, stderr };
        }
        const child = spawn(process.execPath, [BIN, ...shardArgs(k)], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        children.push(child);
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', progressOf(k));
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
          stderr += chunk;
        });
        return new Promise<{ code: number | null; stderr: string }>((resolve) => {
          child.on('error', (error) => {
            resolve({ code: null, stderr: `${stderr}${String(error)}` });
          });
          child.on('close', (code) => {
            resolve({ code, stderr });
          });
        });
      }),
    );
    // A worker that could not run (usage, unreachable, crash) makes the run's outcome its own.
    // One whose slice got no verdict (exit 4: a small selection) ran fine; the merge decides.
    const broken = exits.findIndex(
      (e) => e.code === null || (e.code >= 2 && e.code !== EXIT.nothingChecked),
    );
    if (broken >= 0) {
      const exit = exits[broken];
      options.io.err(
        `fedconn: worker ${broken + 1} of ${options.count} failed: ${exit?.stderr.trim() ?? ''}\n`,
      );
      return exit?.code ?? EXIT.failures;
    }
    const files = exits.map((_, k) => join(dir, String(k + 1), 'conformance.json'));
    const merged = mergeShards(
      files.map((f) => readShard(readFileSync(f, 'utf8'), f)),
      files,
    );
    // The whole run's report, as one worker would have written it, timed by the clock on
    // the wall (the workers' start included).
    return { ...merged, durationMs: Date.now() - started };
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    rmSync(dir, { recursive: true, force: true });
  }
}

const sum = (totals: ReadonlyMap<number, number>) =>
  [...totals.values()].reduce((a, b) => a + b, 0);
