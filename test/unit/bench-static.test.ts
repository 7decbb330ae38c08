// The static scenarios of the benchmark lab: which servers run them, the site, nginx's config.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { findScenario } from '../../src/bench/scenarios.js';
import { SERVERS, runsScenario } from '../../src/bench/servers.js';
import { STATIC_FILES, nginxConfig, staticSite } from '../../src/bench/static-site.js';

test('`runsScenario()` runs the static scenarios on Cask and nginx only, nginx on nothing else', (t: TestContext) => {
  t.plan(3);
  const stat = findScenario('static');
  const hello = findScenario('hello');
  if (stat === undefined || hello === undefined) throw new Error('scenario missing');
  t.assert.deepStrictEqual(
    SERVERS.filter((s) => s.optIn !== true && runsScenario(s, stat))
      .map((s) => s.name)
      .sort(),
    ['cask', 'nginx'],
  );
  t.assert.ok(
    !runsScenario(
      SERVERS.find((s) => s.name === 'nginx')!,
      hello,
    ),
  );
  t.assert.ok(
    runsScenario(
      SERVERS.find((s) => s.name === 'cask')!,
      hello,
    ),
  );
});

test('`staticSite()` writes the 4 KB and 10 MB files once, for static scenarios only', (t: TestContext) => {
  t.plan(4);
  const root = mkdtempSync(join(tmpdir(), 'cask-bench-static-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  t.assert.strictEqual(staticSite({}, root), undefined);
  const dir = staticSite({ staticSite: true }, root) as string;
  t.assert.strictEqual(statSync(join(dir, STATIC_FILES.small.name)).size, 4096);
  t.assert.strictEqual(statSync(join(dir, STATIC_FILES.large.name)).size, 10 * 1024 * 1024);
  t.assert.strictEqual(staticSite({ staticSite: true }, root), dir);
});

test('`nginxConfig()` keeps nginx in the run directory with its own port and pid file', (t: TestContext) => {
  t.plan(5);
  const conf = nginxConfig({ port: 4321, workers: 1, tmpDir: '/tmp/run', staticDir: '/tmp/site' });
  t.assert.match(conf, /listen 127\.0\.0\.1:4321;/);
  t.assert.match(conf, /pid \/tmp\/run\/nginx\.pid;/);
  t.assert.match(conf, /location \/static\/ \{ alias \/tmp\/site\/; \}/);
  t.assert.match(conf, /sendfile on;/);
  t.assert.ok(!conf.includes('/etc/nginx'));
});
