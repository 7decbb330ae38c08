// `cask status` and `cask top` render /stats; the rendering is a pure function of it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Stats } from '../../src/admin/stats.js';
import { formatDuration, formatSize, renderStats } from '../../src/admin/top.js';

function stats(over: { uptime: number; cpu: number; served: number }): Stats {
  const none = { count: 0, meanMs: null, p50Ms: null, p90Ms: null, p99Ms: null };
  return {
    version: '0.1.0',
    pid: 10,
    app: 'myproject.wsgi:application',
    startedAt: 0,
    uptime: over.uptime,
    generation: 1,
    targetWorkers: 1,
    reloading: false,
    queue: { depth: 2, max: 1024 },
    utilization: { recent: 0.5, sinceStart: 0.1 },
    requests: { total: 40, byStatus: { '2xx': 40 }, byMethod: { GET: 40 } },
    latency: { queueWait: none, app: none, send: none, total: none },
    last: null,
    workers: [
      {
        app: 'myproject.wsgi:application',
        worker: 1,
        pid: 4242,
        generation: 1,
        state: 'ready',
        threads: 2,
        busy: 2,
        idle: 0,
        queued: 1,
        served: over.served,
        startedAt: 0,
        uptime: over.uptime,
        startReason: 'start',
        cpuSeconds: over.cpu,
        rssBytes: 30 * 1024 * 1024,
        busySeconds: 1,
        capacitySeconds: 2,
        requests: [
          {
            id: 1,
            method: 'GET',
            target: '/slow',
            client: '127.0.0.1',
            age: 2.5,
            phase: 'running',
            started: true,
          },
          {
            id: 2,
            method: 'POST',
            target: '/form',
            client: '127.0.0.1',
            age: 0.25,
            phase: 'overdue',
            started: true,
          },
          {
            id: 3,
            method: 'GET',
            target: '/next',
            client: '127.0.0.1',
            age: 0.01,
            phase: 'running',
            started: false,
          },
        ],
      },
    ],
    front: { cpuSeconds: 1, rssBytes: 60 * 1024 * 1024, heapBytes: 1 },
    connections: {},
    connectionsByProtocol: {},
    http2Streams: 0,
    bytes: { in: 0, out: 0 },
    spool: { bytes: 0, files: 0, peakBytes: 0, memoryBytes: 0, memoryPeakBytes: 0 },
    counters: {
      accepted: 0,
      overLimit: 0,
      dispatched: 0,
      queueFull: 0,
      queueTimeouts: 0,
      timeouts: 0,
      stuck: 0,
      reclaimed: 0,
      slow: 0,
      appErrors: 0,
      failed: 0,
    },
    starts: {},
    exits: {},
    refused: {},
    apps: [],
  };
}

test('renderStats() shows each worker, what its threads run and for how long, and its CPU%', () => {
  const before = stats({ uptime: 10, cpu: 1, served: 20 });
  const after = stats({ uptime: 12, cpu: 2, served: 40 });
  const screen = renderStats(after, before, 200);
  const line = screen.split('\n').find((l) => l.startsWith('1 '));
  assert.ok(line, screen);
  assert.match(line, /4242\s+1\s+ready\s+2\s+2\s+40\s+10\s+50\s+2\.0\s+30M/);
  assert.match(line, /GET \/slow \(2\.5 s\), POST \/form \(250 ms, overdue\) \+1 waiting/);
  assert.match(screen, /queue 2\/1024/);
  assert.match(screen, /utilisation 50%/);
});

test('renderStats() names the app of each worker, and sums each app up, when there are several', () => {
  const one = stats({ uptime: 12, cpu: 2, served: 40 });
  const worker = one.workers[0] as Stats['workers'][number];
  const app = (name: string, pid: number): Stats['apps'][number] => ({
    name,
    app: `${name.slice(1) || 'site'}.wsgi:app`,
    generation: 1,
    targetWorkers: 1,
    reloading: false,
    queue: { depth: 0, max: 512 },
    utilization: { sinceStart: 0 },
    requests: { total: pid === 4242 ? 40 : 3, byStatus: { '5xx': 3 }, byMethod: {} },
    workers: [{ ...worker, app: name, pid }],
    counters: one.counters,
    starts: {},
    exits: {},
  });
  const apps = [app('/api', 4242), app('/', 4343)];
  const screen = renderStats(
    { ...one, apps, workers: apps.flatMap((a) => a.workers) },
    undefined,
    200,
  );
  assert.match(
    screen,
    /^app \/api \(api\.wsgi:app\) {2}workers 1\/1 {2}queue 0\/512 {2}requests 40 {2}5xx 3$/m,
  );
  assert.match(screen, /^app \/ \(site\.wsgi:app\)/m);
  assert.match(screen, /^APP\s+WID/m);
  assert.match(screen, /^\/api\s+1\s+4242\s/m);
  assert.match(screen, /^\/\s+1\s+4343\s/m);
  // One app: no APP column, as before.
  assert.doesNotMatch(renderStats(one, undefined, 200), /APP|^app /m);
});

test('renderStats() numbers a worker front.worker when several fronts answer (--fronts)', () => {
  const one = stats({ uptime: 12, cpu: 2, served: 40 });
  const worker = one.workers[0] as Stats['workers'][number];
  const merged = {
    ...one,
    fronts: 2,
    workers: [
      { ...worker, front: 1, pid: 4242 },
      { ...worker, front: 2, pid: 4343 },
    ],
  };
  const screen = renderStats(merged, undefined, 200);
  assert.match(screen, /^fronts 2 \(a worker is front\.worker\)$/m);
  assert.match(screen, /^1\.1\s+4242\s/m);
  assert.match(screen, /^2\.1\s+4343\s/m);
  assert.doesNotMatch(renderStats(one, undefined, 200), /^fronts/m);
});

test('renderStats() cuts lines to the terminal width', () => {
  const screen = renderStats(stats({ uptime: 1, cpu: 0, served: 1 }), undefined, 60);
  for (const line of screen.split('\n'))
    assert.ok(line.length <= 60 || !line.startsWith('1 '), line);
});

test('formatDuration() and formatSize() write what a person reads at a glance', () => {
  assert.equal(formatDuration(0.25), '250 ms');
  assert.equal(formatDuration(2.5), '2.5 s');
  assert.equal(formatDuration(125), '2m05s');
  assert.equal(formatDuration(7260), '2h01m');
  assert.equal(formatSize(30 * 1024 * 1024), '30M');
  assert.equal(formatSize(null), '-');
});
