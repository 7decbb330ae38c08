// --slow-request: a request running past it is logged once with its thread's Python stack,
// taken inside the worker, and goes on to finish.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adminPort, metric, scrapeMetrics } from '../helpers/admin.js';
import { APPS, startCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';

test('a request past --slow-request is logged once with the stack of its thread, and is not stopped', async (t) => {
  const server = await startCask([
    'failures:application',
    '--chdir',
    APPS,
    '--threads',
    '2',
    '--slow-request',
    '0.3',
    '--admin-bind',
    '127.0.0.1:0',
  ]);
  t.after(() => server.stop());
  const slow = get(server.port, '/sleep?1.2');
  assert.equal((await get(server.port, '/ok')).status, 200, 'a fast request is not reported');
  await server.waitFor(/Slow request: GET \/sleep\?1\.2 from 127\.0\.0\.1 has run for/, 5000);
  const response = await slow;
  assert.equal(response.status, 200);
  assert.equal(response.body.toString(), 'slept 1.2');
  const log = server.stderr();
  const report = log.slice(log.indexOf('Slow request:'));
  assert.match(report, /failures\.py", line \d+, in application\n\s+time\.sleep\(seconds\)/);
  assert.equal(log.split('Slow request:').length - 1, 1, 'logged once');
  assert.doesNotMatch(log, /Slow request: GET \/ok/);
  const values = await scrapeMetrics(adminPort(server));
  assert.equal(metric(values, 'cask_slow_requests_total'), 1);
});
