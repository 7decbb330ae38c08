// The instruments the request path bumps, and what /metrics and /stats make of them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Histogram, RequestMetrics, STATUS_CLASSES } from '../../src/admin/instruments.js';
import { parseStatCpu, parseStatusRss } from '../../src/admin/proc.js';
import { renderMetrics } from '../../src/admin/prometheus.js';
import { isLoopback } from '../../src/admin/routes.js';
import { quantile } from '../../src/admin/sampler.js';
import type { AppPart, Snapshot, WorkerView } from '../../src/admin/snapshot.js';
import { statsJson } from '../../src/admin/stats.js';
import { VERSION } from '../../src/version.js';
import { metric, parseMetrics, promtoolCheck } from '../helpers/admin.js';

test('Histogram.observe() counts each value in the first bucket whose bound is not below it', () => {
  const h = new Histogram([0.001, 0.01, 0.1]);
  for (const v of [0.0005, 0.001, 0.002, 0.05, 3]) h.observe(v);
  assert.deepEqual([...h.counts], [2, 1, 1, 1]);
  assert.equal(h.count, 5);
  assert.ok(Math.abs(h.sum - 3.0535) < 1e-9);
  assert.equal(h.counts.length, 4);
});

test('RequestMetrics.completed() splits a request into queue wait, app time and send time', () => {
  const m = new RequestMetrics();
  m.completed('GET', 200, { startedAt: 0, dispatchedAt: 2, doneAt: 12 }, 13);
  m.completed('POST', 503, { startedAt: 0, dispatchedAt: -1, doneAt: -1 }, 1);
  m.completed('BREW', 0, undefined, 5);
  const cls = STATUS_CLASSES.length;
  assert.equal(m.requests[0 * cls + 2], 1);
  assert.equal(m.requests[2 * cls + 5], 1);
  assert.equal(m.requests[7 * cls + 0], 1, 'an unknown method is "other", no status is "none"');
  assert.equal(m.queueWait.count, 1, 'a request never dispatched has no queue wait');
  assert.ok(Math.abs(m.appTime.sum - 0.01) < 1e-12);
  assert.ok(Math.abs(m.sendTime.sum - 0.001) < 1e-12);
  assert.equal(m.duration.count, 2);
});

test('quantile() interpolates inside the bucket, as histogram_quantile() does', () => {
  const bounds = [1, 2, 4];
  const none = new Float64Array(4);
  assert.equal(quantile(bounds, none, none, 0.5), null);
  assert.equal(quantile(bounds, none, Float64Array.from([0, 10, 0, 0]), 0.5), 1.5);
  assert.equal(quantile(bounds, none, Float64Array.from([10, 0, 10, 0]), 0.75), 3);
  assert.equal(
    quantile(bounds, none, Float64Array.from([0, 0, 0, 5]), 0.99),
    4,
    'past the last bound: the last bound',
  );
});

test('parseStatCpu() reads utime and stime past a command name with spaces and parentheses', () => {
  const stat =
    '4242 (python3 (x) y) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 5 0 123 456 789';
  assert.equal(parseStatCpu(stat), 3);
  assert.equal(parseStatCpu('garbage'), undefined);
  assert.equal(parseStatusRss('Name:\tpython3\nVmRSS:\t   2048 kB\nThreads: 5\n'), 2 * 1024 * 1024);
});

test('isLoopback() admits 127.0.0.0/8, ::1, their mapped forms and Unix sockets, nothing else', () => {
  assert.equal(isLoopback('127.0.0.1'), true);
  assert.equal(isLoopback('127.10.0.3'), true);
  assert.equal(isLoopback('::ffff:127.0.0.1'), true);
  assert.equal(isLoopback('::1'), true);
  assert.equal(isLoopback(undefined), true);
  assert.equal(isLoopback('10.0.0.1'), false);
  assert.equal(isLoopback('::ffff:10.0.0.1'), false);
});

