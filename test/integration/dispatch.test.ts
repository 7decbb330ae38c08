// Dispatch: least-busy choice, prefetch, and reclaim of requests queued behind a slow one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adminPort, metricSum, scrapeMetrics } from '../helpers/admin.js';
import { APPS, startCask, type RunningCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';

/** The failures app on `workers` workers of one thread each, with the admin listener. */
function startOneThreadEach(workers: number, prefetch: number): Promise<RunningCask> {
  const counts = ['-w', String(workers), '--threads', '1', '--prefetch', String(prefetch)];
  return startCask(['failures:application', '--chdir', APPS, ...counts, '--admin-bind', '127.0.0.1:0']);
}

test('requests prefetched behind a slow one are reclaimed and served by a free worker', async (t) => {
  const server = await startOneThreadEach(2, 4);
  t.after(() => server.stop());
  const order: string[] = [];
  const slow = get(server.port, '/sleep?3', {}, { ms: 15_000 }).then((r) => {
    order.push('slow');
    return r;
  });
  await new Promise((r) => setTimeout(r, 100));
  // Enough short requests at once that the second worker fills up and the first one (busy
  // with the slow request) is handed some of them ahead of its thread.
  const fast = Array.from({ length: 12 }, () =>
    get(server.port, `/sleep?0.05`, {}, { ms: 15_000 }).then((r) => {
      order.push('fast');
      return r;
    }),
  );
  const responses = await Promise.all(fast);
  assert.deepEqual(
    responses.map((r) => r.status),
    responses.map(() => 200),
  );
  assert.equal((await slow).status, 200);
  assert.equal(order.indexOf('slow'), order.length - 1, `a short request waited for the slow one: ${order.join(',')}`);
  const metrics = await scrapeMetrics(adminPort(server));
  // Only the slow worker's prefetched requests are given back, once each: the other worker,
  // busy with 50 ms requests, is never asked for its own just to be handed them again.
  const reclaimed = metricSum(metrics, 'cask_reclaimed_total');
  assert.ok(reclaimed >= 1 && reclaimed <= 4, `${reclaimed} requests reclaimed`);
  // Each given back was dispatched twice: the workers' counts less those are the 13 requests.
  assert.equal(metricSum(metrics, 'cask_worker_requests_total') - reclaimed, 13);
});

test('a lone worker busy with long requests keeps what it prefetched: nothing to give it to', async (t) => {
  const server = await startOneThreadEach(1, 2);
  t.after(() => server.stop());
  // Each request runs for 200 ms, ten times the stall check's 20 ms, with two waiting in the
  // worker behind it: given back, they could only come back to this same worker.
  const responses = await Promise.all(
    Array.from({ length: 3 }, () => get(server.port, '/sleep?0.2', {}, { ms: 15_000 })),
  );
  assert.deepEqual(
    responses.map((r) => r.status),
    [200, 200, 200],
  );
  const metrics = await scrapeMetrics(adminPort(server));
  assert.equal(metricSum(metrics, 'cask_reclaimed_total'), 0);
  assert.equal(metricSum(metrics, 'cask_worker_requests_total'), 3);
});

test('with one worker the queue keeps every request and serves them all', async (t) => {
  const server = await startCask(['failures:application', '--chdir', APPS, '-w', '1', '--threads', '2', '--prefetch', '2']);
  t.after(() => server.stop());
  const results = await Promise.all(Array.from({ length: 30 }, () => get(server.port, `/sleep?0.01`, {}, { ms: 15_000 })));
  assert.ok(results.every((r) => r.status === 200));
});
