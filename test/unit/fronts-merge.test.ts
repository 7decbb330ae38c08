import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeExpositions, mergeStats } from '../../src/fronts/merge.js';

const front = (requests: number, started: number, util: number, pid: number): string =>
  [
    '# HELP cask_info Build.',
    '# TYPE cask_info gauge',
    'cask_info{version="0.1.0"} 1',
    '# HELP cask_start_time_seconds Start.',
    '# TYPE cask_start_time_seconds gauge',
    `cask_start_time_seconds ${started}`,
    '# HELP cask_requests_total Requests.',
    '# TYPE cask_requests_total counter',
    `cask_requests_total{app="a",method="GET",status_class="2xx"} ${requests}`,
    '# HELP cask_queue_wait_seconds Wait.',
    '# TYPE cask_queue_wait_seconds histogram',
    `cask_queue_wait_seconds_bucket{le="0.001"} ${requests}`,
    `cask_queue_wait_seconds_bucket{le="+Inf"} ${requests}`,
    `cask_queue_wait_seconds_sum ${requests / 1000}`,
    `cask_queue_wait_seconds_count ${requests}`,
    '# HELP cask_worker_info Worker.',
    '# TYPE cask_worker_info gauge',
    `cask_worker_info{worker="1",pid="${pid}",generation="1",state="ready"} 1`,
    '# HELP cask_front_cpu_seconds_total Front CPU.',
    '# TYPE cask_front_cpu_seconds_total counter',
    'cask_front_cpu_seconds_total 0.5',
    '# HELP cask_capacity_utilization Utilisation.',
    '# TYPE cask_capacity_utilization gauge',
    `cask_capacity_utilization ${util}`,
    '',
  ].join('\n');

test('`mergeExpositions()` sums amounts, labels per-process series with their front, and combines the rest by meaning', () => {
  const merged = mergeExpositions([front(10, 100, 0.2, 7), front(30, 90, 0.6, 8)]);
  const lines = merged.split('\n');
  assert.ok(lines.includes('cask_requests_total{app="a",method="GET",status_class="2xx"} 40'));
  assert.ok(lines.includes('cask_queue_wait_seconds_bucket{le="0.001"} 40'));
  assert.ok(lines.includes('cask_queue_wait_seconds_count 40'));
  assert.ok(lines.includes('cask_queue_wait_seconds_sum 0.04'));
  assert.ok(lines.includes('cask_start_time_seconds 90'), 'the earliest start');
  assert.ok(lines.includes('cask_info{version="0.1.0"} 1'), 'one info line, not 2');
  assert.ok(lines.includes('cask_capacity_utilization 0.4'), 'the mean utilisation');
  assert.ok(
    lines.includes('cask_worker_info{front="1",worker="1",pid="7",generation="1",state="ready"} 1'),
  );
  assert.ok(
    lines.includes('cask_worker_info{front="2",worker="1",pid="8",generation="1",state="ready"} 1'),
  );
  assert.ok(lines.includes('cask_front_cpu_seconds_total{front="1"} 0.5'));
  assert.ok(lines.includes('cask_front_cpu_seconds_total{front="2"} 0.5'));
  // Each family's HELP and TYPE once, before its samples.
  assert.equal(lines.filter((l) => l === '# TYPE cask_requests_total counter').length, 1);
  assert.ok(
    lines.indexOf('# TYPE cask_requests_total counter') <
      lines.findIndex((l) => l.startsWith('cask_requests_total{')),
  );
});

test('`mergeStats()` sums amounts, lists every worker with its front, weights means and keeps the slowest percentiles', () => {
  const doc = (pid: number, total: number, meanMs: number, p99Ms: number, workerPid: number) => ({
    version: '0.1.0',
    pid,
    startedAt: 1000 + pid,
    uptime: 10 + pid,
    generation: pid,
    reloading: pid === 2,
    queue: { depth: 1, max: 1024 },
    utilization: { recent: pid / 10, sinceStart: 0.5 },
    requests: { total, byStatus: { '2xx': total }, byMethod: { GET: total } },
    latency: { total: { count: total, meanMs, p50Ms: 1, p90Ms: 2, p99Ms } },
    workers: [{ worker: 1, pid: workerPid, busy: 1 }],
    connections: { idle: 2 },
  });
  const merged = mergeStats([doc(1, 10, 2, 5, 70), doc(2, 30, 4, 9, 80)], 99) as unknown as Omit<
    ReturnType<typeof doc>,
    'latency'
  > & { fronts: number; latency: { total: { count: number; meanMs: number; p99Ms: number } } };
  assert.equal(merged.pid, 99);
  assert.equal(merged.fronts, 2);
  assert.equal(merged.startedAt, 1001);
  assert.equal(merged.uptime, 12);
  assert.equal(merged.generation, 2);
  assert.equal(merged.reloading, true);
  assert.deepEqual(merged.queue, { depth: 2, max: 2048 });
  assert.ok(Math.abs(merged.utilization.recent - 0.15) < 1e-9);
  assert.deepEqual(merged.requests, { total: 40, byStatus: { '2xx': 40 }, byMethod: { GET: 40 } });
  assert.equal(merged.latency.total.count, 40);
  assert.equal(merged.latency.total.meanMs, 3.5, '(10 × 2 + 30 × 4) / 40');
  assert.equal(merged.latency.total.p99Ms, 9);
  assert.deepEqual(merged.workers, [
    { front: 1, worker: 1, pid: 70, busy: 1 },
    { front: 2, worker: 1, pid: 80, busy: 1 },
  ]);
  assert.deepEqual(merged.connections, { idle: 4 });
});
