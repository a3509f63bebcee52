// `npm run bench [-- --quick] [-- --only floor,establishment,suite,scale] [-- --sizes 100,1000]`:
// every figure of issue 8, printed and written to reports/out/bench.json. Figures are
// medians of repeated runs; ratios are taken within one run. Budgets are reported,
// never asserted: the machines are shared and noisy. See bench/README.md.
import type { webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { ed25519 } from '@noble/curves/ed25519.js';
import { measureEstablishment } from './establishment.ts';
import { measureFloor } from './floor.ts';
import { measureScale } from './scale.ts';
import type { ScaleFigure } from './scale-child.ts';
import { measureSuite } from './suite.ts';
import { median } from './stats.ts';

const SECTIONS = ['floor', 'establishment', 'suite', 'scale'] as const;
type Section = (typeof SECTIONS)[number];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    sizes: { type: 'string' },
    runs: { type: 'string' },
  },
});
const only = new Set(
  (values.only ?? SECTIONS.join(',')).split(',').map((s) => s.trim()) as Section[],
);
for (const s of only)
  if (!SECTIONS.includes(s))
    throw new Error(`--only: unknown section ${s} (${SECTIONS.join(', ')})`);
const sizes = (values.sizes ?? (values.quick ? '100,1000' : '100,1000,10000'))
  .split(',')
  .map(Number);
const runs = Number(values.runs ?? (values.quick ? 5 : 9));

// Establishment against its mandatory floor: 1.3x in the simulator, 1.6x over HTTP.
const BUDGET = {
  establishmentRatio: 1.3,
  establishmentHttpRatio: 1.6,
  suiteMs: 20_000,
  scaleMs: 180_000,
  scaleMemoryMiB: 8192,
};
const ms = (n: number, digits = 1) => `${n.toFixed(digits)} ms`;
const over = (bad: boolean) => (bad ? '  OVER BUDGET' : '');

const machine = {
  node: process.version,
  cpus: cpus().length,
  cpu: cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  loadAverage: (await import('node:os')).loadavg(),
};
const result: Record<string, unknown> = {};
const path = 'reports/out/bench.json';
const previous: Record<string, unknown> = existsSync(path)
  ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>)
  : {};

