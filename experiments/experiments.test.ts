// The researcher's workbench: experiment files validated with errors naming the field;
// the measures against published values; and the alias-linkage experiment telling the
// reference client (advantage 0 within its interval) from the client that polls its
// aliases right after its own queue (advantage far above 0), end to end through the CLI.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, test } from 'vitest';
import { capturedIo } from '../cli/captured-io.ts';
import { main } from '../cli/main.ts';
import { measure, wilson } from './measures.ts';
import { runExperiment } from './run.ts';
import { parseExperiment, sweepPoints } from './schema.ts';

const MUTANT = 'ALIAS-UNLINK-01/poll-aliases-with-own-queue';

describe('experiment files', () => {
  test('defaults fill what the file leaves out; YAML and JSON read alike', () => {
    const yaml = parseExperiment('e.yaml', 'name: tiny\nseeds: 2\n');
    const json = parseExperiment('e.json', '{"name": "tiny", "seeds": 2}');
    expect(yaml).toEqual(json);
    expect(yaml.population.homeservers).toBe(2);
    expect(yaml.attacks).toEqual(['alias-owner-by-order']);
  });

  test.each([
    ['{"name": "Bad Name"}', /e\.json: name: lower-case letters, digits and dashes/],
    [
      '{"name": "x", "population": {"users_per_server": 0}}',
      /population\.users_per_server: Too small/,
    ],
    [
      '{"name": "x", "population": {"homeserver": 2}}',
      /population: Unrecognized key: "homeserver"/,
    ],
    [
      '{"name": "x", "attacks": ["guess"]}',
      /attacks\.0: one of alias-owner-by-order, connections-by-activity, ideal-view, or the path of a module/,
    ],
    [
      '{"name": "x", "adversary": {"services": ["hs1/XS"]}}',
      /adversary\.services\.0: must be server\/AS/,
    ],
    [
      '{"name": "x", "sweep": {"population.colour": [1]}}',
      /sweep\.population\.colour: not a parameter/,
    ],
    [
      '{"name": "x", "sweep": {"population.users_per_server": [2, -1]}}',
      /sweep\.population\.users_per_server\.-1: Too small/,
    ],
    [
      '{"name": "x", "sweep": {"seeds": [1], "mutants": [[]], "attacks": [["alias-owner-by-order"]]}}',
      /sweep: at most two parameters, got 3/,
    ],
    ['{"name": ', /e\.json: cannot parse it/],
    [
      '{"name": "x", "population": {"homeservers": 1}, "adversary": {"services": ["hs2.example/AS"]}}',
      /adversary\.services: hs2\.example is not among the 1 homeservers/,
    ],
  ])('%s is refused naming the field', (text, message) => {
    expect(() => parseExperiment('e.json', text)).toThrow(message);
  });

  test('a sweep of two parameters has every combination', () => {
    const e = parseExperiment(
      'e.json',
      JSON.stringify({
        name: 'x',
        sweep: { 'population.users_per_server': [2, 3], mutants: [[], [MUTANT]] },
      }),
    );
    const points = sweepPoints(e);
    expect(points.map((p) => p.parameters)).toEqual([
      { 'population.users_per_server': 2, mutants: [] },
      { 'population.users_per_server': 2, mutants: [MUTANT] },
      { 'population.users_per_server': 3, mutants: [] },
      { 'population.users_per_server': 3, mutants: [MUTANT] },
    ]);
    expect(points[3]?.experiment.population.users_per_server).toBe(3);
    expect(points[3]?.experiment.mutants).toEqual([MUTANT]);
  });
});

