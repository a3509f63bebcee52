// `fedconn mutants`: runs the suite against every mutant of the reference,
// prints the kill matrix and writes reports/out/mutants.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pc from 'picocolors';
import { PROFILES } from '../../suites/catalog/index.ts';
import { tryMutant, type MutantResult, type ServedMutant } from '../../suites/harness/mutation.ts';
import { httpTarget, simTarget, withClientUnderTest } from '../../suites/harness/target.ts';
import { startClient } from '../../suites/harness/clients/start.ts';
import { MUTANTS, type Mutant } from '../../suites/mutants.ts';
import { serverName } from '../../simulator/scenario.ts';
import { inProfile, serveFederation } from '../../simulator/serve/serve.ts';
import { RACE_STORE_LATENCY_MS } from '../../simulator/net/latent-store.ts';

const PHOENIX_PROFILES = ['multi-device', 'aliases'] as const;
import { CHECKS } from '../../suites/registry.ts';
import { ALL_SERVICES } from '../../simulator/services/index.ts';
import { EXIT, UsageError, type Io } from '../io.ts';
import { VERSION } from './run.ts';

export async function mutantsCommand(
  options: {
    readonly list?: boolean;
    readonly only?: readonly string[];
    readonly seed?: string;
    readonly out?: string;
    /**
     * sim (default); http: each server mutant served by fedconn serve, judged over HTTP;
     * client-shim: each client mutant in the reference client's shim process, judged
     * through the client driver protocol.
     */
    readonly target?: string;
  },
  io: Io,
): Promise<number> {
  const target = options.target ?? 'sim';
  if (target !== 'sim' && target !== 'http' && target !== 'client-shim')
    throw new UsageError(`--target: expected sim, http or client-shim, got "${target}"`);
  const selected =
    options.only === undefined || options.only.length === 0
      ? MUTANTS
      : MUTANTS.filter((m) => options.only?.includes(m.name));
  for (const name of options.only ?? []) {
    if (!MUTANTS.some((m) => m.name === name))
      throw new UsageError(`--only: unknown mutant "${name}"`);
  }
  if (options.list === true) {
    for (const m of selected) io.out(`${m.name.padEnd(56)} violates ${m.violates}\n`);
    io.out(`${selected.length} mutants\n`);
    return EXIT.ok;
  }
  const seed = Number(options.seed ?? '1');
  if (!Number.isSafeInteger(seed))
    throw new UsageError(`--seed: "${options.seed ?? ''}" is not an integer`);
  const results: MutantResult[] = [];
  for (const [i, mutant] of selected.entries()) {
    const result = await tryMutant({
      mutant,
      checks: CHECKS,
      services: ALL_SERVICES,
      profiles: PROFILES,
      seed,
      timeoutMs: 60_000,
      version: VERSION,
      // Over http, the mutant's own rule is enough to see it killed (a family per served
      // federation would cost minutes each).
      ...(target === 'http' ? { serve: serveMutant, scope: 'rule' as const } : {}),
      ...(target === 'client-shim'
        ? { serve: shimMutant, serves: 'client' as const, scope: 'rule' as const }
        : {}),
    });
    results.push(result);
    const verdict =
      result.note !== undefined
        ? pc.dim('unchecked')
        : result.killed
          ? pc.green('killed')
          : pc.red('SURVIVED');
    io.out(
      `[${i + 1}/${selected.length}] ${verdict.padEnd(19)} ${result.name}${result.killedBy.length > 0 ? `  by ${result.killedBy.join(', ')}` : ''}${result.note === undefined ? '' : `  (${result.note})`}\n`,
    );
  }
  const dir = options.out ?? 'reports/out';
  mkdirSync(dir, { recursive: true });
  const path = join(dir, target === 'sim' ? 'mutants.json' : `mutants-${target}.json`);
  writeFileSync(path, `${JSON.stringify({ seed, target, mutants: results }, null, 2)}\n`);
  const survivors = results.filter((r) => r.note === undefined && !r.killed);
  const unchecked = results.filter((r) => r.note !== undefined).length;
  io.out(
    `\n${results.length} mutants${UNCHECKED[target].over}: ${results.filter((r) => r.killed).length} killed, ${survivors.length} survived, ${unchecked} unchecked (${UNCHECKED[target].why}). Written: ${path}\n`,
  );
  return survivors.length === 0 ? EXIT.ok : EXIT.failures;
}

const UNCHECKED = {
  sim: { over: '', why: 'their rules are planned' },
  http: {
    over: ' over http (fedconn serve --mutant)',
    why: 'client mutants, planned rules, or rules that get no verdict over http',
  },
  'client-shim': {
    over: ' through the client shim (fedconn client-shim --mutant)',
    why: 'server mutants, or planned rules',
  },
} as const;

/** The reference client's shim with `mutant`, judged against the reference servers. */
async function shimMutant(mutant: Mutant): Promise<ServedMutant> {
  const client = await startClient('reference-shim', new Set([mutant.name]));
  return {
    target: withClientUnderTest(simTarget({ services: ALL_SERVICES }), client),
    repro: (id, profile, seed) =>
      `npx fedconn run --client reference-shim --mutant ${mutant.name} --rules ${id} --profile ${profile} --seed ${seed}`,
    close: () => client.close(),
  };
}

/** The reference federation of `fedconn serve --servers 3` (both profiles) serving `mutant`. */
async function serveMutant(mutant: Mutant): Promise<ServedMutant> {
  const served = await serveFederation({
    servers: PHOENIX_PROFILES.flatMap((profile, k) =>
      inProfile(
        [0, 1, 2].map((i) => serverName(k * 3 + i)),
        profile,
      ),
    ),
    seed: 'fedconn',
    services: ALL_SERVICES,
    mutants: [mutant.name],
    // As CI serves the reference: races at the DS overlap (net/latent-store.ts).
    storeLatency: { ms: RACE_STORE_LATENCY_MS },
  });
  let target;
  try {
    target = httpTarget(served.config, {
      timeoutMs: 10_000,
      label: `fedconn serve --mutant ${mutant.name}`,
    });
  } catch (error) {
    await served.close();
    throw error;
  }
  const opened = target;
  return {
    target: opened,
    repro: (id, profile, seed) =>
      `npx fedconn serve --servers 3 --mutant ${mutant.name} & npx fedconn run --target http --config reports/out/target.json --rules ${id} --profile ${profile} --seed ${seed}`,
    close: async () => {
      try {
        await opened.close();
      } finally {
        await served.close();
      }
    },
  };
}