if (only.has('floor') || only.has('establishment')) {
  console.log('Ed25519 implementations (median ms)');
  const message = new TextEncoder().encode('fedconn: a ConnectionEstablishmentPackage');
  const keys = (await crypto.subtle.generateKey('Ed25519', true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const signature = new Uint8Array(await crypto.subtle.sign('Ed25519', keys.privateKey, message));
  const secret = ed25519.utils.randomSecretKey();
  const nobleSignature = ed25519.sign(message, secret);
  const publicKey = ed25519.getPublicKey(secret);
  const time = async (n: number, op: () => unknown) => {
    for (let i = 0; i < 20; i++) await op();
    const samples = [];
    for (let i = 0; i < n; i++) {
      const start = performance.now();
      await op();
      samples.push(performance.now() - start);
    }
    return median(samples);
  };
  const implementations = {
    'ed25519.sign (WebCrypto)': await time(300, () =>
      crypto.subtle.sign('Ed25519', keys.privateKey, message),
    ),
    'ed25519.verify (WebCrypto)': await time(300, () =>
      crypto.subtle.verify('Ed25519', keys.publicKey, signature, message),
    ),
    'ed25519.sign (@noble/curves)': await time(100, () => ed25519.sign(message, secret)),
    'ed25519.verify (@noble/curves)': await time(100, () =>
      ed25519.verify(nobleSignature, message, publicKey),
    ),
  };
  for (const [name, m] of Object.entries(implementations))
    console.log(`  ${name.padEnd(32)} ${m.toFixed(3).padStart(8)} ms`);
  result.implementations = implementations;

  console.log('\nCrypto floor: unit costs measured in this process (median ms)');
  const unit = await measureFloor();
  console.log(`  ${'operation'.padEnd(22)} ${'wall'.padStart(11)} ${'CPU'.padStart(11)}`);
  for (const [op, m] of Object.entries(unit.wall))
    console.log(
      `  ${op.padEnd(22)} ${m.toFixed(3).padStart(8)} ms ${unit.cpu[op as keyof typeof unit.cpu].toFixed(3).padStart(8)} ms`,
    );
  result.floor = unit;

  if (only.has('establishment')) {
    console.log(
      `\nConnection establishment against its mandatory crypto floor (median of ${runs}; budget ${BUDGET.establishmentRatio}x, ${BUDGET.establishmentHttpRatio}x over HTTP)`,
    );
    const { stack, cases: establishment } = await measureEstablishment(unit, runs);
    console.log(
      `  a bare round trip on the same stack (bench/stack.ts): GET ${ms(stack.sim.getMs, 3)}, POST ${ms(stack.sim.postMs, 3)} in the simulator; GET ${ms(stack.http.getMs, 3)}, POST ${ms(stack.http.postMs, 3)} over loopback HTTP`,
    );
    for (const e of establishment) {
      const budget = e.overHttp ? BUDGET.establishmentHttpRatio : BUDGET.establishmentRatio;
      console.log(
        `  ${e.name.padEnd(52)} ${ms(e.medianMs).padStart(9)}  mandatory floor ${ms(e.mandatoryFloorMs).padStart(9)}  ratio ${e.mandatoryRatio.toFixed(2)}x${over(e.mandatoryRatio > budget)}`,
      );
      console.log(
        `  ${''.padEnd(52)} the middle half of the runs: ${ms(e.quartilesMs[0])} to ${ms(e.quartilesMs[1])}, ratio ${(e.quartilesMs[0] / e.mandatoryFloorMs).toFixed(2)}x to ${(e.quartilesMs[1] / e.mandatoryFloorMs).toFixed(2)}x`,
      );
      console.log(
        `  ${''.padEnd(52)} in CPU time: ${ms(e.cpuMs)} against ${ms(e.cpuMandatoryFloorMs)}, ratio ${e.cpuMandatoryRatio.toFixed(2)}x${over(e.cpuMandatoryRatio > budget)}`,
      );
      console.log(
        `  ${''.padEnd(52)} against the operations it performed: floor ${ms(e.floorMs)}, ratio ${e.ratio.toFixed(2)}x (CPU ${e.cpuRatio.toFixed(2)}x)`,
      );
      console.log(
        // Both parts against the mandatory floor (they add up to the headline ratio) and
        // the crypto against the price of what was performed (is each operation slow?).
        `  ${''.padEnd(52)} crypto in flight ${ms(e.cryptoMs)} (${(e.cryptoMs / e.mandatoryFloorMs).toFixed(2)}x the mandatory floor, ${(e.cryptoMs / e.floorMs).toFixed(2)}x the performed), the rest ${ms(e.otherMs)} (${(e.otherMs / e.mandatoryFloorMs).toFixed(2)}x the mandatory floor)`,
      );
      console.log(
        // The least ratio the stack allows: the floor plus bare round trips, nothing else.
        `  ${''.padEnd(52)} ${e.requests} requests (${e.gets} GET); as bare round trips ${ms(e.stackMs)}, so no implementation on this stack goes below ${e.stackFloorRatio.toFixed(2)}x${e.stackFloorRatio > budget ? ' (above the budget itself)' : ''}`,
      );
    }
    console.log('  where crypto in flight exceeds its price (operation: in situ / price, count):');
    for (const e of establishment) {
      const excess = Object.entries(e.byOp)
        .map(([op, o]) => ({ op, ...o, excess: o.inSituMs - o.priceMs }))
        .sort((a, b) => b.excess - a.excess)
        .slice(0, 4)
        .map((o) => `${o.op} ${ms(o.inSituMs)} / ${ms(o.priceMs)} (${o.count})`);
      console.log(`  ${e.name}: ${excess.join('; ')}`);
    }
    // With the unit costs it was priced at (which the floor section may no longer hold);
    // each case's MLS operations are priced at its own group sizes (cases[].mlsUnits).
    result.establishment = { floor: unit, stack, cases: establishment };
  }
}

if (only.has('suite')) {
  console.log(
    `\nThe whole suite (npm start) in a child process (budget ${BUDGET.suiteMs / 1000} s)`,
  );
  // One worker, then one per core (npm start's default), in the same run: the speed-up
  // is a ratio of two figures taken minutes apart on the same machine.
  const cores = availableParallelism();
  const single = await measureSuite(1);
  const suite = cores > 1 ? await measureSuite(cores) : single;
  for (const s of cores > 1 ? [single, suite] : [single])
    console.log(
      `  ${s.workers} worker${s.workers === 1 ? ' ' : 's'}: wall ${(s.wallMs / 1000).toFixed(1)} s${over(s.wallMs > BUDGET.suiteMs)} (runner ${(s.runnerMs / 1000).toFixed(1)} s, exit ${s.exitCode}); ${s.checks.length} check executions`,
    );
  if (cores > 1)
    console.log(
      `  speed-up from 1 to ${cores} workers: ${(single.wallMs / suite.wallMs).toFixed(2)}x (${cores} cores, load ${loadavg()[0]?.toFixed(1) ?? '?'})`,
    );
  result.suiteOneWorker = single;
  console.log(
    `  ${'family'.padEnd(16)} ${'checks'.padStart(6)} ${'time'.padStart(9)} ${'runs'.padStart(6)}`,
  );
  for (const f of suite.families)
    console.log(
      `  ${f.family.padEnd(16)} ${String(f.checks).padStart(6)} ${`${(f.ms / 1000).toFixed(2)} s`.padStart(9)} ${String(f.runs).padStart(6)}`,
    );
  const properties = suite.checks.filter((c) => c.runs > 1).sort((a, b) => b.ms - a.ms);
  console.log(`  ${properties.length} checks ran more than once (property runs); the slowest:`);
  for (const c of properties.slice(0, 8))
    console.log(
      `    ${`${(c.ms / 1000).toFixed(2)} s`.padStart(8)} ${String(c.runs).padStart(4)} runs  ${c.check} (${c.profile})`,
    );
  result.suite = suite;
}

if (only.has('scale')) {
  console.log(
    `\nScale: 4 homeservers, users of 2 devices, churn of users/100 connections, half of them torn down and re-established; one child process per size (budgets: 10,000 users in ${BUDGET.scaleMs / 1000} s, peak memory ${BUDGET.scaleMemoryMiB / 1024} GiB)`,
  );
  // Figures from before sizes carried their own date get the date of their section.
  const previousScale = previous.scale as
    { date?: string; value?: { sizes?: Partial<ScaleFigure>[] } } | undefined;
  const earlier = (previousScale?.value?.sizes ?? []).map((f) => ({
    ...(f as ScaleFigure),
    measuredAt: f.measuredAt ?? previousScale?.date ?? 'unknown',
    loadAverage: f.loadAverage ?? [],
  }));
  const show = (f: ScaleFigure, note = '') => {
    console.log(
      `  ${String(f.users).padStart(6)} users: ${(f.totalMs / 1000).toFixed(1)} s wall${over(f.users === 10_000 && f.totalMs > BUDGET.scaleMs)} (register ${(f.registerMs / 1000).toFixed(1)} s, churn ${(f.churnMs / 1000).toFixed(1)} s for ${f.connections}+${f.reconnections} connections), ${(f.cpuMs / 1000).toFixed(1)} s CPU, peak RSS ${f.maxRssMiB.toFixed(0)} MiB${over(f.maxRssMiB > BUDGET.scaleMemoryMiB)}, peak heap ${f.peakHeapMiB.toFixed(0)} MiB (empty federation ${f.baseHeapMiB.toFixed(0)} MiB), ${f.observedEvents} observed events, load ${f.loadAverage[0]?.toFixed(1) ?? '?'}${note}`,
    );
  };
  for (const f of earlier.filter((e) => !sizes.includes(e.users)))
    show(f, ` (kept from the run of ${f.measuredAt})`);
  const scale = await measureScale(
    sizes,
    (f) => {
      show(f);
    },
    earlier,
  );
  for (const f of scale.failed)
    console.log(`  ${String(f.users).padStart(6)} users: FAILED: ${f.error}`);
  // A slope needs two sizes at least.
  if (Number.isFinite(scale.timeExponent))
    console.log(
      `  growth exponent (log-log slope): wall ${scale.timeExponent.toFixed(2)}, CPU ${scale.cpuExponent.toFixed(2)}, heap above the empty federation ${scale.memoryExponent.toFixed(2)} (1 = linear)`,
    );
  result.scale = scale;
}

// Sections not measured this time keep their last figures, each with its own date.
const measured = Object.fromEntries(
  Object.entries(result).map(([k, v]) => [
    k,
    { date: new Date().toISOString(), machine, value: v },
  ]),
);
mkdirSync('reports/out', { recursive: true });
const document = {
  ...(previous.format === 'fedconn-bench/2' ? previous : {}),
  format: 'fedconn-bench/2',
  budgets: BUDGET,
  ...measured,
};
writeFileSync(path, `${JSON.stringify(document, null, 2)}\n`);
console.log(`\nwritten: ${path}`);
