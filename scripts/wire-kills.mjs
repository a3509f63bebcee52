#!/usr/bin/env node
// Whether every rule that got a verdict over HTTP was also seen to fail there: each
// rule that passed in a run against `fedconn serve` must have at least one of its own
// mutants killed by `fedconn mutants --target http` (served by fedconn serve --mutant,
// judged over the wire). Lists the rules without one; exits 1 if there are any.
//
//   node scripts/wire-kills.mjs reports/out/http/conformance.json reports/out/mutants-http.json
import { readFileSync } from 'node:fs';

const [runFile, killsFile] = process.argv.slice(2);
if (runFile === undefined || killsFile === undefined) {
  console.error('usage: wire-kills.mjs CONFORMANCE_JSON MUTANTS_HTTP_JSON');
  process.exit(2);
}
const read = (file) => {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    console.error(`wire-kills: ${file}: ${error.message}`);
    process.exit(2);
  }
};
const run = read(runFile);
const kills = read(killsFile);
if (kills.target !== 'http') {
  console.error(`wire-kills: ${killsFile} is not a kill matrix over http (target ${kills.target})`);
  process.exit(2);
}
const killedOnWire = new Set(
  (kills.mutants ?? [])
    .filter((m) => m.killed && m.killedBy.includes(m.violates))
    .map((m) => m.violates),
);
const judged = (run.rules ?? []).filter((r) => r.status === 'pass');
const unproven = judged.filter((r) => !killedOnWire.has(r.id));
console.log(
  `${judged.length - unproven.length} of the ${judged.length} rules that pass over http are seen failing there (a mutant of theirs killed by fedconn serve --mutant)`,
);
for (const r of unproven) console.log(`  ${r.id.padEnd(16)} no mutant of it killed over http`);
process.exit(unproven.length === 0 ? 0 : 1);
