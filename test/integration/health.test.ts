// /healthz and /readyz, answered by the front without touching Python: on the admin
// listener, and on the main listeners at --healthz-path / --readyz-path.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adminPort } from '../helpers/admin.js';
import { APPS, startCask } from '../helpers/cask.js';
import { exchange, get } from '../helpers/http.js';

test('the admin listener answers /healthz and /readyz as JSON, and 404 for anything else', async (t) => {
  const server = await startCask([
    'failures:application',
    '--chdir',
    APPS,
    '-w',
    '2',
    '--admin-bind',
    '127.0.0.1:0',
  ]);
  t.after(() => server.stop());
  const admin = adminPort(server);

  const health = await get(admin, '/healthz');
  assert.equal(health.status, 200);
  assert.equal(health.headers['content-type'], 'application/json');
  assert.equal(health.headers['cache-control'], 'no-store');
  assert.equal(
    (JSON.parse(health.body.toString()) as { alive: boolean; pid: number }).pid,
    server.proc.pid,
  );

  const ready = await get(admin, '/readyz?verbose=1');
  assert.equal(ready.status, 200);
  assert.deepEqual(JSON.parse(ready.body.toString()), {
    ready: true,
    status: 'ready',
    workers: 2,
    generation: 1,
    reloading: false,
  });
  assert.equal((await get(admin, '/nothing-here')).status, 404);
  // A target that is no URL at all (an authority with a port past 65535) is one more unknown
  // path: it used to throw out of the listener and end the server.
  assert.equal((await get(admin, '//a:99999')).status, 404);
  assert.equal((await get(admin, '//a:99999/metrics')).status, 404);
  assert.equal((await get(admin, '/healthz')).status, 200);
  const head = await exchange(
    admin,
    'HEAD /readyz HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
    { headRequests: [true] },
  );
  assert.equal(head.responses[0]?.status, 200);
  assert.equal(head.responses[0]?.body.length, 0);
});

test('--healthz-path and --readyz-path are answered on the main listener and never reach the app', async (t) => {
  const server = await startCask([
    'failures:application',
    '--chdir',
    APPS,
    '--healthz-path',
    '/_cask/healthz',
    '--readyz-path',
    '/_cask/readyz',
  ]);
  t.after(() => server.stop());
  const ready = await get(server.port, '/_cask/readyz');
  assert.equal(ready.status, 200);
  assert.equal((JSON.parse(ready.body.toString()) as { ready: boolean }).ready, true);
  const health = await get(server.port, '/_cask/healthz?x');
  assert.equal(health.status, 200);
  assert.match(health.body.toString(), /"alive":true/);
  // Other paths still go to the app (which answers 404 for this one).
  const other = await get(server.port, '/_cask/other');
  assert.equal(other.body.toString(), 'no such test path');
});

test('/readyz stays 200 through a reload and reports it', async (t) => {
  const server = await startCask([
    'failures:application',
    '--chdir',
    APPS,
    '--admin-bind',
    '127.0.0.1:0',
  ]);
  t.after(() => server.stop());
  const admin = adminPort(server);
  server.proc.kill('SIGHUP');
  let sawReloading = false;
  for (let i = 0; i < 200 && !server.stderr().includes('Reload complete'); i++) {
    const r = await get(admin, '/readyz');
    assert.equal(r.status, 200);
    if ((JSON.parse(r.body.toString()) as { reloading: boolean }).reloading) sawReloading = true;
  }
  await server.waitFor('Reload complete: generation 2 serves');
  assert.ok(sawReloading, 'readyz said it was reloading');
  assert.equal(
    (JSON.parse((await get(admin, '/readyz')).body.toString()) as { generation: number })
      .generation,
    2,
  );
});
