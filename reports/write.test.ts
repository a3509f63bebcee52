import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { toHtmlReport } from './html.ts';
import { toConformanceJson } from './json.ts';
import { toJunitXml } from './junit.ts';
import { mixedReport } from './test-fixture.ts';
import { writeReports } from './write.ts';

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

test('writes the three reports into a new nested directory and returns their paths', () => {
  const root = mkdtempSync(join(tmpdir(), 'fedconn-reports-'));
  made.push(root);
  const dir = join(root, 'nested', 'out');
  const report = mixedReport();
  const paths = writeReports(report, dir);
  expect(paths).toEqual({
    json: join(dir, 'conformance.json'),
    junit: join(dir, 'junit.xml'),
    html: join(dir, 'report.html'),
  });
  expect(readFileSync(paths.json, 'utf8')).toBe(toConformanceJson(report));
  expect(readFileSync(paths.junit, 'utf8')).toBe(toJunitXml(report));
  expect(readFileSync(paths.html, 'utf8')).toBe(toHtmlReport(report));
  // Writing again into the existing directory replaces the files.
  expect(writeReports(report, dir)).toEqual(paths);
});
