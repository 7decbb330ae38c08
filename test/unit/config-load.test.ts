// loadConfig(): the four sources and their order, the config file, unknown names, defaults
// taken from the environment, and the frozen result.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { PACKAGE_ROOT, loadConfig } from '../../src/config/index.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cask-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function configError(message: string | RegExp, code = 'CASK_CONFIG_INVALID') {
  return { name: 'ConfigError', code, message };
}

// ── precedence ──────────────────────────────────────────────────────────────

test('`loadConfig()` takes flags over env over the config file over defaults', (t: TestContext) => {
  t.plan(4);
  const cwd = tempDir(t);
  writeFileSync(join(cwd, 'cask.toml'), 'workers = 2\n');
  const flag = ['--workers', '4'];
  const env = { CASK_WORKERS: '3' };
  t.assert.strictEqual(loadConfig({ argv: flag, env, cwd }).workers, 4);
  t.assert.strictEqual(loadConfig({ argv: [], env, cwd }).workers, 3);
  t.assert.strictEqual(loadConfig({ argv: [], env: {}, cwd }).workers, 2);
  rmSync(join(cwd, 'cask.toml'));
  t.assert.strictEqual(loadConfig({ argv: [], env: {}, cwd }).workers, 1);
});

test('`loadConfig()` merges sources option by option', (t: TestContext) => {
  t.plan(4);
  const cwd = tempDir(t);
  writeFileSync(join(cwd, 'cask.toml'), 'workers = 2\nthreads = 2\ntimeout = "10s"\n');
  const config = loadConfig({ argv: ['-w', '8'], env: { CASK_THREADS: '4' }, cwd });
  t.assert.strictEqual(config.workers, 8);
  t.assert.strictEqual(config.threads, 4);
  t.assert.strictEqual(config.timeout, 10);
  t.assert.strictEqual(config.keepAlive, 5);
});

test("`loadConfig()` lets a list flag replace, not extend, the file's list", (t: TestContext) => {
  t.plan(1);
  const cwd = tempDir(t);
  writeFileSync(join(cwd, 'cask.toml'), 'bind = ["0.0.0.0:80", "0.0.0.0:81"]\n');
  t.assert.deepStrictEqual(loadConfig({ argv: ['-b', '127.0.0.1:9000'], env: {}, cwd }).bind, [
    { kind: 'tcp', host: '127.0.0.1', port: 9000 },
  ]);
});

test('`loadConfig()` validates a value even when a higher source overrides it', (t: TestContext) => {
  t.plan(2);
  const cwd = tempDir(t);
  t.assert.throws(
    () => loadConfig({ argv: ['-t', '5'], env: { CASK_TIMEOUT: 'soon' }, cwd }),
    configError(/^Invalid value for CASK_TIMEOUT: "soon"/),
  );
  writeFileSync(join(cwd, 'cask.toml'), 'threads = 0\n');
  t.assert.throws(
    () => loadConfig({ argv: ['--threads', '2'], env: {}, cwd }),
    configError('Invalid value for threads in cask.toml: 0 is below the minimum of 1'),
  );
});

test('`loadConfig()` uses the last of a repeated scalar flag', (t: TestContext) => {
  t.plan(1);
  t.assert.strictEqual(
    loadConfig({ argv: ['-w', '2', '--workers', '5'], env: {}, cwd: '/' }).workers,
    5,
  );
});

// ── the command line ────────────────────────────────────────────────────────

test('`loadConfig()` rejects an unknown flag and suggests the closest one', (t: TestContext) => {
  t.plan(4);
  t.assert.throws(
    () => loadConfig({ argv: ['--wrokers', '4'], env: {}, cwd: '/' }),
    configError('Unknown option: --wrokers (did you mean --workers?)'),
  );
  t.assert.throws(
    () => loadConfig({ argv: ['--keepalive', '4'], env: {}, cwd: '/' }),
    configError('Unknown option: --keepalive (did you mean --keep-alive?)'),
  );
  t.assert.throws(
    () => loadConfig({ argv: ['--pidfile', 'cask.pid'], env: {}, cwd: '/' }),
    configError('Unknown option: --pidfile (did you mean --pid?)'),
  );
  t.assert.throws(
    () => loadConfig({ argv: ['--frobnicate'], env: {}, cwd: '/' }),
    configError('Unknown option: --frobnicate'),
  );
});

