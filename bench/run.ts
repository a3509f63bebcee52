// `npm run bench`: the crypto floor as measured so far. Figures are medians of
// repeated runs in this process and are reported as ratios, never asserted:
// the machines are shared and noisy.
import type { webcrypto } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { ed25519 } from '@noble/curves/ed25519.js';

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
console.log(
  '\nOnly the Ed25519 part of the crypto floor exists so far; establishment, suite and scale figures come with the simulator.',
);
mkdirSync('reports/out', { recursive: true });
writeFileSync(
  'reports/out/bench.json',
  `${JSON.stringify({ node: process.version, date: new Date().toISOString(), figures }, null, 2)}\n`,
);
console.log('written: reports/out/bench.json');
