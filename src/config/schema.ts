// THE settings table. Flags, env vars, config-file keys, validation, `cask serve --help` and
// docs/config.md all come from these rows; nothing else lists the options (gunicorn's
// config.py habit, without waitress's "update these other files too" comment).
//
// Rules for a row:
// - the key is camelCase; the flag is `--` + kebab-case of the key, the env var `CASK_` +
//   UPPER_SNAKE, the config-file key the flag without `--`. CheckedTable makes a mismatch a
//   type error, and the Config type below is derived from the rows, so a key cannot exist
//   without a flag and an env var.
// - spell it as gunicorn does where gunicorn has the option;
// - write the default as a user would, with its unit (`'30s'`, `'1g'`); it is parsed by the
//   same code as user input when this module loads.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bool, bytes, choice, int, list, path, seconds, string } from './define.js';
import { parseBind, parsePath } from './parse.js';
import { InvalidValue, type AnySetting, type CheckedTable, type ValueOf } from './types.js';

/**
 * The installed package's root. This module compiles to `dist/config/schema.js` (and runs from
 * `src/config/schema.ts` under tsx), so the root is two levels up in both cases.
 */
export const PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

function table<const T extends Record<string, AnySetting>>(rows: T & CheckedTable<T>): T {
  return rows;
}

function validateApp(value: string): void {
  if (value.trim() === '') throw new InvalidValue('is not an app (write module:callable)');
  if (value.endsWith(':')) throw new InvalidValue('has no callable after ":"');
}

function validateRootPath(value: string): void {
  if (value === '') return;
  if (!value.startsWith('/')) throw new InvalidValue('does not start with "/"');
  if (value.endsWith('/')) throw new InvalidValue('ends with "/" (write "" to mount at the root)');
}

function validateHeaderValue(value: string): void {
  // Anything else could split the header (CR/LF) or be mangled on the wire.
  if (/[^\x20-\x7e]/.test(value))
    throw new InvalidValue('has a character other than printable ASCII');
}

