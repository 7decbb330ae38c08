// SIGUSR2: a new Cask process, with the settings as they are now, takes over the listening
// sockets (TCP, Unix and admin), and the old one drains and exits 0, under constant load and
// without a refused connection; a new process that cannot start leaves the old one serving.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { adminPort } from '../helpers/admin.js';
import { alive, APPS, startCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';
import { startLoad, until } from '../helpers/load.js';
import { stopLater, successorPid } from '../helpers/upgrade.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cask-upgrade-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function getUnix(path: string, target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: path, path: target, headers: { Connection: 'close' } },
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

test('SIGUSR2 under load: the new process takes over TCP, Unix and admin sockets, not one request fails', async (t) => {
  const dir = tempDir(t);
  const pidFile = join(dir, 'cask.pid');
  const socket = join(dir, 'cask.sock');
  const server = await startCask([
    'failures:application',
    '--chdir',
    APPS,
    '--threads',
    '4',
    '-b',
    '127.0.0.1:0',
    '-b',
    `unix:${socket}`,
    '--admin-bind',
    '127.0.0.1:0',
    '--pid',
    pidFile,
  ]);
  const successor: { pid?: number } = {};
  stopLater(t, () => successor.pid);
  t.after(() => server.stop('SIGKILL'));
  const port = Number(/on http:\/\/127\.0\.0\.1:(\d+)/.exec(server.stderr())?.[1]);
  const admin = adminPort(server);
  const oldWorker = (await get(port, '/pid')).body.toString();

  // Eight clients, a new connection per request, all through the handover.
  const load = startLoad(port, '/pid', 8);
  await until(() => load.count() > 50, 10_000, 'load to start');
  const old = server.proc.pid as number;
  server.proc.kill('SIGUSR2');
  const next = await successorPid(pidFile, old);
  successor.pid = next;
  assert.equal(await server.exited, 0, 'the old process drains and exits 0');
  const after = load.count();
  await until(() => load.count() > after + 50, 10_000, 'load after the handover');
  const result = await load.stop();
  assert.deepEqual(result.failures, [], 'no request failed, no connection was refused');
  const workers = new Set(result.responses.map((r) => r.body.toString()));
  assert.ok(workers.has(oldWorker), 'the old workers served before the handover');
  assert.ok(workers.size >= 2, 'the new workers serve after it');

  const log = server.stderr();
  assert.match(log, /SIGUSR2: starting a new Cask process to take over the listeners/);
  assert.match(log, new RegExp(`Process ${next} serves now; this one drains and exits`));
  assert.ok(alive(next));
  assert.equal((await getUnix(socket, '/ok')).status, 200, 'the Unix socket file is still there');
  assert.equal((await get(admin, '/readyz')).status, 200, 'the admin listener too');

  // The new process is a full server: SIGTERM stops it and it removes what it made.
  process.kill(next, 'SIGTERM');
  await until(() => !alive(next), 15_000, 'the new process to stop');
  assert.equal(existsSync(pidFile), false, 'its pid file is removed');
  assert.equal(existsSync(socket), false, 'its socket file is removed');
});

test('SIGUSR2 reads the settings again; a new process that cannot start leaves the old one serving', async (t) => {
  const dir = tempDir(t);
  const pidFile = join(dir, 'cask.pid');
  writeFileSync(join(dir, 'cask.toml'), 'threads = 1\n');
  const server = await startCask(['failures:application', '--chdir', APPS, '--pid', pidFile], {
    cwd: dir,
  });
  const successor: { pid?: number } = {};
  stopLater(t, () => successor.pid);
  t.after(() => server.stop('SIGKILL'));

  writeFileSync(join(dir, 'cask.toml'), 'threads = "many"\n');
  server.proc.kill('SIGUSR2');
  await server.waitFor(
    /SIGUSR2: the new process failed, this one serves on: it ended with exit code 2 before it was ready/,
  );
  assert.match(
    server.stderr(),
    /cask: Invalid value for threads in cask\.toml: "many" is not an integer/,
  );
  assert.equal((await get(server.port, '/ok')).status, 200);
  assert.equal(Number(readFileSync(pidFile, 'utf8')), server.proc.pid);

  writeFileSync(join(dir, 'cask.toml'), 'threads = 3\n');
  server.proc.kill('SIGUSR2');
  successor.pid = await successorPid(pidFile, server.proc.pid as number);
  assert.equal(await server.exited, 0);
  assert.match(server.stderr(), /with 1 worker\(s\) x 3 thread\(s\)/, 'the new settings apply');
  assert.equal((await get(server.port, '/ok')).status, 200);
});
