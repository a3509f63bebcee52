#!/usr/bin/env node
// Entry point for `npx fedconn`: loads the TypeScript CLI through tsx so that
// nothing needs a build step after `npm ci`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
