// `fedconn merge`: the reports of a run's shards (`fedconn run --shard K/N`, each written
// by its own CI job) into the reports of the whole run: conformance.json, junit.xml and
// report.html, with the same verdicts an unsharded run of the seed gives.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MergeError, mergeShards, readShard } from '../../suites/harness/merge.ts';
import { writeReports } from '../../reports/write.ts';
import { UsageError, type Io } from '../io.ts';
import { renderSummary } from './run.ts';

export function mergeCommand(
  inputs: readonly string[],
  options: { readonly out: string; readonly quiet?: boolean },
  io: Io,
): number {
  // A directory stands for the conformance.json in it (a shard's --out).
  const files = inputs.map((input) =>
    existsSync(input) && statSync(input).isDirectory() ? join(input, 'conformance.json') : input,
  );
  let report;
  try {
    const shards = files.map((file) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        throw new MergeError(`${file}: cannot read: ${(error as Error).message}`);
      }
      return readShard(text, file);
    });
    report = mergeShards(shards, files);
  } catch (error) {
    if (error instanceof MergeError) throw new UsageError(error.message);
    throw error;
  }
  if (options.quiet !== true) io.out(renderSummary(report));
  const paths = writeReports(report, options.out);
  if (options.quiet !== true)
    io.out(`merged ${files.length} shards: ${paths.json}, ${paths.junit}, ${paths.html}\n`);
  return report.exitCode;
}
