// Writes the three report files of a run side by side.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunReport } from '../suites/harness/report.ts';
import { toHtmlReport } from './html.ts';
import { toConformanceJson } from './json.ts';
import { toJunitXml } from './junit.ts';

export interface ReportPaths {
  readonly json: string;
  readonly junit: string;
  readonly html: string;
}

export function writeReports(report: RunReport, dir = 'reports/out'): ReportPaths {
  mkdirSync(dir, { recursive: true });
  const paths = {
    json: join(dir, 'conformance.json'),
    junit: join(dir, 'junit.xml'),
    html: join(dir, 'report.html'),
  };
  writeFileSync(paths.json, toConformanceJson(report));
  writeFileSync(paths.junit, toJunitXml(report));
  writeFileSync(paths.html, toHtmlReport(report));
  return paths;
}