test('`loadConfig()` rejects an unknown short flag', (t: TestContext) => {
  t.plan(1);
  t.assert.throws(
    () => loadConfig({ argv: ['-x'], env: {}, cwd: '/' }),
    configError('Unknown option: -x'),
  );
});

test('`loadConfig()` reports a flag whose value is missing or is another flag', (t: TestContext) => {
  t.plan(2);
  t.assert.throws(
    () => loadConfig({ argv: ['--workers'], env: {}, cwd: '/' }),
    configError('Missing value for --workers'),
  );
  t.assert.throws(
    () => loadConfig({ argv: ['--workers', '--threads', '2'], env: {}, cwd: '/' }),
    configError(
      'Missing value for --workers: "--threads" is an option (write --workers=--threads if it is the value)',
    ),
  );
});

test('`loadConfig()` takes APP as the positional argument or `--app`, not both', (t: TestContext) => {
  t.plan(4);
  t.assert.strictEqual(
    loadConfig({ argv: ['myapp.wsgi:application', '-w', '2'], env: {}, cwd: '/' }).app,
    'myapp.wsgi:application',
  );
  t.assert.strictEqual(loadConfig({ argv: ['--app', 'a:b'], env: {}, cwd: '/' }).app, 'a:b');
  t.assert.throws(
    () => loadConfig({ argv: ['--app', 'a:b', 'c:d'], env: {}, cwd: '/' }),
    configError('Conflicting values for APP: "c:d" and --app "a:b"'),
  );
  t.assert.throws(
    () => loadConfig({ argv: ['a:b', 'c:d'], env: {}, cwd: '/' }),
    configError('Unexpected argument: "c:d" (only one APP may be given)'),
  );
});

test('`loadConfig()` rejects an APP with nothing after the colon', (t: TestContext) => {
  t.plan(1);
  t.assert.throws(
    () => loadConfig({ argv: ['myapp:'], env: {}, cwd: '/' }),
    configError('Invalid value for APP: "myapp:" has no callable after ":"'),
  );
});

// ── the environment ─────────────────────────────────────────────────────────

test('`loadConfig()` rejects an unknown CASK_ variable and suggests the closest one', (t: TestContext) => {
  t.plan(2);
  t.assert.throws(
    () => loadConfig({ env: { CASK_WROKERS: '4' }, cwd: '/' }),
    configError('Unknown environment variable: CASK_WROKERS (did you mean CASK_WORKERS?)'),
  );
  t.assert.throws(
    () => loadConfig({ env: { CASK_COLOUR: 'blue' }, cwd: '/' }),
    configError('Unknown environment variable: CASK_COLOUR'),
  );
});

test("`loadConfig()` ignores the test harness's and the bench lab's own CASK_ variables", (t: TestContext) => {
  t.plan(1);
  const env = {
    CASK_TEST_VERBOSE: '1',
    CASK_BENCH_APP: 'hello:application',
    CASK_BENCH_INSIDE_DIR: '/tmp/x',
  };
  t.assert.strictEqual(loadConfig({ env, cwd: '/' }).workers, 1);
});

test('`loadConfig()` uses WEB_CONCURRENCY for workers below CASK_WORKERS and the file, as gunicorn does', (t: TestContext) => {
  t.plan(4);
  const cwd = tempDir(t);
  t.assert.strictEqual(loadConfig({ env: { WEB_CONCURRENCY: '6' }, cwd }).workers, 6);
  t.assert.strictEqual(
    loadConfig({ env: { WEB_CONCURRENCY: '6', CASK_WORKERS: '2' }, cwd }).workers,
    2,
  );
  writeFileSync(join(cwd, 'cask.toml'), 'workers = 3\n');
  t.assert.strictEqual(loadConfig({ env: { WEB_CONCURRENCY: '6' }, cwd }).workers, 3);
  rmSync(join(cwd, 'cask.toml'));
  t.assert.throws(
    () => loadConfig({ env: { WEB_CONCURRENCY: 'lots' }, cwd }),
    configError('Invalid value for WEB_CONCURRENCY: "lots" is not an integer'),
  );
});

