// The Kubernetes-grade shutdown and the other signals: SIGTERM turns /readyz unready first,
// serves through --shutdown-delay, closes idle keep-alive connections, lets in-flight
// requests finish and exits 0; a second SIGTERM stops at once; SIGTTIN/SIGTTOU change the
// worker count; SIGUSR1 reopens the log files.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { adminPort } from '../helpers/admin.js';
import { APPS, startCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';
import { until } from '../helpers/load.js';

/** The targets of the requests running in a worker thread, from the admin /stats. */
async function running(admin: number): Promise<string[]> {
  const r = await get(admin, '/stats');
  const doc = JSON.parse(r.body.toString()) as {
    workers: Array<{ requests: Array<{ target: string; started: boolean }> }>;
  };
  return doc.workers.flatMap((w) => w.requests.filter((q) => q.started).map((q) => q.target));
}

async function readyz(
  port: number,
): Promise<{ status: number; ready: boolean; status_: string; workers: number }> {
  const r = await get(port, '/readyz');
  const body = JSON.parse(r.body.toString()) as { ready: boolean; status: string; workers: number };
  return { status: r.status, ready: body.ready, status_: body.status, workers: body.workers };
}

test('SIGTERM: /readyz turns 503 first, --shutdown-delay keeps serving, in-flight requests finish, exit 0', async () => {
  const server = await startCask([
    'failures:application',
    '--chdir',
    APPS,
    '--threads',
    '2',
    '--admin-bind',
    '127.0.0.1:0',
    '--shutdown-delay',
    '1',
  ]);
  const admin = adminPort(server);
  assert.equal((await readyz(admin)).status, 200);

  const inflight = get(server.port, '/sleep?1.5', {}, { ms: 10_000 });
  // In flight: the admin listener's /stats shows it running in a worker thread.
  await until(
    async () => (await running(admin)).includes('/sleep?1.5'),
    10_000,
    'the request running',
  );
  server.proc.kill('SIGTERM');
  await server.waitFor(
    'SIGTERM: not ready any more; serving 1 s more before closing the listeners',
  );
  const unready = await readyz(admin);
  assert.equal(unready.status, 503);
  assert.equal(unready.status_, 'shutting down');
  assert.equal((await get(admin, '/healthz')).status, 200, 'still alive while draining');
  assert.equal(
    (await get(server.port, '/ok')).status,
    200,
    'new requests are served during the delay',
  );

  await server.waitFor('SIGTERM: shutting down, waiting up to 30 s');
  // Refused, or reset if it reached the accept queue as the listener closed.
  await assert.rejects(get(server.port, '/ok'), /ECONNREFUSED|No response/);
  const response = await inflight;
  assert.equal(response.status, 200);
  assert.equal(response.body.toString(), 'slept 1.5');
  assert.equal(await server.exited, 0);
});

test('SIGTERM closes an idle keep-alive connection at once', async () => {
  const server = await startCask(['failures:application', '--chdir', APPS, '--keep-alive', '30']);
  const closed = new Promise<number>((resolve) => {
    const socket = connect(server.port, '127.0.0.1', () =>
      socket.write('GET /ok HTTP/1.1\r\nHost: h\r\n\r\n'),
    );
    let sentAt = 0;
    socket.on('data', () => {
      if (sentAt !== 0) return;
      sentAt = Date.now();
      server.proc.kill('SIGTERM');
    });
    socket.on('close', () => resolve(Date.now() - sentAt));
    socket.on('error', () => {});
  });
  assert.ok((await closed) < 5000, 'closed long before the keep-alive timeout');
  assert.equal(await server.exited, 0);
});

test('a second SIGTERM stops at once with 143', async () => {
  const server = await startCask(['failures:application', '--chdir', APPS], {
    env: { SAY_SLEEP: '1' },
  });
  const inflight = get(server.port, '/sleep?20', {}, { ms: 10_000 }).catch(() => undefined);
  // The app says so once the request is in it: the shutdown then waits for it.
  await server.waitFor('sleeping 20');
  server.proc.kill('SIGTERM');
  await server.waitFor('SIGTERM: shutting down');
  server.proc.kill('SIGTERM');
  assert.equal(await server.exited, 143);
  assert.match(server.stderr(), /Second SIGTERM: stopping now/);
  await inflight;
});

test('SIGQUIT stops at once with 131 and removes the pid file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cask-quit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pidFile = join(dir, 'cask.pid');
  const server = await startCask(['failures:application', '--chdir', APPS, '--pid', pidFile]);
  assert.ok(existsSync(pidFile));
  server.proc.kill('SIGQUIT');
  assert.equal(await server.exited, 131);
  assert.match(server.stderr(), /SIGQUIT: stopping now/);
  assert.ok(!existsSync(pidFile));
});

test('SIGTTIN adds a worker and SIGTTOU removes one', async (t) => {
  const server = await startCask([
    'failures:application',
    '--chdir',
    APPS,
    '--admin-bind',
    '127.0.0.1:0',
  ]);
  t.after(() => server.stop());
  const admin = adminPort(server);
  server.proc.kill('SIGTTIN');
  await server.waitFor('Workers: 1 -> 2 (SIGTTIN)');
  await until(async () => (await readyz(admin)).workers === 2, 10_000, 'two workers');
  server.proc.kill('SIGTTOU');
  await server.waitFor('Workers: 2 -> 1 (SIGTTOU)');
  await until(async () => (await readyz(admin)).workers === 1, 10_000, 'one worker');
  server.proc.kill('SIGTTOU');
  await server.waitFor('Workers stay at 1 (SIGTTOU');
  assert.equal((await get(server.port, '/ok')).status, 200);
});

test('SIGUSR1 reopens the log files after they were moved away', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cask-logs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const errorLog = join(dir, 'error.log');
  const accessLog = join(dir, 'access.log');
  const server = await startCask(
    ['failures:application', '--chdir', APPS, '--error-log', errorLog, '--access-log', accessLog],
    {
      noWait: true,
    },
  );
  t.after(() => server.stop());
  await until(
    () => existsSync(errorLog) && /Ready: 1 worker/.test(readFileSync(errorLog, 'utf8')),
    15_000,
    'ready',
  );
  const port = Number(/on http:\/\/127\.0\.0\.1:(\d+)/.exec(readFileSync(errorLog, 'utf8'))?.[1]);
  assert.equal((await get(port, '/before')).status, 404);
  await until(
    () => existsSync(accessLog) && readFileSync(accessLog, 'utf8').includes('/before'),
    5000,
    'access line',
  );
  renameSync(errorLog, `${errorLog}.1`);
  renameSync(accessLog, `${accessLog}.1`);

  server.proc.kill('SIGUSR1');
  await until(
    () =>
      existsSync(errorLog) &&
      readFileSync(errorLog, 'utf8').includes('SIGUSR1: log files reopened'),
    5000,
    'new error log',
  );
  assert.equal((await get(port, '/after')).status, 404);
  await until(
    () => existsSync(accessLog) && readFileSync(accessLog, 'utf8').includes('/after'),
    5000,
    'new access log',
  );
  assert.doesNotMatch(readFileSync(accessLog, 'utf8'), /\/before/);
  assert.match(readFileSync(`${accessLog}.1`, 'utf8'), /\/before/);
});
