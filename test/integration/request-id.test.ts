// X-Request-Id and X-Request-Start reach the app and the access log; gunicorn's access log
// atoms and --log-json, from the real cask.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { APPS, startCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';
import { until } from '../helpers/load.js';

function environOf(body: Buffer): Record<string, string> {
  return (JSON.parse(body.toString()) as { environ: Record<string, string> }).environ;
}

test('the app gets a generated X-Request-Id and X-Request-Start; the access log shows the id and the time', async (t) => {
  const server = await startCask([
    'echo:application',
    '--chdir',
    APPS,
    '--access-log',
    '-',
    '--access-log-format',
    '%(h)s "%(r)s" %(s)s %({x-request-id}i)s %(D)s',
    // The test client is not a trusted proxy here: what it sends is replaced.
    '--forwarded-allow-ips',
    '10.255.255.1',
  ]);
  t.after(() => server.stop());
  const before = Date.now();
  const environ = environOf((await get(server.port, '/a')).body);
  const id = environ['HTTP_X_REQUEST_ID'] as string;
  assert.match(id, /^[0-9a-f]{12}-[0-9a-z]+$/);
  const start = Number((environ['HTTP_X_REQUEST_START'] as string).replace(/^t=/, ''));
  assert.ok(start >= before - 5000 && start <= Date.now(), `X-Request-Start ${start}`);
  const forged = environOf(
    (await get(server.port, '/b', { 'X-Request-Id': 'mine', 'X-Request-Start': 't=1' })).body,
  );
  assert.notEqual(forged['HTTP_X_REQUEST_ID'], 'mine');
  assert.notEqual(forged['HTTP_X_REQUEST_START'], 't=1');
  await until(() => server.stdout().includes('"GET /b HTTP/1.1"'), 5000, 'the access log line');
  const line =
    server
      .stdout()
      .split('\n')
      .find((l) => l.includes('"GET /a HTTP/1.1"')) ?? '';
  assert.match(line, new RegExp(`^127\\.0\\.0\\.1 "GET /a HTTP/1\\.1" 200 ${id} \\d+$`));
});

test("a trusted proxy's X-Request-Id passes through; --log-json writes both logs as JSON lines", async (t) => {
  const server = await startCask([
    'echo:application',
    '--chdir',
    APPS,
    '--access-log',
    '-',
    '--log-json',
  ]);
  t.after(() => server.stop());
  const environ = environOf((await get(server.port, '/c?x=1', { 'X-Request-Id': 'lb-7f3a' })).body);
  assert.equal(environ['HTTP_X_REQUEST_ID'], 'lb-7f3a');
  await until(() => server.stdout().includes('lb-7f3a'), 5000, 'the access log line');
  const access = JSON.parse(server.stdout().trim().split('\n').at(-1) as string) as Record<
    string,
    unknown
  >;
  assert.equal(access.request_id, 'lb-7f3a');
  assert.equal(access.path, '/c');
  assert.equal(access.query, 'x=1');
  assert.equal(access.status, 200);
  assert.equal(typeof access.duration_us, 'number');
  const errorLines = server.stderr().trim().split('\n');
  const ready = errorLines
    .map((l) => JSON.parse(l) as Record<string, string>)
    .find((l) => l.message?.startsWith('Ready:'));
  assert.equal(ready?.level, 'INFO');
  assert.equal(ready?.tag, 'cask');
});
