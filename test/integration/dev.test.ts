// `cask dev` and `cask serve --reload` with the real cask and a real Python: an edit reloads the
// app under steady load without one failed request, a syntax error shows the error page until
// the next good edit, the error page shows frames and locals (secrets masked) only to local
// requests, a stream that never ends does not hold a reload, and saves within --reload-delay
// of each other reload once.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { startCask, type RunningCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';
import { startLoad, until } from '../helpers/load.js';

const APP = `import helper

def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/boom":
        secret_key = "s3cr3t-" + "value"
        count = 3
        return helper.divide(count, 0)
    if path == "/stream":
        return helper.stream(start_response)
    body = helper.text().encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
`;

function helperSource(version: string): string {
  return `import time

def text():
    return ${JSON.stringify(version)}

def divide(a, b):
    return a / b

def stream(start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    while True:
        yield b"tick\\n"
        time.sleep(0.05)
`;
}

function project(t: TestContext, version = 'one'): string {
  const dir = mkdtempSync(join(tmpdir(), 'cask-dev-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'app.py'), APP);
  writeFileSync(join(dir, 'helper.py'), helperSource(version));
  return dir;
}

/** Replaces a file the way many editors save: write a new file, rename it over the old one. */
function save(path: string, text: string): void {
  writeFileSync(`${path}.tmp-save`, text);
  renameSync(`${path}.tmp-save`, path);
}

async function dev(t: TestContext, dir: string, extra: string[] = []): Promise<RunningCask> {
  const server = await startCask(['dev', 'app:application', '--chdir', dir, ...extra]);
  t.after(() => server.stop());
  await server.waitFor(/Reloading on changes: watching \d+ file/);
  return server;
}

const text = (r: { body: Buffer }): string => r.body.toString();

test('an edit under steady load: not one request fails, the socket stays open, the new code answers', async (t) => {
  const dir = project(t);
  const server = await dev(t, dir);
  const load = startLoad(server.port, '/', 4);
  await until(() => load.count() >= 30, 10_000, 'load before the edit');
  save(join(dir, 'helper.py'), helperSource('two'));
  await server.waitFor('Reload complete: generation 2 serves', 15_000);
  const seen = load.count();
  await until(() => load.count() >= seen + 30, 10_000, 'load after the edit');
  const result = await load.stop();

  assert.deepEqual(result.failures, []);
  assert.deepEqual([...new Set(result.responses.map(text))].sort(), ['one', 'two']);
  assert.equal(text(await get(server.port, '/')), 'two');
  assert.match(server.stderr(), /Changed: .*helper\.py; reloading/);
});

test('a syntax error gives the error page naming it, file and line, until the next good edit', async (t) => {
  const dir = project(t);
  const server = await dev(t, dir);
  writeFileSync(join(dir, 'helper.py'), 'def text(:\n    return "x"\n');
  await server.waitFor('Until the next change, requests get the error page', 15_000);

  const page = await get(server.port, '/anything');
  assert.equal(page.status, 500);
  assert.match(page.headers['content-type'] ?? '', /^text\/html/);
  assert.match(text(page), /<h1>SyntaxError: [^<]*\(helper\.py, lines? 1[)-]/);
  assert.match(text(page), /helper\.py/);
  assert.match(text(page), /def text\(:/, 'the offending source line');
  const json = await get(server.port, '/', { Accept: 'application/json' });
  assert.equal(json.status, 500);
  const error = (JSON.parse(text(json)) as { error: { type: string; title: string } }).error;
  assert.equal(error.type, 'SyntaxError');

  writeFileSync(join(dir, 'helper.py'), helperSource('fixed'));
  await server.waitFor('The app loads again', 15_000);
  const back = await get(server.port, '/');
  assert.equal(back.status, 200);
  assert.equal(text(back), 'fixed');
});

test('the error page shows each frame with its source and locals, secrets masked; JSON on request', async (t) => {
  const dir = project(t);
  const server = await dev(t, dir);
  const page = await get(server.port, '/boom', {
    Cookie: 'sessionid=cookie-secret-123',
    Authorization: 'Bearer auth-secret-456',
  });
  assert.equal(page.status, 500);
  assert.equal(page.headers['cache-control'], 'no-store');
  const html = text(page);
  assert.match(html, /<h1>ZeroDivisionError: division by zero<\/h1>/);
  assert.match(html, /app\.py, line 8, in <span class="fn">application<\/span>/);
  assert.match(html, /helper\.py, line 7, in <span class="fn">divide<\/span>/);
  assert.match(html, /return helper\.divide\(count, 0\)/, 'the source of the frame');
  assert.match(html, /<td class="name">count<\/td><td>3<\/td>/);
  assert.match(html, /<td class="name">secret_key<\/td><td>\*{8}<\/td>/);
  assert.match(html, /<textarea readonly>Traceback \(most recent call last\)/);
  for (const secret of ['s3cr3t-value', 'cookie-secret-123', 'auth-secret-456'])
    assert.ok(!html.includes(secret), `${secret} is masked`);
  assert.match(server.stderr(), /Error handling request GET \/boom\n[\s\S]*ZeroDivisionError/);

  const json = await get(server.port, '/boom', { Accept: 'application/json' });
  assert.equal(json.headers['content-type'], 'application/json');
  const error = (
    JSON.parse(text(json)) as {
      error: {
        type: string;
        exceptions: { frames: { function: string; locals: Record<string, string> }[] }[];
      };
    }
  ).error;
  assert.equal(error.type, 'ZeroDivisionError');
  const frames = error.exceptions[0]?.frames ?? [];
  assert.deepEqual(
    frames.map((f) => f.function),
    ['application', 'divide'],
  );
  assert.deepEqual(frames[1]?.locals, { a: '3', b: '0' });
});

test('a foreign Host gets a plain 500, unless --dev-allowed-hosts names it', async (t) => {
  const dir = project(t);
  const server = await dev(t, dir);
  for (const host of ['example.com', 'localhost.example.com', '192.168.1.10:8000']) {
    const plain = await get(server.port, '/boom', { Host: host });
    assert.equal(plain.status, 500);
    assert.ok(!text(plain).includes('ZeroDivisionError'), `no page for Host ${host}`);
  }
  for (const host of ['localhost', `127.0.0.1:${server.port}`, '[::1]']) {
    const shown = await get(server.port, '/boom', { Host: host });
    assert.match(text(shown), /ZeroDivisionError/, `page for Host ${host}`);
  }

  const allowed = await dev(t, dir, ['--dev-allowed-hosts', 'devbox.test']);
  assert.match(
    text(await get(allowed.port, '/boom', { Host: 'devbox.test:8000' })),
    /ZeroDivisionError/,
  );
  assert.ok(!text(await get(allowed.port, '/boom', { Host: 'other.test' })).includes('Zero'));
});

test('`cask serve` never shows the error page, even to localhost', async (t) => {
  const dir = project(t);
  const server = await startCask(['app:application', '--chdir', dir]);
  t.after(() => server.stop());
  const plain = await get(server.port, '/boom', { Host: 'localhost' });
  assert.equal(plain.status, 500);
  assert.ok(!text(plain).includes('ZeroDivisionError'));
  assert.doesNotMatch(server.stderr(), /Reloading on changes/);
});

test('a stream that never ends does not hold a reload; the old worker is stopped after graceful-timeout', async (t) => {
  const dir = project(t);
  const server = await dev(t, dir, ['--graceful-timeout', '1s']);
  const stream = connect(server.port, '127.0.0.1');
  t.after(() => stream.destroy());
  let received = '';
  stream.setEncoding('latin1').on('data', (s: string) => (received += s));
  const closed = new Promise<void>((resolve) => stream.on('close', () => resolve()));
  stream.write('GET /stream HTTP/1.1\r\nHost: localhost\r\n\r\n');
  await until(() => received.includes('tick'), 10_000, 'the stream');

  save(join(dir, 'helper.py'), helperSource('after'));
  await server.waitFor('Reload complete: generation 2 serves', 15_000);
  // Timed from the new generation serving, when the old worker is told to stop, so that the
  // time a loaded machine takes to notice the save and start a new Python worker does not
  // count. The old worker gets the 1 s --graceful-timeout and is then stopped, which cuts the
  // stream; a stream that held the old worker would never end. The 8 s leave a loaded
  // machine room to stop the worker and close the connection.
  const started = Date.now();
  assert.equal(text(await get(server.port, '/')), 'after');
  await closed;
  const took = Date.now() - started;
  assert.ok(took < 8000, `the old worker let go of the stream ${took} ms after the reload`);
});

test('an app broken at start-up does not stop `cask dev`: it shows the error and recovers on the fix', async (t) => {
  const dir = project(t);
  writeFileSync(join(dir, 'helper.py'), 'import nonexistent_module_xyz\n');
  const server = await startCask(['dev', 'app:application', '--chdir', dir]);
  t.after(() => server.stop());
  await server.waitFor('Until the next change, requests get the error page', 15_000);
  await server.waitFor(/Reloading on changes: watching \d+ file/);
  const page = await get(server.port, '/');
  assert.equal(page.status, 500);
  assert.match(
    text(page),
    /ModuleNotFoundError: No module named &#x27;nonexistent_module_xyz&#x27;/,
  );

  writeFileSync(join(dir, 'helper.py'), helperSource('healed'));
  await server.waitFor('The app loads again', 15_000);
  assert.equal(text(await get(server.port, '/')), 'healed');
});

test('`cask serve --reload`: an edit reloads, a broken edit leaves the old code serving', async (t) => {
  const dir = project(t);
  const server = await startCask(['app:application', '--chdir', dir, '--reload']);
  t.after(() => server.stop());
  await server.waitFor(/Reloading on changes: watching 2 file/);
  save(join(dir, 'helper.py'), helperSource('two'));
  await server.waitFor('Reload complete: generation 2 serves', 15_000);
  assert.equal(text(await get(server.port, '/')), 'two');

  save(join(dir, 'helper.py'), 'def text(:\n');
  await server.waitFor(/Reload failed, generation 2 keeps serving: .*SyntaxError/, 15_000);
  const still = await get(server.port, '/');
  assert.equal(still.status, 200);
  assert.equal(text(still), 'two');
  const boom = await get(server.port, '/boom');
  assert.ok(!text(boom).includes('ZeroDivisionError'), 'no error page from cask serve');
});

test('--reload-include reloads on a matching file; --reload-exclude and .venv never do', async (t) => {
  const dir = project(t);
  mkdirSync(join(dir, 'templates'));
  mkdirSync(join(dir, '.venv'));
  writeFileSync(join(dir, 'templates', 'page.html'), '<p>one</p>');
  writeFileSync(join(dir, 'templates', 'skip.html'), '<p>one</p>');
  writeFileSync(join(dir, '.venv', 'x.html'), '<p>one</p>');
  const server = await dev(t, dir, [
    '--reload-include',
    '*.html',
    '--reload-exclude',
    'templates/skip.html',
  ]);
  await server.waitFor(/watching \d+ file\(s\) of the app and those under .* matching \*\.html/);
  writeFileSync(join(dir, 'templates', 'skip.html'), '<p>two</p>');
  writeFileSync(join(dir, '.venv', 'x.html'), '<p>two</p>');
  await new Promise((r) => setTimeout(r, 600));
  assert.doesNotMatch(server.stderr(), /Changed:/);
  writeFileSync(join(dir, 'templates', 'page.html'), '<p>two</p>');
  await server.waitFor(/Changed: .*templates\/page\.html; reloading/, 10_000);
  await server.waitFor('Reload complete: generation 2 serves', 15_000);
});

test('`cask dev` without APP serves the bundled example with one worker of 8 threads and a short access log', async (t) => {
  const server = await startCask(['dev'], { env: { NO_COLOR: '1' } });
  t.after(() => server.stop());
  assert.match(
    server.stderr(),
    /serving .*hello_app\.py:application .* with 1 worker\(s\) x 8 thread\(s\)/,
  );
  const page = await get(server.port, '/hello?x=1');
  assert.equal(page.status, 200);
  await server.waitFor(/^\d\d:\d\d:\d\d 200 GET \/hello\?x=1 \d/m);
  const escape = String.fromCharCode(0x1b);
  assert.ok(
    !server.stdout().includes(`${escape}[`),
    'no colors with NO_COLOR or without a terminal',
  );
});

test('--reload-delay: a burst of saves within the delay reloads once; a save after it reloads again', async (t) => {
  const dir = project(t);
  const server = await dev(t, dir, ['--reload-delay', '1s']);
  const changes = (): number => server.stderr().match(/Changed: /g)?.length ?? 0;
  const generations = (): string[] =>
    [...server.stderr().matchAll(/Worker ready \(generation (\d+)\)/g)].map((m) => m[1] as string);

  // Five saves 150 ms apart: 600 ms from the first to the last, each inside the 1 s delay.
  for (const version of ['b1', 'b22', 'b333', 'b4444', 'b55555']) {
    if (version !== 'b1') await new Promise((r) => setTimeout(r, 150));
    writeFileSync(join(dir, 'helper.py'), helperSource(version));
  }
  const lastSave = Date.now();
  await server.waitFor(/Changed: .*helper\.py; reloading/, 10_000);
  const quiet = Date.now() - lastSave;
  // The delay runs from the last save, not the first (which would fire 400 ms after the last).
  assert.ok(quiet >= 900, `the reload started ${quiet} ms after the last save`);
  await server.waitFor('Reload complete: generation 2 serves', 15_000);
  assert.equal(text(await get(server.port, '/')), 'b55555', 'the last save is what loaded');
  // Longer than the delay again: a late event of the burst would have started a reload by now.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(changes(), 1, server.stderr());
  assert.deepEqual(generations(), ['2']);
  assert.doesNotMatch(server.stderr(), /generation 3/);

  save(join(dir, 'helper.py'), helperSource('after the delay'));
  await server.waitFor('Reload complete: generation 3 serves', 15_000);
  assert.equal(text(await get(server.port, '/')), 'after the delay');
  assert.equal(changes(), 2);
  assert.deepEqual(generations(), ['2', '3']);
});
