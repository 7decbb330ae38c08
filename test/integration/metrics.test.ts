// /metrics and /stats on the admin listener, after known traffic, over real sockets with the
// real cask and a real Python.
import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { test } from 'node:test';
import { adminPort, metric, metricSum, parseMetrics, promtoolCheck, scrapeMetrics } from '../helpers/admin.js';
import { APPS, startCask } from '../helpers/cask.js';
import { exchange, get } from '../helpers/http.js';
import { until } from '../helpers/load.js';

interface StatsDoc {
  requests: { total: number };
  queue: { depth: number };
  workers: Array<{
    worker: number;
    pid: number;
    state: string;
    busy: number;
    requests: Array<{ method: string; target: string; age: number; started: boolean }>;
  }>;
  latency: { app: { count: number } };
}

async function stats(port: number): Promise<StatsDoc> {
  const response = await get(port, '/stats');
  assert.equal(response.status, 200);
  assert.equal(response.headers['content-type'], 'application/json');
  return JSON.parse(response.body.toString()) as StatsDoc;
}

test('/metrics passes promtool and counts requests by method and status class, with their latencies', async (t) => {
  const server = await startCask([
    'failures:application',
    '--chdir',
    APPS,
    '-w',
    '2',
    '--threads',
    '2',
    '--admin-bind',
    '127.0.0.1:0',
  ]);
  t.after(() => server.stop());
  const admin = adminPort(server);
  for (let i = 0; i < 5; i++) assert.equal((await get(server.port, '/ok')).status, 200);
  for (let i = 0; i < 3; i++) assert.equal((await get(server.port, '/nope')).status, 404);
  assert.equal((await get(server.port, '/raise-before')).status, 500);
  const posted = await exchange(
    server.port,
    'POST /ok HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello',
  );
  assert.equal(posted.responses[0]?.status, 200);
  const bad = await exchange(server.port, 'GET /ok HTTP/1.1\r\nHost: h\r\nHost: h2\r\n\r\n');
  assert.equal(bad.responses[0]?.status, 400);

  const text = (await get(admin, '/metrics')).body.toString();
  const complaints = promtoolCheck(text);
  if (complaints === undefined)
    t.diagnostic(
      'promtool is not installed (Debian: apt-get install prometheus): format not checked',
    );
  else assert.equal(complaints, '', 'promtool check metrics');

  const values = parseMetrics(text);
  const app = 'failures:application';
  assert.equal(
    metric(values, 'cask_requests_total', { app, method: 'GET', status_class: '2xx' }),
    5,
  );
  assert.equal(
    metric(values, 'cask_requests_total', { app, method: 'GET', status_class: '4xx' }),
    3,
  );
  assert.equal(
    metric(values, 'cask_requests_total', { app, method: 'GET', status_class: '5xx' }),
    1,
  );
  assert.equal(
    metric(values, 'cask_requests_total', { app, method: 'POST', status_class: '2xx' }),
    1,
  );
  assert.equal(metric(values, 'cask_refused_total', { reason: 'CASK_HTTP_BAD_REQUEST' }), 1);
  assert.equal(metric(values, 'cask_app_errors_total'), 1);
  for (const name of [
    'cask_queue_wait_seconds',
    'cask_app_seconds',
    'cask_send_seconds',
    'cask_request_duration_seconds',
  ]) {
    assert.equal(metric(values, `${name}_count`), 10, name);
    assert.equal(metric(values, `${name}_bucket`, { le: '+Inf' }), 10, name);
  }
  const appSeconds = metric(values, 'cask_app_seconds_sum') as number;
  const total = metric(values, 'cask_request_duration_seconds_sum') as number;
  assert.ok(appSeconds > 0 && appSeconds < total, `app ${appSeconds} s within total ${total} s`);
  assert.equal(metric(values, 'cask_workers', { state: 'ready' }), 2);
  assert.equal(metricSum(values, 'cask_worker_threads'), 4);
  assert.equal(metricSum(values, 'cask_worker_requests_total'), 10);
  assert.equal(metric(values, 'cask_worker_starts_total', { reason: 'start' }), 2);
  assert.equal(metric(values, 'cask_queue_depth'), 0);
  assert.equal(metric(values, 'cask_connections_accepted_total'), 11);
  // Every request line and every response went through the counted sockets.
  assert.ok((metric(values, 'cask_received_bytes_total') as number) > 11 * 30);
  assert.ok((metric(values, 'cask_sent_bytes_total') as number) > 11 * 60);
  for (const w of [1, 2]) {
    assert.ok((metric(values, 'cask_worker_resident_memory_bytes', { worker: w }) as number) > 1e6);
    assert.ok((metric(values, 'cask_worker_cpu_seconds_total', { worker: w }) as number) > 0);
  }
  assert.ok((metric(values, 'cask_front_resident_memory_bytes') as number) > 1e6);
});

