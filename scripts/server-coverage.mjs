#!/usr/bin/env node
// How much of the server side a run judged: of the rules whose roles include AS, QS, DS
// or FED, the share that passed, and every other one with its status and reason.
// Exits 1 below the given percentage (the floor the real-server issues set).
//
//   node scripts/server-coverage.mjs reports/out/http/conformance.json [MIN_PERCENT]
import { readFileSync } from 'node:fs';

const [file, floor = '0'] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: server-coverage.mjs CONFORMANCE_JSON [MIN_PERCENT]');
  process.exit(2);
}
const min = Number(floor);
if (!Number.isFinite(min) || min < 0 || min > 100) {
  console.error(`server-coverage: MIN_PERCENT must be a number from 0 to 100, got "${floor}"`);
  process.exit(2);
}
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  console.error(`server-coverage: ${file}: ${error.message}`);
  process.exit(2);
}
const SERVER_ROLES = new Set(['AS', 'QS', 'DS', 'FED']);
const rules = (report.rules ?? []).filter((r) => r.roles.some((role) => SERVER_ROLES.has(role)));
const passed = rules.filter((r) => r.status === 'pass');
const share = rules.length === 0 ? 0 : (100 * passed.length) / rules.length;
console.log(
  `${report.target ?? file}: ${passed.length} of ${rules.length} AS/QS/DS/FED rules pass (${share.toFixed(1)}%)`,
);
for (const r of rules.filter((x) => x.status !== 'pass'))
  console.log(`  ${r.id.padEnd(16)} ${r.status.padEnd(6)} ${r.note ?? ''}`);
if (share < min) {
  console.error(`server-coverage: below ${min}%`);
  process.exit(1);
}