describe('measures', () => {
  // Wilson score intervals at 95%, as Newcombe (1998, Table I) and R's prop.test(correct=FALSE) give them.
  test.each([
    [81, 263, 0.2553, 0.3662],
    [15, 148, 0.0624, 0.1605],
    [0, 20, 0, 0.1611],
    [1, 29, 0.0061, 0.1718],
    [5, 10, 0.2366, 0.7634],
  ])('Wilson interval for %i of %i: [%f, %f]', (x, n, low, high) => {
    const ci = wilson(x, n);
    expect(ci.low).toBeCloseTo(low, 4);
    expect(ci.high).toBeCloseTo(high, 4);
  });

  test('advantage is success above chance, anonymity in candidates and bits', () => {
    const m = measure([
      { subject: 'a', guess: 'u1', truth: 'u1', candidates: 4 },
      { subject: 'b', guess: 'u2', truth: 'u3', candidates: 4 },
    ]);
    expect(m.success.value).toBe(0.5);
    expect(m.baseline).toBe(0.25);
    expect(m.advantage.value).toBe(0.25);
    expect(m.advantage.low).toBeCloseTo(m.success.low - 0.25, 12);
    expect(m.anonymitySet).toBe(4);
    expect(m.entropyBits).toBe(2);
  });
});

