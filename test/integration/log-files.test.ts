// The log files (`--error-log`, `--access-log`, src/log.ts) when they cannot be written: a
// path that cannot be opened stops the start (exit 2, the message names the setting and the
// path); a file that stops taking lines (a full disk) is said once on stderr while the server
// serves on, and SIGUSR1 opens it again; a SIGUSR1 that cannot open the file keeps the old
// one. The full disk is a small tmpfs, where this test may mount one. With `-`, stdout and
// stderr that fail (a closed pipe, a full disk) do not stop the server either.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { smallTmpfs } from '../helpers/tmpfs.js';
import { APPS, runCask, startCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let waited = 0; !(await check()); waited += 20) {
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
  const tmpfs = smallTmpfs(t, '8k', 'the full-disk case');
  if (tmpfs === undefined) return;
  const file = join(tmpfs.dir, 'access.log');
  const server = await startCask(['hello:application', '--chdir', APPS, '--access-log', file]);
  tmpfs.using(server);
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

// With `-` the logs go to the process's stdout (access log) and stderr (error log), which can
// fail as a file can: a pipe whose reader went away (EPIPE), or a redirect to a full disk
// (ENOSPC, thrown at once; /dev/full fails every write that way). The front serves on and
// drops those lines; a failed stdout is said once on stderr, a failed stderr is not said.

test('stdout a pipe nobody reads any more (EPIPE): access log lines dropped, said once, requests served', async (t) => {
  const server = await startCask(['hello:application', '--chdir', APPS, '--access-log', '-']);
  t.after(() => server.stop());
  server.proc.stdout?.destroy();
  for (let i = 0; i < 5; i++) assert.equal((await get(server.port, `/${i}`)).status, 200);
  await server.waitFor(
    /cask: Cannot write --access-log - \(stdout\): write EPIPE; its lines are dropped from now on/,
  );
  for (let i = 0; i < 5; i++) assert.equal((await get(server.port, `/${i}`)).status, 200);
  assert.equal(server.stderr().match(/Cannot write --access-log/g)?.length, 1, 'said once');
  assert.equal(await server.stop(), 0);
});

test('stderr a pipe nobody reads any more (EPIPE): error log and worker output dropped, requests served', async (t) => {
  const server = await startCask(['failures:application', '--chdir', APPS]);
  t.after(() => server.stop());
  server.proc.stderr?.destroy();
  for (let i = 0; i < 5; i++) {
    // A traceback in the error log, and what the app prints, forwarded by the front.
    assert.equal((await get(server.port, '/raise-before')).status, 500);
    assert.equal((await get(server.port, '/print')).status, 200);
  }
  await sleep(100);
  assert.equal((await get(server.port, '/ok')).status, 200);
  assert.equal(await server.stop(), 0);
});

test('stdout on a full disk (ENOSPC): access log lines dropped, said once on stderr', async (t) => {
  if (!existsSync('/dev/full')) {
    t.skip('no /dev/full here');
    return;
  }
  const server = await startCask(['hello:application', '--chdir', APPS, '--access-log', '-'], {
    launcher: ['sh', '-c', 'exec "$@" >/dev/full', 'sh'],
  });
  t.after(() => server.stop());
  for (let i = 0; i < 5; i++) assert.equal((await get(server.port, `/${i}`)).status, 200);
  await server.waitFor(/cask: Cannot write --access-log - \(stdout\): ENOSPC.*dropped from now on/);
  assert.equal(server.stderr().match(/Cannot write --access-log/g)?.length, 1, 'said once');
  assert.equal(await server.stop(), 0);
});

test('stderr on a full disk (ENOSPC): error log lines dropped, requests served', async (t) => {
  if (!existsSync('/dev/full')) {
    t.skip('no /dev/full here');
    return;
  }
  // Nothing the server says can be read: it is found on a port chosen here.
  const port = await freePort();
  const server = runCask(
    ['serve', 'failures:application', '--chdir', APPS, '-b', `127.0.0.1:${port}`],
    { launcher: ['sh', '-c', 'exec "$@" 2>/dev/full', 'sh'] },
  );
  t.after(() => server.stop());
  await until(async () => (await get(port, '/ok').catch(() => undefined))?.status === 200, 'ready');
  for (let i = 0; i < 5; i++) {
    assert.equal((await get(port, '/raise-before')).status, 500);
    assert.equal((await get(port, '/print')).status, 200);
  }
  assert.equal((await get(port, '/ok')).status, 200);
  assert.equal(await server.stop(), 0);
});

test('a FIFO as the access log: refused at start without a reader; with one, a SIGUSR1 after it left keeps serving', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cask-log-fifo-'));
  const fifo = join(dir, 'access.fifo');
  if (spawnSync('mkfifo', [fifo]).status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    t.skip('mkfifo is not available here');
    return;
  }
  // A plain open of a FIFO waits for a reader: the front used to hang there, at start and on
  // SIGUSR1, with every connection.
  const alone = runCask([
    'serve',
    'hello:application',
    '--chdir',
    APPS,
    '-b',
    '127.0.0.1:0',
    '--access-log',
    fifo,
  ]);
  t.after(() => alone.stop('SIGKILL'));
  const ended = await Promise.race([alone.exited, sleep(10_000).then(() => 'still starting')]);
  assert.equal(ended, 2);
  assert.match(
    alone.stderr(),
    /Cannot open --access-log \S+access\.fifo: it is a FIFO that no process is reading/,
  );

  // The reader is a process of its own: a reader in this process would leave a thread of its
  // pool blocked in a read of the FIFO, which the server keeps open.
  const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
  let read = '';
  reader.stdout.setEncoding('utf8').on('data', (text: string) => (read += text));
  const server = await startCask(['hello:application', '--chdir', APPS, '--access-log', fifo]);
  t.after(async () => {
    reader.kill();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  assert.equal((await get(server.port, '/through-the-fifo')).status, 200);
  await until(() => read.includes('GET /through-the-fifo'), 'the line read from the FIFO');
  reader.kill();
  await once(reader, 'exit');
  server.proc.kill('SIGUSR1');
  await server.waitFor(
    /Cannot open --access-log \S+access\.fifo: it is a FIFO that no process is reading; still writing where it was/,
  );
  assert.equal(
    (await get(server.port, '/after')).status,
    200,
    'the front did not wait for a reader',
  );
});
