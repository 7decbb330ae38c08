// ASGI 3 apps behind cask over real sockets, with a real Python: the raw app in
// test/fixtures/apps/asgi_app.py (no framework), bodies streamed both ways, lifespan,
// disconnects, timeouts, recycling, reload and the access log.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { APPS, startCask, type RunningCask } from '../helpers/cask.js';
import { exchange, get } from '../helpers/http.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function post(port: number, path: string, body: Buffer): Promise<Buffer> {
  const head = `POST ${path} HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  return exchange(port, [Buffer.from(head), body], { ms: 30_000 }).then((x) => {
    assert.equal(x.responses[0]?.status, 200, x.raw.toString('latin1', 0, 300));
    return x.responses[0]!.body;
  });
}

describe('a raw ASGI app', () => {
  let server: RunningCask;
  before(async () => {
    server = await startCask([
      'asgi_app:app', '--chdir', APPS, '--root-path', '/site', '--body-memory-limit', '8m',
      '--access-log', '-', '--readyz-path', '/readyz',
    ]); // prettier-ignore
  });
  after(() => server.stop());

  test('is detected as ASGI and served with its lifespan state', async () => {
    await server.waitFor(/startup pid \d+/);
    assert.match(server.stderr(), /ASGI/);
    const r = await get(server.port, '/site/scope?x=1', { 'X-Thing': 'caf\u00e9' });
    assert.equal(r.status, 200);
    const scope = JSON.parse(r.body.toString()) as Record<string, unknown>;
    assert.equal(scope.path, '/site/scope');
    assert.equal(scope.root_path, '/site');
    assert.equal(scope.query_string, 'x=1');
    assert.equal(scope.method, 'GET');
    assert.equal(scope.http_version, '1.1');
    assert.equal(scope.scheme, 'http');
    assert.deepEqual(scope.state, { started: 'yes' });
    assert.deepEqual((scope.client as unknown[])[0], '127.0.0.1');
    assert.ok(
      (scope.headers as string[][]).some(([n, v]) => n === 'x-thing' && v === 'caf\u00c3\u00a9'),
    );
  });

  test('a hello response leaves with a length, keep-alive, in one piece', async () => {
    const x = await exchange(
      server.port,
      'GET /site/ HTTP/1.1\r\nHost: h\r\n\r\nGET /site/ HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
      { expect: 2 },
    );
    assert.equal(x.responses.length, 2);
    for (const r of x.responses) {
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-length'], '15');
      assert.equal(r.body.toString(), 'Hello from ASGI');
    }
  });

  test('a body in memory larger than the link window reaches the app whole, in pieces', async () => {
    const body = Buffer.alloc(3 * 1024 * 1024 + 5, 'a');
    const counted = JSON.parse((await post(server.port, '/site/count', body)).toString()) as {
      bytes: number;
      messages: number;
    };
    assert.equal(counted.bytes, body.length);
    assert.ok(counted.messages >= 3, `${counted.messages} messages`);
    const echoed = await post(server.port, '/site/echo', body.subarray(0, 100_000));
    assert.ok(echoed.equals(body.subarray(0, 100_000)));
  });

  test('a body spooled to a file is read by the worker in pieces', async () => {
    const body = Buffer.alloc(10 * 1024 * 1024, 'b');
    const counted = JSON.parse((await post(server.port, '/site/count', body)).toString()) as {
      bytes: number;
    };
    assert.equal(counted.bytes, body.length);
  });

  test('a streamed response is chunked, and a large one arrives whole', async () => {
    const stream = await get(server.port, '/site/stream?4');
    assert.equal(stream.headers['transfer-encoding'], 'chunked');
    assert.equal(stream.body.toString(), 'chunk 0\nchunk 1\nchunk 2\nchunk 3\n');
    const size = 8 * 1024 * 1024 + 3;
    const big = await get(server.port, `/site/big?${size}`, {}, { ms: 30_000 });
    assert.equal(big.body.length, size);
    await server.waitFor(`big done ${size}`);
  });

  test('http.response.pathsend has the front send the file', async () => {
    const r = await get(server.port, '/site/file');
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), readFileSync(`${APPS}hello.py`, 'utf8'));
  });

  test('http.response.pathsend of a FIFO: the response is cut and logged, and the front serves on', async (t) => {
    // Opened the way a regular file is, a FIFO waits for a writer: every connection of the
    // front stopped with it. The head left with the SENDFILE frame, so the client sees the
    // connection close before the body's end, as for any file that cannot be sent.
    const dir = mkdtempSync(join(tmpdir(), 'cask-pathsend-'));
    const fifo = join(dir, 'pipe');
    const made = spawnSync('mkfifo', [fifo]);
    if (made.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      t.skip('mkfifo is not available here');
      return;
    }
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const cut = await exchange(
      server.port,
      `GET /site/pathsend?${encodeURIComponent(fifo)} HTTP/1.1\r\nHost: h\r\n\r\n`,
      { waitClose: true, ms: 5000 },
    );
    assert.ok(cut.closed, 'the connection is closed');
    assert.doesNotMatch(cut.raw.toString('latin1'), /\r\n0\r\n\r\n$/, 'no last chunk');
    await server.waitFor(/Cannot open the file the app returned: not a regular file: \S+pipe/);
    assert.equal((await get(server.port, '/site/file')).status, 200);
  });

  test('a client that disconnects mid-stream is seen by the app, and the worker serves on', async () => {
    await new Promise<void>((resolve) => {
      const socket = connect(server.port, '127.0.0.1', () => {
        socket.write('GET /site/forever HTTP/1.1\r\nHost: h\r\n\r\n');
      });
      let got = 0;
      socket.on('data', (chunk) => {
        got += chunk.length;
        if (got > 200) {
          socket.destroy();
          resolve();
        }
      });
    });
    await server.waitFor(
      /disconnected \/forever \((http\.disconnect|send raised ClientDisconnected)\)/,
    );
    assert.equal((await get(server.port, '/site/')).status, 200);
  });

  test('an app error before the response is a 500 with the traceback in the log', async () => {
    const r = await get(server.port, '/site/raise');
    assert.equal(r.status, 500);
    await server.waitFor('ValueError: asgi app failed on purpose');
  });

  test('many requests run at once in one worker, each a task', async () => {
    const started = Date.now();
    const all = await Promise.all(
      Array.from({ length: 60 }, () => get(server.port, '/site/sleep?0.5', {}, { ms: 10_000 })),
    );
    for (const r of all) assert.equal(r.body.toString(), 'slept 0.5');
    assert.ok(Date.now() - started < 4000, `${Date.now() - started} ms for 60 requests of 0.5 s`);
  });

  test('the access log and the probe path cover ASGI requests', async () => {
    assert.equal((await get(server.port, '/readyz')).status, 200);
    await get(server.port, '/site/?logged=1');
    await server.waitFor(/"GET \/site\/\?logged=1 HTTP\/1\.1" 200 15/);
  });
});

test('an ASGI request past --timeout gets 504, its task is cancelled and the worker serves on', async (t) => {
  const server = await startCask(['asgi_app:app', '--chdir', APPS, '--timeout', '1']);
  t.after(() => server.stop());
  const pid = (await get(server.port, '/pid')).body.toString();
  const started = Date.now();
  const slow = await get(server.port, '/sleep?10', {}, { ms: 8000 });
  assert.equal(slow.status, 504);
  assert.ok(Date.now() - started < 4000);
  await server.waitFor('cancelled after timeout');
  assert.equal((await get(server.port, '/pid')).body.toString(), pid);
});

test('a failed lifespan startup stops cask with exit code 4 and the traceback', async (t) => {
  const server = await startCask(['asgi_app:app', '--chdir', APPS], {
    noWait: true,
    env: { ASGI_STARTUP: 'fail' },
  });
  t.after(() => server.stop());
  assert.equal(await server.exited, 4);
  assert.match(server.stderr(), /RuntimeError: cannot reach the database at startup/);
});

test('SIGTERM drains an ASGI worker: the request in progress finishes, then the lifespan shutdown runs', async (t) => {
  const server = await startCask(['asgi_app:app', '--chdir', APPS], { env: { SAY_SLEEP: '1' } });
  t.after(() => server.stop());
  const slow = get(server.port, '/sleep?0.5');
  // The app says so once the request is in it: only then is it in progress for SIGTERM.
  await server.waitFor('sleeping 0.5');
  const code = server.stop();
  assert.equal((await slow).body.toString(), 'slept 0.5');
  assert.equal(await code, 0);
  assert.match(server.stderr(), /shutdown pid \d+/);
});

test('ASGI workers are recycled after --max-requests and reloaded on SIGHUP without a failed request', async (t) => {
  const server = await startCask(['asgi_app:app', '--chdir', APPS, '--max-requests', '4']);
  t.after(() => server.stop());
  // The replacement is started first and takes over once ready: requests never fail meanwhile.
  const pids = new Set<string>();
  for (let i = 0; i < 400 && pids.size < 2; i++) {
    const r = await get(server.port, '/pid');
    assert.equal(r.status, 200);
    pids.add(r.body.toString());
    await sleep(20);
  }
  assert.ok(pids.size >= 2, `pids: ${[...pids].join(', ')}`);
  await server.waitFor('Recycling the worker (max-requests');
  const before = (await get(server.port, '/pid')).body.toString();
  server.proc.kill('SIGHUP');
  await server.waitFor('Reload complete');
  await server.waitFor(`shutdown pid ${before}`);
  const after = (await get(server.port, '/pid')).body.toString();
  assert.notEqual(after, before);
});

test('an app that blocks its loop still gets its 504, and its worker is replaced after the grace', async (t) => {
  const server = await startCask([
    'asgi_app:app', '--chdir', APPS, '--timeout', '1', '--timeout-grace', '1',
  ]); // prettier-ignore
  t.after(() => server.stop());
  const blocked = await get(server.port, '/block?4', {}, { ms: 10_000 });
  assert.equal(blocked.status, 504);
  await server.waitFor('Taking the worker out of service', 10_000);
  assert.equal((await get(server.port, '/', {}, { ms: 10_000 })).status, 200);
});
