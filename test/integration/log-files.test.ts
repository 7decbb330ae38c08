// The log files (`--error-log`, `--access-log`, src/log.ts) when they cannot be written: a
// path that cannot be opened stops the start (exit 2, the message names the setting and the
// path); a file that stops taking lines (a full disk) is said once on stderr while the server
// serves on, and SIGUSR1 opens it again; a SIGUSR1 that cannot open the file keeps the old
// one. The full disk is a small tmpfs, where this test may mount one.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { APPS, runCask, startCask, type RunningCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !check(); waited += 20) {
    if (waited > 5000) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

for (const flag of ['--access-log', '--error-log']) {
  test(`${flag} in a directory that does not exist: exit 2, naming it`, async () => {
    const path = join(tmpdir(), 'cask-no-such-dir', 'x.log');
    const server = runCask([
      'serve',
      'hello:application',
      '--chdir',
      APPS,
      '-b',
      '127.0.0.1:0',
      flag,
      path,
    ]);
    assert.equal(await server.exited, 2);
    assert.match(server.stderr(), new RegExp(`Cannot open ${flag} ${path}: ENOENT`));
    assert.doesNotMatch(server.stderr(), /Unhandled|node:events/);
  });
}

test('a SIGUSR1 that cannot open the access log again keeps writing the old file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cask-logs-'));
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const file = join(logs, 'access.log');
  const server = await startCask(['hello:application', '--chdir', APPS, '--access-log', file]);
  t.after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await get(server.port, '/one');
  rmSync(logs, { recursive: true });
  server.proc.kill('SIGUSR1');
  await server.waitFor(
    /Cannot open --access-log \S+access\.log: ENOENT.*still writing where it was/,
  );
  assert.equal((await get(server.port, '/two')).status, 200);
  mkdirSync(logs);
  server.proc.kill('SIGUSR1');
  await server.waitFor('SIGUSR1: log files reopened');
  await sleep(100);
  assert.equal((await get(server.port, '/three')).status, 200);
  await until(() => {
    try {
      return readFileSync(file, 'utf8').includes('GET /three');
    } catch {
      return false;
    }
  }, 'the line of /three in the new file');
});

test('a full disk under the access log: said once, requests still served, SIGUSR1 opens it again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cask-logs-full-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8k', 'tmpfs', dir]);
  const started: { server?: RunningCask } = {};
  // One hook, in this order: the server out of the directory, the directory unmounted, removed.
  t.after(async () => {
    await started.server?.stop();
    if (mounted.status === 0) spawnSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  if (mounted.status !== 0) {
    t.skip('cannot mount a small tmpfs here (needs root): the full-disk case is not run');
    return;
  }
  const file = join(dir, 'access.log');
  const server = await startCask(['hello:application', '--chdir', APPS, '--access-log', file]);
  started.server = server;
  const long = `/${'x'.repeat(200)}`;
  for (let i = 0; i < 60; i++) assert.equal((await get(server.port, long)).status, 200);
  await server.waitFor(/Cannot write --access-log \S+access\.log: ENOSPC.*dropped until SIGUSR1/);
  assert.equal(server.stderr().match(/Cannot write --access-log/g)?.length, 1, 'said once');
  unlinkSync(file);
  server.proc.kill('SIGUSR1');
  await server.waitFor('SIGUSR1: log files reopened');
  await sleep(100);
  assert.equal((await get(server.port, '/again')).status, 200);
  await until(() => readFileSync(file, 'utf8').includes('GET /again'), 'the line of /again');
});
