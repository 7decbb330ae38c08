// Several apps in one server (--mount, --vhost), over real sockets: which app takes each
// request, how the path is split, each app's own workers and timeout, and the single-app
// lifecycle (reload, crash recovery, worker signals, drain, /readyz) kept per app.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { APPS, runCask, startCask, type RunningCask } from '../helpers/cask.js';
import { exchange, get, type ParsedResponse } from '../helpers/http.js';
import { startLoad, until } from '../helpers/load.js';

interface Report {
  app: string;
  script_name: string;
  path_info: string;
  host: string;
  pid: number;
}

interface Readiness {
  ready: boolean;
  status: string;
  workers: number;
  generation: number;
  apps?: Record<string, { ready: boolean; workers: number; generation: number }>;
}

function report(response: ParsedResponse): Report {
  assert.equal(response.status, 200, response.body.toString());
  return JSON.parse(response.body.toString()) as Report;
}

async function readiness(server: RunningCask): Promise<Readiness> {
  return JSON.parse((await get(server.port, '/readyz')).body.toString()) as Readiness;
}

/** A cask.toml in a temporary folder, the fixture apps' folder as every app's chdir. */
function configFile(t: TestContext, toml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'cask-apps-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'cask.toml'), `chdir = ${JSON.stringify(APPS)}\n${toml}`);
  return dir;
}

const TWO_APPS = `readyz-path = "/readyz"
[mount."/api"]
app = "several:api"
workers = 2
threads = 2
timeout = "1s"
timeout-grace = "1s"

[mount."/"]
app = "several:site"
`;

test('--mount: the longest prefix takes a request, split into SCRIPT_NAME and PATH_INFO on a segment', async (t) => {
  const server = await startCask([], { cwd: configFile(t, TWO_APPS) });
  t.after(() => server.stop());

  const api = report(await get(server.port, '/api/users/7?x=1'));
  assert.deepEqual([api.app, api.script_name, api.path_info], ['api', '/api', '/users/7']);
  const bare = report(await get(server.port, '/api'));
  assert.deepEqual([bare.app, bare.script_name, bare.path_info], ['api', '/api', '']);
  const encoded = report(await get(server.port, '/%61pi/y'));
  assert.deepEqual([encoded.app, encoded.path_info], ['api', '/y']);
  const apix = report(await get(server.port, '/apix'));
  assert.deepEqual([apix.app, apix.script_name, apix.path_info], ['site', '', '/apix']);
  const root = report(await get(server.port, '/'));
  assert.deepEqual([root.app, root.path_info], ['site', '/']);
  assert.notEqual(api.pid, root.pid);

  // Each app has its own workers, named in the log by their app.
  assert.match(server.stderr(), /serving 2 apps on http:\/\/127\.0\.0\.1:\d+/);
  assert.match(server.stderr(), /\/api: several:api, 2 worker\(s\) x 2 thread\(s\)/);
  assert.match(server.stderr(), /\/: several:site, 1 worker\(s\) x 1 thread\(s\)/);
  assert.match(server.stderr(), /\/api worker 2 pid \d+\] \[INFO\] Worker ready/);
  const ready = await readiness(server);
  assert.equal(ready.ready, true);
  assert.equal(ready.workers, 3);
  assert.deepEqual(
    Object.entries(ready.apps ?? {}).map(([name, app]) => [name, app.ready, app.workers]),
    [
      ['/api', true, 2],
      ['/', true, 1],
    ],
  );
});

test('--mount: each app has its own timeout', async (t) => {
  const server = await startCask([], { cwd: configFile(t, TWO_APPS) });
  t.after(() => server.stop());
  const [api, site] = await Promise.all([
    get(server.port, '/api/sleep?s=3'),
    get(server.port, '/sleep?s=1.5'),
  ]);
  assert.equal(api.status, 504);
  assert.equal(report(site).app, 'site');
});

test('--mount: a path under no prefix gets 404 without reaching an app', async (t) => {
  const server = await startCask([
    '--chdir',
    APPS,
    '--mount',
    '/api=several:api',
    '--mount',
    '/admin=several:admin',
  ]);
  t.after(() => server.stop());
  const missing = await get(server.port, '/other');
  assert.equal(missing.status, 404);
  assert.match(missing.body.toString(), /no app is mounted at this path/);
  assert.equal(report(await get(server.port, '/admin/x')).app, 'admin');
  // Keep-alive survives the 404: the next request on the connection is served.
  const both = await exchange(
    server.port,
    'GET /nothing HTTP/1.1\r\nHost: h\r\n\r\nGET /api/ok HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
    { expect: 2 },
  );
  assert.deepEqual(
    both.responses.map((r) => r.status),
    [404, 200],
  );
});

