// gunicorn as a source of settings: its config file (run by the real Python), its flags and
// GUNICORN_CMD_ARGS; precedence; and the message and exit code of every setting Cask refuses.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { main } from '../../src/cli.js';
import { SETTINGS, SETTING_KEYS, loadConfig, loadConfigWithNotes } from '../../src/config/index.js';
import { GUNICORN_SETTINGS } from '../../src/config/gunicorn.js';
import { splitWords } from '../../src/config/gunicorn-file.js';
import { COMPAT_DOC_PATH, renderCompatDoc } from '../../scripts/gen-compat-doc.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cask-gunicorn-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function withFile(t: TestContext, text: string, name = 'gunicorn.conf.py'): string {
  const cwd = tempDir(t);
  writeFileSync(join(cwd, name), text);
  return cwd;
}

/** main() with its output captured; no module is imported, so no server starts. */
async function run(argv: string[], cwd: string, env: Record<string, string> = {}) {
  const out = { stdout: '', stderr: '' };
  const code = await main(argv, {
    stdout: { write: (s: string) => (out.stdout += s) },
    stderr: { write: (s: string) => (out.stderr += s) },
    env,
    cwd,
    importModule: async () => {
      throw new Error('no server should start');
    },
  });
  return { code, ...out };
}

// ── the config file ──────────────────────────────────────────────────────────

test('`loadConfig()` reads ./gunicorn.conf.py as gunicorn does, computed values included', (t: TestContext) => {
  t.plan(9);
  const cwd = withFile(
    t,
    [
      'import multiprocessing',
      'bind = ["127.0.0.1:9001", ":9002", "localhost"]',
      'workers = multiprocessing.cpu_count() * 0 + 3',
      'worker_class = "gthread"',
      'threads = 4',
      'timeout = 45',
      'keepalive = 3',
      'loglevel = "WARNING"',
      'accesslog = "logs/access.log"',
      'wsgi_app = "site.wsgi:application"',
    ].join('\n'),
  );
  const config = loadConfig({ env: {}, cwd });
  t.assert.deepStrictEqual(config.bind, [
    { kind: 'tcp', host: '127.0.0.1', port: 9001 },
    { kind: 'tcp', host: '0.0.0.0', port: 9002 },
    { kind: 'tcp', host: 'localhost', port: 8000 },
  ]);
  t.assert.strictEqual(config.workers, 3);
  t.assert.strictEqual(config.threads, 4);
  t.assert.strictEqual(config.timeout, 45);
  t.assert.strictEqual(config.keepAlive, 3);
  t.assert.strictEqual(config.logLevel, 'warning');
  t.assert.strictEqual(config.accessLog, join(cwd, 'logs/access.log'));
  t.assert.strictEqual(config.app, 'site.wsgi:application');
  t.assert.strictEqual(config.config, join(cwd, 'gunicorn.conf.py'));
});

test('`loadConfig()` takes flags over env over GUNICORN_CMD_ARGS over the gunicorn file over cask.toml', (t: TestContext) => {
  t.plan(5);
  const cwd = withFile(t, 'workers = 2\nthreads = 2\ntimeout = 20\n');
  writeFileSync(join(cwd, 'cask.toml'), 'workers = 9\nthreads = 9\ntimeout = 9\nkeep-alive = 9\n');
  const config = loadConfig({
    argv: ['-w', '5'],
    env: { CASK_THREADS: '6', GUNICORN_CMD_ARGS: '--timeout 7 --threads 8 -w 8' },
    cwd,
  });
  t.assert.strictEqual(config.workers, 5);
  t.assert.strictEqual(config.threads, 6);
  t.assert.strictEqual(config.timeout, 7);
  t.assert.strictEqual(config.keepAlive, 9, 'cask.toml still sets what nothing above sets');
  t.assert.strictEqual(loadConfig({ env: {}, cwd }).timeout, 20);
});

