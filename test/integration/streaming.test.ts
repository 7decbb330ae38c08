// Long streaming responses (server-sent events) over real sockets: 1,000 open streams on one
// worker with other requests still served, and what holds what. An ASGI stream is a task; a
// WSGI stream holds a thread of the threaded worker for its whole life (and a greenlet of the
// gevent worker). The figures are printed as diagnostics; docs/asgi.md quotes a run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { APPS, startCask, type RunningCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';

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

async function until(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
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
  await sleep(2000);
  const streaming = streams.events.filter((n) => n > 0).length;
  t.diagnostic(`WSGI threads, 1 worker x 4 threads: ${streaming} of 20 streams get events`);
  assert.equal(streaming, 4);
  // Every thread streams: a plain request waits in the queue, and gets 503 after max-queue-wait.
  const started = Date.now();
  const r = await get(server.port, '/pid', {}, { ms: 10_000 });
  assert.equal(r.status, 503);
  assert.ok(Date.now() - started >= 1500);
  streams.close();
});