test('--vhost: exact names, wildcards, 421 for any other host; mounts take the rest', async (t) => {
  const server = await startCask([
    '--chdir',
    APPS,
    '--vhost',
    'example.org=several:site',
    '--vhost',
    '*.example.org=several:tenants',
  ]);
  t.after(() => server.stop());
  assert.equal(report(await get(server.port, '/', { Host: 'Example.ORG:8080' })).app, 'site');
  const tenant = report(await get(server.port, '/x', { Host: 'a.b.example.org' }));
  assert.deepEqual(
    [tenant.app, tenant.host, tenant.script_name],
    ['tenants', 'a.b.example.org', ''],
  );
  const other = await get(server.port, '/', { Host: 'example.net' });
  assert.equal(other.status, 421);
  assert.match(other.body.toString(), /no app for this host/);

  const mixed = await startCask([
    '--chdir',
    APPS,
    '--vhost',
    'admin.example.org=several:admin',
    '--mount',
    '/api=several:api',
    '--mount',
    '/=several:site',
  ]);
  t.after(() => mixed.stop());
  assert.equal(report(await get(mixed.port, '/api/x', { Host: 'admin.example.org' })).app, 'admin');
  assert.equal(report(await get(mixed.port, '/api/x', { Host: 'example.net' })).app, 'api');
  assert.equal(report(await get(mixed.port, '/x', { Host: 'example.net' })).app, 'site');
});

test('bad --mount and --vhost values stop the server with exit 2 and say why', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [
      ['--mount', 'api=several:api'],
      /Invalid value for --mount: "api=several:api" has a prefix that does not start with "\/"/,
    ],
    [['--mount', '/a=several:api', '--mount', '/a/=several:site'], /mounts two apps at \/a/],
    [
      ['--vhost', 'example.org=several:site', '--vhost', 'example.org=several:api'],
      /names the host example\.org twice/,
    ],
    [
      ['several:site', '--mount', '/api=several:api'],
      /Conflicting values for APP: "several:site" and --mount\/--vhost/,
    ],
  ];
  t.plan(cases.length * 2);
  for (const [argv, message] of cases) {
    const server = runCask(['serve', '--chdir', APPS, '-b', '127.0.0.1:0', ...argv]);
    t.after(() => server.stop());
    t.assert.equal(await server.exited, 2, argv.join(' '));
    t.assert.match(server.stderr(), message);
  }
});

