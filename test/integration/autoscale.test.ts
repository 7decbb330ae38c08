// Autoscaling under a step load: from --workers-min up to --workers-max while requests wait
// for a thread, then back down once workers sit idle for --idle-timeout; no request fails.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adminPort } from '../helpers/admin.js';
import { APPS, startCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';
import { startLoad, until } from '../helpers/load.js';

async function workers(admin: number): Promise<number> {
  return (JSON.parse((await get(admin, '/readyz')).body.toString()) as { workers: number }).workers;
}

test('a step load scales 1 -> 3 workers, and idle workers are retired back to 1', async (t) => {
  const server = await startCask([
    'failures:application',
    '--chdir',
    APPS,
    '--threads',
    '1',
    '--workers-min',
    '1',
    '--workers-max',
    '3',
    '--idle-timeout',
    '1',
    '--admin-bind',
    '127.0.0.1:0',
  ]);
  t.after(() => server.stop());
  const admin = adminPort(server);
  assert.equal(await workers(admin), 1);

  // Step up: six clients keep requests of 50 ms waiting behind one thread.
  const load = startLoad(server.port, '/sleep?0.05', 6);
  await server.waitFor(/Workers: 1 -> 2 \(autoscaling: requests waited for a thread/, 15_000);
  await server.waitFor(/Workers: 2 -> 3 \(autoscaling/, 15_000);
  await until(async () => (await workers(admin)) === 3, 10_000, 'three workers ready');
  const result = await load.stop();
  assert.deepEqual(result.failures, []);
  assert.doesNotMatch(server.stderr(), /Workers: 3 -> 4/, 'never above --workers-max');

  // Step down: no load, so workers idle for 1 s are retired, one at a time, down to 1.
  await server.waitFor(/Workers: 3 -> 2 \(autoscaling: a worker was idle for \d+ s\)/, 15_000);
  await server.waitFor(/Workers: 2 -> 1 \(autoscaling/, 15_000);
  await until(async () => (await workers(admin)) === 1, 10_000, 'one worker');
  assert.doesNotMatch(server.stderr(), /Workers: 1 -> 0/);
  assert.equal((await get(server.port, '/ok')).status, 200);
});
