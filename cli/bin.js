#!/usr/bin/env node
// Entry point for `npx fedconn`: loads the TypeScript CLI through tsx so that
// nothing needs a build step after `npm ci`.
import { register } from 'tsx/esm/api';

// A reader that stops early (`fedconn run --list | head`) closes the pipe: that is
// the reader's choice, not an error to crash on.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
