// Scale: a federation of 4 homeservers at several sizes, each size in a child
// process of its own (bench/scale-child.ts) so that its peak memory is its own.
import { spawn } from 'node:child_process';
import { totalmem } from 'node:os';
import type { ScaleFigure } from './scale-child.ts';

export interface ScaleResult {
  readonly sizes: readonly ScaleFigure[];
  /** Sizes whose child process failed (out of memory, say). */
  readonly failed: readonly { readonly users: number; readonly error: string }[];
  /** Least-squares slope of log(time) against log(users): 1 is linear growth. */
  readonly timeExponent: number;
  readonly cpuExponent: number;
  /** The same for peak heap above the empty federation's heap. */
  readonly memoryExponent: number;
}

// The budget is 8 GiB of peak memory. A process held to a budget is run as one would
// deploy it: its V8 heap capped below the budget (1 GiB is left for code, buffers and Node
// itself), so the collector works to stay inside rather than growing lazily into whatever
// the machine has free. A size that does not fit dies out of memory and is reported as
// failed. On a machine with less memory, 80% of it.
const MEMORY_BUDGET_MIB = 8192;
const HEAP_CAP_MIB = Math.min(MEMORY_BUDGET_MIB - 1024, Math.floor((totalmem() / 2 ** 20) * 0.8));

function runChild(users: number): Promise<ScaleFigure> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        `--max-old-space-size=${HEAP_CAP_MIB}`,
        '--import',
        'tsx',
        'bench/scale-child.ts',
        String(users),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (signal !== null)
        reject(new Error(`scale run with ${users} users was stopped by ${signal}`));
      else if (code !== 0) reject(new Error(`scale run with ${users} users exited with ${code}`));
      else resolve(JSON.parse(line) as ScaleFigure);
    });
  });
}

/** Slope of the least-squares line through (log x, log y). */
export function logLogSlope(points: readonly (readonly [number, number])[]): number {
  if (points.length < 2) return NaN;
  const xs = points.map(([x]) => Math.log(x));
  const ys = points.map(([, y]) => Math.log(y));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (const [i, x] of xs.entries()) {
    num += (x - mx) * ((ys[i] ?? 0) - my);
    den += (x - mx) ** 2;
  }
  return num / den;
}

/**
 * Runs each size; figures of `earlier` runs for sizes not run now are kept, so a long
 * size can be measured on its own (`--only scale --sizes 10000`) and join the others.
 */
export async function measureScale(
  sizes: readonly number[],
  onSize?: (figure: ScaleFigure) => void,
  earlier: readonly ScaleFigure[] = [],
): Promise<ScaleResult> {
  const figures: ScaleFigure[] = earlier.filter((f) => !sizes.includes(f.users));
  const failed: { users: number; error: string }[] = [];
  for (const users of sizes) {
    try {
      const figure = await runChild(users);
      onSize?.(figure);
      figures.push(figure);
    } catch (error) {
      failed.push({ users, error: String(error) });
    }
  }
  figures.sort((a, b) => a.users - b.users);
  return {
    sizes: figures,
    failed,
    timeExponent: logLogSlope(figures.map((f) => [f.users, f.totalMs])),
    cpuExponent: logLogSlope(figures.map((f) => [f.users, f.cpuMs])),
    memoryExponent: logLogSlope(figures.map((f) => [f.users, f.peakHeapMiB - f.baseHeapMiB])),
  };
}
