// Cask as users install it: `npm pack`, then the tarball installed as npm installs a published
// package, globally into a prefix and into a project. `cask serve` from the installed package
// serves, and stops on SIGTERM and SIGINT whether it is run as `bin/cask`,
// `node_modules/.bin/cask`, through `npx cask` in a project, or through `npx --package TARBALL
// cask` outside any project (what `npx cask-wsgi serve` does once published).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { APPS, ROOT, onPath } from '../helpers/cask.js';
import { get } from '../helpers/http.js';
import { until } from '../helpers/load.js';

const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
};
const dir = mkdtempSync(join(tmpdir(), 'cask-install-'));
const prefix = join(dir, 'prefix');
const project = join(dir, 'project');
let tarball = '';

const npmMissing = onPath('npm') === undefined && 'npm is not installed';

function npm(args: string[], cwd: string): string {
  // Offline first: the dependencies are in npm's cache after the clone's own `npm install`.
  const result = spawnSync('npm', [...args, '--prefer-offline', '--no-audit', '--no-fund'], {
    cwd,
    encoding: 'utf8',
    timeout: 180_000,
  });
  assert.equal(result.status, 0, `npm ${args.join(' ')} failed:\n${result.stderr}`);
  return result.stdout;
}

before(
  () => {
    if (npmMissing !== false) return;
    // The build is done (npm test builds first): pack what it made, without building again.
    const packed = JSON.parse(
      npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT),
    ) as Array<{
      filename: string;
    }>;
    tarball = join(dir, (packed[0] as { filename: string }).filename);
    npm(['install', '--global', '--prefix', prefix, tarball], dir);
    mkdirSync(project);
    writeFileSync(
      join(project, 'package.json'),
      '{"name": "site", "version": "1.0.0", "private": true}\n',
    );
    npm(['install', tarball], project);
  },
  { timeout: 400_000 },
);

process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** Runs a command that starts `cask serve`, and returns it once its workers are ready. */
async function serve(command: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv) {
  const child = spawn(
    command,
    [...args, 'serve', 'failures:application', '--chdir', APPS, '-b', '127.0.0.1:0'],
    {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: env === undefined ? undefined : { ...process.env, ...env },
    },
  );
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (log += s));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  await until(() => /Ready: 1 worker/.test(log), 30_000, `Ready from ${command}`);
  const port = Number(/on http:\/\/127\.0\.0\.1:(\d+)/.exec(log)?.[1]);
  return { child, exited, port, log: () => log };
}

test('the package is cask-wsgi (the npm name `cask` is another package), its command `cask`', () => {
  assert.equal(PKG.name, 'cask-wsgi');
  assert.deepEqual(Object.keys(PKG.bin), ['cask']);
});

test(
  '`npm install -g` of the packed tarball gives a `cask` that serves and stops on SIGTERM',
  { skip: npmMissing },
  async () => {
    const version = spawnSync(join(prefix, 'bin', 'cask'), ['--version'], { encoding: 'utf8' });
    assert.equal(version.stdout, `cask ${PKG.version}\n`);
    const server = await serve(join(prefix, 'bin', 'cask'), [], dir);
    assert.match(server.log(), new RegExp(`Cask ${PKG.version.replace(/\./g, '\\.')} serving`));
    assert.equal((await get(server.port, '/ok')).status, 200);
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
  },
);

test(
  '`node_modules/.bin/cask` of a project stops on SIGINT as on SIGTERM',
  { skip: npmMissing },
  async () => {
    const server = await serve(join(project, 'node_modules', '.bin', 'cask'), [], project);
    assert.equal((await get(server.port, '/ok')).status, 200);
    server.child.kill('SIGINT');
    assert.equal(await server.exited, 0);
    assert.match(server.log(), /SIGINT: shutting down[\s\S]*Stopped/);
  },
);

/** Waits until nothing answers on `port`: the server npx started is gone with npx. */
async function stopped(port: number): Promise<void> {
  await until(
    async () => {
      try {
        await get(port, '/ok', {}, { ms: 500 });
        return false;
      } catch {
        return true;
      }
    },
    10_000,
    'the server to stop after npx',
  );
}

test('`npx cask` in a project stops when npx gets SIGTERM', { skip: npmMissing }, async () => {
  const server = await serve('npx', ['--offline', 'cask'], project);
  assert.equal((await get(server.port, '/ok')).status, 200);
  server.child.kill('SIGTERM');
  await server.exited;
  await stopped(server.port);
  assert.match(server.log(), /which started this server, is gone: stopping as on SIGTERM/);
});

test(
  '`npx --package TARBALL cask serve` outside any project serves, and stops when npx gets SIGTERM',
  { skip: npmMissing },
  async () => {
    // `dir` has no package.json, nor has any folder above it: npx installs the package in its
    // own cache and runs its `cask`, as `npx cask-wsgi serve` would from the registry. No
    // lifecycle script runs (the tarball holds the build; `prepare` would rebuild dist/ of the
    // clone under the tests running beside this one).
    const server = await serve(
      'npx',
      ['--yes', '--prefer-offline', '--no-audit', '--no-fund', '--package', tarball, 'cask'],
      dir,
      { npm_config_ignore_scripts: 'true' },
    );
    assert.match(server.log(), new RegExp(`Cask ${PKG.version.replace(/\./g, '\\.')} serving`));
    assert.equal((await get(server.port, '/ok')).status, 200);
    server.child.kill('SIGTERM');
    await server.exited;
    await stopped(server.port);
    assert.match(server.log(), /which started this server, is gone: stopping as on SIGTERM/);
  },
);
