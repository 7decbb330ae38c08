// The behind-nginx scenario's pieces without running anything: which servers take part, how
// each is told to listen on a uwsgi socket, and the shell that starts nginx in front of it.

import { test, type TestContext } from 'node:test';
import { behindNginx, frontReady, nginxFrontConfig } from '../../src/bench/behind-nginx.js';
import { DEFAULT_SCENARIOS, findScenario } from '../../src/bench/scenarios.js';
import { SERVERS, findServer, runsScenario, type ServerContext } from '../../src/bench/servers.js';

const CTX: ServerContext = {
  port: 9001,
  workers: 1,
  threads: 4,
  python: '/usr/bin/python3',
  repoRoot: '/repo',
  appsDir: '/repo/bench/apps',
  launchersDir: '/repo/bench/launchers',
  tmpDir: '/tmp/run',
  env: {},
};

test('behind-nginx runs the servers with a uwsgi socket, Cask and uWSGI, by default', (t: TestContext) => {
  t.plan(2);
  const scenario = findScenario('behind-nginx');
  const taking = SERVERS.filter(
    (def) => def.optIn !== true && scenario !== undefined && runsScenario(def, scenario),
  );
  t.assert.deepStrictEqual(taking.map((def) => def.name).sort(), ['cask', 'uwsgi']);
  t.assert.ok(DEFAULT_SCENARIOS.includes('behind-nginx'));
});

test('a server asked for a uwsgi socket listens with the uwsgi protocol instead of HTTP', (t: TestContext) => {
  t.plan(4);
  const cask = findServer('cask')?.launch({ ...CTX, protocol: 'uwsgi' }).argv ?? [];
  t.assert.ok(cask.includes('uwsgi://127.0.0.1:9001'), cask.join(' '));
  const uwsgi = findServer('uwsgi')?.launch({ ...CTX, protocol: 'uwsgi' }).argv ?? [];
  t.assert.deepStrictEqual(uwsgi.slice(uwsgi.indexOf('--socket')), ['--socket', '127.0.0.1:9001']);
  t.assert.ok(!uwsgi.includes('--http-socket'));
  const http = findServer('uwsgi')?.launch(CTX).argv ?? [];
  t.assert.ok(http.includes('--http-socket'));
});

test('`behindNginx()` starts nginx from the same shell, then becomes the server', (t: TestContext) => {
  t.plan(4);
  const backend = findServer('cask')?.launch({ ...CTX, protocol: 'uwsgi' });
  if (backend === undefined) throw new Error('no cask row');
  const launch = behindNginx(backend, { port: 8080, backendPort: 9001, tmpDir: '/tmp/run' });
  t.assert.deepStrictEqual(launch.argv.slice(0, 2), ['/bin/sh', '-c']);
  t.assert.match(
    launch.argv[2] ?? '',
    /^\/usr\/sbin\/nginx -p \/tmp\/run -c \/tmp\/run\/nginx-front\.conf & exec "\$@"$/,
  );
  t.assert.deepStrictEqual(launch.argv.slice(4), backend.argv);
  t.assert.deepStrictEqual(
    launch.files.map((f) => f.path),
    ['/tmp/run/nginx-front.conf'],
  );
});

test("`nginxFrontConfig()` listens on the load's port and passes to the backend's uwsgi socket", (t: TestContext) => {
  t.plan(3);
  const conf = nginxFrontConfig({ port: 8080, backendPort: 9001, tmpDir: '/tmp/run' });
  t.assert.match(conf, /listen 127\.0\.0\.1:8080;/);
  t.assert.match(conf, /uwsgi_pass 127\.0\.0\.1:9001;/);
  t.assert.match(conf, /pid \/tmp\/run\/nginx-front\.pid;/);
});

test("`frontReady()` waits out nginx's 502 and 504 while the server behind it starts", (t: TestContext) => {
  t.plan(4);
  t.assert.strictEqual(frontReady('HTTP/1.1 502 Bad Gateway'), false);
  t.assert.strictEqual(frontReady('HTTP/1.1 504 Gateway Time-out'), false);
  t.assert.strictEqual(frontReady('HTTP/1.1 200 OK'), true);
  t.assert.strictEqual(frontReady('HTTP/1.1 500 Internal Server Error'), true);
});
