// Every row of the failure table in the design, against a real worker running failures.py.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { APPS, startCask, type RunningCask } from '../helpers/cask.js';
import { exchange, get } from '../helpers/http.js';
import { until } from '../helpers/load.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('a broken app behind cask', () => {
  let server: RunningCask;
  before(async () => {
    server = await startCask(['failures:application', '--chdir', APPS, '-w', '1', '--threads', '4', '--timeout', '2']);
  });
  after(() => server.stop());

  test('an exception before the response starts gives 500, a logged traceback, and a usable connection', async () => {
    const x = await exchange(
      server.port,
      'GET /raise-before HTTP/1.1\r\nHost: h\r\n\r\nGET /ok HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
      { expect: 2 },
    );
    assert.equal(x.responses[0]?.status, 500);
    assert.equal(x.responses[1]?.status, 200, 'the same connection keeps working');
    await server.waitFor('ValueError: boom before headers');
    assert.match(server.stderr(), /Error handling request GET \/raise-before/);
  });

  test('an exception after the headers cuts the connection and still calls close()', async () => {
    const x = await exchange(server.port, 'GET /raise-after HTTP/1.1\r\nHost: h\r\n\r\n', { waitClose: true });
    const text = x.raw.toString('latin1');
    assert.match(text, /^HTTP\/1\.1 200 OK/);
    assert.match(text, /first part/);
    assert.doesNotMatch(text, /0\r\n\r\n$/, 'the chunked body must not look complete');
    assert.ok(x.closed);
    const closed = await get(server.port, '/closed');
    assert.match(closed.body.toString(), /raise-after/);
  });

  for (const [path, what] of [
    ['/bad-status', 'an invalid status'],
    ['/crlf-header', 'a header value with CR/LF'],
    ['/hop-by-hop', 'a hop-by-hop header'],
    ['/str-body', 'a str body block'],
    ['/none', 'None instead of an iterable'],
  ] as const) {
    test(`${what} from the app gives 500 and nothing of it reaches the client`, async () => {
      const x = await exchange(server.port, `GET ${path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`, { waitClose: true });
      assert.equal(x.responses[0]?.status, 500);
      assert.doesNotMatch(x.raw.toString('latin1'), /pwned|2000 Nope/);
    });
  }

  test('SystemExit in the app gives 500 and the worker lives on', async () => {
    const before = (await get(server.port, '/pid')).body.toString();
    assert.equal((await get(server.port, '/exit')).status, 500);
    const afterPid = (await get(server.port, '/pid')).body.toString();
    assert.equal(afterPid, before);
  });

  test('write() from start_response sends before the iterable', async () => {
    const r = await get(server.port, '/write');
    assert.equal(r.body.toString(), 'from write; from iterable');
  });

  test('a body shorter than its Content-Length closes the connection', async () => {
    const x = await exchange(server.port, 'GET /short-length HTTP/1.1\r\nHost: h\r\n\r\n', { waitClose: true });
    assert.ok(x.closed);
    assert.match(x.raw.toString('latin1'), /only a few bytes$/);
  });

  test('bytes an iterable yields past its Content-Length are dropped and logged, and the connection serves on', async () => {
    const x = await exchange(
      server.port,
      'GET /long-length HTTP/1.1\r\nHost: h\r\n\r\nGET /ok HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
      { expect: 2 },
    );
    assert.equal(x.responses[0]?.body.toString(), 'declared');
    assert.equal(x.responses[1]?.body.toString(), 'ok', 'the next response is framed right after it');
    assert.doesNotMatch(x.raw.toString('latin1'), /surplus/);
    // The worker writes the report to wsgi.errors; the front tags each of its lines.
    await server.waitFor(/Response longer than its Content-Length: GET \/long-length\n.*7 bytes after the declared length were dropped/);
  });

  test('a block that goes past the Content-Length in one piece is cut at the length, logged, and the connection closed', async () => {
    const x = await exchange(server.port, 'GET /overshoot HTTP/1.1\r\nHost: h\r\n\r\n', { waitClose: true });
    assert.equal(x.responses[0]?.body.toString(), 'ab');
    assert.ok(x.closed);
    assert.match(x.raw.toString('latin1'), /\r\n\r\nab$/);
    await server.waitFor('Response longer than its Content-Length: extra bytes dropped');
  });

  test('an 8 MiB streamed response arrives whole through the flow-controlled link', async () => {
    const r = await get(server.port, '/big', {}, { ms: 20_000 });
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 8 * 1024 * 1024);
    assert.ok(r.body.every((b) => b === 0x78));
  });

  test('a client that never reads a 100 MiB response holds the front to bounded memory', async () => {
    const rss = (): number => {
      const status = readFileSync(`/proc/${server.proc.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) * 1024;
    };
    const before = rss();
    const socket = connect(server.port, '127.0.0.1');
    socket.pause();
    socket.write(`GET /big?${100 * 1024 * 1024} HTTP/1.1\r\nHost: h\r\n\r\n`);
    await sleep(1500);
    const grown = rss() - before;
    socket.destroy();
    // Flow control holds the worker to one window (1 MiB) ahead of the client, and past that
    // the response spool moves what is left to disk: memory grows by socket buffers and the
    // spool's passing garbage, never by the 100 MiB the app offers.
    assert.ok(grown < 48 * 1024 * 1024, `the front grew by ${grown} bytes`);
    assert.equal((await get(server.port, '/ok')).status, 200);
  });

  test('wsgi.file_wrapper sends the file itself', async () => {
    const r = await get(server.port, '/file');
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), readFileSync(`${APPS}failures.py`, 'utf8'));
  });

  test('what the app prints lands in the error log, tagged with its worker', async () => {
    assert.equal((await get(server.port, '/print')).status, 200);
    await server.waitFor('hello from the app on stdout');
    await server.waitFor('via wsgi.errors');
    assert.match(server.stderr(), /\[worker 1 pid \d+ stdout\] hello from the app on stdout/);
    assert.match(server.stderr(), /\[worker 1 pid \d+ stderr\] and on stderr/);
  });

  test('a client that disconnects mid-response frees the worker and close() is called', async () => {
    await new Promise<void>((resolve) => {
      const socket = connect(server.port, '127.0.0.1', () => socket.write('GET /stream?100 HTTP/1.1\r\nHost: h\r\n\r\n'));
      socket.once('data', () => {
        socket.destroy();
        resolve();
      });
    });
    // The worker learns of the disconnect at its next write to the front, and close() runs
    // after that: poll for it, with a deadline far past what a loaded machine needs.
    let closed = '';
    await until(
      async () => (closed = (await get(server.port, '/closed')).body.toString()).includes('stream'),
      20_000,
      'close() of the abandoned stream',
    ).catch(() => {});
    assert.match(closed, /stream/);
  });

  test('a request past --timeout gets 504, is stopped in its thread, and the worker lives on', async () => {
    const before = (await get(server.port, '/pid')).body.toString();
    const r = await get(server.port, '/busy?10', {}, { ms: 8000 });
    assert.equal(r.status, 504);
    // The thread is stopped asynchronously after the 504 is sent: poll for its finally block.
    let closed = '';
    await until(
      async () =>
        (closed = (await get(server.port, '/closed')).body.toString()).includes('busy-finally'),
      20_000,
      "the app's finally block",
    ).catch(() => {});
    assert.match(closed, /busy-finally/, "the app's finally block ran");
    assert.equal((await get(server.port, '/pid')).body.toString(), before);
  });

  test('a worker that dies mid-request gives 502 and is respawned', async () => {
    const r = await get(server.port, '/die');
    assert.equal(r.status, 502);
    // A new Python worker has to start: on a loaded machine that can take several seconds.
    let ok = 0;
    await until(
      async () => (ok = (await get(server.port, '/ok')).status) === 200,
      30_000,
      'a respawned worker',
    ).catch(() => {});
    assert.equal(ok, 200);
    assert.match(server.stderr(), /Worker exited/);
  });

  test('a worker that breaks the link protocol gives 502 (CASK_LINK_PROTOCOL) and is replaced', async () => {
    const r = await get(server.port, '/garbage-frame');
    assert.equal(r.status, 502);
    assert.match(
      server.stderr(),
      /Worker link broken, killing the worker: Unknown link frame kind from worker: 0x7f \(CASK_LINK_PROTOCOL\)/,
    );
    // A new Python worker has to start: on a loaded machine that can take several seconds.
    let ok = 0;
    await until(
      async () => (ok = (await get(server.port, '/ok')).status) === 200,
      30_000,
      'a new worker',
    ).catch(() => {});
    assert.equal(ok, 200, 'a new worker serves');
  });
});

test('a full queue answers 503 with Retry-After', async (t) => {
  const server = await startCask(['failures:application', '--chdir', APPS, '-w', '1', '--threads', '1', '--prefetch', '0', '--max-queue', '1']);
  t.after(() => server.stop());
  // Four requests on four connections at once: one runs, one waits in the queue, two find it
  // full. That holds only while all four reach the front before the first one ends, so each
  // runs 2 s: on a loaded machine the four connections can be read hundreds of milliseconds
  // apart, and with a shorter request the queue could empty before the last one arrives.
  const results = await Promise.all([0, 1, 2, 3].map(() => get(server.port, '/sleep?2', {}, { ms: 20_000 })));
  const statuses = results.map((r) => r.status).sort();
  assert.deepEqual(statuses, [200, 200, 503, 503]);
  const busy = results.find((r) => r.status === 503)!;
  assert.equal(busy.headers['retry-after'], '1');
});

test('an app still running after its whole response: the client has it at once, the worker serves on, and a later error is logged with its request', async (t) => {
  const server = await startCask(
    // --graceful-timeout 1: the app is still in its 10 s sleep when the test ends, and the
    // stop need not wait for it.
    ['failures:application', '--chdir', APPS, '-w', '1', '--threads', '2', '--graceful-timeout', '1'],
  );
  t.after(() => server.stop());
  // The block that completes the Content-Length ends the response (its frame carries END),
  // while the app sleeps on in its iterable, as it may in close(). A front that waited for
  // the iterable's end would answer after 10 s; the bound of 5 s leaves a loaded machine
  // seconds for a request that takes milliseconds.
  const started = Date.now();
  const x = await exchange(
    server.port,
    'GET /after-body?10 HTTP/1.1\r\nHost: h\r\n\r\nGET /ok HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
    { expect: 2, ms: 20_000 },
  );
  const took = Date.now() - started;
  assert.equal(x.responses[0]?.body.toString(), 'all of it');
  assert.equal(x.responses[1]?.status, 200, 'the same connection answers the next request meanwhile');
  assert.ok(took < 5000, `the responses came after ${took} ms, not before the app finished`);
  // An error the app raises after its whole response names the request in the log.
  const late = await get(server.port, '/raise-after-body?0.2');
  assert.equal(late.body.toString(), 'all of it');
  // The worker writes the report to wsgi.errors, a line at a time; the front tags each line.
  await server.waitFor(/Error after the response ended GET \/raise-after-body\?0\.2\n/);
  await server.waitFor('RuntimeError: boom after the whole response');
  assert.equal((await get(server.port, '/ok')).status, 200);
});
