// report.html in a real browser: headless Debian Chromium driven by
// playwright-core (no browser download). Without /usr/bin/chromium the test is
// skipped, with the reason in its name and on stderr, so it never passes unseen.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { expect, test } from 'vitest';
import { CHAIN_FAILURE, mixedReport } from './test-fixture.ts';
import { writeReports } from './write.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const missing = !existsSync(CHROMIUM);
const SKIP_REASON = `${CHROMIUM} is absent (install Debian's chromium package: apt-get install chromium)`;
if (missing) console.warn(`SKIPPED browser test of report.html: ${SKIP_REASON}`);

/** "rgb(207, 34, 46)" -> [207, 34, 46]. */
function rgb(css: string): number[] {
  return (css.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map(Number);
}

test.skipIf(missing)(
  `report.html renders the rule matrix in headless Chromium${missing ? ` (SKIPPED: ${SKIP_REASON})` : ''}`,
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedconn-html-'));
    const profile = mkdtempSync(join(tmpdir(), 'fedconn-chromium-profile-'));
    const report = mixedReport();
    const paths = writeReports(report, dir);
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: ARGS,
      headless: true,
      timeout: 30_000,
    });
    try {
      const page = await context.newPage();
      const dialogs: string[] = [];
      const external: string[] = [];
      page.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      page.on('request', (r) => {
        if (!r.url().startsWith('file:')) external.push(r.url());
      });
      await page.goto(pathToFileURL(paths.html).href);

      const matrix = page.locator('#rule-matrix');
      expect(await matrix.isVisible()).toBe(true);
      const rows = matrix.locator('tr[data-rule]');
      expect(await rows.count()).toBe(report.rules.length);
      const ids = await Promise.all(
        report.rules.map((_, i) => rows.nth(i).getAttribute('data-rule')),
      );
      expect(ids).toEqual(report.rules.map((r) => r.id));

      // A failing rule's status cell is red, a planned one is not filled. Page-side
      // code is passed as a string: this project compiles without DOM types.
      const background = (rule: string) =>
        page.evaluate<string>(
          `getComputedStyle(document.querySelector('#rule-matrix tr[data-rule="${rule}"] td.status')).backgroundColor`,
        );
      expect(
        await rows.and(page.locator('[data-rule="CRED-CHAIN-03"]')).getAttribute('data-status'),
      ).toBe('fail');
      const [r = 0, g = 255, b = 255] = rgb(await background('CRED-CHAIN-03'));
      expect(r).toBeGreaterThan(150);
      expect(g).toBeLessThan(100);
      expect(b).toBeLessThan(100);
      expect(await background('IS-PUSH-01')).toBe('rgba(0, 0, 0, 0)');

      // Escaped text shows as text, and nothing in it ran.
      expect(await matrix.locator('tr[data-rule="CRED-CHAIN-03"] td.statement').textContent()).toBe(
        `An intermediate credential <must> be signed by the AS credential & "nothing" else's`,
      );
      expect(dialogs).toEqual([]);

      const failures = page.locator('#failures');
      expect(await failures.isVisible()).toBe(true);
      const repro = failures.locator('#failures-CRED-CHAIN-03 .repro code');
      expect(await repro.textContent()).toBe(CHAIN_FAILURE.repro);
      expect(await repro.isVisible()).toBe(true);
      // The transcript the failure was judged on shows, open, in its card.
      const transcript = failures.locator('#failures-CRED-CHAIN-03 details.transcript pre');
      expect(await transcript.isVisible()).toBe(true);
      expect(await transcript.textContent()).toContain(
        "curl -X POST 'https://hs1.example/_fedconn/v1/ds/groups/g1/join_connection_group'",
      );

      // The inline filter works; without it every row shows anyway.
      await page.selectOption('#status-filter', 'fail');
      expect(await matrix.locator('tr[data-rule]:visible').count()).toBe(1);
      await page.selectOption('#status-filter', '');
      expect(await matrix.locator('tr[data-rule]:visible').count()).toBe(report.rules.length);

      // The browser's own strict XML parser accepts junit.xml too.
      const junit = readFileSync(paths.junit, 'utf8');
      const xmlErrors = await page.evaluate<number>(
        `new DOMParser().parseFromString(${JSON.stringify(junit)}, 'application/xml')` +
          `.getElementsByTagName('parsererror').length`,
      );
      expect(xmlErrors).toBe(0);

      expect(external).toEqual([]);
    } finally {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
      rmSync(profile, { recursive: true, force: true });
    }
  },
  60_000,
);