function fakeWorker(app: string, pid: number): WorkerView {
  return {
    app,
    worker: 1,
    pid,
    generation: 1,
    state: 'ready',
    threads: 4,
    busy: 3,
    idle: 1,
    queued: 0,
    served: 10,
    startedAt: 1_000_000,
    uptime: 1000,
    startReason: 'start',
    cpuSeconds: 2.25,
    rssBytes: 3e7,
    busySeconds: 12,
    capacitySeconds: 4000,
    requests: [],
  };
}

function fakeApp(name: string, app: string, metrics: RequestMetrics, pid: number): AppPart {
  return {
    name,
    app,
    queue: { depth: 3, max: 1024 },
    target: 1,
    generation: 1,
    reloading: false,
    workers: [fakeWorker(name, pid)],
    busySeconds: 12,
    capacitySeconds: 4000,
    counters: {
      dispatched: 10,
      queueFull: 2,
      queueTimeouts: 0,
      timeouts: 1,
      stuck: 0,
      reclaimed: 0,
      slow: 0,
      appErrors: 0,
      failed: 0,
    },
    starts: { start: 1 },
    exits: {},
    requests: Float64Array.from(metrics.requests),
  };
}

/** A snapshot of a server with these apps, its totals summed as takeSnapshot() sums them. */
function fakeSnapshot(metrics: RequestMetrics, apps?: readonly AppPart[]): Snapshot {
  const parts = apps ?? [fakeApp('app "quoted" \\ back', 'app "quoted" \\ back', metrics, 100)];
  const sum = (f: (a: AppPart) => number): number => parts.reduce((n, a) => n + f(a), 0);
  return {
    at: 2_000_000,
    app: parts.map((a) => a.app).join(', '),
    pid: 1,
    startedAt: 1_000_000,
    front: { cpuSeconds: 1.5, rssBytes: 5e7, heapBytes: 1e7 },
    queue: { depth: sum((a) => a.queue.depth), max: sum((a) => a.queue.max) },
    target: sum((a) => a.target),
    generation: 1,
    reloading: false,
    workers: parts.flatMap((a) => a.workers),
    busySeconds: sum((a) => a.busySeconds),
    capacitySeconds: sum((a) => a.capacitySeconds),
    connections: { idle: 3, 'in-app': 3, active: 1 },
    connectionsByProtocol: {
      'http/1.1': { idle: 2, 'in-app': 3 },
      h2: { active: 1, idle: 1 },
    },
    http2Streams: 4,
    bytesIn: 100,
    bytesOut: 2000,
    spool: { bytes: 0, files: 0, peakBytes: 0, memoryBytes: 0, memoryPeakBytes: 0 },
    counters: {
      accepted: 5,
      overLimit: 1,
      dispatched: sum((a) => a.counters.dispatched),
      queueFull: sum((a) => a.counters.queueFull),
      queueTimeouts: 0,
      timeouts: sum((a) => a.counters.timeouts),
      stuck: 0,
      reclaimed: 0,
      slow: 0,
      appErrors: 0,
      failed: 0,
    },
    starts: { start: parts.length },
    exits: {},
    refused: { CASK_HTTP_BAD_REQUEST: 4 },
    requests: metrics.allRequests(),
    apps: parts,
    metrics,
  };
}