export const SETTINGS = table({
  // ── Application ──────────────────────────────────────────────────────────
  app: string({
    flag: '--app',
    env: 'CASK_APP',
    positional: 'APP',
    metavar: 'APP',
    section: 'Application',
    doc: 'The WSGI application: `package.module:callable` or `path/to/file.py:callable`. Usually given as the positional APP argument.',
    default: {
      doc: 'the bundled example, `examples/hello_app.py:application`',
      compute: (ctx) => `${join(ctx.packageRoot, 'examples', 'hello_app.py')}:application`,
    },
    validate: validateApp,
  }),
  chdir: path({
    flag: '--chdir',
    env: 'CASK_CHDIR',
    section: 'Application',
    doc: 'Directory the workers change to before loading the app.',
    default: { doc: 'the current directory', compute: (ctx) => ctx.cwd },
  }),
  pythonpath: list({
    flag: '--pythonpath',
    env: 'CASK_PYTHONPATH',
    metavar: 'PATH',
    section: 'Application',
    doc: 'Directory put at the front of `sys.path` in the workers. Repeat the flag for several; comma-separated in the env var.',
    default: [],
    item: (raw, ctx) => parsePath(raw, ctx.baseDir),
  }),
  python: path({
    flag: '--python',
    env: 'CASK_PYTHON',
    section: 'Application',
    command: true,
    doc: 'Python interpreter that runs the workers (CPython 3.8+ or PyPy). A name without a slash is looked up on PATH.',
    default: {
      doc: '`$VIRTUAL_ENV/bin/python` when `VIRTUAL_ENV` is set, else `python3`',
      compute: (ctx) => {
        const venv = ctx.env['VIRTUAL_ENV'];
        if (venv === undefined || venv === '') return 'python3';
        return process.platform === 'win32'
          ? join(venv, 'Scripts', 'python.exe')
          : join(venv, 'bin', 'python');
      },
    },
  }),
  rootPath: string({
    flag: '--root-path',
    env: 'CASK_ROOT_PATH',
    section: 'Application',
    doc: 'Path prefix the app is mounted at, passed to it as `SCRIPT_NAME`. Empty, or starts with `/` and does not end with one.',
    default: '',
    validate: validateRootPath,
  }),

  // ── Server socket ────────────────────────────────────────────────────────
  bind: list({
    flag: '--bind',
    short: 'b',
    env: 'CASK_BIND',
    metavar: 'ADDRESS',
    section: 'Server socket',
    doc: 'Address to listen on: `HOST:PORT`, `[IPv6]:PORT` or `unix:PATH`. Repeat to listen on several. Port 0 picks a free port.',
    default: ['127.0.0.1:8000'],
    item: (raw, ctx) => parseBind(raw, ctx.baseDir),
    minItems: 1,
  }),
  serverName: string({
    flag: '--server-name',
    env: 'CASK_SERVER_NAME',
    section: 'Server socket',
    doc: 'Value of the `Server` response header; empty to send none.',
    default: 'Cask',
    validate: validateHeaderValue,
  }),

  // ── Workers ──────────────────────────────────────────────────────────────
  workers: int({
    flag: '--workers',
    short: 'w',
    env: 'CASK_WORKERS',
    fallbackEnv: 'WEB_CONCURRENCY',
    section: 'Workers',
    doc: 'Number of Python worker processes. Without this option, `WEB_CONCURRENCY` sets it, as in gunicorn.',
    default: 1,
    min: 1,
  }),
  threads: int({
    flag: '--threads',
    env: 'CASK_THREADS',
    section: 'Workers',
    doc: 'Threads per worker: how many requests one worker runs at once.',
    default: 1,
    min: 1,
  }),
  prefetch: int({
    flag: '--prefetch',
    env: 'CASK_PREFETCH',
    section: 'Workers',
    doc: 'Requests a worker may hold queued beyond its threads, so it never idles for a round trip between requests; requests a stalled worker has not started are taken back and sent elsewhere (see docs/performance.md).',
    default: 8,
    min: 0,
  }),
  maxQueue: int({
    flag: '--max-queue',
    env: 'CASK_MAX_QUEUE',
    section: 'Workers',
    doc: 'Requests that may wait for a free worker; past that, clients get 503 with `Retry-After`.',
    default: 1024,
    min: 0,
  }),

  // ── Timeouts ─────────────────────────────────────────────────────────────
  timeout: seconds({
    flag: '--timeout',
    short: 't',
    env: 'CASK_TIMEOUT',
    section: 'Timeouts',
    doc: 'How long a request may run in a worker before the client gets 504 and the worker is replaced. 0 means no limit.',
    default: '30s',
  }),
  gracefulTimeout: seconds({
    flag: '--graceful-timeout',
    env: 'CASK_GRACEFUL_TIMEOUT',
    section: 'Timeouts',
    doc: 'On shutdown or reload, how long in-flight requests may run before their workers are killed.',
    default: '30s',
  }),
  keepAlive: seconds({
    flag: '--keep-alive',
    env: 'CASK_KEEP_ALIVE',
    section: 'Timeouts',
    doc: 'How long an idle keep-alive connection waits for its next request. 0 closes the connection after each response.',
    default: '5s',
  }),

  // ── Request limits ───────────────────────────────────────────────────────
  maxBodySize: bytes({
    flag: '--max-body-size',
    env: 'CASK_MAX_BODY_SIZE',
    section: 'Request limits',
    doc: 'Largest request body accepted; a larger one gets 413. 0 means no limit.',
    default: '1g',
  }),
  bodyMemoryLimit: bytes({
    flag: '--body-memory-limit',
    env: 'CASK_BODY_MEMORY_LIMIT',
    section: 'Request limits',
    doc: 'Request bodies larger than this are spooled to a temporary file before a worker is taken; smaller ones stay in memory.',
    default: '1m',
  }),
  limitRequestLine: int({
    flag: '--limit-request-line',
    env: 'CASK_LIMIT_REQUEST_LINE',
    section: 'Request limits',
    doc: 'Longest request line (method, target, version) in bytes; a longer one gets 414. 0 means no limit; at most 8190 (as gunicorn).',
    default: 4094,
    min: 0,
    max: 8190,
  }),
  limitRequestFields: int({
    flag: '--limit-request-fields',
    env: 'CASK_LIMIT_REQUEST_FIELDS',
    section: 'Request limits',
    doc: 'Most header fields a request may have; more gets 431. At most 32768 (as gunicorn).',
    default: 100,
    min: 1,
    max: 32768,
  }),
  limitRequestFieldSize: int({
    flag: '--limit-request-field-size',
    env: 'CASK_LIMIT_REQUEST_FIELD_SIZE',
    section: 'Request limits',
    doc: 'Largest header field (name and value) in bytes; a larger one gets 431. 0 means no limit (as gunicorn).',
    default: 8190,
    min: 0,
  }),

  // ── Logging ──────────────────────────────────────────────────────────────
  accessLog: path({
    flag: '--access-log',
    env: 'CASK_ACCESS_LOG',
    section: 'Logging',
    dash: true,
    doc: 'Where to write the access log: a file, or `-` for stdout.',
    default: null,
    defaultDoc: 'none (no access log)',
  }),
  accessLogFormat: choice({
    flag: '--access-log-format',
    env: 'CASK_ACCESS_LOG_FORMAT',
    section: 'Logging',
    doc: 'Access log line format: Apache `combined` (with referer and user agent) or `common`.',
    choices: ['combined', 'common'],
    default: 'combined',
  }),
  errorLog: path({
    flag: '--error-log',
    env: 'CASK_ERROR_LOG',
    section: 'Logging',
    dash: true,
    doc: 'Where to write the error log: a file, or `-` for stderr.',
    default: '-',
    defaultDoc: '`-` (stderr)',
  }),
  logLevel: choice({
    flag: '--log-level',
    env: 'CASK_LOG_LEVEL',
    section: 'Logging',
    doc: 'Least severe message the error log records.',
    choices: ['debug', 'info', 'warning', 'error', 'critical'],
    default: 'info',
  }),

  // ── Config file ──────────────────────────────────────────────────────────
  config: path({
    flag: '--config',
    short: 'c',
    env: 'CASK_CONFIG',
    inFile: false,
    section: 'Config file',
    doc: 'The config file to read instead of looking for one. A file named `pyproject.toml` is read from its `[tool.cask]` table.',
    default: null,
    defaultDoc: '`./cask.toml` if present, else `./pyproject.toml` if it has `[tool.cask]`',
  }),
  printConfig: bool({
    flag: '--print-config',
    env: 'CASK_PRINT_CONFIG',
    inFile: false,
    section: 'Config file',
    doc: 'Print the resolved settings as a cask.toml and exit (as gunicorn does).',
    default: false,
  }),
});

