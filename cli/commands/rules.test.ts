import { execFileSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { RULES } from '../../suites/catalog/index.ts';
import { main } from '../main.ts';
import { capturedIo } from '../captured-io.ts';

const capture = capturedIo;

interface JsonRule {
  id: string;
  family: string;
  level: string;
  roles: string[];
  profiles: string[];
  sources: { doc: string; section: string; where: string }[];
  statement: string;
  checkedBy: string;
  status: string;
  planned: boolean;
}

async function rulesJson(...args: string[]): Promise<JsonRule[]> {
  const io = capture();
  expect(await main(['rules', '--json', ...args], io)).toBe(0);
  return (JSON.parse(io.stdout()) as { rules: JsonRule[] }).rules;
}

describe('fedconn rules', () => {
  test('--json lists every rule in force with all its fields', async () => {
    const rules = await rulesJson();
    expect(rules.map((r) => r.id)).toEqual(
      RULES.filter((r) => r.retired === undefined).map((r) => r.id),
    );
    for (const r of rules) {
      expect(r).toMatchObject({
        level: expect.stringMatching(/^(MUST|SHOULD|MAY)$/) as unknown,
        statement: expect.any(String) as unknown,
        checkedBy: expect.any(String) as unknown,
      });
      expect(r.roles.length).toBeGreaterThan(0);
      expect(r.profiles.length).toBeGreaterThan(0);
      expect(r.sources[0]?.where).toEqual(expect.any(String));
      expect(r.status).toBe(r.planned ? 'planned' : 'checked');
    }
  });

  test('filters by family, profile, role and level, combining them with AND', async () => {
    const chain = await rulesJson('--family', 'cred-chain');
    expect(chain.length).toBeGreaterThan(0);
    expect(chain.every((r) => r.family === 'CRED-CHAIN')).toBe(true);

    const twoFamilies = await rulesJson('--family', 'IS-PUSH,IS-FED');
    expect(new Set(twoFamilies.map((r) => r.family))).toEqual(new Set(['IS-PUSH', 'IS-FED']));

    const old = await rulesJson('--profile', 'matrix-2014');
    expect(old.length).toBeGreaterThan(0);
    expect(old.every((r) => r.profiles.includes('matrix-2014'))).toBe(true);

    const ds = await rulesJson('--role', 'DS', '--level', 'MUST');
    expect(ds.length).toBeGreaterThan(0);
    expect(ds.every((r) => r.roles.includes('DS') && r.level === 'MUST')).toBe(true);

    const none = await rulesJson('--family', 'FED-NAME', '--role', 'DS');
    expect(none).toEqual([]);
  });

  test('an unknown filter value is a usage error naming the option and the allowed values', async () => {
    const io = capture();
    expect(await main(['rules', '--role', 'QUEUE'], io)).toBe(2);
    expect(io.stderr()).toContain('--role: unknown value "QUEUE"');
    expect(io.stderr()).toContain('AS, QS, DS, IS, FED, CLIENT');
  });

  test('an unknown command or option is a usage error', async () => {
    const io = capture();
    expect(await main(['rulez'], io)).toBe(2);
    expect(await main(['rules', '--jsonn'], io)).toBe(2);
  });

  test('the table shows planned rules plainly as unchecked', async () => {
    const io = capture();
    expect(await main(['rules', '--family', 'FED-KEYS'], io)).toBe(0);
    const planned = RULES.filter((r) => r.family === 'FED-KEYS' && r.planned === true);
    if (planned.length > 0) expect(io.stdout()).toContain('planned (unchecked)');
    expect(io.stdout()).toMatch(
      /\d+ rules \(.*\) in 1 families: \d+ checked, \d+ planned and unchecked\./,
    );
  });

  test('the bin entry works as `npx fedconn` does', () => {
    const out = execFileSync(
      process.execPath,
      ['cli/bin.js', 'rules', '--json', '--family', 'IS-LOOKUP'],
      {
        encoding: 'utf8',
      },
    );
    const parsed = JSON.parse(out) as { rules: JsonRule[] };
    expect(parsed.rules.every((r) => r.family === 'IS-LOOKUP')).toBe(true);
  });
});
