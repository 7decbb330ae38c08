// `cask dev` seen through a real browser: Debian's Chromium driven by playwright-core (no
// downloaded browser). An edit shows up on reload while a load of requests runs with none
// failing; an exception shows its frames and locals; a syntax error shows its page until the
// fix; a page loaded through another host name (DNS rebinding) gets a plain 500; a page of
// another local origin cannot drive the console, even with the browser's PIN cookie.
// Skipped, with the reason, when /usr/bin/chromium is missing (`.ci/run` installs it).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startCask, type RunningCask } from '../helpers/cask.js';
import { startLoad, until } from '../helpers/load.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install chromium)`;

const APP = `import helper

def application(environ, start_response):
    if environ["PATH_INFO"] == "/boom":
        api_token = "tok-" + "hidden"
        items = [1, 2, 3]
        return helper.fail(items)
    body = ("<!doctype html><title>t</title><p id=v>%s</p>" % helper.VERSION).encode()
    start_response("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))])
    return [body]
`;

const helper = (version: string): string =>
  `VERSION = ${JSON.stringify(version)}\n\ndef fail(items):\n    return items[10]\n`;

async function browser(t: TestContext, extraArgs: string[] = []): Promise<Page> {
  const profile = mkdtempSync(join(tmpdir(), 'cask-chromium-'));
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
  t.after(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  });
  return context.pages()[0] ?? (await context.newPage());
}