test('`loadConfig()` defaults the interpreter to $VIRTUAL_ENV/bin/python, else python3', (t: TestContext) => {
  t.plan(3);
  t.assert.strictEqual(
    loadConfig({ env: { VIRTUAL_ENV: '/home/me/.venv' }, cwd: '/' }).python,
    '/home/me/.venv/bin/python',
  );
  t.assert.strictEqual(loadConfig({ env: {}, cwd: '/' }).python, 'python3');
  t.assert.strictEqual(
    loadConfig({ argv: ['--python', 'pypy3'], env: { VIRTUAL_ENV: '/home/me/.venv' }, cwd: '/' })
      .python,
    'pypy3',
  );
});

// ── the config file ─────────────────────────────────────────────────────────

test('`loadConfig()` rejects an unknown key in cask.toml, naming the file', (t: TestContext) => {
  t.plan(3);
  const cwd = tempDir(t);
  const file = join(cwd, 'cask.toml');
  writeFileSync(file, 'wrokers = 4\n');
  t.assert.throws(
    () => loadConfig({ env: {}, cwd }),
    configError('Unknown key in cask.toml: "wrokers" (did you mean "workers"?)'),
  );
  writeFileSync(file, 'max_queue = 4\n');
  t.assert.throws(
    () => loadConfig({ env: {}, cwd }),
    configError('Unknown key in cask.toml: "max_queue" (did you mean "max-queue"?)'),
  );
  writeFileSync(file, '[server]\nworkers = 4\n');
  t.assert.throws(
    () => loadConfig({ env: {}, cwd }),
    configError('Unknown key in cask.toml: "server"'),
  );
});

test('`loadConfig()` refuses `config` inside a config file', (t: TestContext) => {
  t.plan(1);
  const cwd = tempDir(t);
  writeFileSync(join(cwd, 'cask.toml'), 'config = "other.toml"\n');
  t.assert.throws(
    () => loadConfig({ env: {}, cwd }),
    configError('Key not allowed in cask.toml: "config" (use --config or CASK_CONFIG)'),
  );
});

test('`loadConfig()` reads [tool.cask] of pyproject.toml when there is no cask.toml', (t: TestContext) => {
  t.plan(3);
  const cwd = tempDir(t);
  writeFileSync(
    join(cwd, 'pyproject.toml'),
    '[project]\nname = "x"\n\n[tool.cask]\nworkers = 3\nbind = ["0.0.0.0:9000"]\n',
  );
  const config = loadConfig({ env: {}, cwd });
  t.assert.strictEqual(config.workers, 3);
  t.assert.deepStrictEqual(config.bind, [{ kind: 'tcp', host: '0.0.0.0', port: 9000 }]);
  t.assert.strictEqual(config.config, join(cwd, 'pyproject.toml'));
});

test('`loadConfig()` names pyproject.toml [tool.cask] in errors about it', (t: TestContext) => {
  t.plan(1);
  const cwd = tempDir(t);
  writeFileSync(join(cwd, 'pyproject.toml'), '[tool.cask]\nthreds = 2\n');
  t.assert.throws(
    () => loadConfig({ env: {}, cwd }),
    configError('Unknown key in pyproject.toml [tool.cask]: "threds" (did you mean "threads"?)'),
  );
});

test('`loadConfig()` ignores a pyproject.toml without [tool.cask] and prefers cask.toml', (t: TestContext) => {
  t.plan(3);
  const cwd = tempDir(t);
  writeFileSync(join(cwd, 'pyproject.toml'), '[tool.black]\nline-length = 100\n');
  t.assert.strictEqual(loadConfig({ env: {}, cwd }).config, null);
  writeFileSync(join(cwd, 'pyproject.toml'), '[tool.cask]\nworkers = 3\n');
  writeFileSync(join(cwd, 'cask.toml'), 'workers = 5\n');
  const config = loadConfig({ env: {}, cwd });
  t.assert.strictEqual(config.workers, 5);
  t.assert.strictEqual(config.config, join(cwd, 'cask.toml'));
});

