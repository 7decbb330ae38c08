// Every value type of the settings table: what it accepts, with units, and how it refuses.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { bool, number } from '../../src/config/define.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { parseBytes, parseNumber, parseSeconds } from '../../src/config/parse.js';
import { InvalidValue } from '../../src/config/types.js';

const CWD = '/srv/app';

function load(argv: string[], env: Record<string, string> = {}): Config {
  return loadConfig({ argv, env, cwd: CWD });
}

function configError(message: string) {
  return { name: 'ConfigError', code: 'CASK_CONFIG_INVALID', message };
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cask-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ── int ─────────────────────────────────────────────────────────────────────

test('`loadConfig()` reads an integer from a flag, its short form and the env', (t: TestContext) => {
  t.plan(4);
  t.assert.strictEqual(load(['--workers', '4']).workers, 4);
  t.assert.strictEqual(load(['-w', '3']).workers, 3);
  t.assert.strictEqual(load(['-w5']).workers, 5);
  t.assert.strictEqual(load([], { CASK_THREADS: '8' }).threads, 8);
});

test('`loadConfig()` rejects a worker count that is not an integer', (t: TestContext) => {
  t.plan(3);
  t.assert.throws(
    () => load(['--workers', 'abc']),
    configError('Invalid value for --workers: "abc" is not an integer'),
  );
  t.assert.throws(
    () => load(['-w', '2.5']),
    configError('Invalid value for --workers: "2.5" is not an integer'),
  );
  t.assert.throws(
    () => load([], { CASK_WORKERS: '' }),
    configError('Invalid value for CASK_WORKERS: "" is not an integer'),
  );
});

test('`loadConfig()` rejects a negative worker count', (t: TestContext) => {
  t.plan(3);
  t.assert.throws(
    () => load(['--workers=-1']),
    configError('Invalid value for --workers: "-1" is below the minimum of 1'),
  );
  t.assert.throws(
    () => load(['-w', '-1']),
    configError('Invalid value for --workers: "-1" is below the minimum of 1'),
  );
  t.assert.throws(
    () => load(['-w', '0']),
    configError('Invalid value for --workers: "0" is below the minimum of 1'),
  );
});

test("`loadConfig()` enforces gunicorn's maximum for `--limit-request-line`", (t: TestContext) => {
  t.plan(3);
  t.assert.strictEqual(load(['--limit-request-line', '8190']).limitRequestLine, 8190);
  t.assert.strictEqual(load(['--limit-request-line', '0']).limitRequestLine, 0);
  t.assert.throws(
    () => load(['--limit-request-line', '8191']),
    configError('Invalid value for --limit-request-line: "8191" is above the maximum of 8190'),
  );
});

test('`loadConfig()` accepts `--prefetch 0` and `--max-queue 0` but not `--threads 0`', (t: TestContext) => {
  t.plan(3);
  t.assert.strictEqual(load(['--prefetch', '0']).prefetch, 0);
  t.assert.strictEqual(load(['--max-queue', '0']).maxQueue, 0);
  t.assert.throws(
    () => load(['--threads', '0']),
    configError('Invalid value for --threads: "0" is below the minimum of 1'),
  );
});

// ── number ──────────────────────────────────────────────────────────────────

test('`parseNumber()` reads decimals and exponents and refuses words', (t: TestContext) => {
  t.plan(4);
  t.assert.strictEqual(parseNumber('1.5'), 1.5);
  t.assert.strictEqual(parseNumber('-2e3'), -2000);
  t.assert.strictEqual(parseNumber('.25'), 0.25);
  t.assert.throws(() => parseNumber('1.5x'), { name: 'InvalidValue', reason: 'is not a number' });
});

test('`number()` settings take TOML numbers and strings and check their range', (t: TestContext) => {
  t.plan(4);
  const ratio = number({
    flag: '--ratio',
    env: 'CASK_RATIO',
    section: 'Workers',
    doc: '',
    default: 0.5,
    min: 0,
    max: 1,
  });
  const ctx = { baseDir: '/' };
  t.assert.strictEqual(ratio.fromToml(0.75, ctx), 0.75);
  t.assert.strictEqual(ratio.fromEnv('0.25', ctx), 0.25);
  t.assert.throws(() => ratio.fromToml(2, ctx), { reason: 'is above the maximum of 1' });
  t.assert.throws(() => ratio.fromToml('half', ctx), { reason: 'is not a number' });
});

// ── seconds ─────────────────────────────────────────────────────────────────

test('`parseSeconds()` reads bare seconds and s, ms, m, h units', (t: TestContext) => {
  const cases: [string, number][] = [
    ['30', 30],
    ['30s', 30],
    ['1.5s', 1.5],
    ['500ms', 0.5],
    ['2m', 120],
    ['2M', 120],
    ['1h', 3600],
    ['0', 0],
    [' 10 s ', 10],
  ];
  t.plan(cases.length);
  for (const [text, seconds] of cases) t.assert.strictEqual(parseSeconds(text), seconds, text);
});

test("`loadConfig()` rejects a duration without a known unit, negative, or past Node's timer limit", (t: TestContext) => {
  t.plan(4);
  t.assert.throws(
    () => load([], { CASK_TIMEOUT: '30x' }),
    configError(
      'Invalid value for CASK_TIMEOUT: "30x" is not a duration (write 30, 30s, 500ms or 2m)',
    ),
  );
  t.assert.throws(
    () => load(['--timeout=-5']),
    configError('Invalid value for --timeout: "-5" is not a duration (write 30, 30s, 500ms or 2m)'),
  );
  t.assert.throws(() => load(['-t', 'ms']), { message: /is not a duration/ });
  t.assert.throws(
    () => load(['--keep-alive', '1000h']),
    configError(
      'Invalid value for --keep-alive: "1000h" is longer than the longest timer Node allows, 2147483s',
    ),
  );
});

test('`loadConfig()` gives durations in seconds, with the defaults written as 30s and 5s', (t: TestContext) => {
  t.plan(4);
  const config = load(['--graceful-timeout', '250ms']);
  t.assert.strictEqual(config.timeout, 30);
  t.assert.strictEqual(config.keepAlive, 5);
  t.assert.strictEqual(config.gracefulTimeout, 0.25);
  t.assert.strictEqual(load(['-t', '0']).timeout, 0);
});

// ── bytes ───────────────────────────────────────────────────────────────────

test('`parseBytes()` reads plain bytes and k, m, g units in any case, 1k being 1024', (t: TestContext) => {
  const cases: [string, number][] = [
    ['1024', 1024],
    ['64k', 64 * 1024],
    ['64K', 64 * 1024],
    ['10m', 10 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1kb', 1024],
    ['10MB', 10 * 1024 ** 2],
    ['2Gb', 2 * 1024 ** 3],
    ['1.5k', 1536],
    ['512b', 512],
    ['0', 0],
  ];
  t.plan(cases.length);
  for (const [text, n] of cases) t.assert.strictEqual(parseBytes(text), n, text);
});

test('`loadConfig()` rejects a size with an unknown unit or a sign', (t: TestContext) => {
  t.plan(3);
  t.assert.throws(
    () => load(['--max-body-size', '10q']),
    configError(
      'Invalid value for --max-body-size: "10q" is not a size (write 1024, 64k, 10m or 1g)',
    ),
  );
  t.assert.throws(() => load([], { CASK_BODY_MEMORY_LIMIT: '-1k' }), {
    message: /CASK_BODY_MEMORY_LIMIT: "-1k" is not a size/,
  });
  t.assert.throws(() => load(['--max-body-size', 'k']), { message: /is not a size/ });
});

test('`loadConfig()` defaults to a 1g body limit and a 1m in-memory body', (t: TestContext) => {
  t.plan(2);
  const config = load([]);
  t.assert.strictEqual(config.maxBodySize, 1024 ** 3);
  t.assert.strictEqual(config.bodyMemoryLimit, 1024 ** 2);
});

test('`loadConfig()` reads sizes and durations from TOML numbers and strings', (t: TestContext) => {
  t.plan(4);
  const dir = tempDir(t);
  writeFileSync(
    join(dir, 'cask.toml'),
    'max-body-size = "10m"\nbody-memory-limit = 4096\ntimeout = 0.5\nkeep-alive = "2m"\n',
  );
  const config = loadConfig({ argv: [], env: {}, cwd: dir });
  t.assert.strictEqual(config.maxBodySize, 10 * 1024 ** 2);
  t.assert.strictEqual(config.bodyMemoryLimit, 4096);
  t.assert.strictEqual(config.timeout, 0.5);
  t.assert.strictEqual(config.keepAlive, 120);
});

test('`loadConfig()` rejects a TOML value of the wrong type, naming the key and the file', (t: TestContext) => {
  t.plan(3);
  const dir = tempDir(t);
  const file = join(dir, 'cask.toml');
  writeFileSync(file, 'workers = 2.5\n');
  t.assert.throws(
    () => loadConfig({ env: {}, cwd: dir }),
    configError('Invalid value for workers in cask.toml: 2.5 is not an integer'),
  );
  writeFileSync(file, 'timeout = true\n');
  t.assert.throws(
    () => loadConfig({ env: {}, cwd: dir }),
    configError(
      'Invalid value for timeout in cask.toml: true is not a duration (write 30, 30s, 500ms or 2m)',
    ),
  );
  writeFileSync(file, 'server-name = 3\n');
  t.assert.throws(
    () => loadConfig({ env: {}, cwd: dir }),
    configError('Invalid value for server-name in cask.toml: 3 is not a string'),
  );
});

// ── bool ────────────────────────────────────────────────────────────────────

test('`loadConfig()` takes a bool flag without a value and `--no-` to turn it off', (t: TestContext) => {
  t.plan(4);
  t.assert.strictEqual(load([]).printConfig, false);
  t.assert.strictEqual(load(['--print-config']).printConfig, true);
  t.assert.strictEqual(
    load(['--no-print-config'], { CASK_PRINT_CONFIG: 'yes' }).printConfig,
    false,
  );
  t.assert.strictEqual(load(['--print-config=false']).printConfig, false);
});

test('`loadConfig()` reads a bool env var as true/false/yes/no/1/0 in any case', (t: TestContext) => {
  const cases: [string, boolean][] = [
    ['true', true],
    ['false', false],
    ['yes', true],
    ['no', false],
    ['1', true],
    ['0', false],
    ['TRUE', true],
    ['No', false],
  ];
  t.plan(cases.length + 1);
  for (const [text, value] of cases) {
    t.assert.strictEqual(load([], { CASK_PRINT_CONFIG: text }).printConfig, value, text);
  }
  t.assert.throws(
    () => load([], { CASK_PRINT_CONFIG: 'maybe' }),
    configError(
      'Invalid value for CASK_PRINT_CONFIG: "maybe" is not a boolean (write true, false, yes, no, 1 or 0)',
    ),
  );
});

test('`bool()` settings read TOML booleans and the same words as the env', (t: TestContext) => {
  t.plan(4);
  const reload = bool({
    flag: '--reload',
    env: 'CASK_RELOAD',
    section: 'Workers',
    doc: '',
    default: false,
  });
  const ctx = { baseDir: '/' };
  t.assert.strictEqual(reload.fromToml(true, ctx), true);
  t.assert.strictEqual(reload.fromToml('no', ctx), false);
  t.assert.strictEqual(reload.fromToml(1, ctx), true);
  t.assert.throws(
    () => reload.fromToml([true], ctx),
    (err: unknown) => err instanceof InvalidValue,
  );
});

// ── string ──────────────────────────────────────────────────────────────────

test('`loadConfig()` takes an empty `--server-name` and refuses one that could split a header', (t: TestContext) => {
  t.plan(3);
  t.assert.strictEqual(load(['--server-name', '']).serverName, '');
  t.assert.strictEqual(load([]).serverName, 'Cask');
  t.assert.throws(
    () => load([], { CASK_SERVER_NAME: 'Cask\r\nX-Evil: 1' }),
    configError(
      'Invalid value for CASK_SERVER_NAME: "Cask\\r\\nX-Evil: 1" has a character other than printable ASCII',
    ),
  );
});

test('`loadConfig()` accepts a root path that is empty or /prefix and rejects other shapes', (t: TestContext) => {
  t.plan(4);
  t.assert.strictEqual(load(['--root-path', '/api']).rootPath, '/api');
  t.assert.strictEqual(load([]).rootPath, '');
  t.assert.throws(
    () => load(['--root-path', 'api']),
    configError('Invalid value for --root-path: "api" does not start with "/"'),
  );
  t.assert.throws(
    () => load(['--root-path', '/api/']),
    configError(
      'Invalid value for --root-path: "/api/" ends with "/" (write "" to mount at the root)',
    ),
  );
});

// ── path ────────────────────────────────────────────────────────────────────

test('`loadConfig()` resolves relative paths from flags and env against the working directory', (t: TestContext) => {
  t.plan(4);
  const config = load(['--chdir', 'src', '--access-log', 'logs/access.log'], {
    CASK_ERROR_LOG: '../err.log',
  });
  t.assert.strictEqual(config.chdir, '/srv/app/src');
  t.assert.strictEqual(config.accessLog, '/srv/app/logs/access.log');
  t.assert.strictEqual(config.errorLog, '/srv/err.log');
  t.assert.strictEqual(load(['--chdir', '/opt/x']).chdir, '/opt/x');
});

test('`loadConfig()` keeps `-` for the logs and a bare interpreter name for `--python`', (t: TestContext) => {
  t.plan(5);
  t.assert.strictEqual(load(['--access-log', '-']).accessLog, '-');
  t.assert.strictEqual(load([]).accessLog, null);
  t.assert.strictEqual(load([]).errorLog, '-');
  t.assert.strictEqual(load(['--python', 'pypy3']).python, 'pypy3');
  t.assert.strictEqual(load(['--python', 'venv/bin/python']).python, '/srv/app/venv/bin/python');
});

// ── list ────────────────────────────────────────────────────────────────────

test('`loadConfig()` reads a list from a repeated flag, a comma-separated env var and a TOML array', (t: TestContext) => {
  t.plan(4);
  const dir = tempDir(t);
  t.assert.deepStrictEqual(load(['--pythonpath', 'lib', '--pythonpath', '/opt/x']).pythonpath, [
    '/srv/app/lib',
    '/opt/x',
  ]);
  t.assert.deepStrictEqual(load([], { CASK_PYTHONPATH: 'a, b,,/c' }).pythonpath, [
    '/srv/app/a',
    '/srv/app/b',
    '/c',
  ]);
  writeFileSync(join(dir, 'cask.toml'), 'pythonpath = ["lib", "/opt/y"]\n');
  t.assert.deepStrictEqual(loadConfig({ env: {}, cwd: dir }).pythonpath, [
    join(dir, 'lib'),
    '/opt/y',
  ]);
  writeFileSync(join(dir, 'cask.toml'), 'bind = "unix:/run/cask.sock"\n');
  t.assert.deepStrictEqual(loadConfig({ env: {}, cwd: dir }).bind, [
    { kind: 'unix', path: '/run/cask.sock' },
  ]);
});

test('`loadConfig()` names the bad item of a list, and refuses an empty bind list', (t: TestContext) => {
  t.plan(3);
  const dir = tempDir(t);
  writeFileSync(join(dir, 'cask.toml'), 'pythonpath = ["lib", 3]\n');
  t.assert.throws(
    () => loadConfig({ env: {}, cwd: dir }),
    configError('Invalid value for pythonpath in cask.toml: 3 is not a string'),
  );
  t.assert.throws(
    () => load(['-b', '127.0.0.1:80', '-b', 'nope']),
    configError(
      'Invalid value for --bind: "nope" has no port (write HOST:PORT, [IPv6]:PORT or unix:PATH)',
    ),
  );
  t.assert.throws(
    () => load([], { CASK_BIND: ' , ' }),
    configError('Invalid value for CASK_BIND: " , " needs at least 1 address'),
  );
});

// ── enum ────────────────────────────────────────────────────────────────────

test('`--client-sockets` defaults to bare, takes node from the flag or the environment, and refuses anything else', (t: TestContext) => {
  t.plan(4);
  t.assert.strictEqual(load([]).clientSockets, 'bare');
  t.assert.strictEqual(load(['--client-sockets', 'node']).clientSockets, 'node');
  t.assert.strictEqual(load([], { CASK_CLIENT_SOCKETS: 'node' }).clientSockets, 'node');
  t.assert.throws(
    () => load(['--client-sockets', 'raw']),
    configError('Invalid value for --client-sockets: "raw" is not one of bare, node'),
  );
});

test('`loadConfig()` matches enum values case-insensitively and lists the choices when wrong', (t: TestContext) => {
  t.plan(4);
  t.assert.strictEqual(load(['--log-level', 'WARNING']).logLevel, 'warning');
  t.assert.strictEqual(load([], { CASK_ACCESS_LOG_FORMAT: 'common' }).accessLogFormat, 'common');
  t.assert.strictEqual(load([]).accessLogFormat, 'combined');
  t.assert.throws(
    () => load(['--log-level', 'trace']),
    configError(
      'Invalid value for --log-level: "trace" is not one of debug, info, warning, error, critical',
    ),
  );
});