test('a running request is a busy thread in /metrics, and /stats says which request and for how long', async (t) => {
  const server = await startCask([
    'failures:application',
    '--chdir',
    APPS,
    '--threads',
    '2',
    '--admin-bind',
    '127.0.0.1:0',
  ]);
  t.after(() => server.stop());
  const admin = adminPort(server);
  // An idle keep-alive connection, open through the whole test.
  const idle = exchange(server.port, 'GET /ok HTTP/1.1\r\nHost: h\r\n\r\n', {
    ms: 2500,
    waitClose: true,
  });
  const slow = get(server.port, '/sleep?1.5');
  // The idle connection's answer and the slow request race: wait for both states. Both
  // requests must have reached the worker first: a connection whose request the front has
  // not read yet is idle too, and its request would then make a second thread busy.
  await until(
    async () => {
      const now = await scrapeMetrics(admin);
      return (
        metric(now, 'cask_worker_requests_total', { worker: 1 }) === 2 &&
        metric(now, 'cask_worker_busy_threads', { worker: 1 }) === 1 &&
        metric(now, 'cask_connections', { protocol: 'http/1.1', state: 'idle' }) === 1
      );
    },
    5000,
    'a busy thread and an idle connection',
  );
  const during = await scrapeMetrics(admin);
  assert.equal(metric(during, 'cask_worker_idle_threads', { worker: 1 }), 1);
  assert.equal(metric(during, 'cask_connections', { protocol: 'http/1.1', state: 'in-app' }), 1);
  assert.equal(metric(during, 'cask_connections', { protocol: 'http/1.1', state: 'idle' }), 1);
  await new Promise((r) => setTimeout(r, 300));
  const doc = await stats(admin);
  const running = doc.workers[0]?.requests ?? [];
  assert.equal(running.length, 1);
  assert.equal(running[0]?.method, 'GET');
  assert.equal(running[0]?.target, '/sleep?1.5');
  assert.equal(running[0]?.started, true);
  assert.ok((running[0]?.age ?? 0) >= 0.3, `age ${running[0]?.age}`);
  assert.equal(doc.workers[0]?.busy, 1);
  assert.equal((await slow).status, 200);
  await idle;

  const after = await scrapeMetrics(admin);
  const busy = metric(after, 'cask_busy_thread_seconds_total') as number;
  const capacity = metric(after, 'cask_capacity_thread_seconds_total') as number;
  assert.ok(busy >= 1.45 && busy < 1.8, `busy thread-seconds ${busy}`);
  assert.ok(capacity > 2 * 1.5, `capacity thread-seconds ${capacity}`);
  assert.equal(metric(after, 'cask_worker_busy_threads', { worker: 1 }), 0);
  const app = metric(after, 'cask_app_seconds_bucket', { le: '2.5' }) as number;
  const below = metric(after, 'cask_app_seconds_bucket', { le: '1' }) as number;
  assert.equal(app - below, 1, 'the 1.5 s request is in the (1, 2.5] bucket');
});

test('worker starts and exits are counted by reason: start, recycled, crash, reload', async (t) => {
  const server = await startCask([
    'failures:application',
    '--chdir',
    APPS,
    '--max-requests',
    '3',
    '--admin-bind',
    '127.0.0.1:0',
  ]);
  t.after(() => server.stop());
  const admin = adminPort(server);
  for (let i = 0; i < 3; i++) assert.equal((await get(server.port, '/ok')).status, 200);
  await until(
    async () =>
      metric(await scrapeMetrics(admin), 'cask_worker_exits_total', { reason: 'recycled' }) === 1,
    10_000,
    'a recycled worker',
  );
  await server.waitFor('Worker ready', 10_000);
  await until(
    async () => metric(await scrapeMetrics(admin), 'cask_workers', { state: 'ready' }) === 1,
    10_000,
    'a ready worker',
  );
  assert.equal((await get(server.port, '/die')).status, 502);
  await until(
    async () => metric(await scrapeMetrics(admin), 'cask_worker_exits_total', { reason: 'crash' }) === 1,
    10_000,
    'a crash',
  );
  await until(
    async () => metric(await scrapeMetrics(admin), 'cask_workers', { state: 'ready' }) === 1,
    10_000,
    'the replacement',
  );
  server.proc.kill('SIGHUP');
  await server.waitFor('Reload complete', 15_000);
  await until(
    async () => metric(await scrapeMetrics(admin), 'cask_worker_exits_total', { reason: 'reload' }) === 1,
    10_000,
    'the old generation gone',
  );
  const values = await scrapeMetrics(admin);
  assert.equal(metric(values, 'cask_worker_starts_total', { reason: 'start' }), 1);
  assert.equal(metric(values, 'cask_worker_starts_total', { reason: 'recycled' }), 1);
  assert.equal(metric(values, 'cask_worker_starts_total', { reason: 'crash' }), 1);
  assert.equal(metric(values, 'cask_worker_starts_total', { reason: 'reload' }), 1);
  assert.equal(metric(values, 'cask_generation'), 2);
});