test('renderMetrics() writes counters, gauges and cumulative histograms promtool accepts', (t) => {
  const m = new RequestMetrics();
  m.completed('GET', 200, { startedAt: 0, dispatchedAt: 0.01, doneAt: 0.4 }, 0.5);
  m.completed('GET', 404, { startedAt: 0, dispatchedAt: 0.01, doneAt: 30 }, 31);
  const text = renderMetrics(fakeSnapshot(m), 0.25);
  const values = parseMetrics(text);
  const app = 'app \\"quoted\\" \\\\ back';
  assert.equal(
    metric(values, 'cask_requests_total', { app, method: 'GET', status_class: '2xx' }),
    1,
  );
  assert.equal(
    metric(values, 'cask_requests_total', { app, method: 'GET', status_class: '4xx' }),
    1,
  );
  assert.equal(metric(values, 'cask_app_seconds_bucket', { le: '0.001' }), 1);
  assert.equal(metric(values, 'cask_app_seconds_bucket', { le: '0.025' }), 1);
  assert.equal(
    metric(values, 'cask_app_seconds_bucket', { le: '0.05' }),
    2,
    'buckets are cumulative',
  );
  assert.equal(metric(values, 'cask_app_seconds_bucket', { le: '+Inf' }), 2);
  assert.equal(metric(values, 'cask_app_seconds_count'), 2);
  assert.equal(metric(values, 'cask_capacity_utilization'), 0.25);
  assert.equal(metric(values, 'cask_worker_busy_threads', { worker: 1 }), 3);
  assert.equal(metric(values, 'cask_worker_cpu_seconds_total', { worker: 1 }), 2.25);
  assert.equal(metric(values, 'cask_shed_total', { reason: 'queue_full' }), 2);
  assert.equal(metric(values, 'cask_shed_total', { reason: 'connection_limit' }), 1);
  assert.equal(metric(values, 'cask_refused_total', { reason: 'CASK_HTTP_BAD_REQUEST' }), 4);
  assert.equal(
    metric(values, 'cask_worker_exits_total', { reason: 'crash' }),
    0,
    'reasons are seeded at 0',
  );
  assert.equal(metric(values, 'cask_connections', { protocol: 'http/1.1', state: 'reading' }), 0);
  assert.equal(metric(values, 'cask_connections', { protocol: 'http/1.1', state: 'in-app' }), 3);
  assert.equal(metric(values, 'cask_connections', { protocol: 'h2', state: 'active' }), 1);
  assert.equal(metric(values, 'cask_connections', { protocol: 'h2', state: 'idle' }), 1);
  // The HTTP/1.1 states are always there; another protocol's only once seen.
  assert.equal(metric(values, 'cask_connections', { protocol: 'h2', state: 'reading' }), undefined);
  assert.equal(metric(values, 'cask_http2_streams'), 4);
  const complaints = promtoolCheck(text);
  if (complaints === undefined) {
    t.diagnostic(
      'promtool is not installed (Debian: apt-get install prometheus): format not checked',
    );
    return;
  }
  assert.equal(complaints, '');
});

test("RequestMetrics.forApp() counts its own requests into the server's histograms and totals", () => {
  const server = new RequestMetrics();
  const api = server.forApp();
  const site = server.forApp();
  api.completed('GET', 200, { startedAt: 0, dispatchedAt: 1, doneAt: 2 }, 3);
  site.completed('POST', 500, { startedAt: 0, dispatchedAt: 1, doneAt: 2 }, 3);
  site.completed('POST', 500, undefined, 3);
  const cls = STATUS_CLASSES.length;
  assert.equal(api.requests[0 * cls + 2], 1);
  assert.equal(api.requests[2 * cls + 5], 0, "another app's request is not counted here");
  assert.equal(site.requests[2 * cls + 5], 2);
  assert.equal(server.duration.count, 2, 'one histogram for every app');
  assert.equal(api.duration, server.duration);
  assert.equal(server.total, 3);
  assert.equal(server.allRequests()[2 * cls + 5], 2);
  assert.equal(
    server.forApp().forApp().duration,
    server.duration,
    "an app counter of an app counter is the server's",
  );
  // StatsD asks for exact codes after the apps' counters exist: they count into the same array.
  const codes = server.countStatusCodes();
  api.completed('GET', 204, undefined, 1);
  site.completed('GET', 204, undefined, 1);
  assert.equal(codes[204], 2);
  assert.equal(site.countStatusCodes(), codes);
});

