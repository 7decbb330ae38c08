// Recycling under constant load: --max-requests (with jitter), --max-lifetime and --max-rss
// each replace workers, the replacement always ready first, and not one request fails.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { APPS, startCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';
import { startLoad, until } from '../helpers/load.js';

function pids(bodies: Array<{ body: Buffer }>): Set<string> {
  return new Set(bodies.map((r) => r.body.toString()));
}

test('--max-requests recycles workers under load without failing a request', async (t) => {
  const server = await startCask([
    'failures:application',
    '--chdir',
    APPS,
    '-w',
    '2',
    '--threads',
    '2',
    '--max-requests',
    '20',
    '--max-requests-jitter',
    '5',
  ]);
  t.after(() => server.stop());
  const load = startLoad(server.port, '/pid', 4);
  // A retiring worker serves on until its replacement is ready: wait for four replacements.
  await until(
    () => (server.stderr().match(/Worker exited \(code 0\)/g) ?? []).length >= 4,
    30_000,
    'four recycled workers',
  );
  const result = await load.stop();
  assert.deepEqual(result.failures, []);
  assert.ok(pids(result.responses).size >= 5, `only ${pids(result.responses).size} workers served`);
  assert.match(
    server.stderr(),
    /Recycling the worker \(max-requests: 2\d requests served\): starting its replacement first/,
  );
  assert.doesNotMatch(
    server.stderr(),
    /Worker exited \((?!code 0)/,
    'every recycled worker exited 0',
  );
});

test('--max-lifetime recycles a worker under load without failing a request', async (t) => {
  const server = await startCask([
    'failures:application',
    '--chdir',
    APPS,
    '-w',
    '1',
    '--threads',
    '2',
    '--max-lifetime',
    '1',
    '--max-lifetime-jitter',
    '0.2',
  ]);
  t.after(() => server.stop());
  const load = startLoad(server.port, '/pid', 3);
  await until(
    () => (server.stderr().match(/Worker exited \(code 0\)/g) ?? []).length >= 2,
    20_000,
    'two recycled workers',
  );
  const seen = load.count();
  await until(() => load.count() >= seen + 10, 10_000, 'responses from the third worker');
  const result = await load.stop();
  // The age counts from the worker's start, and a worker is recycled only once it is ready:
  // on a loaded machine that can be seconds after its start (2.3 s was seen with two test
  // suites at once), so the age says only that the lifetime had passed.
  const age = /Recycling the worker \(max-lifetime: (\d+) s old\)/.exec(server.stderr());
  assert.ok(age !== null && Number(age[1]) >= 1, server.stderr());
  assert.deepEqual(result.failures, []);
  assert.ok(pids(result.responses).size >= 3, `only ${pids(result.responses).size} workers served`);
});

test('--max-rss recycles a worker that grew past it, without failing a request', async (t) => {
  const server = await startCask([
    'failures:application',
    '--chdir',
    APPS,
    '-w',
    '1',
    '--threads',
    '2',
    '--max-rss',
    '80m',
  ]);
  t.after(() => server.stop());
  const before = (await get(server.port, '/pid')).body.toString();
  const load = startLoad(server.port, '/pid', 2);
  assert.equal((await get(server.port, '/grow?100')).status, 200);
  await server.waitFor(
    /Recycling the worker \(max-rss: \d+\.\d MiB resident, limit 80\.0 MiB\)/,
    10_000,
  );
  await until(
    async () => (await get(server.port, '/pid')).body.toString() !== before,
    10_000,
    'a new worker',
  );
  const result = await load.stop();
  assert.deepEqual(result.failures, []);
  await server.waitFor(/Worker exited \(code 0\)/);
});
