// A worker whose requests are short holds more than `--prefetch` of them queued beyond its
// threads (as many as it runs in about 10 ms: src/pool/prefetch-depth.ts); one whose requests
// are long holds no more than `--prefetch`. Read from the `cask_worker_prefetched_requests`
// gauge while clients keep the one thread busy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adminPort, metricSum, scrapeMetrics } from '../helpers/admin.js';
import { APPS, startCask } from '../helpers/cask.js';
import { startLoad } from '../helpers/load.js';

/** The most requests seen waiting inside the worker while `clients` loop on `path`. */
async function mostPrefetched(path: string, clients: number): Promise<number> {
  const server = await startCask([
    'failures:application',
    '--chdir',
    APPS,
    '-w',
    '1',
    '--threads',
    '1',
    '--prefetch',
    '2',
    '--admin-bind',
    '127.0.0.1:0',
  ]);
  try {
    const load = startLoad(server.port, path, clients);
    let most = 0;
    const until = Date.now() + 2500;
    while (Date.now() < until) {
      const metrics = await scrapeMetrics(adminPort(server));
      most = Math.max(most, metricSum(metrics, 'cask_worker_prefetched_requests'));
      await new Promise((r) => setTimeout(r, 20));
    }
    const { failures } = await load.stop();
    assert.deepEqual(failures, []);
    return most;
  } finally {
    await server.stop();
  }
}

test('requests of about 1 ms: the worker holds more than --prefetch of them', async () => {
  // At about 1 ms a request, some ten fit in the window; 30 clients keep that many waiting.
  const most = await mostPrefetched('/sleep?0.001', 30);
  assert.ok(most > 2, `at most ${most} requests held beyond the thread`);
});

test('requests of 30 ms: the worker holds no more than --prefetch of them', async () => {
  // Not one fits in the window, so the floor holds however many clients wait.
  const most = await mostPrefetched('/sleep?0.03', 12);
  assert.ok(most <= 2, `${most} requests held beyond the thread`);
});