export type Settings = typeof SETTINGS;
export type SettingKey = keyof Settings & string;

/**
 * The validated, deeply frozen settings. Units: `seconds` options are numbers of seconds
 * (fractions allowed; 0 = no limit where the doc says so), `bytes` options whole bytes; paths are
 * absolute except `python` given as a bare command name and `-` for the logs. `config` is the
 * file that was read (absolute), or null when there was none.
 */
export type Config = { readonly [K in SettingKey]: ValueOf<Settings[K]> };

export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

/**
 * Earlier or gunicorn spellings, so `--access-logfile` gets "did you mean --access-log?". Keyed
 * by the kebab-case name without dashes in front.
 */
export const RENAMED: Readonly<Record<string, SettingKey>> = {
  'access-logfile': 'accessLog',
  'access-logformat': 'accessLogFormat',
  'error-logfile': 'errorLog',
  'log-file': 'errorLog',
  keepalive: 'keepAlive',
};

/**
 * `CASK_*` variables that are not options and must not trip the unknown-variable check. Both are
 * namespaces of our own tooling that reach a `cask serve` process through its environment:
 * - `CASK_TEST_` — the test harness (`CASK_TEST_VERBOSE`, `CASK_TEST_PYTHON`); test/helpers
 *   starts servers with the runner's environment.
 * - `CASK_BENCH_` — the benchmark lab's app wrapper (`CASK_BENCH_APP`, `CASK_BENCH_APP_DIR`,
 *   `CASK_BENCH_INSIDE_DIR`, read by bench/apps/_entry.py inside the workers).
 * No option's env var may start with one of these (a test checks it).
 */
export const INTERNAL_ENV_PREFIXES: readonly string[] = ['CASK_TEST_', 'CASK_BENCH_'];
