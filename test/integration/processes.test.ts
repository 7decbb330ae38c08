// How `cask` runs as a process: `--daemon` returns once the server in the background is ready
// (or with its exit code), and a server started through npm (`npx cask`, `npm exec cask`)
// stops when npm is told to stop, although npm does not pass the signal on.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { alive, APPS, onPath, ROOT, runCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';
import { until } from '../helpers/load.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cask-process-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function pidIn(file: string): number | undefined {
  try {
    return Number(readFileSync(file, 'utf8').trim());
  } catch {
    return undefined;
  }
}

/** Stops, by its pid, a server that is not our child (it runs in the background). */
function stopLater(t: TestContext, pidFile: string): void {
  t.after(async () => {
    const pid = pidIn(pidFile);
    if (pid === undefined || !alive(pid)) return;
    process.kill(pid, 'SIGTERM');
    await until(() => !alive(pid), 15_000).catch(() => process.kill(pid, 'SIGKILL'));
  });
}

test('`cask serve -D` returns 0 once the server in the background is ready, in its own session', async (t) => {
  const dir = tempDir(t);
  const pidFile = join(dir, 'cask.pid');
  const errorLog = join(dir, 'error.log');
  stopLater(t, pidFile);
  const command = runCask([
    'serve',
    'failures:application',
    '--chdir',
    APPS,
    '-b',
    '127.0.0.1:0',
    '-D',
    '--pid',
    pidFile,
    '--error-log',
    errorLog,
  ]);
  assert.equal(await command.exited, 0);
  const pid = pidIn(pidFile) as number;
  assert.equal(command.stderr(), `cask: serving in the background as process ${pid}\n`);
  assert.ok(alive(pid));
  // setsid(): the server leads a session of its own, away from the terminal's.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const session = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
  assert.equal(session, pid);
  const port = Number(/on http:\/\/127\.0\.0\.1:(\d+)/.exec(readFileSync(errorLog, 'utf8'))?.[1]);
  assert.equal((await get(port, '/ok')).status, 200);

  process.kill(pid, 'SIGTERM');
  await until(() => !alive(pid), 15_000, 'the daemon to stop');
  assert.equal(existsSync(pidFile), false);
  assert.match(readFileSync(errorLog, 'utf8'), /SIGTERM: shutting down[\s\S]*Stopped/);
});

test('`cask serve -D` returns the exit code of a server that could not start', async (t) => {
  const dir = tempDir(t);
  const command = runCask([
    'serve',
    'broken_import:application',
    '--chdir',
    APPS,
    '-b',
    '127.0.0.1:0',
    '-D',
    '--error-log',
    join(dir, 'error.log'),
  ]);
  assert.equal(await command.exited, 4);
  assert.equal(
    command.stderr(),
    'cask: the server in the background stopped before it was ready (it ended with exit code 4 before it was ready); its error log says why\n',
  );
  assert.match(readFileSync(join(dir, 'error.log'), 'utf8'), /CASK_APP_LOAD/);
});

/** The parent pid of a process, from /proc. */
function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

// SIGTERM is what a supervisor sends to the process it started: npm dies and never passes it
// on. Ctrl-C in a terminal sends SIGINT to every process of the foreground group (npm, its
// shell and Cask), sent here to each by pid.
for (const [launcher, how] of [
  [['npx', '--offline', 'cask'], 'SIGTERM to npm'],
  [['npm', 'exec', '--offline', '--', 'cask'], 'SIGTERM to npm'],
  [['npm', 'exec', '--offline', '--', 'cask'], 'Ctrl-C'],
] as const) {
  test(
    `\`${launcher.join(' ')} serve\` stops on ${how}`,
    { skip: onPath(launcher[0]) === undefined && `${launcher[0]} is not installed` },
    async (t) => {
      const dir = tempDir(t);
      const pidFile = join(dir, 'cask.pid');
      stopLater(t, pidFile);
      const npm = spawn(
        launcher[0],
        [
          ...launcher.slice(1),
          'serve',
          'failures:application',
          '--chdir',
          APPS,
          '-b',
          '127.0.0.1:0',
          '--pid',
          pidFile,
        ],
        // npm links the clone into its exec cache and runs its `prepare` script there, which
        // rebuilds dist/ under the tests running beside this one; the build is already done.
        {
          cwd: ROOT,
          env: { ...process.env, npm_config_ignore_scripts: 'true' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let log = '';
      npm.stderr.setEncoding('utf8').on('data', (s: string) => (log += s));
      const npmExited = new Promise((resolve) => npm.once('exit', resolve));
      t.after(() => {
        if (npm.exitCode === null && npm.signalCode === null) npm.kill('SIGKILL');
      });
      await until(() => /Ready: 1 worker/.test(log), 30_000, `Ready from ${launcher.join(' ')}`);
      const pid = pidIn(pidFile) as number;
      assert.notEqual(pid, npm.pid, 'npm runs Cask as a child of its own');
      if (how === 'Ctrl-C') {
        const shell = parentOf(pid);
        for (const target of [npm.pid as number, shell, pid]) process.kill(target, 'SIGINT');
      } else {
        npm.kill('SIGTERM');
      }
      await until(() => !alive(pid), 10_000, 'Cask to stop');
      await npmExited;
      assert.match(
        log,
        how === 'Ctrl-C'
          ? /SIGINT: shutting down/
          : /Process \d+, which started this server, is gone: stopping as on SIGTERM\n.*SIGTERM: shutting down/,
      );
      assert.match(log, /Stopped/);
    },
  );
}
