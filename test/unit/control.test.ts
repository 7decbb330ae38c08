// The pieces around the control loop that need no server: the pid file, the probe answers
// and `cask reload`.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { probeAnswer, type Readiness } from '../../src/admin/health.js';
import { main } from '../../src/cli.js';
import { readPidFile, removePidFile, writePidFile } from '../../src/pidfile.js';
import { reloadCommand } from '../../src/reload.js';

function scratch(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cask-control-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('`writePidFile()` writes our pid and `removePidFile()` removes only a file that names us', (t: TestContext) => {
  t.plan(3);
  const path = join(scratch(t), 'cask.pid');
  writePidFile(path);
  t.assert.strictEqual(readPidFile(path), process.pid);
  writeFileSync(path, '1\n');
  removePidFile(path);
  t.assert.strictEqual(readFileSync(path, 'utf8'), '1\n', 'not ours: left alone');
  writeFileSync(path, `${process.pid}\n`);
  removePidFile(path);
  t.assert.throws(() => readPidFile(path), /no such file/);
});

test('`writePidFile()` refuses a file naming another live process and replaces a stale one', (t: TestContext) => {
  t.plan(2);
  const path = join(scratch(t), 'cask.pid');
  writeFileSync(path, `${process.ppid}\n`);
  t.assert.throws(
    () => writePidFile(path),
    new RegExp(`process ${process.ppid} named in it is still running`),
  );
  writeFileSync(path, '999999999\n');
  writePidFile(path);
  t.assert.strictEqual(readPidFile(path), process.pid);
});

test('`readPidFile()` names the file and the bad content', (t: TestContext) => {
  t.plan(1);
  const path = join(scratch(t), 'cask.pid');
  writeFileSync(path, 'hello');
  t.assert.throws(
    () => readPidFile(path),
    /Cannot read the pid file .*cask\.pid: not a process id: "hello"/,
  );
});

function source(readiness: Partial<Readiness>): { readiness(): Readiness } {
  return {
    readiness: () => ({
      ready: true,
      status: 'ready',
      workers: 1,
      generation: 1,
      reloading: false,
      ...readiness,
    }),
  };
}

test('`probeAnswer()` says 200 for healthz always and 503 for readyz when not ready', (t: TestContext) => {
  t.plan(4);
  t.assert.strictEqual(probeAnswer('healthz', source({ ready: false })).status, 200);
  t.assert.strictEqual(probeAnswer('readyz', source({})).status, 200);
  const draining = probeAnswer('readyz', source({ ready: false, status: 'shutting down' }));
  t.assert.strictEqual(draining.status, 503);
  t.assert.deepStrictEqual(JSON.parse(draining.body), {
    ready: false,
    status: 'shutting down',
    workers: 1,
    generation: 1,
    reloading: false,
  });
});

function io(cwd: string): {
  out: string[];
  err: string[];
  io: Parameters<typeof reloadCommand>[1];
} {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => err.push(s) },
      env: {},
      cwd,
    },
  };
}

test('`reloadCommand()` sends SIGHUP to the pid in --pid', (t: TestContext) => {
  t.plan(3);
  const dir = scratch(t);
  writeFileSync(join(dir, 'cask.pid'), '4242\n');
  const sent: Array<[number, string]> = [];
  const run = io(dir);
  const code = reloadCommand(['--pid', 'cask.pid'], run.io, (pid, signal) =>
    sent.push([pid, signal]),
  );
  t.assert.strictEqual(code, 0);
  t.assert.deepStrictEqual(sent, [[4242, 'SIGHUP']]);
  t.assert.match(run.out.join(''), /Sent SIGHUP to cask \(pid 4242\)/);
});

test('`reloadCommand()` finds the pid file through cask.toml and says when it is missing', (t: TestContext) => {
  t.plan(2);
  const dir = scratch(t);
  writeFileSync(join(dir, 'cask.toml'), 'pid = "run/cask.pid"\n');
  const run = io(dir);
  t.assert.strictEqual(
    reloadCommand([], run.io, () => {}),
    1,
  );
  t.assert.match(
    run.err.join(''),
    /Cannot read the pid file .*run\/cask\.pid: no such file \(is the server running\?\)/,
  );
});

test('`reloadCommand()` reports a pid file naming a process that is gone', (t: TestContext) => {
  t.plan(2);
  const dir = scratch(t);
  writeFileSync(join(dir, 'cask.pid'), '77\n');
  const run = io(dir);
  const code = reloadCommand(['--pid', 'cask.pid'], run.io, () => {
    throw Object.assign(new Error('kill ESRCH'), { code: 'ESRCH' });
  });
  t.assert.strictEqual(code, 1);
  t.assert.match(
    run.err.join(''),
    /Cannot reload process 77 named in .*cask\.pid: it is not running \(a stale pid file\?\)/,
  );
});

test('`main()` runs `reload` and returns 2 when no pid file is configured', async (t: TestContext) => {
  t.plan(2);
  const dir = scratch(t);
  let stderr = '';
  const code = await main(['reload'], {
    stdout: { write: () => true },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
    cwd: dir,
  });
  t.assert.strictEqual(code, 2);
  t.assert.match(stderr, /Cannot find the server to reload: no pid file/);
});
