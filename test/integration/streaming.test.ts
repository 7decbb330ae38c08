// Long streaming responses (server-sent events) over real sockets: 1,000 open streams on one
// worker with other requests still served, and what holds what. An ASGI stream is a task; a
// WSGI stream holds a thread of the threaded worker for its whole life (and a greenlet of the
// gevent worker), unless it is a push stream (environ["cask.push_stream"]), which holds none.
// The figures are printed as diagnostics; docs/asgi.md quotes a run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { adminPort } from '../helpers/admin.js';
import { APPS, startCask, type RunningCask } from '../helpers/cask.js';
import { until } from '../helpers/attacks.js';
import { get } from '../helpers/http.js';
import { until as poll } from '../helpers/load.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Streams {
  /** Events each stream has received so far. */
  readonly events: number[];
  close(): void;
}

/** `count` SSE clients on `path`, opened 100 at a time; each counts the events it gets. */
async function openStreams(port: number, path: string, count: number): Promise<Streams> {
  const events = new Array<number>(count).fill(0);
  const sockets: Socket[] = [];
  for (let first = 0; first < count; first += 100) {
    const batch = Array.from({ length: Math.min(100, count - first) }, (_, i) => {
      const index = first + i;
      return new Promise<void>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.write(`GET ${path} HTTP/1.1\r\nHost: h\r\nAccept: text/event-stream\r\n\r\n`);
          resolve();
        });
        socket.setEncoding('latin1');
        socket.on('data', (text: string) => {
          events[index]! += text.split('data: ').length - 1;
        });
        socket.on('error', reject);
        sockets.push(socket);
      });
    });
    await Promise.all(batch);
  }
  return { events, close: () => sockets.forEach((s) => s.destroy()) };
}

function rssMiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? 0 : Math.round(Number(match[1]) / 1024);
}

/** `count` plain requests one after the other; their latencies in ms, sorted. */
async function latencies(server: RunningCask, path: string, count: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const r = await get(server.port, path, {}, { ms: 10_000 });
    assert.equal(r.status, 200);
    out.push(performance.now() - started);
  }
  return out.sort((a, b) => a - b);
}

const pct = (sorted: number[], p: number): string =>
  (sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] as number).toFixed(1);

async function measure(
  t: TestContext,
  server: RunningCask,
  label: string,
  streams: Streams,
): Promise<void> {
  const pid = Number((await get(server.port, '/pid')).body.toString());
  const times = await latencies(server, '/pid', 300);
  const before = streams.events.reduce((a, b) => a + b, 0);
  await sleep(2000);
  const after = streams.events.reduce((a, b) => a + b, 0);
  t.diagnostic(
    `${label}: ${streams.events.length} streams open, ${((after - before) / 2).toFixed(0)} events/s; ` +
      `300 other requests p50 ${pct(times, 50)} ms, p99 ${pct(times, 99)} ms; ` +
      `RSS front ${rssMiB(server.proc.pid as number)} MiB, worker ${rssMiB(pid)} MiB`,
  );
  assert.ok(after > before, 'the streams go on');
}

test('1,000 SSE streams from an ASGI app on one worker, each a task: other requests are still served', async (t) => {
  const server = await startCask(['asgi_app:app', '--chdir', APPS, '-w', '1']);
  t.after(() => server.stop());
  const streams = await openStreams(server.port, '/events?1', 1000);
  t.after(() => streams.close());
  assert.ok(await until(() => streams.events.every((n) => n >= 1), 20_000), 'every stream started');
  await measure(t, server, 'ASGI, 1 worker', streams);
  assert.ok(streams.events.every((n) => n >= 2));
  streams.close();
});

const noGevent = ((): string | false => {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import gevent']);
  return probe.status === 0 ? false : 'python3-gevent is not installed for /usr/bin/python3';
})();

test(
  '1,000 SSE streams from a WSGI app on one gevent worker, each a greenlet: other requests are still served',
  { skip: noGevent },
  async (t) => {
    // Streams hold greenlets: leave some for the other requests.
    const server = await startCask([
    'sse_wsgi:application', '--chdir', APPS, '--python', '/usr/bin/python3', '-w', '1',
    '--worker-class', 'gevent', '--worker-connections', '1100',
  ]); // prettier-ignore
    t.after(() => server.stop());
    const streams = await openStreams(server.port, '/events?1', 1000);
    t.after(() => streams.close());
    assert.ok(
      await until(() => streams.events.every((n) => n >= 1), 20_000),
      'every stream started',
    );
    await measure(t, server, 'WSGI gevent, 1 worker', streams);
    streams.close();
  },
);

