// `fedconn interop`: one table of verdicts, rules down and implementations across,
// from the conformance.json of one run per implementation (CI runs the reference,
// sydent and ToM and puts the table in reports/out/interop/).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { RULES } from '../../suites/catalog/index.ts';
import { UsageError, type Io } from '../io.ts';

const runSchema = z.object({
  target: z.string(),
  rules: z.array(z.object({ id: z.string(), level: z.string(), status: z.string() })),
});

export interface InteropOptions {
  readonly out: string;
  readonly rules?: readonly string[];
}

/** `columns` are NAME=PATH pairs, each PATH a conformance.json. */
export function interopCommand(
  columns: readonly string[],
  options: InteropOptions,
  io: Io,
): number {
  if (columns.length === 0)
    throw new UsageError('interop: name at least one run, as NAME=reports/out/x/conformance.json');
  const runs = columns.map((column) => {
    const at = column.indexOf('=');
    if (at <= 0) throw new UsageError(`interop: "${column}" is not NAME=PATH`);
    const name = column.slice(0, at);
    const path = column.slice(at + 1);
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new UsageError(`interop: cannot read ${path}: ${(error as Error).message}`);
    }
    const parsed = runSchema.safeParse(value);
    if (!parsed.success) throw new UsageError(`interop: ${path} is not a conformance.json`);
    return { name, path, statuses: new Map(parsed.data.rules.map((r) => [r.id, r.status])) };
  });
  const prefixes = (options.rules ?? []).map((p) => p.toUpperCase());
  const rules = RULES.filter(
    (r) =>
      r.retired === undefined &&
      (prefixes.length === 0 || prefixes.some((p) => r.id.startsWith(p))),
  );
  const cell = (status: string | undefined) => status ?? '—';
  const header = `| rule | level | ${runs.map((r) => r.name).join(' | ')} |`;
  const rule = `|---|---|${runs.map(() => '---').join('|')}|`;
  const rows = rules.map(
    (r) =>
      `| ${r.id} | ${r.level} | ${runs.map((run) => cell(run.statuses.get(r.id))).join(' | ')} |`,
  );
  const markdown = [
    '# Interoperability: fedconn verdicts by implementation',
    '',
    ...runs.map((run) => `- **${run.name}**: ${run.path}`),
    '',
    header,
    rule,
    ...rows,
    '',
  ].join('\n');
  const json = {
    implementations: runs.map((run) => ({ name: run.name, report: run.path })),
    rules: rules.map((r) => ({
      id: r.id,
      level: r.level,
      verdicts: Object.fromEntries(runs.map((run) => [run.name, run.statuses.get(r.id) ?? null])),
    })),
  };
  try {
    mkdirSync(options.out, { recursive: true });
    writeFileSync(join(options.out, 'interop.md'), markdown);
    writeFileSync(join(options.out, 'interop.json'), `${JSON.stringify(json, null, 2)}\n`);
  } catch (error) {
    throw new UsageError(`interop: cannot write ${options.out}: ${(error as Error).message}`);
  }
  io.out(
    `${markdown}\nwritten: ${join(options.out, 'interop.md')}, ${join(options.out, 'interop.json')}\n`,
  );
  return 0;
}