test('`loadConfig()` reads only the file -c names', (t: TestContext) => {
  t.plan(3);
  const cwd = withFile(t, 'workers = 2\n');
  writeFileSync(join(cwd, 'deploy.py'), 'workers = 3\n');
  writeFileSync(join(cwd, 'cask.toml'), 'workers = 4\nthreads = 4\n');
  const named = loadConfig({ argv: ['-c', 'deploy.py'], env: {}, cwd });
  t.assert.strictEqual(named.workers, 3);
  t.assert.strictEqual(named.threads, 1, 'cask.toml is not read next to a named file');
  t.assert.strictEqual(loadConfig({ argv: ['-c', 'cask.toml'], env: {}, cwd }).workers, 4);
});

test('`loadConfig()` reads -c python:MODULE and -c file:PATH', (t: TestContext) => {
  t.plan(2);
  const cwd = withFile(t, 'workers = 6\n', 'deploy_settings.py');
  writeFileSync(join(cwd, 'production.conf'), 'workers = 7\n');
  t.assert.strictEqual(
    loadConfig({ argv: ['-c', 'python:deploy_settings'], env: {}, cwd }).workers,
    6,
  );
  t.assert.strictEqual(
    loadConfig({ argv: ['-c', 'file:production.conf'], env: {}, cwd }).workers,
    7,
  );
});

test('`loadConfig()` runs the hooks of a gunicorn file and passes its environment on', (t: TestContext) => {
  t.plan(3);
  const cwd = withFile(
    t,
    [
      'import os',
      'raw_env = ["A=1"]',
      'os.environ["B"] = "2"',
      'def post_fork(server, worker):',
      '    pass',
    ].join('\n'),
  );
  const config = loadConfig({ env: {}, cwd });
  t.assert.strictEqual(config.hooks, join(cwd, 'gunicorn.conf.py'));
  t.assert.deepStrictEqual(config.env, ['A=1', 'B=2']);
  const plain = withFile(t, 'workers = 2\n');
  t.assert.strictEqual(
    loadConfig({ env: {}, cwd: plain }).hooks,
    null,
    'no hooks, no hooks module',
  );
});

test('`loadConfigWithNotes()` warns about ignored settings and misspelt names', (t: TestContext) => {
  t.plan(3);
  const cwd = withFile(t, 'worker_tmp_dir = "/dev/shm"\nworker = 4\nBASE = 1\n');
  const { notes } = loadConfigWithNotes({ env: {}, cwd });
  const warnings = notes.filter((n) => n.level === 'warn').map((n) => n.text);
  t.assert.deepStrictEqual(warnings, [
    'Ignored gunicorn setting worker_tmp_dir in gunicorn.conf.py: "/dev/shm" (Cask\'s workers have no heartbeat file: the front watches them over their link)',
    'Unknown gunicorn setting in gunicorn.conf.py: worker (did you mean workers? gunicorn skips it too)',
  ]);
  t.assert.ok(
    notes.some(
      (n) => n.level === 'info' && n.text === 'Read gunicorn settings from gunicorn.conf.py',
    ),
  );
  t.assert.strictEqual(loadConfig({ env: {}, cwd }).workers, 1);
});

test('`loadConfig()` names the file and the setting when a gunicorn value is invalid', (t: TestContext) => {
  t.plan(1);
  const cwd = withFile(t, 'workers = "many"\n');
  t.assert.throws(() => loadConfig({ env: {}, cwd }), {
    code: 'CASK_CONFIG_INVALID',
    message: 'Invalid value for workers in gunicorn.conf.py: "many" is not an integer',
  });
});

