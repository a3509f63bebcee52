#!/usr/bin/env node
// Whether the client driver protocol carries everything the CLIENT rules need: in a run
// of `fedconn run --client reference-shim` every CLIENT rule of the catalog passes, and
// in `fedconn mutants --target client-shim` every mutant of the reference client is
// killed by its own rule through the protocol. Lists what falls short; exits 1 if any.
//
//   node scripts/client-shim-coverage.mjs RULES_JSON CONFORMANCE_JSON MUTANTS_CLIENT_SHIM_JSON
import { readFileSync } from 'node:fs';

const [rulesFile, runFile, killsFile] = process.argv.slice(2);
if (rulesFile === undefined || runFile === undefined || killsFile === undefined) {
  console.error('usage: client-shim-coverage.mjs RULES_JSON CONFORMANCE_JSON MUTANTS_JSON');
  process.exit(2);
}
const read = (file) => {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    console.error(`client-shim-coverage: ${file}: ${error.message}`);
    process.exit(2);
  }
};
const catalog = read(rulesFile);
const run = read(runFile);
const kills = read(killsFile);
if (kills.target !== 'client-shim') {
  console.error(`client-shim-coverage: ${killsFile} is not a client-shim kill matrix`);
  process.exit(2);
}
const clientRules = catalog.rules
  .filter((r) => r.roles.includes('CLIENT') && r.status === 'checked')
  .map((r) => r.id);
const status = new Map((run.rules ?? []).map((r) => [r.id, r.status]));
const notPassing = clientRules.filter((id) => status.get(id) !== 'pass');
// Server mutants are the only ones the client shim does not try.
const clientMutants = (kills.mutants ?? []).filter(
  (m) => m.note === undefined || !m.note.startsWith('a mutant of the reference servers'),
);
const alive = clientMutants.filter((m) => !(m.killed && m.killedBy.includes(m.violates)));
console.log(
  `${clientRules.length - notPassing.length} of the ${clientRules.length} CLIENT rules pass through the reference client's shim; ${clientMutants.length - alive.length} of its ${clientMutants.length} mutants are killed through it by their own rule`,
);
for (const id of notPassing) console.log(`  ${id.padEnd(16)} ${status.get(id) ?? 'absent'}`);
for (const m of alive)
  console.log(`  ${m.name} not killed${m.note === undefined ? '' : `: ${m.note}`}`);
process.exit(notPassing.length === 0 && alive.length === 0 ? 0 : 1);