describe('the alias-linkage experiment', () => {
  test('the AS is at chance with the reference client and links aliases with the leaky one', async () => {
    const e = parseExperiment(
      'e.json',
      JSON.stringify({
        name: 'linkage',
        seeds: 3,
        population: { homeservers: 2, users_per_server: 3, aliases_per_user: 2 },
        workload: { connections: 1, rounds: 2 },
        adversary: { services: ['hs1.example/AS', 'hs2.example/AS'] },
        sweep: { mutants: [[], [MUTANT]] },
      }),
    );
    const [reference, leaky] = await runExperiment(e);
    const ref = reference?.attacks[0]?.measures;
    const bad = leaky?.attacks[0]?.measures;
    expect(ref?.trials).toBe(36);
    expect(ref?.advantage.low).toBeLessThanOrEqual(0);
    expect(ref?.advantage.high).toBeGreaterThanOrEqual(0);
    expect(bad?.advantage.low).toBeGreaterThan(0.3);
  }, 120_000);

  test('fedconn experiment writes the run directory and prints the measures and the repro line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedconn-experiment-'));
    const file = join(dir, 'tiny.yaml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      file,
      'name: tiny\nseeds: 1\npopulation: {users_per_server: 2, aliases_per_user: 1}\nworkload: {connections: 1}\n',
    );
    const io = capturedIo();
    expect(await main(['experiment', file, '--out', join(dir, 'run'), '--quiet'], io)).toBe(0);
    expect(io.stdout()).toMatch(/alias-owner-by-order: advantage -?\d\.\d{3} \(95% CI/);
    expect(io.stdout()).toContain(
      `reproduce: npx fedconn experiment ${file} --out ${join(dir, 'run')}`,
    );
    const resolved = JSON.parse(readFileSync(join(dir, 'run', 'experiment.json'), 'utf8')) as {
      fedconn: string;
      points: { seeds: number[] }[];
    };
    expect(resolved.points[0]?.seeds).toEqual([1]);
    const views = readFileSync(join(dir, 'run', 'views.jsonl'), 'utf8')
      .trim()
      .split('\n');
    const rows = views.map((l) => JSON.parse(l) as Record<string, unknown>);
    // Flat rows, and only the adversary's service (hs1.example/AS by default): no provisioning.
    expect(rows.length).toBeGreaterThan(10);
    for (const row of rows) {
      expect(row.server).toBe('hs1.example');
      for (const v of Object.values(row))
        expect(['string', 'number', 'object']).toContain(typeof v);
      if (row.kind === 'request') expect(row.path).toMatch(/^\/_fedconn\/v1\/as\//);
      else expect(row.table).toMatch(/^as_/);
    }
    // The exports load in DuckDB as tables: the JSON lines as they are, and the Parquet.
    const db = await DuckDBInstance.create(':memory:');
    const sql = await db.connect();
    try {
      const count = async (query: string) =>
        Number((await sql.runAndReadAll(query)).getRows()[0]?.[0]);
      expect(
        await count(`SELECT count(*) FROM read_json_auto('${join(dir, 'run', 'views.jsonl')}')`),
      ).toBe(rows.length);
      expect(await count(`SELECT count(*) FROM '${join(dir, 'run', 'views.parquet')}'`)).toBe(
        rows.length,
      );
      expect(
        await count(
          `SELECT count(*) FROM '${join(dir, 'run', 'views.parquet')}' WHERE kind = 'request' AND path LIKE '/_fedconn/v1/as/%'`,
        ),
      ).toBe(rows.filter((r) => r.kind === 'request').length);
      expect(
        await count(
          `SELECT count(*) FROM '${join(dir, 'run', 'truth.parquet')}' WHERE fact = 'alias'`,
        ),
      ).toBe(2 * 2);
    } finally {
      sql.closeSync();
      db.closeSync();
    }
    const csv = readFileSync(join(dir, 'run', 'measures.csv'), 'utf8');
    expect(csv.split('\n')[0]).toBe(
      'attack,trials,success,success_low,success_high,baseline,advantage,advantage_low,advantage_high,anonymity_set,entropy_bits,links_inferred,links_correct,connections,precision,precision_low,precision_high,recall,recall_low,recall_high,precision_chance',
    );
    expect(readFileSync(join(dir, 'run', 'report.html'), 'utf8')).toContain('alias-owner-by-order');
  }, 60_000);

  test('a bad file exits 2 naming the field', async () => {
    const io = capturedIo();
    const dir = mkdtempSync(join(tmpdir(), 'fedconn-experiment-'));
    const file = join(dir, 'bad.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, '{"name": "x", "workload": {"rounds": 0}}');
    expect(await main(['experiment', file], io)).toBe(2);
    expect(io.stderr()).toMatch(/bad\.json: workload\.rounds: Too small/);
  });

  test("a researcher's own attack module runs beside the built-in one; one that exports none is refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedconn-experiment-'));
    const { writeFileSync } = await import('node:fs');
    const example = join(import.meta.dirname, '../examples/experiments/own-attack.yaml');
    const io = capturedIo();
    expect(await main(['experiment', example, '--out', join(dir, 'own'), '--quiet'], io)).toBe(0);
    expect(io.stdout()).toMatch(/\.\/first-candidate\.ts: advantage/);
    expect(readFileSync(join(dir, 'own', 'report.html'), 'utf8')).toContain('whatever the view');
    writeFileSync(join(dir, 'empty.mjs'), 'export const nothing = 1;\n');
    writeFileSync(join(dir, 'bad.yaml'), 'name: bad\nseeds: 1\nattacks: [./empty.mjs]\n');
    const bad = capturedIo();
    expect(await main(['experiment', join(dir, 'bad.yaml')], bad)).toBe(2);
    expect(bad.stderr()).toMatch(/bad\.yaml: attacks: .*empty\.mjs exports no attack/);
  }, 60_000);

  test('two workers write what one writes, byte for byte', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedconn-experiment-'));
    const { writeFileSync } = await import('node:fs');
    const file = join(dir, 'sweep.yaml');
    writeFileSync(
      file,
      `name: sweep\nseeds: 2\npopulation: {users_per_server: 2}\nworkload: {connections: 1}\nsweep:\n  mutants: [[], [${MUTANT}]]\n`,
    );
    const outputs = [];
    for (const workers of ['1', '2']) {
      const io = capturedIo();
      const out = join(dir, `w${workers}`);
      expect(
        await main(['experiment', file, '--out', out, '--workers', workers, '--quiet'], io),
      ).toBe(0);
      outputs.push(
        ['views.jsonl', 'truth.jsonl', 'measures.csv'].map((f) =>
          readFileSync(join(out, f), 'utf8'),
        ),
      );
    }
    expect(outputs[1]).toEqual(outputs[0]);
    expect(outputs[0]?.[0]?.length).toBeGreaterThan(1000);
  }, 120_000);
});
