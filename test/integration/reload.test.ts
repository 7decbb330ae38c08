// SIGHUP and `cask reload`: a new generation imports the code afresh and takes over once it
// is ready, under constant load, without one failed request; a reload whose code is broken
// leaves the old generation serving and says why.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { BIN, ROOT, startCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';
import { startLoad, until } from '../helpers/load.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function appSource(version: string): string {
  return `import os
VERSION = ${JSON.stringify(version)}

def application(environ, start_response):
    body = ("%s %d" % (VERSION, os.getpid())).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
`;
}

function appDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cask-reload-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'versioned.py'), appSource('one'));
  return dir;
}

const env = { PYTHONDONTWRITEBYTECODE: '1' };
const version = (body: Buffer): string => body.toString().split(' ')[0] as string;

test('SIGHUP under constant load: not one request fails and the new code serves afterwards', async (t) => {
  const dir = appDir(t);
  const server = await startCask(
    ['versioned:application', '--chdir', dir, '-w', '2', '--threads', '2'],
    { env },
  );
  t.after(() => server.stop());
  const load = startLoad(server.port, '/', 4);
  await until(() => load.count() >= 20, 10_000, 'load');
  writeFileSync(join(dir, 'versioned.py'), appSource('second'));
  server.proc.kill('SIGHUP');
  await server.waitFor('Reload complete: generation 2 serves', 15_000);
  const seen = load.count();
  await until(() => load.count() >= seen + 20, 10_000, 'load after the reload');
  const result = await load.stop();

  assert.deepEqual(result.failures, []);
  const versions = new Set(result.responses.map((r) => version(r.body)));
  assert.deepEqual([...versions].sort(), ['one', 'second']);
  for (let i = 0; i < 6; i++) assert.equal(version((await get(server.port, '/')).body), 'second');
  assert.match(server.stderr(), /SIGHUP: reloading/);
  assert.match(server.stderr(), /Stopping the worker: generation 2 took over/);
});

test('a reload whose code cannot be imported keeps the old generation serving and reports the error', async (t) => {
  const dir = appDir(t);
  const server = await startCask(['versioned:application', '--chdir', dir, '-w', '2'], { env });
  t.after(() => server.stop());
  const load = startLoad(server.port, '/', 2);
  writeFileSync(join(dir, 'versioned.py'), 'def broken(:\n');
  server.proc.kill('SIGHUP');
  await server.waitFor(
    /Reload failed, generation 1 keeps serving: the new code could not be loaded \(SyntaxError: /,
    15_000,
  );
  await sleep(200);
  const result = await load.stop();

  assert.deepEqual(result.failures, []);
  assert.match(server.stderr(), /SyntaxError/);
  assert.equal(version((await get(server.port, '/')).body), 'one');
  // A fixed file reloads fine afterwards.
  writeFileSync(join(dir, 'versioned.py'), appSource('fixed'));
  server.proc.kill('SIGHUP');
  await server.waitFor('Reload complete: generation 3 serves', 15_000);
  assert.equal(version((await get(server.port, '/')).body), 'fixed');
});

test('`cask reload --pid FILE` finds the server through its pid file and reloads it', async (t) => {
  const dir = appDir(t);
  const pidFile = join(dir, 'cask.pid');
  const server = await startCask(['versioned:application', '--chdir', dir, '--pid', pidFile], {
    env,
  });
  t.after(() => server.stop());
  assert.equal(readFileSync(pidFile, 'utf8').trim(), String(server.proc.pid));
  writeFileSync(join(dir, 'versioned.py'), appSource('reloaded'));

  const run = spawnSync(process.execPath, [BIN, 'reload', '--pid', pidFile], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, new RegExp(`Sent SIGHUP to cask \\(pid ${server.proc.pid}\\)`));
  await server.waitFor('Reload complete: generation 2 serves', 15_000);
  assert.equal(version((await get(server.port, '/')).body), 'reloaded');

  assert.equal(await server.stop(), 0);
  assert.throws(() => readFileSync(pidFile), /ENOENT/, 'the pid file is removed at exit');
  const again = spawnSync(process.execPath, [BIN, 'reload', '--pid', pidFile], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(again.status, 1);
  assert.match(again.stderr, /Cannot read the pid file .*cask\.pid: no such file/);
});

test('`cask reload` without a pid file to read exits 2 and says how to give one', () => {
  const run = spawnSync(process.execPath, [BIN, 'reload'], { cwd: tmpdir(), encoding: 'utf8' });
  assert.equal(run.status, 2);
  assert.match(
    run.stderr,
    /Cannot find the server to reload: no pid file \(start it with --pid FILE/,
  );
});