test('`main()` exits 2 with the traceback when the gunicorn file raises or is missing', async (t: TestContext) => {
  t.plan(4);
  const cwd = withFile(t, 'workers = 1 / 0\n');
  const raised = await run(['serve', '--print-config'], cwd);
  t.assert.strictEqual(raised.code, 2);
  t.assert.match(
    raised.stderr,
    /^cask: Cannot read the gunicorn config file gunicorn\.conf\.py: it raised an exception:\n[\s\S]*ZeroDivisionError/,
  );
  const missing = await run(['serve', '-c', 'nope.py', '--print-config'], cwd);
  t.assert.strictEqual(missing.code, 2);
  t.assert.strictEqual(
    missing.stderr,
    'cask: Cannot read the gunicorn config file nope.py: no such file\n',
  );
});

// ── refused and ignored settings, each with a value that is not gunicorn's default ─────────

/** A value of each refused or ignored setting that asks for something (Python source). */
const SAMPLES: Readonly<Record<string, string>> = {
  config: '"other.py"',
  reload_engine: '"poll"',
  spew: 'True',
  sendfile: 'False',
  reuse_port: 'True',
  daemon: 'True',
  worker_tmp_dir: '"/dev/shm"',
  umask: '0o007',
  tmp_upload_dir: '"/var/tmp"',
  paste: '"production.ini"',
  raw_paste_global_conf: '["A=1"]',
  strip_header_spaces: 'True',
  permit_unconventional_http_version: 'True',
  casefold_http_method: 'True',
  header_map: '"dangerous"',
  forwarder_headers: '"SCRIPT_NAME,PATH_INFO,REMOTE_USER"',
  permit_obsolete_folding: 'True',
  tolerate_dangerous_framing: 'True',
  disable_redirect_access_to_syslog: 'True',
  logger_class: '"myapp.logging.JsonLogger"',
  logconfig: '"logging.ini"',
  logconfig_dict: '{"version": 1}',
  logconfig_json: '"logging.json"',
  syslog_addr: '"udp://localhost:514"',
  syslog: 'True',
  syslog_prefix: '"app"',
  syslog_facility: '"local0"',
  enable_stdio_inheritance: 'True',
  statsd_host: '"localhost:8125"',
  dogstatsd_tags: '"env:prod"',
  statsd_prefix: '"app"',
  proc_name: '"myapp"',
  default_proc_name: '"other"',
  pre_fork: 'lambda server, worker: None',
  pre_exec: 'lambda server: None',
  worker_int: 'lambda worker: None',
  ssl_context: 'lambda config, factory: factory()',
  ssl_version: '"TLSv1_2"',
  suppress_ragged_eofs: 'False',
  do_handshake_on_connect: 'True',
};

const refused = [...GUNICORN_SETTINGS.values()].filter((s) => s.status === 'refused');
const ignored = [...GUNICORN_SETTINGS.values()].filter((s) => s.status === 'ignored');

test('every refused or ignored gunicorn setting has a sample value here', (t: TestContext) => {
  const names = [...refused, ...ignored].map((s) => s.name);
  t.plan(names.length);
  for (const name of names) t.assert.ok(SAMPLES[name] !== undefined, name);
});

for (const setting of refused) {
  test(`\`main()\` exits 2 for gunicorn's ${setting.name} in gunicorn.conf.py, saying what Cask does`, async (t: TestContext) => {
    t.plan(2);
    const cwd = withFile(t, `${setting.name} = ${SAMPLES[setting.name] ?? 'None'}\n`);
    const result = await run(['serve', '--print-config'], cwd);
    t.assert.strictEqual(result.code, 2);
    t.assert.match(
      result.stderr,
      new RegExp(
        `^cask: Unsupported gunicorn setting ${setting.name} in gunicorn\\.conf\\.py: .+ \\(.+\\)\\n$`,
      ),
    );
  });
}

