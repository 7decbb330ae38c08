// `--fronts N`: N front processes on the same sockets under one primary, with the real CLI, a
// real Python app and real sockets (TCP and Unix). What a user relies on: every front serves
// the one port, the admin listener sums them, signals reach every front, a front that dies is
// replaced while the others serve, the start fails as one server's would, and nothing is left
// behind.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { metric, metricSum, promtoolCheck, scrapeMetrics } from '../helpers/admin.js';
import { APPS, runCask, type RunningCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';
import { until } from '../helpers/load.js';

interface Fronts {
  server: RunningCask;
  port: number;
  admin: number;
}

/** A port the kernel picks, shared by the fronts: the default, 8000, may be taken on the
 * machine running the tests (by another suite, say), which would fail the start. */
const ANY_PORT = ['-b', '127.0.0.1:0'];

/** Starts `cask serve` with several fronts and waits until every front is ready; on a port of
 * the kernel's choosing unless `args` binds. */
async function startFronts(t: TestContext, args: string[]): Promise<Fronts> {
  const bind = args.includes('-b') ? [] : ANY_PORT;
  const server = runCask(
    [
      'serve',
      'failures:application',
      '--chdir',
      APPS,
      '--admin-bind',
      '127.0.0.1:0',
      ...bind,
      ...args,
    ],
    { noWait: true },
  );
  t.after(async () => {
    await server.stop('SIGQUIT');
  });
  await server.waitFor(/Ready: \d+ fronts/, 30_000);
  const log = server.stderr();
  const port = Number(/serving failures:application on http:\/\/127\.0\.0\.1:(\d+)/.exec(log)?.[1]);
  const admin = Number(/Admin listener on http:\/\/127\.0\.0\.1:(\d+)/.exec(log)?.[1]);
  assert.ok(port > 0 && admin > 0, log);
  return { server, port, admin };
}

async function stats(admin: number): Promise<{
  fronts: number;
  pid: number;
  requests: { total: number };
  workers: Array<{ front: number; worker: number; pid: number }>;
}> {
  const response = await get(admin, '/stats');
  assert.equal(response.status, 200, response.body.toString());
  return JSON.parse(response.body.toString());
}

/** The pids of the fronts (the primary's children that are Node processes). */
function frontPids(doc: Awaited<ReturnType<typeof stats>>, fronts: number): number[] {
  return Array.from({ length: fronts }, (_, i) => i + 1).map((front) => {
    const worker = doc.workers.find((w) => w.front === front);
    assert.ok(worker !== undefined, `a worker of front ${front}`);
    // A worker's parent is its front.
    const stat = readFileSync(`/proc/${worker.pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  });
}

test('two fronts serve one port; the admin listener sums them; SIGHUP reloads every front; SIGTERM stops them all', async (t) => {
  const { server, port, admin } = await startFronts(t, ['-w', '2', '--fronts', '2']);
  const n = 40;
  // Separate connections, several at once, so that both fronts get a chance to accept.
  const answers = await Promise.all(
    Array.from({ length: n }, () => get(port, '/ok', { Connection: 'close' })),
  );
  assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));

  // A target that is no URL (a port past 65535) is an unknown path to the primary's admin
  // listener too: it used to throw there and end the primary and every front with it.
  assert.equal((await get(admin, '//a:99999')).status, 404);

  const metrics = await scrapeMetrics(admin);
  assert.equal(
    metric(metrics, 'cask_requests_total', {
      app: 'failures:application',
      method: 'GET',
      status_class: '2xx',
    }),
    n,
  );
  // One worker in each front, told apart by the front label.
  assert.equal(metric(metrics, 'cask_workers', { state: 'ready' }), 2);
  const perFront = [1, 2].map(
    (front) => metric(metrics, 'cask_worker_requests_total', { front, worker: 1 }) ?? -1,
  );
  // A request a stalled worker gave back is dispatched twice (none is expected here, with no
  // other worker in its front to give it to, but the sum must not depend on that).
  const reclaimed = metricSum(metrics, 'cask_reclaimed_total');
  assert.equal(perFront[0]! + perFront[1]! - reclaimed, n, `per front: ${perFront.join(', ')}`);
  const complaints = promtoolCheck((await get(admin, '/metrics')).body.toString());
  if (complaints === undefined)
    t.diagnostic('promtool is not installed (Debian: prometheus): format not checked');
  else assert.equal(complaints, '', complaints);

  const doc = await stats(admin);
  assert.equal(doc.fronts, 2);
  assert.equal(doc.pid, server.proc.pid);
  assert.equal(doc.requests.total, n);
  assert.deepEqual(doc.workers.map((w) => w.front).sort(), [1, 2]);
  const fronts = frontPids(doc, 2);
  assert.notEqual(fronts[0], fronts[1]);
  assert.equal((await get(admin, '/readyz')).status, 200);
  assert.equal((await get(admin, '/dashboard')).status, 501);

  // SIGHUP: each front starts its generation 2 and serves on.
  server.proc.kill('SIGHUP');
  await until(
    () => (server.stderr().match(/Reload complete: generation 2 serves/g) ?? []).length === 2,
    20_000,
    'both fronts reloaded',
  );
  assert.equal((await get(port, '/ok')).status, 200);

  assert.equal(await server.stop('SIGTERM'), 0);
  assert.match(server.stderr(), /SIGTERM: stopping every front/);
  assert.equal((server.stderr().match(/\[front \d\] \[INFO\] Stopped/g) ?? []).length, 2);
  for (const pid of fronts) assert.ok(!existsSync(`/proc/${pid}`), `front ${pid} is gone`);
});

test('a front that dies is replaced while the other serves the same socket', async (t) => {
  const { server, port, admin } = await startFronts(t, ['-w', '2', '--fronts', '2']);
  const [first, second] = frontPids(await stats(admin), 2);
  process.kill(first!, 'SIGKILL');
  // The other front accepts from the same socket: requests keep being answered meanwhile.
  let ok = 0;
  const deadline = Date.now() + 1500;
  while (Date.now() < deadline) {
    const answer = await get(port, '/ok', { Connection: 'close' }).catch(() => undefined);
    if (answer?.status === 200) ok += 1;
  }
  assert.ok(ok > 0, 'requests answered while a front was down');
  await server.waitFor(/Front 1 \(pid \d+\) exited with status 137; starting another/, 5000);
  // Ready once the new front said so (its admin socket answers a little earlier).
  await until(
    async () => (await get(admin, '/readyz').catch(() => undefined))?.status === 200,
    15_000,
    'the new front ready',
  );
  const now = frontPids(await stats(admin), 2);
  assert.equal(now[1], second, 'the other front kept running');
  assert.notEqual(now[0], first, 'a new front 1');
  assert.equal((await get(port, '/ok')).status, 200);
});

test('fronts share a Unix socket, and the socket file is removed when the server stops', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cask-fronts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'app.sock');
  const { server } = await startFronts(t, [
    '-w',
    '2',
    '--fronts',
    '2',
    '-b',
    '127.0.0.1:0',
    '-b',
    `unix:${path}`,
  ]);
  const viaUnix = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = request(
        { socketPath: path, path: '/ok', headers: { Connection: 'close' } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end();
    });
  const statuses = await Promise.all(Array.from({ length: 20 }, viaUnix));
  assert.deepEqual(new Set(statuses), new Set([200]));
  assert.equal(await server.stop('SIGTERM'), 0);
  assert.ok(!existsSync(path), 'the socket file is gone');
  assert.deepEqual(readdirSync(dir), [], 'no temporary socket left beside it');
});

test('a start that fails in a front fails the server with its status; bad settings exit 2', async () => {
  const broken = runCask([
    'serve',
    'broken_import:application',
    '--chdir',
    APPS,
    '-w',
    '2',
    '--fronts',
    '2',
    ...ANY_PORT,
  ]);
  assert.equal(await broken.exited, 4);
  assert.match(broken.stderr(), /stopped before it was ready \(exit status 4\): not starting/);

  const tooFew = runCask([
    'serve',
    'failures:application',
    '--chdir',
    APPS,
    '-w',
    '1',
    '--fronts',
    '2',
    ...ANY_PORT,
  ]);
  assert.equal(await tooFew.exited, 2);
  assert.match(
    tooFew.stderr(),
    /--fronts 2 needs at least 2 workers, one per front \(--workers 1\)/,
  );

  const dev = runCask([
    'dev',
    'failures:application',
    '--chdir',
    APPS,
    '-w',
    '2',
    '--fronts',
    '2',
    '--no-open',
    ...ANY_PORT,
  ]);
  assert.equal(await dev.exited, 2);
  assert.match(dev.stderr(), /cannot go with live reload/);
});

test('the fronts and their workers stop when the primary is killed outright', async (t) => {
  const { server, admin } = await startFronts(t, ['-w', '2', '--fronts', '2']);
  const doc = await stats(admin);
  const fronts = frontPids(doc, 2);
  const workers = doc.workers.map((w) => w.pid);
  server.proc.kill('SIGKILL');
  await until(
    () => [...fronts, ...workers].every((pid) => !existsSync(`/proc/${pid}`)),
    10_000,
    'the fronts and workers gone',
  );
});
