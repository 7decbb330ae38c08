// The process-level pieces of SIGUSR2, --daemon and npm: binding a Unix socket so that it can
// be handed over, the pid file a new server takes over, and watching the process that started
// Cask.
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { bindListener, handoverKey, listeningFd } from '../../src/net/handover.js';
import { readPidFile, writePidFile } from '../../src/pidfile.js';
import { npmParents, watchParents } from '../../src/process/parents.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cask-process-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('`bindListener()` puts a listening Unix socket at its path and removes it at close', async (t: TestContext) => {
  t.plan(5);
  const dir = tempDir(t);
  const path = join(dir, 'app.sock');
  writeFileSync(path, ''); // a leftover regular file is never replaced…
  const blocked = createServer();
  const error = await new Promise<NodeJS.ErrnoException>((resolve) => {
    blocked.once('error', resolve);
    bindListener(blocked, 'main', { kind: 'unix', path }, 16, () => resolve(new Error('bound')));
  });
  t.assert.strictEqual(error.code, 'EADDRINUSE');
  rmSync(path);
  const server = createServer();
  await new Promise<void>((resolve) =>
    bindListener(server, 'main', { kind: 'unix', path }, 16, resolve),
  );
  t.assert.ok(lstatSync(path).isSocket(), 'the socket is at its path, already listening');
  t.assert.deepStrictEqual(readdirSync(dir), ['app.sock'], 'no temporary name is left');
  t.assert.strictEqual(typeof listeningFd(server), 'number');
  await new Promise((resolve) => server.close(resolve));
  t.assert.strictEqual(existsSync(path), false);
});

test('`handoverKey()` names a listener by its role and its address as configured', (t: TestContext) => {
  t.plan(2);
  t.assert.strictEqual(
    handoverKey('main', { kind: 'tcp', host: '127.0.0.1', port: 0 }),
    'main 127.0.0.1:0',
  );
  t.assert.strictEqual(
    handoverKey('admin', { kind: 'unix', path: '/run/a.sock' }),
    'admin unix:/run/a.sock',
  );
});

test('`writePidFile()` takes over the file of the server it replaces, and only that one', (t: TestContext) => {
  t.plan(2);
  const path = join(tempDir(t), 'cask.pid');
  writeFileSync(path, `${process.ppid}\n`); // a running process
  t.assert.throws(
    () => writePidFile(path, process.pid),
    /process \d+ named in it is still running/,
  );
  writePidFile(path, process.pid, process.ppid);
  t.assert.strictEqual(readPidFile(path), process.pid);
});

test('`npmParents()` watches nothing unless npm started the process', (t: TestContext) => {
  t.plan(2);
  t.assert.deepStrictEqual(npmParents({}), []);
  t.assert.strictEqual(
    npmParents({ npm_execpath: '/usr/lib/node_modules/npm/bin/npm-cli.js' })[0],
    process.ppid,
  );
});

test('`watchParents()` calls back once a watched process is gone', async (t: TestContext) => {
  t.plan(1);
  const child = spawn('sleep', ['0.3']);
  // The watch's timer does not hold the event loop open; this test must.
  const hold = setInterval(() => {}, 1000);
  t.after(() => clearInterval(hold));
  const gone = await new Promise<number>((resolve) => {
    const stop = watchParents([child.pid as number], (pid) => {
      stop();
      resolve(pid);
    });
  });
  t.assert.strictEqual(gone, child.pid);
});