for (const setting of ignored) {
  test(`\`loadConfigWithNotes()\` warns that gunicorn's ${setting.name} is ignored, or skips it when it has no effect`, (t: TestContext) => {
    t.plan(1);
    const cwd = withFile(t, `${setting.name} = ${SAMPLES[setting.name] ?? 'None'}\n`);
    const { notes } = loadConfigWithNotes({ env: {}, cwd });
    const warned = notes.some(
      (n) =>
        n.level === 'warn' &&
        n.text.startsWith(`Ignored gunicorn setting ${setting.name} in gunicorn.conf.py: `),
    );
    // Settings used only with a refused one (syslog_*, statsd_*) do nothing by themselves.
    const inert = /^Used only with/.test(setting.doc);
    t.assert.strictEqual(warned, !inert);
  });
}

test('`main()` exits 2 for each refused gunicorn flag, naming the flag', async (t: TestContext) => {
  // A flag Cask has under the same name is Cask's own (`--user` sets a Unix socket's owner).
  const own = new Set<string>(SETTING_KEYS.map((key) => SETTINGS[key].flag));
  const flags = refused.flatMap((s) =>
    s.flags.filter((f) => f.startsWith('--') && !own.has(f)).map((flag) => ({ flag, setting: s })),
  );
  t.plan(flags.length * 2);
  const cwd = tempDir(t);
  for (const { flag, setting } of flags) {
    const sample = (SAMPLES[setting.name] ?? '"x"').replace(/^"|"$/g, '');
    const argv = setting.takesValue ? [flag, sample] : [flag];
    const result = await run(['serve', ...argv, '--print-config'], cwd);
    t.assert.strictEqual(result.code, 2, flag);
    t.assert.match(
      result.stderr,
      new RegExp(`^cask: Unsupported gunicorn option ${flag}: .+ \\(.+\\)\\n$`),
      flag,
    );
  }
});

/** Whether this build has Cask's gevent worker (`--worker-class`): then `-k gevent` is it. */
const HAS_GEVENT = (SETTING_KEYS as readonly string[]).includes('workerClass');

test('`main()` exits 2 for -k eventlet, tornado, a custom class, and gevent without its worker', async (t: TestContext) => {
  const kinds = ['eventlet', 'tornado', 'myapp.Worker', ...(HAS_GEVENT ? [] : ['gevent'])];
  t.plan(kinds.length * 2);
  const cwd = tempDir(t);
  for (const kind of kinds) {
    const result = await run(['serve', '-k', kind, '--print-config'], cwd);
    t.assert.strictEqual(result.code, 2);
    t.assert.match(
      result.stderr,
      new RegExp(`^cask: Unsupported gunicorn option -k: "${kind.replace(/\./g, '\\.')}" \\(`),
    );
  }
});

// ── gunicorn flags ───────────────────────────────────────────────────────────

test("`loadConfig()` runs uvicorn's gunicorn worker as an ASGI worker, and sync or gthread with threads", (t: TestContext) => {
  t.plan(3);
  const cwd = tempDir(t);
  t.assert.strictEqual(
    loadConfig({ argv: ['-k', 'uvicorn.workers.UvicornWorker'], env: {}, cwd }).interface,
    'asgi',
  );
  t.assert.strictEqual(loadConfig({ argv: ['-k', 'sync'], env: {}, cwd }).threads, 1);
  t.assert.strictEqual(
    loadConfig({ argv: ['-k', 'sync', '--threads', '4'], env: {}, cwd }).threads,
    4,
  );
});

