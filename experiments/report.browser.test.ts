// An experiment's report.html in a real browser: headless Debian Chromium (playwright-core,
// no browser download) shows both figures as drawn SVG, with nothing fetched from the
// network. Without /usr/bin/chromium the test is skipped, saying so in its name.
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { expect, test } from 'vitest';
import { capturedIo } from '../cli/captured-io.ts';
import { main } from '../cli/main.ts';

const CHROMIUM = '/usr/bin/chromium';
const missing = !existsSync(CHROMIUM);
const SKIP_REASON = `${CHROMIUM} is absent (install Debian's chromium package: apt-get install chromium)`;
if (missing) console.warn(`SKIPPED browser test of an experiment's report.html: ${SKIP_REASON}`);

test.skipIf(missing)(
  `an experiment's report.html draws its figures in headless Chromium${missing ? ` (SKIPPED: ${SKIP_REASON})` : ''}`,
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedconn-experiment-html-'));
    const file = join(dir, 'sweep.yaml');
    writeFileSync(
      file,
      'name: sweep\nseeds: 2\npopulation: {aliases_per_user: 1}\nworkload: {connections: 1, messages_per_connection: 2}\nadversary: {services: [hs1.example/AS, hs1.example/QS, hs1.example/DS], network: true}\nattacks: [alias-owner-by-order, connections-by-activity]\nsweep:\n  population.users_per_server: [2, 3]\n',
    );
    const io = capturedIo();
    expect(await main(['experiment', file, '--out', join(dir, 'run'), '--quiet'], io)).toBe(0);
    const context = await chromium.launchPersistentContext(
      mkdtempSync(join(tmpdir(), 'fedconn-chromium-profile-')),
      {
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
        headless: true,
        timeout: 30_000,
      },
    );
    try {
      const page = await context.newPage();
      const external: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith('file:')) external.push(r.url());
      });
      await page.goto(pathToFileURL(join(dir, 'run', 'report.html')).href);
      const figures = page.locator('figure svg');
      // Advantage, links (precision and recall), activity.
      expect(await figures.count()).toBe(3);
      for (const index of [0, 1, 2]) {
        const svg = figures.nth(index);
        const box = await svg.boundingBox();
        expect(box?.width ?? 0).toBeGreaterThan(300);
        expect(box?.height ?? 0).toBeGreaterThan(150);
        // Marks drawn: paths in the plot area, and the axis titles as text.
        expect(await svg.locator('path').count()).toBeGreaterThan(3);
      }
      expect(await figures.nth(0).textContent()).toContain('population.users_per_server');
      expect(await figures.nth(1).textContent()).toContain('recall');
      expect(await figures.nth(2).textContent()).toContain('virtual time');
      // The network observer's flows are drawn beside the services' requests.
      expect(await figures.nth(2).textContent()).toContain('network');
      const shot = join(dir, 'report.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(10_000);
      expect(external).toEqual([]);
    } finally {
      await context.close();
    }
  },
  60_000,
);