test('several apps: SIGHUP reloads every app without a failed request; /readyz stays 200', async (t) => {
  const server = await startCask([], { cwd: configFile(t, TWO_APPS) });
  t.after(() => server.stop());
  let n = 0;
  const load = startLoad(server.port, () => (n++ % 2 === 0 ? '/api/x' : '/x'), 4);
  let unready = 0;
  let reloaded = false;
  const probing = (async () => {
    while (!reloaded) {
      if ((await get(server.port, '/readyz')).status !== 200) unready++;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  await until(() => load.count() > 20, 10_000, 'the load to start');
  server.proc.kill('SIGHUP');
  await until(() => server.stderr().split('Reload complete').length > 2, 20_000, 'both reloads');
  reloaded = true;
  await probing;
  const result = await load.stop();
  assert.deepEqual(result.failures, []);
  assert.equal(unready, 0);
  const ready = await readiness(server);
  assert.deepEqual(
    Object.values(ready.apps ?? {}).map((app) => app.generation),
    [2, 2],
  );
});

test('several apps: a crash, SIGTTIN and SIGTTOU touch each app’s own workers', async (t) => {
  const server = await startCask([], { cwd: configFile(t, TWO_APPS) });
  t.after(() => server.stop());
  const sitePid = report(await get(server.port, '/x')).pid;
  assert.equal((await get(server.port, '/api/die')).status, 502);
  await until(
    async () => (await readiness(server)).apps?.['/api']?.workers === 2,
    10_000,
    'the api worker replaced',
  );
  assert.equal(report(await get(server.port, '/x')).pid, sitePid);

  server.proc.kill('SIGTTIN');
  await until(
    async () => (await readiness(server)).workers === 5,
    15_000,
    'one more worker per app',
  );
  server.proc.kill('SIGTTOU');
  await until(async () => (await readiness(server)).workers === 3, 15_000, 'back to 2 + 1');
});

test('several apps: SIGTERM turns /readyz 503, then drains the requests of every app', async (t) => {
  const server = await startCask(['--shutdown-delay', '1s'], {
    cwd: configFile(t, TWO_APPS),
    env: { SAY_SLEEP: '1' },
  });
  t.after(() => server.stop());
  const slow = [get(server.port, '/api/sleep?s=0.5'), get(server.port, '/sleep?s=1.5')];
  // Each app says so once its request is in it: both are in progress for SIGTERM.
  await Promise.all([server.waitFor('api sleeping 0.5'), server.waitFor('site sleeping 1.5')]);
  server.proc.kill('SIGTERM');
  await until(async () => (await get(server.port, '/readyz')).status === 503, 2000, '/readyz 503');
  const [api, site] = await Promise.all(slow);
  assert.equal(report(api as ParsedResponse).app, 'api');
  assert.equal(report(site as ParsedResponse).app, 'site');
  assert.equal(await server.exited, 0);
});

test('several apps: one that cannot be imported stops the start with exit 4, named', async (t) => {
  t.plan(2);
  const server = runCask([
    'serve',
    '--chdir',
    APPS,
    '-b',
    '127.0.0.1:0',
    '--mount',
    '/api=several:api',
    '--mount',
    '/=broken_import:application',
  ]);
  t.after(() => server.stop());
  t.assert.equal(await server.exited, 4);
  t.assert.match(
    server.stderr(),
    /CASK_APP_LOAD\):\n\/ \(broken_import:application\): Cannot load the app/,
  );
});

test('several apps: hooks run for the server once and in every app’s workers; recycling is per app', async (t) => {
  const dir = configFile(t, '');
  const record = join(dir, 'record.jsonl');
  const hooks = fileURLToPath(new URL('../fixtures/hooks/gunicorn.conf.py', import.meta.url));
  writeFileSync(
    join(dir, 'cask.toml'),
    `chdir = ${JSON.stringify(APPS)}\nhooks = ${JSON.stringify(hooks)}\n${TWO_APPS.replace(
      'timeout = "1s"',
      'timeout = "1s"\nmax-requests = 3',
    )}`,
  );
  const server = await startCask([], { cwd: dir, env: { HOOKS_RECORD: record } });
  t.after(() => server.stop());
  const sitePid = report(await get(server.port, '/x')).pid;
  for (let i = 0; i < 6; i++) report(await get(server.port, '/api/x'));
  await server.waitFor(/\[\/api worker \d pid \d+\] \[INFO\] Recycling the worker \(max-requests/);
  await until(
    () => /\/api worker 3 pid \d+\] \[INFO\] Worker ready/.test(server.stderr()),
    10_000,
    'the replacement',
  );
  assert.equal(report(await get(server.port, '/x')).pid, sitePid);
  assert.doesNotMatch(server.stderr(), /\[\/ worker \d pid \d+\] \[INFO\] Recycling/);

  const records = readFileSync(record, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { hook: string; num_workers?: number; env?: string });
  const count = (hook: string): number => records.filter((r) => r.hook === hook).length;
  assert.equal(count('on_starting'), 1);
  assert.equal(count('when_ready'), 1);
  assert.equal(records.find((r) => r.hook === 'when_ready')?.num_workers, 3);
  assert.ok(count('post_fork') >= 4, `${count('post_fork')} post_fork`);
  assert.ok(
    records
      .filter((r) => r.hook === 'post_worker_init')
      .every((r) => r.env === 'set by on_starting'),
  );
});

test('several apps: one app autoscales by its own bounds while the other keeps its workers', async (t) => {
  const server = await startCask([], {
    cwd: configFile(
      t,
      `readyz-path = "/readyz"
[mount."/api"]
app = "several:api"
workers-min = 1
workers-max = 2
idle-timeout = "1s"
prefetch = 0

[mount."/"]
app = "several:site"
`,
    ),
  });
  t.after(() => server.stop());
  const apiWorkers = async (): Promise<number | undefined> =>
    (await readiness(server)).apps?.['/api']?.workers;
  assert.equal(await apiWorkers(), 1);
  const load = startLoad(server.port, '/api/sleep?s=0.3', 3);
  await until(async () => (await apiWorkers()) === 2, 15_000, 'a second api worker');
  assert.equal((await readiness(server)).apps?.['/']?.workers, 1);
  const result = await load.stop();
  assert.deepEqual(result.failures, []);
  await until(async () => (await apiWorkers()) === 1, 15_000, 'the idle api worker retired');
});
