// `npm run bench`: the crypto floor as measured so far. Figures are medians of
// repeated runs in this process and are reported as ratios, never asserted:
// the machines are shared and noisy.
import type { webcrypto } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { ed25519 } from '@noble/curves/ed25519.js';
import { measureEstablishment } from './establishment.ts';
import { measureFloor } from './floor.ts';

interface Figure {
  readonly name: string;
  readonly medianMs: number;
  readonly iterations: number;
}

async function measure(name: string, iterations: number, op: () => unknown) {
  for (let i = 0; i < Math.min(20, iterations); i++) await op(); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    await op();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return { name, medianMs: samples[Math.floor(samples.length / 2)] ?? NaN, iterations };
}

const message = new TextEncoder().encode('fedconn crypto floor: a ConnectionEstablishmentPackage');
const keys = (await crypto.subtle.generateKey('Ed25519', true, [
  'sign',
  'verify',
])) as webcrypto.CryptoKeyPair;
const signature = new Uint8Array(await crypto.subtle.sign('Ed25519', keys.privateKey, message));
const secret = ed25519.utils.randomSecretKey();
const publicKey = ed25519.getPublicKey(secret);
const nobleSignature = ed25519.sign(message, secret);

const figures: Figure[] = [
  await measure('ed25519.sign (WebCrypto)', 500, () =>
    crypto.subtle.sign('Ed25519', keys.privateKey, message),
  ),
  await measure('ed25519.verify (WebCrypto)', 500, () =>
    crypto.subtle.verify('Ed25519', keys.publicKey, signature, message),
  ),
  await measure('ed25519.sign (@noble/curves)', 100, () => ed25519.sign(message, secret)),
  await measure('ed25519.verify (@noble/curves)', 100, () =>
    ed25519.verify(nobleSignature, message, publicKey),
  ),
];

const base = figures[0]?.medianMs ?? 1;
for (const f of figures) {
  console.log(
    `${f.name.padEnd(34)} ${f.medianMs.toFixed(3).padStart(8)} ms  ${(f.medianMs / base).toFixed(1).padStart(6)}x WebCrypto sign`,
  );
}
console.log('\nCrypto floor: unit costs measured in this process (median ms)');
const unit = await measureFloor();
for (const [op, ms] of Object.entries(unit))
  console.log(`  ${op.padEnd(22)} ${ms.toFixed(3).padStart(8)} ms`);
console.log('\nConnection establishment against its crypto floor (budget 1.5x)');
const establishment = await measureEstablishment(unit);
for (const e of establishment) {
  console.log(
    `  ${e.name.padEnd(52)} ${e.medianMs.toFixed(1).padStart(7)} ms  floor ${e.floorMs.toFixed(1).padStart(6)} ms  ratio ${e.ratio.toFixed(2)}x${e.ratio > 1.5 ? '  OVER BUDGET' : ''}`,
  );
}
console.log('\nSuite wall time and scale figures are not measured yet (issue 8).');
mkdirSync('reports/out', { recursive: true });
writeFileSync(
  'reports/out/bench.json',
  `${JSON.stringify({ node: process.version, date: new Date().toISOString(), figures, floor: unit, establishment }, null, 2)}\n`,
);
console.log('written: reports/out/bench.json');