test('a WSGI stream holds a thread of the threaded worker for its whole life', async (t) => {
  const server = await startCask([
    'sse_wsgi:application', '--chdir', APPS, '-w', '1', '--threads', '4', '--max-queue-wait', '2',
  ]); // prettier-ignore
  t.after(() => server.stop());
  const streams = await openStreams(server.port, '/events?0.2', 20);
  t.after(() => streams.close());
  // Wait until four streams get events (a loaded machine can take seconds to start them),
  // then 2 s more: any fifth stream would have had time to start as well.
  const streamingNow = (): number => streams.events.filter((n) => n > 0).length;
  await until(() => streamingNow() >= 4, 20_000);
  await sleep(2000);
  const streaming = streamingNow();
  t.diagnostic(`WSGI threads, 1 worker x 4 threads: ${streaming} of 20 streams get events`);
  assert.equal(streaming, 4);
  // Every thread streams: a plain request waits in the queue, and gets 503 after max-queue-wait.
  const started = Date.now();
  const r = await get(server.port, '/pid', {}, { ms: 10_000 });
  assert.equal(r.status, 503);
  assert.ok(Date.now() - started >= 1500);
  streams.close();
});

/** What the push_sse app says: open push streams, and close callbacks run so far. */
async function counts(server: RunningCask): Promise<{ open: number; closed: number }> {
  const r = await get(server.port, '/count');
  assert.equal(r.status, 200);
  return JSON.parse(r.body.toString()) as { open: number; closed: number };
}

async function untilCounts(
  server: RunningCask,
  done: (c: { open: number; closed: number }) => boolean,
  ms: number,
): Promise<{ open: number; closed: number }> {
  let last = await counts(server);
  // Not thrown on timeout: the caller's assertion shows what was seen last.
  await poll(async () => done((last = await counts(server))), ms).catch(() => undefined);
  return last;
}

/** One SSE client that keeps every byte it gets; `ended` once the server closed. */
function rawStream(
  port: number,
  path: string,
): { text(): string; ended: Promise<void>; socket: Socket } {
  let text = '';
  const socket = connect(port, '127.0.0.1', () => {
    socket.write(`GET ${path} HTTP/1.1\r\nHost: h\r\nAccept: text/event-stream\r\n\r\n`);
  });
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (text += chunk));
  socket.on('error', () => {});
  const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  return { text: () => text, ended, socket };
}

test('1,000 push streams from a WSGI app on one worker x 4 threads hold no thread: other requests are still served', async (t) => {
  const server = await startCask([
    'push_sse:application', '--chdir', APPS, '-w', '1', '--threads', '4', '--max-queue-wait', '2',
  ]); // prettier-ignore
  t.after(() => server.stop());
  const streams = await openStreams(server.port, '/events', 1000);
  t.after(() => streams.close());
  const opened = await untilCounts(server, (c) => c.open === 1000, 20_000);
  assert.equal(opened.open, 1000, 'every stream registered');
  // Every stream is open and no thread is held: plain requests go straight through.
  const times = await latencies(server, '/pid', 300);
  for (const round of [1, 2]) {
    const r = await get(server.port, `/publish?${round}`);
    assert.deepEqual(JSON.parse(r.body.toString()), { sent: 1000 });
    assert.ok(
      await until(() => streams.events.every((n) => n >= round), 20_000),
      `every stream got event ${round}: ${streams.events.filter((n) => n < round).length} did not`,
    );
  }
  const pid = Number((await get(server.port, '/pid')).body.toString());
  t.diagnostic(
    `WSGI push streams, 1 worker x 4 threads: 1,000 open; 300 other requests p50 ${pct(times, 50)} ms, ` +
      `p99 ${pct(times, 99)} ms; RSS front ${rssMiB(server.proc.pid as number)} MiB, worker ${rssMiB(pid)} MiB`,
  );
  // Clients that leave are noticed at the next writes (docs/asgi.md, rule 3), and every
  // stream's close callback runs.
  streams.close();
  for (let i = 0; i < 3; i++) {
    await sleep(200);
    await get(server.port, '/publish?gone');
  }
  const after = await untilCounts(server, (c) => c.open === 0, 20_000);
  assert.deepEqual(after, { open: 0, closed: 1000 });
});

test('a push stream whose client stops reading is cut once 1 MiB waits unsent, and its close callback runs', async (t) => {
  const server = await startCask([
    'push_sse:application', '--chdir', APPS, '-w', '1', '--threads', '2',
    '--response-spool-limit', '0',
  ]); // prettier-ignore
  t.after(() => server.stop());
  const stream = rawStream(server.port, '/events');
  t.after(() => stream.socket.destroy());
  assert.equal((await untilCounts(server, (c) => c.open === 1, 10_000)).open, 1);
  stream.socket.pause();
  const r = await get(server.port, '/flood?50000000', {}, { ms: 20_000 });
  const { taken } = JSON.parse(r.body.toString()) as { taken: number };
  t.diagnostic(
    `a client that reads nothing: the stream took ${(taken / 2 ** 20).toFixed(1)} MiB before it was cut`,
  );
  assert.ok(taken < 50_000_000, `the stream was cut (took ${taken} bytes)`);
  assert.deepEqual(await untilCounts(server, (c) => c.closed === 1, 10_000), {
    open: 0,
    closed: 1,
  });
  // The front cut the response: the client never gets the last chunk.
  stream.socket.resume();
  await stream.ended;
  assert.ok(!stream.text().endsWith('0\r\n\r\n'));
  assert.match(server.stderr(), /Push stream cut: the client has taken none of the last \d+ bytes/);
});

