// Dispatch: least-busy choice, prefetch, and reclaim of requests queued behind a slow one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adminPort, metricSum, parseMetrics } from '../helpers/admin.js';
import { APPS, startCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';

test('requests prefetched behind a slow one are reclaimed and served by a free worker', async (t) => {
  const server = await startCask([
    'failures:application',
    '--chdir',
    APPS,
    '-w',
    '2',
    '--threads',
    '1',
    '--prefetch',
    '4',
    '--admin-bind',
    '127.0.0.1:0',
  ]);
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
  // A request given back unstarted counts only for the worker that ran it, so the workers'
  // counts add up to the 13 requests however many were reclaimed.
  const metrics = parseMetrics((await get(adminPort(server), '/metrics')).body.toString());
  assert.ok(metricSum(metrics, 'cask_reclaimed_total') >= 1, 'nothing was reclaimed');
  assert.equal(metricSum(metrics, 'cask_worker_requests_total'), 13);
});

test('with one worker the queue keeps every request and serves them all', async (t) => {
  const server = await startCask(['failures:application', '--chdir', APPS, '-w', '1', '--threads', '2', '--prefetch', '2']);
  t.after(() => server.stop());
  const results = await Promise.all(Array.from({ length: 30 }, () => get(server.port, `/sleep?0.01`, {}, { ms: 15_000 })));
  assert.ok(results.every((r) => r.status === 200));
});