test('`loadConfig()` reads the file named by `-c` or CASK_CONFIG instead of looking for one', (t: TestContext) => {
  t.plan(3);
  const cwd = tempDir(t);
  mkdirSync(join(cwd, 'deploy'));
  writeFileSync(join(cwd, 'cask.toml'), 'workers = 2\n');
  writeFileSync(join(cwd, 'deploy', 'prod.toml'), 'workers = 9\n');
  writeFileSync(join(cwd, 'deploy', 'pyproject.toml'), '[tool.cask]\nworkers = 7\n');
  t.assert.strictEqual(loadConfig({ argv: ['-c', 'deploy/prod.toml'], env: {}, cwd }).workers, 9);
  t.assert.strictEqual(
    loadConfig({ env: { CASK_CONFIG: 'deploy/pyproject.toml' }, cwd }).workers,
    7,
  );
  t.assert.strictEqual(
    loadConfig({
      argv: ['--config', 'deploy/prod.toml'],
      env: { CASK_CONFIG: 'deploy/pyproject.toml' },
      cwd,
    }).workers,
    9,
  );
});

test('`loadConfig()` fails when the named config file is missing or has no [tool.cask]', (t: TestContext) => {
  t.plan(2);
  const cwd = tempDir(t);
  t.assert.throws(
    () => loadConfig({ argv: ['-c', 'nope.toml'], env: {}, cwd }),
    configError('Cannot read the config file: nope.toml (no such file)', 'CASK_CONFIG_FILE'),
  );
  writeFileSync(join(cwd, 'pyproject.toml'), '[project]\nname = "x"\n');
  t.assert.throws(
    () => loadConfig({ argv: ['-c', 'pyproject.toml'], env: {}, cwd }),
    configError(
      'Cannot read the config file: pyproject.toml has no [tool.cask] table',
      'CASK_CONFIG_FILE',
    ),
  );
});

test('`loadConfig()` reports invalid TOML with the file, line and column', (t: TestContext) => {
  t.plan(1);
  const cwd = tempDir(t);
  writeFileSync(join(cwd, 'cask.toml'), 'workers = 2\nworkers = 3\n');
  t.assert.throws(
    () => loadConfig({ env: {}, cwd }),
    configError(/^Invalid TOML in cask\.toml: .+ \(line 2, column \d+\)$/, 'CASK_CONFIG_FILE'),
  );
});

test("`loadConfig()` resolves relative paths in a config file against the file's directory", (t: TestContext) => {
  t.plan(3);
  const cwd = tempDir(t);
  mkdirSync(join(cwd, 'deploy'));
  writeFileSync(
    join(cwd, 'deploy', 'cask.toml'),
    'chdir = "../app"\nbind = ["unix:run/cask.sock"]\naccess-log = "-"\n',
  );
  const config = loadConfig({ argv: ['-c', 'deploy/cask.toml'], env: {}, cwd });
  t.assert.strictEqual(config.chdir, join(cwd, 'app'));
  t.assert.deepStrictEqual(config.bind, [
    { kind: 'unix', path: join(cwd, 'deploy', 'run', 'cask.sock') },
  ]);
  t.assert.strictEqual(config.accessLog, '-');
});

// ── defaults and the result ─────────────────────────────────────────────────

test('`loadConfig()` defaults to the bundled example app and the current directory', (t: TestContext) => {
  t.plan(4);
  const config = loadConfig({ env: {}, cwd: '/srv/app' });
  t.assert.strictEqual(config.app, join(PACKAGE_ROOT, 'examples', 'hello_app.py') + ':application');
  t.assert.strictEqual(config.chdir, '/srv/app');
  t.assert.strictEqual(config.config, null);
  t.assert.strictEqual(
    loadConfig({ env: {}, cwd: '/', packageRoot: '/opt/cask' }).app,
    '/opt/cask/examples/hello_app.py:application',
  );
});

test('`loadConfig()` returns a deeply frozen config', (t: TestContext) => {
  t.plan(4);
  const config = loadConfig({ argv: ['-b', '127.0.0.1:1'], env: {}, cwd: '/' });
  t.assert.ok(Object.isFrozen(config));
  t.assert.ok(Object.isFrozen(config.bind));
  t.assert.ok(Object.isFrozen(config.bind[0]));
  t.assert.throws(() => {
    (config as { workers: number }).workers = 9;
  }, TypeError);
});
