// Two Cask instances behind a real load balancer (Debian's HAProxy, then nginx), with the
// configurations of docs/deploy.md: under a constant load, one instance gets SIGTERM and is
// started again, and not one request fails.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { APPS, startCask, type RunningCask } from '../helpers/cask.js';
import { until } from '../helpers/load.js';
import {
  APACHE,
  HAPROXY,
  NGINX,
  deployBlock,
  missing,
  rateLoad,
  startApache,
  startHaproxy,
  startNginx,
  waitForPort,
  type Daemon,
} from '../helpers/proxies.js';
import { freePort } from '../helpers/ports.js';

/** Requests per second through the balancer: constant, and small enough for a shared machine. */
const RATE = 40;

/**
 * As docs/deploy.md runs each instance; `app` is one of the fixture's apps, which all answer
 * with their name, so that a response says which instance it came from whatever the
 * balancer does to the headers.
 */
function instance(port: number, app: string, scheme = ''): Promise<RunningCask> {
  return startCask([
    `several:${app}`,
    '--chdir',
    APPS,
    '-w',
    '2',
    '-b',
    `${scheme}127.0.0.1:${port}`,
    '--readyz-path',
    '/readyz',
    '--shutdown-delay',
    '3s',
  ]);
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cask-balancer-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The docs' addresses (two machines, port 80 in front) made into this machine's ports. */
function localise(config: string, front: number, a: number, b: number): string {
  return config
    .replace(/10\.0\.0\.11:800[01]/g, `127.0.0.1:${a}`)
    .replace(/10\.0\.0\.12:800[01]/g, `127.0.0.1:${b}`)
    .replace(/bind :80\b/, `bind 127.0.0.1:${front}`)
    .replace(/listen 80;/, `listen 127.0.0.1:${front};`);
}

/**
 * Constant load through the balancer on `front`; instance A (the `api` app) is stopped with
 * SIGTERM and started again on its port (as `admin`, to tell it from the old one); the load
 * goes on until the new one has served requests.
 */
async function restartUnderLoad(
  t: TestContext,
  front: number,
  a: { port: number; server: RunningCask; scheme?: string },
  balancer: Daemon,
): Promise<void> {
  const load = rateLoad(front, '/x', RATE, (body) => (JSON.parse(body) as { app: string }).app);
  t.after(() => load.stop());
  await until(() => load.served('api') && load.served('site'), 15_000, 'both instances to serve');
  a.server.proc.kill('SIGTERM');
  assert.equal(await a.server.exited, 0);
  const again = await instance(a.port, 'admin', a.scheme);
  t.after(() => again.stop());
  await until(() => load.served('admin'), 20_000, 'the restarted instance to serve');
  await new Promise((r) => setTimeout(r, 500));
  const result = await load.stop();
  assert.deepEqual(result.failures, [], balancer.output());
  assert.ok(result.sent >= RATE * 4, `only ${result.sent} requests were sent`);
  assert.deepEqual([...result.statuses.keys()], [200]);
}

test(
  'HAProxy with /readyz checks: an instance stopped and started again under load fails no request',
  { skip: missing(HAPROXY, 'haproxy') },
  async (t) => {
    const [front, pa, pb] = [await freePort(), await freePort(), await freePort()];
    const a = await instance(pa, 'api');
    t.after(() => a.stop());
    const b = await instance(pb, 'site');
    t.after(() => b.stop());
    const haproxy = startHaproxy(tempDir(t), localise(deployBlock('haproxy.cfg'), front, pa, pb));
    t.after(() => haproxy.stop());
    await waitForPort(front);
    await restartUnderLoad(t, front, { port: pa, server: a }, haproxy);
  },
);

test(
  'nginx proxy_pass with proxy_next_upstream: an instance stopped and started again under load fails no request',
  { skip: missing(NGINX, 'nginx-light') },
  async (t) => {
    const [front, pa, pb] = [await freePort(), await freePort(), await freePort()];
    const a = await instance(pa, 'api');
    t.after(() => a.stop());
    const b = await instance(pb, 'site');
    t.after(() => b.stop());
    const nginx = startNginx(tempDir(t), localise(deployBlock('nginx proxy_pass'), front, pa, pb));
    t.after(() => nginx.stop());
    await waitForPort(front);
    await restartUnderLoad(t, front, { port: pa, server: a }, nginx);
  },
);

test(
  'Apache with mod_proxy_hcheck on /readyz: an instance stopped and started again under load fails no request',
  { skip: missing(APACHE, 'apache2') },
  async (t) => {
    const [front, pa, pb] = [await freePort(), await freePort(), await freePort()];
    const a = await instance(pa, 'api');
    t.after(() => a.stop());
    const b = await instance(pb, 'site');
    t.after(() => b.stop());
    const apache = startApache(tempDir(t), front, localise(deployBlock('apache'), front, pa, pb));
    t.after(() => apache.stop());
    await waitForPort(front);
    await restartUnderLoad(t, front, { port: pa, server: a }, apache);
  },
);

test(
  'nginx uwsgi_pass with uwsgi_next_upstream: an instance stopped and started again under load fails no request',
  { skip: missing(NGINX, 'nginx-light') },
  async (t) => {
    const [front, pa, pb] = [await freePort(), await freePort(), await freePort()];
    const a = await instance(pa, 'api', 'uwsgi://');
    t.after(() => a.stop());
    const b = await instance(pb, 'site', 'uwsgi://');
    t.after(() => b.stop());
    const nginx = startNginx(
      tempDir(t),
      localise(deployBlock('nginx uwsgi_pass upstream'), front, pa, pb),
    );
    t.after(() => nginx.stop());
    await waitForPort(front);
    await restartUnderLoad(t, front, { port: pa, server: a, scheme: 'uwsgi://' }, nginx);
  },
);
