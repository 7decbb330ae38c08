// --socket-mode on real Unix sockets (stat after bind), and --user/--group as gunicorn's: root
// binds, then the front and its workers run as the user (read from /proc/PID/status), still
// serving, spooling large bodies and handing over on SIGUSR2. The refusals exit 2.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request, type RequestOptions } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { APPS, BIN, ROOT, runCask, startCask } from '../helpers/cask.js';
import { until } from '../helpers/load.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cask-privileges-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** One request over TCP or a Unix socket; the status and the body. */
function ask(
  where: RequestOptions,
  path: string,
  body?: Buffer,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { ...where, path, method: body === undefined ? 'GET' : 'POST', headers: { Host: 'x' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (s: string) => (text += s));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The real, effective, saved and filesystem ids of a process (`Uid:`/`Gid:` of its status). */
function ids(pid: number): { uid: number[]; gid: number[]; groups: number[] } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number[] =>
    (new RegExp(`^${name}:(.*)$`, 'm').exec(status)?.[1] ?? '')
      .trim()
      .split(/\s+/)
      .filter((s) => s !== '')
      .map(Number);
  return { uid: field('Uid'), gid: field('Gid'), groups: field('Groups') };
}

/** The uid of a user and the gid of a group, or undefined when the system has none. */
function idOf(database: 'passwd' | 'group', name: string): number | undefined {
  const found = spawnSync('getent', [database, name], { encoding: 'utf8' });
  return found.status === 0 ? Number(found.stdout.split(':')[2]) : undefined;
}

const NOBODY = idOf('passwd', 'nobody');
const NOGROUP = idOf('group', 'nogroup');
const AS_ROOT = process.getuid?.() === 0;
const SWITCH_SKIP = !AS_ROOT
  ? 'switching users needs root'
  : NOBODY === undefined || NOGROUP === undefined
    ? 'no user nobody or group nogroup on this system'
    : false;

test('--socket-mode gives a Unix socket cask binds its mode whatever the umask, 0660 by default', async (t) => {
  const dir = tempDir(t);
  const cases: Array<{ args: string[]; mode: number }> = [
    // The umask alone (022) would make it 0755: nginx as another user could not connect.
    { args: ['--umask', '022'], mode: 0o660 },
    { args: ['--umask', '077', '--socket-mode', '666'], mode: 0o666 },
    { args: ['--socket-mode', '0o600'], mode: 0o600 },
  ];
  t.plan(cases.length * 2);
  for (const [i, { args, mode }] of cases.entries()) {
    const path = join(dir, `cask-${i}.sock`);
    const server = await startCask([
      'hello:application',
      '--chdir',
      APPS,
      '-b',
      `unix:${path}`,
      ...args,
    ]);
    try {
      t.assert.equal((statSync(path).mode & 0o777).toString(8), mode.toString(8), args.join(' '));
      t.assert.equal((await ask({ socketPath: path }, '/')).status, 200);
    } finally {
      await server.stop();
    }
  }
});

test('--socket-mode that is not an octal mode exits 2, naming the value', async (t) => {
  const cases: Array<{ args: string[]; env?: NodeJS.ProcessEnv; says: RegExp }> = [
    {
      args: ['--socket-mode', '999'],
      says: /Invalid value for --socket-mode: "999" is not an octal file mode/,
    },
    { args: ['--socket-mode', 'rw-rw----'], says: /Invalid value for --socket-mode: "rw-rw----"/ },
    { args: ['--socket-mode', '01777'], says: /Invalid value for --socket-mode: "01777"/ },
    { args: [], env: { CASK_SOCKET_MODE: '8' }, says: /Invalid value for CASK_SOCKET_MODE: "8"/ },
  ];
  t.plan(cases.length * 2);
  for (const { args, env, says } of cases) {
    const run = runCask(['serve', 'hello:application', '--chdir', APPS, ...args], { env });
    t.after(() => run.stop());
    t.assert.equal(await run.exited, 2);
    t.assert.match(run.stderr(), says);
  }
});

test(
  '--user and --group as root: bound first, then the front and its workers run as them',
  { skip: SWITCH_SKIP },
  async (t) => {
    const uid = NOBODY as number;
    const gid = NOGROUP as number;
    const dir = tempDir(t);
    // The user must reach the socket's directory, as it would in /run/myproject.
    chmodSync(dir, 0o755);
    const path = join(dir, 'cask.sock');
    const accessLog = join(dir, 'access.log');
    const server = await startCask([
      'failures:application',
      '--chdir',
      APPS,
      '-b',
      '127.0.0.1:0',
      '-b',
      `unix:${path}`,
      '--user',
      'nobody',
      '--group',
      'nogroup',
      '--workers',
      '2',
      // Bodies above 1 KiB go to a temporary file, which the user must be able to make.
      '--body-memory-limit',
      '1024',
      '--access-log',
      accessLog,
    ]);
    t.after(() => server.stop());
    const tcp = { host: server.host, port: server.port };

    const front = ids(server.proc.pid as number);
    assert.deepEqual(front.uid, [uid, uid, uid, uid]);
    assert.deepEqual(front.gid, [gid, gid, gid, gid]);
    // initgroups(3): nobody's own groups and nogroup, none of root's.
    assert.ok(!front.groups.includes(0), `groups ${front.groups.join(' ')}`);
    assert.ok(
      server.stderr().includes(`Running as user nobody (uid ${uid}), group ${gid}`),
      server.stderr(),
    );

    const answer = await ask(tcp, '/pid');
    assert.equal(answer.status, 200);
    const worker = ids(Number(answer.body));
    assert.notEqual(Number(answer.body), server.proc.pid);
    assert.deepEqual(worker.uid, [uid, uid, uid, uid]);
    assert.deepEqual(worker.gid, [gid, gid, gid, gid]);

    // A body spooled to a file by the front after the switch.
    const big = await ask(tcp, '/pid', Buffer.alloc(256 * 1024, 'x'));
    assert.equal(big.status, 200);

    // The socket was given its owner while the front could still do so.
    const socket = statSync(path);
    assert.deepEqual([socket.uid, socket.gid, socket.mode & 0o777], [uid, gid, 0o660]);
    assert.equal((await ask({ socketPath: path }, '/pid')).status, 200);

    // The access log, opened as root, is the user's: SIGUSR1 opens it again after the switch.
    assert.equal(statSync(accessLog).uid, uid);
    server.proc.kill('SIGUSR1');
    await server.waitFor('log files reopened');
    assert.equal((await ask(tcp, '/after-reopen')).status, 404);
    // The access log is written through a file stream (the thread pool): wait for the line.
    await until(
      () => readFileSync(accessLog, 'utf8').includes('GET /after-reopen '),
      10_000,
      'the request in the reopened access log',
    );
    assert.match(readFileSync(accessLog, 'utf8'), /GET \/after-reopen /);

    // SIGUSR2: the new process starts as the user already; it takes the sockets over.
    server.proc.kill('SIGUSR2');
    await server.waitFor(/New process (\d+) is starting/);
    const successor = Number(/New process (\d+) is starting/.exec(server.stderr())?.[1]);
    t.after(() => {
      try {
        process.kill(successor, 'SIGTERM');
      } catch {
        // gone already
      }
    });
    assert.equal(await server.exited, 0, server.stderr());
    assert.deepEqual(ids(successor).uid, [uid, uid, uid, uid]);
    assert.equal((await ask(tcp, '/pid')).status, 200);
    assert.equal((await ask({ socketPath: path }, '/pid')).status, 200);
  },
);

test(
  '--user or --group another than the current, not as root, exits 2 saying only root may switch',
  { skip: SWITCH_SKIP },
  (t: TestContext) => {
    const cases: Array<[string[], RegExp]> = [
      [
        ['--user', 'root'],
        /^cask: Cannot switch to --user root: only root may change the user it runs as, and this process runs as uid 65534\n$/m,
      ],
      [
        ['--group', 'root'],
        /^cask: Cannot switch to --group root: only root may change the group it runs in, and this process \(uid 65534\) is not in that group\n$/m,
      ],
    ];
    t.plan(cases.length * 2);
    for (const [args, says] of cases) {
      // cask started as nobody, as a non-root service would be.
      const run = spawnSync(
        process.execPath,
        [BIN, 'serve', 'hello:application', '--chdir', APPS, '-b', '127.0.0.1:0', ...args],
        { cwd: ROOT, uid: NOBODY, gid: NOGROUP, encoding: 'utf8', timeout: 20_000 },
      );
      t.assert.equal(run.status, 2, run.stderr);
      t.assert.match(run.stderr, says);
    }
  },
);
