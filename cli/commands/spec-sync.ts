// `fedconn spec-sync FILE`: regenerates the rule tables of docs/spec.md from the catalog.
import { readFileSync, writeFileSync } from 'node:fs';
import { syncSpec } from '../../suites/catalog/markdown.ts';
import type { Io } from '../io.ts';

export function specSyncCommand(file: string, options: { check?: boolean }, io: Io): number {
  const before = readFileSync(file, 'utf8');
  const after = syncSpec(before);
  if (options.check === true) {
    if (before !== after) {
      io.err(`${file} is out of date with the rule catalog; run \`npm run docs:rules\`\n`);
      return 1;
    }
    io.out(`${file} matches the rule catalog\n`);
    return 0;
  }
  if (before !== after) writeFileSync(file, after);
  io.out(before === after ? `${file} already up to date\n` : `${file} rule tables regenerated\n`);
  return 0;
}
