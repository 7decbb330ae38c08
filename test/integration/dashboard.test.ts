// /dashboard in Debian's Chromium (headless, through playwright-core; no browser is ever
// downloaded): loaded while the server is under load, its charts must draw from the stream.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { adminPort } from '../helpers/admin.js';
import { APPS, startCask } from '../helpers/cask.js';
import { startLoad } from '../helpers/load.js';

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

test('the dashboard draws its charts from the live stream while the server is under load', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} is missing (Debian: apt-get install chromium)`);
    return;
  }
  const { chromium } = await import('playwright-core');
  const server = await startCask(
    [
      'failures:application',
      '--chdir',
      APPS,
      '-w',
      '2',
      '--threads',
      '2',
      '--admin-bind',
      '127.0.0.1:0',
    ],
    {
      env: { CASK_ADMIN_TOKEN: 'dash' },
    },
  );
  t.after(() => server.stop());
  const load = startLoad(server.port, () => (Math.random() < 0.2 ? '/sleep?0.05' : '/ok'), 4);
  t.after(() => load.stop());
  const profile = mkdtempSync(join(tmpdir(), 'cask-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1400, height: 1000 },
  });
  // After hooks run in the order they were added: the profile goes once Chromium has closed,
  // since a Chromium still shutting down writes into it (rmdir then fails with ENOTEMPTY).
  t.after(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`http://127.0.0.1:${adminPort(server)}/dashboard?access_token=dash`);
  // Strings, evaluated in the page: this project compiles without the DOM's types.
  await page.waitForFunction('Number(document.body.dataset.points) >= 4', undefined, {
    timeout: 15_000,
  });
  const drawn = (await page.evaluate(`[...document.querySelectorAll('canvas')].map((canvas) => {
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    let inked = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) inked++;
    return { id: canvas.id, inked };
  })`)) as Array<{ id: string; inked: number }>;
  assert.equal(drawn.length, 7);
  for (const chart of drawn) assert.ok(chart.inked > 500, `${chart.id} drew ${chart.inked} pixels`);
  const rps = Number(await page.textContent('#now-rps'));
  assert.ok(rps > 0, `requests per second shown: ${rps}`);
  assert.equal(await page.textContent('#status'), 'live');
  assert.deepEqual(errors, []);
  const shot = process.env.CASK_TEST_DASHBOARD_SCREENSHOT;
  if (shot !== undefined && shot !== '') await page.screenshot({ path: shot, fullPage: true });
  assert.deepEqual((await load.stop()).errors, []);
});