test('renderMetrics() labels every per-app series with its app when there are several', (t) => {
  const server = new RequestMetrics();
  const api = server.forApp();
  const site = server.forApp();
  api.completed('GET', 200, undefined, 1);
  api.completed('GET', 200, undefined, 1);
  site.completed('GET', 404, undefined, 1);
  const text = renderMetrics(
    fakeSnapshot(server, [
      fakeApp('/api', 'api.wsgi:app', api, 100),
      fakeApp('/', 'site.wsgi:app', site, 200),
    ]),
  );
  const values = parseMetrics(text);
  const requests = (app: string, status: string): number | undefined =>
    metric(values, 'cask_requests_total', { app, method: 'GET', status_class: status });
  assert.equal(requests('/api', '2xx'), 2);
  assert.equal(requests('/', '2xx'), 0, 'each app has its GET 2xx seeded');
  assert.equal(requests('/', '4xx'), 1);
  assert.equal(requests('/api', '4xx'), undefined);
  // Both apps have a worker 1: the app label tells them apart.
  assert.equal(
    metric(values, 'cask_worker_info', {
      app: '/api',
      worker: 1,
      pid: 100,
      generation: 1,
      state: 'ready',
    }),
    1,
  );
  assert.equal(
    metric(values, 'cask_worker_info', {
      app: '/',
      worker: 1,
      pid: 200,
      generation: 1,
      state: 'ready',
    }),
    1,
  );
  assert.equal(metric(values, 'cask_worker_busy_threads', { app: '/', worker: 1 }), 3);
  assert.equal(metric(values, 'cask_worker_busy_threads', { worker: 1 }), undefined);
  assert.equal(metric(values, 'cask_queue_depth', { app: '/api' }), 3);
  assert.equal(metric(values, 'cask_workers', { app: '/', state: 'ready' }), 1);
  assert.equal(metric(values, 'cask_worker_starts_total', { app: '/api', reason: 'crash' }), 0);
  assert.equal(metric(values, 'cask_shed_total', { app: '/', reason: 'queue_full' }), 2);
  assert.equal(
    metric(values, 'cask_shed_total', { reason: 'connection_limit' }),
    1,
    "the connection limit is the server's: no app label",
  );
  assert.equal(
    metric(values, 'cask_info', { version: VERSION, app: '/api', callable: 'api.wsgi:app' }),
    1,
  );
  assert.equal(metric(values, 'cask_connections_accepted_total'), 5);
  const lines = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
  const keys = lines.map((line) => line.slice(0, line.lastIndexOf(' ')));
  assert.equal(new Set(keys).size, keys.length, 'no two samples have the same name and labels');
  const complaints = promtoolCheck(text);
  if (complaints === undefined) {
    t.diagnostic(
      'promtool is not installed (Debian: apt-get install prometheus): format not checked',
    );
    return;
  }
  assert.equal(complaints, '');
});

test('statsJson() keeps server totals at the top and lists each app in `apps`', () => {
  const server = new RequestMetrics();
  const api = server.forApp();
  const site = server.forApp();
  api.completed('GET', 200, undefined, 1);
  site.completed('POST', 503, undefined, 1);
  site.completed('POST', 200, undefined, 1);
  const stats = statsJson(
    fakeSnapshot(server, [
      fakeApp('/api', 'api.wsgi:app', api, 100),
      fakeApp('/', 'site.wsgi:app', site, 200),
    ]),
    undefined,
  );
  assert.equal(stats.requests.total, 3);
  assert.deepEqual(stats.requests.byStatus, { '2xx': 2, '5xx': 1 });
  assert.equal(stats.workers.length, 2);
  assert.equal(stats.targetWorkers, 2);
  assert.deepEqual(
    stats.apps.map((a) => [a.name, a.app, a.requests.total, a.workers.length]),
    [
      ['/api', 'api.wsgi:app', 1, 1],
      ['/', 'site.wsgi:app', 2, 1],
    ],
  );
  assert.deepEqual(stats.apps[1]?.requests.byMethod, { POST: 2 });
  assert.equal(stats.apps[0]?.utilization.sinceStart, 12 / 4000);
});
