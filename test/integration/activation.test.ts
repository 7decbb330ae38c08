// Systemd socket activation over real sockets: cask started by a launcher that binds the
// sockets, sets LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES and execs it, as systemd does
// (test/fixtures/activate.py); the unit and socket files of docs/deploy.md run that way; and
// --socket-mode, --user and --group on a Unix socket cask binds itself.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { encodeUwsgiRequest } from '../../src/cgi/uwsgi.js';
import { APPS, BIN, runCask, startCask, type RunningCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';
import { until } from '../helpers/load.js';
import { deployBlock } from '../helpers/proxies.js';

const LAUNCHER = fileURLToPath(new URL('../fixtures/activate.py', import.meta.url));

interface Activated {
  fd: number;
  name: string;
  port?: number;
  path?: string;
}

interface SocketSpec {
  listen: string;
  name?: string;
  mode?: string;
  user?: string;
  group?: string;
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cask-activation-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The launcher's spec argument; `extra` sets `fdnames` or `pid` (see activate.py). */
function launcher(sockets: SocketSpec[], extra: Record<string, unknown> = {}): string[] {
  return ['python3', LAUNCHER, JSON.stringify({ sockets, ...extra })];
}

/** What the launcher bound, from the first line it printed before it became cask. */
function bound(server: RunningCask): Activated[] {
  const line = server.stdout().split('\n')[0] as string;
  return (JSON.parse(line) as { sockets: Activated[] }).sockets;
}

/** GET over a Unix socket (node:http speaks to a socket path). */
function getUnix(path: string, target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: path, path: target, headers: { Host: 'localhost' } },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (s: string) => (body += s));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** One uwsgi request, as nginx's uwsgi_pass sends it, and everything read until the close. */
function uwsgi(path: string, target: string): Promise<string> {
  const packet = encodeUwsgiRequest([
    'REQUEST_METHOD', 'GET',
    'REQUEST_URI', target,
    'PATH_INFO', target,
    'QUERY_STRING', '',
    'SERVER_PROTOCOL', 'HTTP/1.1',
    'SERVER_NAME', 'example.org',
    'SERVER_PORT', '80',
    'REMOTE_ADDR', '203.0.113.9',
    'REMOTE_PORT', '40000',
    'HTTP_HOST', 'example.org',
  ]); // prettier-ignore
  return new Promise((resolve, reject) => {
    const socket = connect(path, () => socket.end(packet));
    let data = '';
    socket.setEncoding('latin1').on('data', (s: string) => (data += s));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

/** Whether a TCP connection to the port is refused (nothing listens any more). */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

test('socket activation: HTTP on TCP and Unix sockets, uwsgi by name; --bind unused; the variables hidden from the app', async (t) => {
  const dir = tempDir(t);
  const server = await startCask(
    ['echo:application', '--chdir', APPS, '-b', 'unix:/nonexistent/never.sock'],
    {
      launcher: launcher([
        { listen: '127.0.0.1:0', name: 'myproject.socket' },
        { listen: join(dir, 'http.sock'), name: 'http' },
        { listen: join(dir, 'uwsgi.sock'), name: 'uwsgi' },
      ]),
    },
  );
  t.after(() => server.stop());
  const [tcp] = bound(server);
  assert.match(
    server.stderr(),
    /Listening on the 3 socket\(s\) systemd passed \(--bind is not used\)/,
  );
  assert.match(server.stderr(), /uwsgi:unix:.*uwsgi\.sock \(fd 5 "uwsgi" from systemd\)/);

  const response = await get(tcp?.port as number, '/over-tcp');
  assert.equal(response.status, 200);
  const environ = (JSON.parse(response.body.toString()) as { environ: Record<string, string> })
    .environ;
  assert.equal(environ['PATH_INFO'], '/over-tcp');
  assert.deepEqual(
    Object.keys(environ).filter((k) => k.startsWith('LISTEN_')),
    [],
  );

  const unix = await getUnix(join(dir, 'http.sock'), '/over-unix');
  assert.equal(unix.status, 200);
  assert.match(unix.body, /"PATH_INFO": "\/over-unix"/);

  const answer = await uwsgi(join(dir, 'uwsgi.sock'), '/over-uwsgi');
  assert.match(answer, /^HTTP\/1\.[01] 200 /);
  assert.match(answer, /"PATH_INFO": "\/over-uwsgi"/);
  assert.match(answer, /"REMOTE_ADDR": "203\.0\.113\.9"/);
});

test('socket activation: a passed socket never leaks into a worker, so it refuses connections once closed', async (t) => {
  const server = await startCask(['several:site', '--chdir', APPS, '--graceful-timeout', '10s'], {
    launcher: launcher([{ listen: '127.0.0.1:0', name: 'http' }]),
    env: { SAY_SLEEP: '1' },
  });
  t.after(() => server.stop());
  const port = bound(server)[0]?.port as number;
  const slow = get(port, '/sleep?s=3');
  let answered = false;
  void slow.then(
    () => (answered = true),
    () => (answered = true),
  );
  // The app says so once the request is in it: its worker is busy for 3 s from there.
  await server.waitFor('site sleeping 3');
  server.proc.kill('SIGTERM');
  // Logged just before the front closes its listener.
  await server.waitFor('SIGTERM: shutting down');
  // The front closed its listener; a worker holding a copy would keep it accepting until the
  // worker exits, after the slow request: so the port must refuse while that is unanswered.
  let closed = false;
  await until(
    async () => answered || (closed = await refused(port)),
    15_000,
    'the port to refuse or the slow request to end',
  );
  assert.equal(closed, true, 'the port refused connections while the worker still ran');
  assert.equal((await slow).status, 200);
  assert.equal(await server.exited, 0);
});

test('socket activation: variables meant for another process are ignored, malformed ones stop the start', async (t) => {
  const other = await startCask(['hello:application', '--chdir', APPS], {
    launcher: launcher([{ listen: '127.0.0.1:0', name: 'http' }], { pid: 1 }),
  });
  t.after(() => other.stop());
  assert.doesNotMatch(other.stderr(), /systemd passed/);
  assert.equal((await get(other.port, '/')).status, 200);

  const bad = runCask(['serve', 'hello:application', '--chdir', APPS], {
    launcher: launcher([{ listen: '127.0.0.1:0' }], { fdnames: 'http:uwsgi' }),
  });
  t.after(() => bad.stop());
  assert.equal(await bad.exited, 2);
  assert.match(
    bad.stderr(),
    /Invalid value for LISTEN_FDNAMES: "http:uwsgi" names 2 socket\(s\) for LISTEN_FDS=1/,
  );
});

/** The uid of a user and the gid of a group, as the system resolves them. */
function idOf(database: 'passwd' | 'group', name: string): number {
  return Number(spawnSync('getent', [database, name], { encoding: 'utf8' }).stdout.split(':')[2]);
}

test('--socket-mode, --user and --group give a Unix socket cask binds its mode and owner', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'cask.sock');
  const server = await startCask([
    'hello:application',
    '--chdir',
    APPS,
    '-b',
    `unix:${path}`,
    '--socket-mode',
    '770',
    '--user',
    'nobody',
    '--group',
    'nogroup',
  ]);
  t.after(() => server.stop());
  const stat = statSync(path);
  assert.equal(stat.mode & 0o777, 0o770);
  assert.equal(stat.uid, idOf('passwd', 'nobody'));
  assert.equal(stat.gid, idOf('group', 'nogroup'));
  assert.equal((await getUnix(path, '/')).status, 200);

  const unknown = runCask(['serve', 'hello:application', '--user', 'no-such-user-here']);
  t.after(() => unknown.stop());
  assert.equal(await unknown.exited, 2);
  assert.match(
    unknown.stderr(),
    /Invalid value for --user: "no-such-user-here" is not a user of this system/,
  );
});

/** `Key=value` lines of a unit file section, every value of a repeated key in order. */
function unitValues(unit: string, key: string): string[] {
  return unit
    .split('\n')
    .filter((line) => line.startsWith(`${key}=`))
    .map((line) => line.slice(key.length + 1));
}

test('the systemd unit and socket files of docs/deploy.md: verified, and run as systemd would', async (t) => {
  const dir = tempDir(t);
  const units = ['myproject.socket', 'myproject-uwsgi.socket', 'myproject.service'];
  const text = Object.fromEntries(units.map((name) => [name, deployBlock(name)]));
  const service = text['myproject.service'] as string;
  const [execStart] = unitValues(service, 'ExecStart');
  const [cask, ...args] = (execStart as string).split(' ');

  // systemd's own checker, with the one thing it cannot find here (the binary) made real.
  if (spawnSync('systemd-analyze', ['--version']).status === 0) {
    for (const name of units) {
      writeFileSync(join(dir, name), (text[name] as string).replace(cask as string, BIN));
    }
    const verify = spawnSync('systemd-analyze', ['verify', ...units.map((u) => join(dir, u))], {
      encoding: 'utf8',
    });
    assert.equal(verify.status, 0, verify.stderr);
  }

  // The sockets, in the order of Sockets=, named as systemd names them (FileDescriptorName=,
  // else the unit's name), on this machine's addresses.
  const sockets: SocketSpec[] = [];
  for (const unit of (unitValues(service, 'Sockets')[0] as string).split(' ')) {
    const body = text[unit] as string;
    const name = unitValues(body, 'FileDescriptorName')[0] ?? unit;
    for (const listen of unitValues(body, 'ListenStream')) {
      sockets.push({
        listen: listen.startsWith('/')
          ? join(dir, listen.split('/').at(-1) as string)
          : '127.0.0.1:0',
        name,
        mode: unitValues(body, 'SocketMode')[0],
        user: unitValues(body, 'SocketUser')[0],
        group: unitValues(body, 'SocketGroup')[0],
      });
    }
  }
  assert.deepEqual(
    sockets.map((s) => s.name),
    ['myproject.socket', 'uwsgi'],
  );
  const local = args.flatMap((arg) =>
    arg === 'myproject.wsgi'
      ? ['several:site', '--chdir', APPS]
      : arg.startsWith('/srv/myproject/.venv/')
        ? ['python3']
        : arg === '127.0.0.1:9000'
          ? ['127.0.0.1:0']
          : [arg],
  );
  const server = await startCask(local, {
    launcher: launcher(sockets.map((s) => JSON.parse(JSON.stringify(s)) as SocketSpec)),
  });
  t.after(() => server.stop());
  const [http, uwsgiSocket] = bound(server);
  assert.equal((await get(http?.port as number, '/x')).status, 200);
  assert.match(
    await uwsgi(uwsgiSocket?.path as string, '/y'),
    /^HTTP\/1\.[01] 200 [^]*"app": "site"/,
  );
  const stat = statSync(uwsgiSocket?.path as string);
  assert.equal(stat.mode & 0o777, 0o660);
  assert.equal(stat.gid, idOf('group', 'www-data'));

  // ExecReload, then `systemctl stop` with KillMode=mixed: SIGTERM to cask alone.
  server.proc.kill('SIGHUP');
  await server.waitFor('Reload complete');
  const stopping = Date.now();
  server.proc.kill('SIGTERM');
  assert.equal(await server.exited, 0);
  const timeout = Number(unitValues(service, 'TimeoutStopSec')[0]);
  assert.ok(Date.now() - stopping < timeout * 1000);
});