test('`loadConfig()` takes gunicorn flags Cask spells otherwise', (t: TestContext) => {
  t.plan(11);
  const cwd = tempDir(t);
  const config = loadConfig({
    argv: [
      '-k',
      'gthread',
      '--threads',
      '4',
      '--preload',
      '-e',
      'A=1',
      '--env',
      'B=2',
      '--access-logfile',
      '-',
      '--log-file',
      'error.log',
      '--access-logformat',
      '%(h)s %(r)s',
      '--limit-request-field_size',
      '4096',
      '--worker-connections',
      '50',
      '-w',
      '2',
      '--forwarded-allow-ips',
      '10.0.0.1,10.0.0.2',
      '--cert-reqs',
      '2',
      '--check-config',
    ],
    env: {},
    cwd,
  });
  t.assert.strictEqual(config.threads, 4);
  t.assert.strictEqual(config.preload, true);
  t.assert.deepStrictEqual(config.env, ['A=1', 'B=2']);
  t.assert.strictEqual(config.accessLog, '-');
  t.assert.strictEqual(config.errorLog, join(cwd, 'error.log'));
  t.assert.strictEqual(config.accessLogFormat, '%(h)s %(r)s');
  t.assert.strictEqual(config.limitRequestFieldSize, 4096);
  t.assert.strictEqual(config.workerConnections, 50);
  t.assert.deepStrictEqual(config.forwardedAllowIps, ['10.0.0.1', '10.0.0.2']);
  t.assert.strictEqual(config.certReqs, 'required');
  t.assert.strictEqual(config.printConfig, true);
});

test('`loadConfig()` takes gunicorn user and group from the file and from -u/-g', (t: TestContext) => {
  t.plan(2);
  const cwd = withFile(t, 'user = "www-data"\ngroup = 33\ninitgroups = True\n');
  const config = loadConfig({ env: {}, cwd });
  t.assert.deepStrictEqual([config.user, config.group], ['www-data', '33']);
  const flags = loadConfig({ argv: ['-u', 'nobody', '-g', 'nogroup'], env: {}, cwd: tempDir(t) });
  t.assert.deepStrictEqual([flags.user, flags.group], ['nobody', 'nogroup']);
});

test('`loadConfigWithNotes()` warns about an ignored gunicorn flag and goes on', (t: TestContext) => {
  t.plan(2);
  const { config, notes } = loadConfigWithNotes({
    argv: ['--worker-tmp-dir', '/dev/shm', '-n', 'site'],
    env: {},
    cwd: tempDir(t),
  });
  t.assert.strictEqual(config.workers, 1);
  t.assert.deepStrictEqual(
    notes.map((n) => n.text.split(':')[0]),
    ['Ignored gunicorn option --worker-tmp-dir', 'Ignored gunicorn option -n'],
  );
});

test('`splitWords()` splits GUNICORN_CMD_ARGS as shlex.split does', (t: TestContext) => {
  t.plan(3);
  t.assert.deepStrictEqual(
    splitWords(`--bind=0.0.0.0:80  --access-logformat '%(h)s "%(r)s"' -e A="x y"`),
    ['--bind=0.0.0.0:80', '--access-logformat', '%(h)s "%(r)s"', '-e', 'A=x y'],
  );
  t.assert.deepStrictEqual(splitWords('a\\ b "c\\"d"'), ['a b', 'c"d']);
  t.assert.throws(() => splitWords('"open'), { code: 'CASK_CONFIG_INVALID' });
});

test('`loadConfig()` labels a bad value in GUNICORN_CMD_ARGS as coming from there', (t: TestContext) => {
  t.plan(1);
  t.assert.throws(
    () => loadConfig({ env: { GUNICORN_CMD_ARGS: '--workers=lots' }, cwd: tempDir(t) }),
    {
      message: 'Invalid value for --workers in GUNICORN_CMD_ARGS: "lots" is not an integer',
    },
  );
});

// ── docs/compat.md ───────────────────────────────────────────────────────────

test('`renderCompatDoc()` matches the committed docs/compat.md', (t: TestContext) => {
  t.plan(1);
  t.assert.ok(
    readFileSync(COMPAT_DOC_PATH, 'utf8') === renderCompatDoc(),
    'docs/compat.md is out of date with src/config/gunicorn.ts: run `npm run docs:compat`',
  );
});

test('`renderCompatDoc()` lists every gunicorn setting', (t: TestContext) => {
  t.plan(GUNICORN_SETTINGS.size);
  const doc = renderCompatDoc();
  for (const name of GUNICORN_SETTINGS.keys()) t.assert.ok(doc.includes(`| \`${name}\` |`), name);
});