async function devServer(t: TestContext): Promise<{ dir: string; server: RunningCask }> {
  const dir = mkdtempSync(join(tmpdir(), 'cask-dev-browser-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'app.py'), APP);
  writeFileSync(join(dir, 'helper.py'), helper('one'));
  const server = await startCask(['dev', 'app:application', '--chdir', dir]);
  t.after(() => server.stop());
  await server.waitFor(/Reloading on changes: watching \d+ file/);
  return { dir, server };
}

test(
  'an edit shows in the browser while a load runs with no failed request',
  { skip },
  async (t) => {
    const { dir, server } = await devServer(t);
    const page = await browser(t);
    const url = `http://127.0.0.1:${server.port}/`;
    await page.goto(url);
    assert.equal(await page.textContent('#v'), 'one');

    const load = startLoad(server.port, '/', 4);
    await until(() => load.count() >= 20, 10_000, 'load');
    writeFileSync(join(dir, 'helper.py'), helper('two'));
    await until(
      async () => {
        await page.reload();
        return (await page.textContent('#v')) === 'two';
      },
      15_000,
      'the new version in the browser',
    );
    const seen = load.count();
    await until(() => load.count() >= seen + 20, 10_000, 'load after the edit');
    const result = await load.stop();
    assert.deepEqual(result.failures, []);
  },
);

test(
  'an exception shows its frames and locals in the browser, the token masked',
  { skip },
  async (t) => {
    const { server } = await devServer(t);
    const page = await browser(t);
    const response = await page.goto(`http://localhost:${server.port}/boom`);
    assert.equal(response?.status(), 500);
    assert.equal(await page.textContent('h1'), 'IndexError: list index out of range');
    const frames = await page.locator('details.frame summary').allTextContents();
    assert.ok(
      frames.some((f) => /app\.py, line 7, in application/.test(f)),
      frames.join('\n'),
    );
    assert.ok(
      frames.some((f) => /helper\.py, line 4, in fail/.test(f)),
      frames.join('\n'),
    );
    const locals = await page.locator('td.name').allTextContents();
    assert.ok(locals.includes('items') && locals.includes('api_token'), locals.join(','));
    const body = (await page.textContent('body')) ?? '';
    assert.ok(body.includes('[1, 2, 3]'));
    assert.ok(!body.includes('tok-hidden'), 'the token is masked');
    assert.ok((await page.inputValue('textarea')).startsWith('Traceback (most recent call last)'));
  },
);

test(
  'a syntax error shows its page in the browser until the next good edit',
  { skip },
  async (t) => {
    const { dir, server } = await devServer(t);
    const page = await browser(t);
    writeFileSync(join(dir, 'helper.py'), 'VERSION = (\n');
    await server.waitFor('Until the next change, requests get the error page', 15_000);
    const broken = await page.goto(`http://127.0.0.1:${server.port}/`);
    assert.equal(broken?.status(), 500);
    assert.match((await page.textContent('h1')) ?? '', /^SyntaxError: .*helper\.py, line/);
    writeFileSync(join(dir, 'helper.py'), helper('fixed'));
    await server.waitFor('The app loads again', 15_000);
    await page.reload();
    assert.equal(await page.textContent('#v'), 'fixed');
  },
);

test(
  'a page reached through another host name gets a plain 500 (DNS rebinding)',
  { skip },
  async (t) => {
    const { server } = await devServer(t);
    // The browser resolves rebind.test to 127.0.0.1, as a rebinding attacker's DNS would.
    const page = await browser(t, ['--host-resolver-rules=MAP rebind.test 127.0.0.1']);
    const response = await page.goto(`http://rebind.test:${server.port}/boom`);
    assert.equal(response?.status(), 500);
    const body = (await page.textContent('body')) ?? '';
    assert.ok(!body.includes('IndexError'), body);
    assert.ok(!body.includes('api_token'), body);
  },
);

test(
  'the PIN entered in the page unlocks the console, and a line runs in the frame',
  { skip },
  async (t) => {
    const { server } = await devServer(t);
    const pin = /Error page console PIN: (\d{3}-\d{3}-\d{3})/.exec(server.stderr())?.[1] ?? '';
    const page = await browser(t);
    const prompts: string[] = [];
    page.on('dialog', (dialog) => {
      prompts.push(dialog.message());
      void dialog.accept(pin);
    });
    await page.goto(`http://localhost:${server.port}/boom`);
    const frame = page.locator('details.frame', { hasText: 'in application' });
    await frame.locator('form.console input').fill('items + [api_token]');
    await frame.locator('form.console input').press('Enter');
    await frame.locator('pre.out', { hasText: 'tok-' }).waitFor();
    assert.equal(
      await frame.locator('pre.out').textContent(),
      ">>> items + [api_token]\n[1, 2, 3, 'tok-hidden']\n",
    );
    assert.deepEqual(prompts, ['Console PIN (printed where cask dev runs):']);
  },
);

test(
  '--reload-browser: the tab reloads by itself after an edit, and after a fix',
  { skip },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'cask-dev-browser-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'app.py'), APP);
    writeFileSync(join(dir, 'helper.py'), helper('one'));
    const server = await startCask(['dev', 'app:application', '--chdir', dir, '--reload-browser']);
    t.after(() => server.stop());
    await server.waitFor(/Reloading on changes: watching \d+ file/);
    const page = await browser(t);
    // The stream's head arriving means the tab listens.
    const listening = (): Promise<unknown> =>
      page.waitForResponse((r) => r.url().endsWith('/__cask__/events'));
    let events = listening();
    await page.goto(`http://127.0.0.1:${server.port}/`);
    await events;

    writeFileSync(join(dir, 'helper.py'), helper('two'));
    await page.locator('#v', { hasText: 'two' }).waitFor({ timeout: 15_000 });

    writeFileSync(join(dir, 'helper.py'), 'VERSION = (\n');
    await server.waitFor('Until the next change, requests get the error page', 15_000);
    events = listening();
    await page.reload();
    assert.match((await page.textContent('h1')) ?? '', /^SyntaxError/);
    await events;
    writeFileSync(join(dir, 'helper.py'), helper('three'));
    await page.locator('#v', { hasText: 'three' }).waitFor({ timeout: 15_000 });
  },
);

/** One request as Chromium reports it: the path, the headers it sent, the status it got. */
interface Sent {
  path: string;
  headers: Record<string, string>;
  status?: number;
}

test(
  'a page of another local origin cannot use the console, though the browser holds its cookie',
  { skip },
  async (t) => {
    const { dir, server } = await devServer(t);
    const pin = /Error page console PIN: (\d{3}-\d{3}-\d{3})/.exec(server.stderr())?.[1] ?? '';
    const page = await browser(t);
    page.on('dialog', (dialog) => void dialog.accept(pin));
    const ran = (name: string): string =>
      `open(${JSON.stringify(join(dir, name))}, "w").write("ran")`;

    // The server's own page: the PIN buys the cookie, and a line runs (the control).
    await page.goto(`http://localhost:${server.port}/boom`);
    const traceback = await page.getAttribute('body', 'data-console');
    const frame = Number(await page.locator('form.console').first().getAttribute('data-frame'));
    const input = page.locator('form.console input').first();
    await input.fill(ran('own-page'));
    await input.press('Enter');
    await page
      .locator('pre.out', { hasText: /write\("ran"\)\n3/ })
      .first()
      .waitFor();
    assert.ok(existsSync(join(dir, 'own-page')), "the line ran from the server's own page");

    // Another server on this machine. localhost:<other port> is the same site as the console
    // (ports do not count), so the SameSite=Strict cookie goes along: only the Origin check
    // stands between this page and the console.
    const other = createServer((_, res) => {
      res
        .writeHead(200, { 'Content-Type': 'text/html' })
        .end('<!doctype html><title>other</title>');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => other.close(() => resolve())));
    const otherPort = (other.address() as AddressInfo).port;
    await page.goto(`http://localhost:${otherPort}/`);

    // What went on the wire, as Chromium reports it (playwright's own view of a cross-origin
    // request leaves out the Cookie and Origin headers).
    const sent = new Map<string, Sent>();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    const entry = (id: string): Sent => {
      let found = sent.get(id);
      if (found === undefined) sent.set(id, (found = { path: '', headers: {} }));
      return found;
    };
    cdp.on('Network.requestWillBeSent', (e) => {
      entry(e.requestId).path = new URL(e.request.url).pathname;
    });
    cdp.on('Network.requestWillBeSentExtraInfo', (e) => {
      entry(e.requestId).headers = e.headers as Record<string, string>;
    });
    cdp.on('Network.responseReceivedExtraInfo', (e) => {
      entry(e.requestId).status = e.statusCode;
    });
    const outcomes = await page.evaluate(
      async ({ base, traceback, frame, code, pin }) => {
        const line = JSON.stringify({ traceback, frame, code });
        const tries: [string, RequestInit][] = [
          // A "simple" request (text/plain): no preflight, the POST itself goes out.
          ['/__cask__/console', { method: 'POST', credentials: 'include', body: line }],
          // What a hostile page fires and forgets: it cannot read the answer, only act.
          [
            '/__cask__/console',
            { method: 'POST', credentials: 'include', mode: 'no-cors', body: line },
          ],
          // The PIN itself, were it known: no cookie for a foreign page either.
          [
            '/__cask__/pin',
            {
              method: 'POST',
              credentials: 'include',
              mode: 'no-cors',
              body: JSON.stringify({ pin }),
            },
          ],
        ];
        const seen: string[] = [];
        for (const [path, init] of tries) {
          try {
            const response = await fetch(base + path, init);
            seen.push(response.type === 'opaque' ? 'opaque' : `read ${response.status}`);
          } catch {
            seen.push('blocked');
          }
        }
        return seen;
      },
      {
        base: `http://localhost:${server.port}`,
        traceback,
        frame,
        code: ran('other-page'),
        pin,
      },
    );
    assert.deepEqual(outcomes, ['blocked', 'opaque', 'opaque'], 'the page reads no answer');
    const answered = (): Sent[] =>
      [...sent.values()].filter((r) => r.path.startsWith('/__cask__/') && r.status !== undefined);
    await until(() => answered().length === 3, 5000, 'the three answers, seen by Chromium');
    for (const request of answered()) {
      const why = `${request.path}: ${JSON.stringify(request)}`;
      assert.equal(request.status, 403, why);
      assert.equal(request.headers['Origin'], `http://localhost:${otherPort}`, why);
      // The browser sent the cookie: the Origin check alone refused the request.
      assert.match(request.headers['Cookie'] ?? '', /cask_console=/, why);
    }
    assert.ok(!existsSync(join(dir, 'other-page')), 'the line never ran');
    const refused = server
      .stderr()
      .match(
        /Console request refused \(the console only answers pages of this server \(Origin\)\)/g,
      );
    assert.equal(refused?.length, 3, server.stderr());
  },
);
