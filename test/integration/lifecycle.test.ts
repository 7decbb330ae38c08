// Start-up and shut-down as a user sees them: the default app, a broken import, bad options,
// a taken port, Unix sockets, the access log, and graceful SIGTERM/SIGINT.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { APPS, runCask, startCask } from '../helpers/cask.js';
import { get, parseResponses } from '../helpers/http.js';

test('`cask serve` with no APP serves the bundled example page', async (t) => {
  const server = await startCask(['serve']);
  t.after(() => server.stop());
  const r = await get(server.port, '/hello?there=1');
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'] ?? '', /text\/html/);
  assert.match(r.body.toString(), /Hello from Cask/);
  assert.match(r.body.toString(), /QUERY_STRING<\/td><td>there=1/);
});

test('an app that fails to import is reported once and the server exits 4 without respawning', async () => {
  const server = runCask([
    'serve',
    'broken_import:application',
    '--chdir',
    APPS,
    '-w',
    '2',
    '-b',
    '127.0.0.1:0',
  ]);
  const code = await server.exited;
  assert.equal(code, 4);
  const err = server.stderr();
  assert.match(err, /ModuleNotFoundError: No module named 'this_module_does_not_exist'/);
  assert.equal(err.split('The application could not be loaded').length - 1, 1);
  assert.match(err, /The application could not be loaded \(CASK_APP_LOAD\)/);
});

test('a missing callable names the module and the attribute', async () => {
  const server = runCask(['serve', 'hello:nope', '--chdir', APPS, '-b', '127.0.0.1:0']);
  assert.equal(await server.exited, 4);
  assert.match(server.stderr(), /nope/);
  assert.match(server.stderr(), /hello/);
});

test('an interpreter that does not exist stops the server with exit 1 and says which', async () => {
  const server = runCask(['serve', '--python', '/nonexistent/python3', '-b', '127.0.0.1:0']);
  assert.equal(await server.exited, 1);
  assert.match(server.stderr(), /The workers could not start: Cannot run \/nonexistent\/python3/);
});

test('a worker that dies before it is ready at start-up stops the server instead of looping', async () => {
  const server = runCask(['serve', '--python', 'false', '-w', '2', '-b', '127.0.0.1:0']);
  assert.equal(await server.exited, 1);
  assert.match(server.stderr(), /A worker exited before it was ready \(code 1\)/);
  assert.doesNotMatch(server.stderr(), /starting a new one/);
});

test('a bad option exits 2 with a message naming it', async () => {
  const server = runCask(['serve', '--workers', 'many']);
  assert.equal(await server.exited, 2);
  assert.match(server.stderr(), /--workers/);
  assert.match(server.stderr(), /many/);
});

test('a port already in use exits 1 with a clear message', async (t) => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  t.after(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  const server = runCask([
    'serve',
    'hello:application',
    '--chdir',
    APPS,
    '-b',
    `127.0.0.1:${port}`,
  ]);
  assert.equal(await server.exited, 1);
  assert.match(server.stderr(), /already in use/);
});

test('a Unix socket listener serves requests', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cask-test-'));
  const path = join(dir, 'app.sock');
  const server = await startCask([
    'serve',
    'hello:application',
    '--chdir',
    APPS,
    '-b',
    `unix:${path}`,
  ]);
  t.after(() => server.stop());
  const raw = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ path }, () =>
      socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
    );
    socket.on('data', (c) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
  });
  const [response] = parseResponses(raw).responses;
  assert.equal(response?.status, 200);
  assert.equal(response?.body.toString(), 'Hello, World!');
});

test('--access-log - writes combined-format lines to stdout', async (t) => {
  const server = await startCask([
    'serve',
    'hello:application',
    '--chdir',
    APPS,
    '--access-log',
    '-',
  ]);
  t.after(() => server.stop());
  await get(server.port, '/logged?q=1', {
    'User-Agent': 'test-agent/1.0',
    Referer: 'http://ref.test/',
  });
  await server.waitFor('/logged');
  assert.match(
    server.stdout(),
    /127\.0\.0\.1 - - \[\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "GET \/logged\?q=1 HTTP\/1\.1" 200 13 "http:\/\/ref\.test\/" "test-agent\/1\.0"/,
  );
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} lets in-flight requests finish, refuses new connections, and exits 0`, async () => {
    const server = await startCask(
      ['serve', 'failures:application', '--chdir', APPS, '--threads', '2'],
      { env: { SAY_SLEEP: '1' } },
    );
    const inflight = get(server.port, '/sleep?1', {}, { ms: 10_000 });
    // The app says so once the request is in it: only then is it in flight for the signal.
    await server.waitFor('sleeping 1.0');
    server.proc.kill(signal);
    const response = await inflight;
    assert.equal(response.status, 200);
    assert.equal(response.body.toString(), 'slept 1.0');
    const code = await server.exited;
    assert.equal(code, 0);
    await assert.rejects(get(server.port, '/ok'), /ECONNREFUSED/);
    assert.match(server.stderr(), new RegExp(`${signal}: shutting down`));
  });
}