test('--timeout cuts a push stream, and its close callback runs', async (t) => {
  const server = await startCask([
    'push_sse:application',
    '--chdir',
    APPS,
    '-w',
    '1',
    '--timeout',
    '2',
  ]);
  t.after(() => server.stop());
  const stream = rawStream(server.port, '/events');
  t.after(() => stream.socket.destroy());
  assert.equal((await untilCounts(server, (c) => c.open === 1, 10_000)).open, 1);
  const started = Date.now();
  await stream.ended;
  t.diagnostic(`cut ${Date.now() - started} ms after the stream opened`);
  assert.match(stream.text(), /^HTTP\/1\.1 200 /);
  assert.ok(!stream.text().endsWith('0\r\n\r\n'), 'cut, not ended');
  assert.deepEqual(await untilCounts(server, (c) => c.closed === 1, 10_000), {
    open: 0,
    closed: 1,
  });
});

test('SIGTERM ends push streams at once with their last chunk, and the server exits 0', async (t) => {
  const server = await startCask([
    'push_sse:application', '--chdir', APPS, '-w', '1', '--graceful-timeout', '20',
  ]); // prettier-ignore
  const streams = [0, 1, 2].map(() => rawStream(server.port, '/events'));
  t.after(() => streams.forEach((s) => s.socket.destroy()));
  assert.equal((await untilCounts(server, (c) => c.open === 3, 10_000)).open, 3);
  await get(server.port, '/publish?last');
  const started = Date.now();
  assert.equal(await server.stop(), 0);
  await Promise.all(streams.map((s) => s.ended));
  // The streams do not hold the drain until the graceful timeout (END_STREAM).
  assert.ok(Date.now() - started < 10_000, `stopped after ${Date.now() - started} ms`);
  for (const s of streams) {
    assert.match(s.text(), /data: last\n\n\r\n0\r\n\r\n$/);
  }
});

test('returning a push stream without start_response() is a 500 that names the mistake', async (t) => {
  const server = await startCask(['push_sse:application', '--chdir', APPS, '-w', '1']);
  t.after(() => server.stop());
  const r = await get(server.port, '/no-head');
  assert.equal(r.status, 500);
  await server.waitFor(/returned a push stream without calling start_response\(\)/, 5000);
  // The thread was let go: the next request is served.
  assert.equal((await get(server.port, '/pid')).status, 200);
});

const noFlask = ((): string | false => {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import flask']);
  return probe.status === 0 ? false : 'python3-flask is not installed for /usr/bin/python3';
})();

test(
  'a Flask Response wrapping a push stream lets go of the thread as well, and /stats shows it streaming',
  { skip: noFlask },
  async (t) => {
    const server = await startCask([
    'push_sse:application', '--chdir', APPS, '-w', '1', '--threads', '1', '--max-queue-wait', '2',
    '--admin-bind', '127.0.0.1:0',
  ]); // prettier-ignore
    t.after(() => server.stop());
    const streams = await openStreams(server.port, '/flask/events', 5);
    t.after(() => streams.close());
    assert.equal((await untilCounts(server, (c) => c.open === 5, 10_000)).open, 5);
    // One thread, five streams open: the thread is free.
    assert.equal((await get(server.port, '/pid')).status, 200);
    // /stats shows them as streaming, on no thread.
    const stats = JSON.parse((await get(adminPort(server), '/stats')).body.toString()) as {
      workers: Array<{ busy: number; requests: Array<{ target: string; phase: string }> }>;
    };
    const worker = stats.workers[0]!;
    assert.equal(worker.busy, 0);
    assert.deepEqual(
      worker.requests.map((r) => `${r.target} ${r.phase}`),
      Array<string>(5).fill('/flask/events streaming'),
    );
    await get(server.port, '/publish?flask');
    assert.ok(await until(() => streams.events.every((n) => n === 1), 10_000));
  },
);

test('push streams hold no greenlet of the gevent worker either', { skip: noGevent }, async (t) => {
  const server = await startCask([
    'push_sse:application', '--chdir', APPS, '--python', '/usr/bin/python3', '-w', '1',
    '--worker-class', 'gevent', '--worker-connections', '2', '--max-queue-wait', '2',
  ]); // prettier-ignore
  t.after(() => server.stop());
  const streams = await openStreams(server.port, '/events', 10);
  t.after(() => streams.close());
  assert.equal((await untilCounts(server, (c) => c.open === 10, 10_000)).open, 10);
  assert.equal((await get(server.port, '/pid')).status, 200);
  await get(server.port, '/publish?gevent');
  assert.ok(await until(() => streams.events.every((n) => n === 1), 10_000));
});