test('timeouts and requests shed with 503 are counted', async (t) => {
  const server = await startCask([
    'failures:application',
    '--chdir',
    APPS,
    '--timeout',
    '0.5',
    '--prefetch',
    '0',
    '--max-queue',
    '0',
    '--admin-bind',
    '127.0.0.1:0',
  ]);
  t.after(() => server.stop());
  const admin = adminPort(server);
  const slow = get(server.port, '/busy?5');
  await until(
    async () => metric(await scrapeMetrics(admin), 'cask_worker_busy_threads', { worker: 1 }) === 1,
    5000,
    'a busy thread',
  );
  assert.equal((await get(server.port, '/ok')).status, 503);
  assert.equal((await slow).status, 504);
  await until(
    async () => metric(await scrapeMetrics(admin), 'cask_worker_busy_threads', { worker: 1 }) === 0,
    5000,
    'the thread freed',
  );
  const values = await scrapeMetrics(admin);
  assert.equal(metric(values, 'cask_request_timeouts_total'), 1);
  assert.equal(metric(values, 'cask_shed_total', { reason: 'queue_full' }), 1);
  const app = 'failures:application';
  assert.equal(
    metric(values, 'cask_requests_total', { app, method: 'GET', status_class: '5xx' }),
    2,
  );
});

test('/metrics, /stats and /dashboard want the admin token when one is set; the probes do not', async (t) => {
  const server = await startCask(
    ['failures:application', '--chdir', APPS, '--admin-bind', '127.0.0.1:0'],
    {
      env: { CASK_ADMIN_TOKEN: 's3cret' },
    },
  );
  t.after(() => server.stop());
  const admin = adminPort(server);
  const refused = await get(admin, '/metrics');
  assert.equal(refused.status, 401);
  assert.match(refused.headers['www-authenticate'] ?? '', /^Bearer/);
  assert.equal((await get(admin, '/stats', { Authorization: 'Bearer wrong' })).status, 401);
  assert.equal((await get(admin, '/metrics', { Authorization: 'Bearer s3cret' })).status, 200);
  assert.equal((await get(admin, '/stats?access_token=s3cret')).status, 200);
  assert.equal((await get(admin, '/dashboard')).status, 401);
  assert.equal((await get(admin, '/dashboard?access_token=s3cret')).status, 200);
  assert.equal((await get(admin, '/healthz')).status, 200);
  assert.equal((await get(admin, '/readyz')).status, 200);
  assert.equal((await get(admin, '/nothing')).status, 404);
});

test('open connections are counted by protocol: an HTTP/2 session with a stream in the app, beside HTTP/1.1', async (t) => {
  const server = await startCask([
    'failures:application',
    '--chdir',
    APPS,
    '--threads',
    '2',
    '--admin-bind',
    '127.0.0.1:0',
  ]);
  t.after(() => server.stop());
  const admin = adminPort(server);
  // h2c with prior knowledge: one session, one stream held in the app for three seconds.
  const session = connect(`http://127.0.0.1:${server.port}`);
  t.after(() => session.destroy());
  const stream = session.request({ ':path': '/sleep?3' });
  const answered = new Promise<number>((resolve, reject) => {
    stream.on('response', (headers) => resolve(Number(headers[':status'])));
    stream.on('error', reject);
  });
  stream.resume();
  stream.end();
  // Kept open well past the rest of the test, however slow the machine.
  const idle = exchange(server.port, 'GET /ok HTTP/1.1\r\nHost: h\r\n\r\n', {
    ms: 6000,
    waitClose: true,
  });
  await until(
    async () =>
      metric(await scrapeMetrics(admin), 'cask_connections', { protocol: 'h2', state: 'active' }) === 1,
    5000,
    'an active HTTP/2 session',
  );
  await until(
    async () =>
      metric(await scrapeMetrics(admin), 'cask_connections', { protocol: 'http/1.1', state: 'idle' }) ===
      1,
    5000,
    'the HTTP/1.1 connection idle after its answer',
  );
  assert.equal(metric(await scrapeMetrics(admin), 'cask_http2_streams'), 1);
  const doc = (await stats(admin)) as StatsDoc & {
    connectionsByProtocol?: Record<string, Record<string, number>>;
  };
  assert.equal(doc.connectionsByProtocol?.h2?.active, 1);
  assert.equal(await answered, 200);
  await until(
    async () =>
      metric(await scrapeMetrics(admin), 'cask_connections', { protocol: 'h2', state: 'idle' }) === 1,
    5000,
    'the session idle once its stream is answered',
  );
  assert.equal(metric(await scrapeMetrics(admin), 'cask_http2_streams'), 0);
  await idle;
});
