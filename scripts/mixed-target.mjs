#!/usr/bin/env node
// Writes one target config (version 2) from servers of others: a mixed federation, such
// as the reference beside Synapse (Complement's HS1/HS2), in the order given.
//   node scripts/mixed-target.mjs OUT.json FILE[#N] FILE[#N] ...
// FILE#N takes the N-th server of FILE (from 0), FILE alone takes all of them.
import { readFileSync, writeFileSync } from 'node:fs';

const [out, ...sources] = process.argv.slice(2);
if (out === undefined || sources.length === 0) {
  process.stderr.write('usage: node scripts/mixed-target.mjs OUT.json FILE[#N] ...\n');
  process.exit(2);
}
const servers = [];
for (const source of sources) {
  const [file, index] = source.split('#');
  let config;
  try {
    config = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    process.stderr.write(`mixed-target: ${file}: ${error.message}\n`);
    process.exit(2);
  }
  if (config.fedconn !== 2 || !Array.isArray(config.servers)) {
    process.stderr.write(`mixed-target: ${file}: not a version 2 target config\n`);
    process.exit(2);
  }
  const chosen = index === undefined ? config.servers : [config.servers[Number(index)]];
  if (chosen.some((s) => s === undefined)) {
    process.stderr.write(`mixed-target: ${file} has no server #${index}\n`);
    process.exit(2);
  }
  servers.push(...chosen);
}
writeFileSync(out, `${JSON.stringify({ fedconn: 2, servers }, null, 2)}\n`);
