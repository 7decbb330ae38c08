// /metrics, /stats and `cask status` of a server with several apps (--mount), over real sockets
// with the real cask and a real Python: every app is described, each under its own `app` label.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { adminPort, metric, metricSum, parseMetrics, promtoolCheck } from '../helpers/admin.js';
import { APPS, BIN, startCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';

interface AppDoc {
  name: string;
  app: string;
  targetWorkers: number;
  requests: { total: number; byStatus: Record<string, number> };
  workers: Array<{ app: string; worker: number; pid: number; state: string }>;
}

interface StatsDoc {
  app: string;
  targetWorkers: number;
  requests: { total: number };
  workers: Array<{ app: string; pid: number }>;
  apps: AppDoc[];
}

function status(admin: number): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'status', '--url', `http://127.0.0.1:${admin}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

test('/metrics and /stats describe every --mount app, each under its own app label', async (t) => {
  const server = await startCask([
    '--chdir',
    APPS,
    '--mount',
    '/api=several:api',
    '--mount',
    '/=several:site',
    '-w',
    '2',
    '--admin-bind',
    '127.0.0.1:0',
  ]);
  t.after(() => server.stop());
  const admin = adminPort(server);
  for (let i = 0; i < 3; i++) assert.equal((await get(server.port, '/api/x')).status, 200);
  for (let i = 0; i < 2; i++) assert.equal((await get(server.port, '/y')).status, 200);

  const text = (await get(admin, '/metrics')).body.toString();
  const complaints = promtoolCheck(text);
  if (complaints === undefined)
    t.diagnostic(
      'promtool is not installed (Debian: apt-get install prometheus): format not checked',
    );
  else assert.equal(complaints, '', 'promtool check metrics');

  const values = parseMetrics(text);
  const requests = (app: string): number | undefined =>
    metric(values, 'cask_requests_total', { app, method: 'GET', status_class: '2xx' });
  assert.equal(requests('/api'), 3);
  assert.equal(requests('/'), 2);
  assert.equal(metricSum(values, 'cask_requests_total'), 5, 'no request counted twice');
  // Both apps have a worker 1 and a worker 2: the app label keeps their series apart.
  for (const app of ['/api', '/']) {
    for (const worker of [1, 2])
      assert.equal(metric(values, 'cask_worker_threads', { app, worker }), 1, `${app} ${worker}`);
    assert.equal(metric(values, 'cask_workers', { app, state: 'ready' }), 2, app);
    assert.equal(metric(values, 'cask_workers_target', { app }), 2, app);
    assert.equal(metric(values, 'cask_worker_starts_total', { app, reason: 'start' }), 2, app);
  }
  assert.equal(metric(values, 'cask_worker_threads', { worker: 1 }), undefined);
  const pids = [...values.keys()].filter((key) => key.startsWith('cask_worker_info{'));
  assert.equal(pids.length, 4, pids.join('\n'));
  assert.equal(new Set(pids.map((key) => /pid="(\d+)"/.exec(key)?.[1])).size, 4);
  // What belongs to the whole server stays unlabelled.
  assert.equal(metric(values, 'cask_request_duration_seconds_count'), 5);
  assert.ok((metric(values, 'cask_connections_accepted_total') ?? 0) >= 1);

  const stats = JSON.parse((await get(admin, '/stats')).body.toString()) as StatsDoc;
  assert.equal(stats.requests.total, 5);
  assert.equal(stats.targetWorkers, 4);
  assert.equal(stats.workers.length, 4);
  assert.equal(stats.app, 'several:api, several:site');
  assert.deepEqual(
    stats.apps.map((a) => [a.name, a.app, a.requests.total, a.targetWorkers, a.workers.length]),
    [
      ['/api', 'several:api', 3, 2, 2],
      ['/', 'several:site', 2, 2, 2],
    ],
  );
  for (const a of stats.apps) for (const w of a.workers) assert.equal(w.app, a.name);

  const shown = await status(admin);
  assert.equal(shown.code, 0, shown.err);
  assert.match(shown.out, /^app \/api \(several:api\) {2}workers 2\/2 .* requests 3 /m);
  assert.match(shown.out, /^app \/ \(several:site\) {2}workers 2\/2 .* requests 2 /m);
  assert.equal(
    shown.out.split('\n').filter((l) => /^\/api\s+\d\s+\d+\s+1\s+ready/.test(l)).length,
    2,
    shown.out,
  );
  assert.equal(
    shown.out.split('\n').filter((l) => /^\/\s+\d\s+\d+\s+1\s+ready/.test(l)).length,
    2,
    shown.out,
  );
});

test('/metrics of one app keeps its series unlabelled by app, as before several apps', async (t) => {
  const server = await startCask(['several:site', '--chdir', APPS, '--admin-bind', '127.0.0.1:0']);
  t.after(() => server.stop());
  const admin = adminPort(server);
  assert.equal((await get(server.port, '/')).status, 200);
  const values = parseMetrics((await get(admin, '/metrics')).body.toString());
  const app = 'several:site';
  assert.equal(
    metric(values, 'cask_requests_total', { app, method: 'GET', status_class: '2xx' }),
    1,
  );
  assert.equal(metric(values, 'cask_worker_threads', { worker: 1 }), 1);
  assert.equal(metric(values, 'cask_workers', { state: 'ready' }), 1);
  assert.equal(metric(values, 'cask_queue_depth'), 0);
  const stats = JSON.parse((await get(admin, '/stats')).body.toString()) as StatsDoc;
  assert.deepEqual(
    stats.apps.map((a) => [a.name, a.app, a.requests.total]),
    [[app, app, 1]],
  );
});
