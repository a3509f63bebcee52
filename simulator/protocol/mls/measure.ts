// Median cost of each connection-group operation, printed, not asserted
// (budgets belong to benchmarks). Run: npx tsx simulator/protocol/mls/measure.ts [runs] [passes]
// States are immutable, so each operation is repeated on the same inputs.
// Timings on a shared machine drift with JIT warm-up and neighbours' load, so
// each configuration is measured in several interleaved passes and the lowest
// median per operation is reported.

import { unwrap } from '../result.ts';
import { processCommit } from './commit.ts';
import { joinByExternalCommit } from './external-join.ts';
import { createConnectionGroup, exportGroupInfo } from './group.ts';
import { createMember, generateKeyPackage } from './member.ts';
import { decryptMessage, encryptMessage } from './message.ts';
import { seededRng } from '../crypto/rng.ts';
import { connectionFixture, text } from './test-fixture.ts';
import { addClients, joinByWelcome } from './welcome.ts';
import { decodeProtocolMessage, encodeMessage } from './wire.ts';
import type { RandomSource } from './ciphersuite.ts';

const runs = Number(process.argv[2] ?? 40);
const passes = Number(process.argv[3] ?? 3);

async function median(run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 5; i++) await run(); // warm up JIT and key caches
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? Number.NaN;
}

type Config = 'WebCrypto rng' | 'seeded rng';

async function measure(rng?: (name: string) => RandomSource): Promise<Map<string, number>> {
  const f = await connectionFixture(text('measured-group'), rng);
  const carol = await createMember(text('carol/1'), rng?.('carol'));
  const twoClients = [
    (await generateKeyPackage(carol)).publicPackage,
    (await generateKeyPackage(f.bob2)).publicPackage,
  ];
  const added = unwrap(await addClients(f.join.group, [f.kp2.publicPackage, f.kp3.publicPackage]));
  const message = unwrap(await encryptMessage(f.alice2, text('hello, connection'))).message;
  const rows: [string, () => Promise<unknown>][] = [
    ['createMember (Ed25519 keygen)', () => createMember(text('x'), rng?.('x'))],
    ['generateKeyPackage', () => generateKeyPackage(carol)],
    ['createConnectionGroup', () => createConnectionGroup(text('g'), f.alice)],
    ['exportGroupInfo', () => exportGroupInfo(f.alice0)],
    [
      'joinByExternalCommit (create commit)',
      () => joinByExternalCommit(f.exported0.groupInfo, f.exported0.ratchetTree, carol),
    ],
    ['processCommit (external join)', () => processCommit(f.alice0, f.join.commit)],
    ['addClients (Welcome for 2)', () => addClients(f.join.group, twoClients)],
    ['processCommit (Add of 2)', () => processCommit(f.alice1, added.commit)],
    ['joinByWelcome', () => joinByWelcome(added.welcome, f.kp2, added.group.state.ratchetTree)],
    ['encryptMessage', () => encryptMessage(f.alice2, text('hello, connection'))],
    ['decryptMessage', () => decryptMessage(f.bob2Group2, message)],
    [
      'encode+decode commit (wire)',
      () => Promise.resolve(decodeProtocolMessage(encodeMessage(f.join.commit))),
    ],
  ];
  const result = new Map<string, number>();
  for (const [name, run] of rows) result.set(name, await median(run));
  return result;
}

const configs: [Config, ((name: string) => RandomSource) | undefined][] = [
  ['WebCrypto rng', undefined],
  ['seeded rng', (name) => seededRng(`measure/${name}`)],
];
const best = new Map<Config, Map<string, number>>();
for (let pass = 0; pass < passes; pass++) {
  // Alternate which configuration goes first.
  for (const [config, rng] of pass % 2 === 0 ? configs : [...configs].reverse()) {
    const times = await measure(rng);
    const sofar = best.get(config) ?? new Map<string, number>();
    for (const [op, ms] of times) sofar.set(op, Math.min(ms, sofar.get(op) ?? Infinity));
    best.set(config, sofar);
  }
}
const columns = configs.map(([config]) => config);
console.log(`median ms, best of ${passes} passes x ${runs} runs, Node ${process.version}`);
console.log(`${'operation'.padEnd(40)}${columns.map((c) => c.padStart(16)).join('')}`);
for (const op of best.get('WebCrypto rng')?.keys() ?? []) {
  const cells = columns.map((c) => (best.get(c)?.get(op) ?? Number.NaN).toFixed(2).padStart(16));
  console.log(`${op.padEnd(40)}${cells.join('')}`);
}
