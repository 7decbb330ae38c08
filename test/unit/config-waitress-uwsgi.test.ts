// waitress-serve's flags and a uWSGI ini file as sources of settings: what each maps to, the
// warnings for what Cask skips, and the message and exit code of everything it refuses.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { main } from '../../src/cli.js';
import { loadConfig, loadConfigWithNotes } from '../../src/config/index.js';
import { UWSGI_SETTINGS, parseUwsgiIni } from '../../src/config/uwsgi.js';
import { WAITRESS_SETTINGS } from '../../src/config/waitress.js';
import { renderCompatDoc } from '../../scripts/gen-compat-doc.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cask-compat-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function run(argv: string[], cwd: string) {
  const out = { stdout: '', stderr: '' };
  const code = await main(argv, {
    stdout: { write: (s: string) => (out.stdout += s) },
    stderr: { write: (s: string) => (out.stderr += s) },
    env: {},
    cwd,
    importModule: async () => {
      throw new Error('no server should start');
    },
  });
  return { code, ...out };
}

// ── waitress ─────────────────────────────────────────────────────────────────

test('`loadConfig()` takes a waitress-serve command line', (t: TestContext) => {
  t.plan(7);
  const cwd = tempDir(t);
  const config = loadConfig({
    argv: [
      '--host=127.0.0.1',
      '--port=9090',
      '--threads=8',
      '--url-prefix=shop/',
      '--call',
      '--trusted-proxy=10.0.0.1',
      '--ident=shop',
      '--connection-limit=200',
      '--max-request-body-size=1048576',
      'shop.app:make_app',
    ],
    env: {},
    cwd,
  });
  t.assert.deepStrictEqual(config.bind, [{ kind: 'tcp', host: '127.0.0.1', port: 9090 }]);
  t.assert.strictEqual(config.threads, 8);
  t.assert.strictEqual(config.rootPath, '/shop');
  t.assert.strictEqual(config.app, 'shop.app:make_app()', '--call makes APP a factory call');
  t.assert.deepStrictEqual(config.forwardedAllowIps, ['10.0.0.1']);
  t.assert.strictEqual(config.serverName, 'shop');
  t.assert.deepStrictEqual([config.maxConnections, config.maxBodySize], [200, 1048576]);
});

test("`loadConfig()` keeps waitress's defaults for --host and --port given alone, and *:PORT", (t: TestContext) => {
  t.plan(4);
  const cwd = tempDir(t);
  const bind = (argv: string[]) => loadConfig({ argv, env: {}, cwd }).bind;
  t.assert.deepStrictEqual(bind(['--port', '9000']), [
    { kind: 'tcp', host: '0.0.0.0', port: 9000 },
  ]);
  t.assert.deepStrictEqual(bind(['--host', '::1']), [{ kind: 'tcp', host: '::1', port: 8080 }]);
  t.assert.deepStrictEqual(bind(['--listen', '*:8080']), [
    { kind: 'tcp', host: '0.0.0.0', port: 8080 },
    { kind: 'tcp', host: '::', port: 8080 },
  ]);
  t.assert.deepStrictEqual(
    bind(['--listen', '*:8080', '--no-ipv6', '--unix-socket', '/run/a.sock']),
    [
      { kind: 'tcp', host: '0.0.0.0', port: 8080 },
      { kind: 'unix', path: '/run/a.sock' },
    ],
  );
});

test('`loadConfigWithNotes()` warns about a waitress flag that tunes what Cask does not have', (t: TestContext) => {
  t.plan(2);
  const { config, notes } = loadConfigWithNotes({
    argv: ['--recv-bytes=65536', '--channel-timeout=60'],
    env: {},
    cwd: tempDir(t),
  });
  t.assert.strictEqual(config.workers, 1);
  t.assert.deepStrictEqual(
    notes.map((n) => n.text.split(':')[0]),
    ['Ignored waitress option --recv-bytes', 'Ignored waitress option --channel-timeout'],
  );
});

/** A command line for each way a waitress flag is refused, with the flag it blames. */
const WAITRESS_REFUSALS: ReadonlyArray<[string[], string]> = [
  [['--url-scheme=https'], '--url-scheme'],
  [['--expose-tracebacks'], '--expose-tracebacks'],
  [['--listen=127.0.0.1:80', '--port=81'], '--listen'],
  [['--trusted-proxy-headers=x-forwarded-for'], '--trusted-proxy-headers'],
  [['--unix-socket-perms=999'], '--unix-socket-perms'],
];

test('every refused waitress flag has a refusal case here', (t: TestContext) => {
  const refused = [...WAITRESS_SETTINGS.values()].filter((s) => s.status === 'refused');
  t.plan(refused.length);
  for (const s of refused)
    t.assert.ok(
      WAITRESS_REFUSALS.some(([, flag]) => flag === s.name),
      s.name,
    );
});

for (const [argv, flag] of WAITRESS_REFUSALS) {
  test(`\`main()\` exits 2 for ${argv.join(' ')}, saying what Cask does`, async (t: TestContext) => {
    t.plan(2);
    const result = await run(['serve', ...argv, '--print-config'], tempDir(t));
    t.assert.strictEqual(result.code, 2);
    t.assert.match(
      result.stderr,
      new RegExp(`^cask: Unsupported waitress option ${flag}: .+ \\(.+\\)\\n$`),
    );
  });
}

// ── uWSGI ────────────────────────────────────────────────────────────────────

const INI = `# a Django site under uWSGI
[uwsgi]
project = mysite
chdir = %d
module = %(project).wsgi:application
master = true
processes = 4
cheaper = 2
threads = 2
http-socket = :8080
socket = %d%(project).sock
chmod-socket = 660
harakiri = 30
max-requests = 5000
max-requests-delta = 500
reload-on-rss = 512
max-worker-lifetime = 3600
buffer-size = 32768
static-map = /static=%dstatic
static-map = /media=%dmedia
env = DJANGO_SETTINGS_MODULE=%(project).settings
env = CORES=%k
vacuum = true
die-on-term = true
stats = 127.0.0.1:9191
touch-reload = %dreload

[production]
processes = 16
`;

test('`parseUwsgiIni()` reads one section, repeated options and placeholders', (t: TestContext) => {
  t.plan(5);
  const options = parseUwsgiIni(INI, '/srv/site/uwsgi.ini', 'uwsgi', { HOME: '/home/site' });
  t.assert.deepStrictEqual(options.get('module'), ['mysite.wsgi:application']);
  t.assert.deepStrictEqual(options.get('static-map'), [
    '/static=/srv/site/static',
    '/media=/srv/site/media',
  ]);
  t.assert.deepStrictEqual(options.get('env'), [
    'DJANGO_SETTINGS_MODULE=mysite.settings',
    `CORES=${cpus().length}`,
  ]);
  t.assert.strictEqual(options.has('project'), false, 'a placeholder-only option is no option');
  t.assert.deepStrictEqual(
    parseUwsgiIni('[uwsgi]\nhome = $(HOME)/venv\nenable_threads\n', '/a.ini', 'uwsgi', {
      HOME: '/h',
    }),
    new Map([
      ['home', ['/h/venv']],
      ['enable-threads', ['true']],
    ]),
  );
});

test('`loadConfig()` reads --uwsgi-ini and names what it skipped', (t: TestContext) => {
  t.plan(13);
  const cwd = tempDir(t);
  mkdirSync(join(cwd, 'static'));
  mkdirSync(join(cwd, 'media'));
  writeFileSync(join(cwd, 'uwsgi.ini'), INI);
  writeFileSync(join(cwd, 'gunicorn.conf.py'), 'workers = 9\n');
  const { config, notes } = loadConfigWithNotes({
    argv: ['--uwsgi-ini', 'uwsgi.ini'],
    env: {},
    cwd,
  });
  t.assert.strictEqual(config.app, 'mysite.wsgi:application');
  t.assert.deepStrictEqual(config.bind, [
    { kind: 'tcp', host: '0.0.0.0', port: 8080 },
    { kind: 'unix', path: join(cwd, 'mysite.sock'), protocol: 'uwsgi' },
  ]);
  t.assert.deepStrictEqual([config.workers, config.workersMin, config.workersMax], [2, 2, 4]);
  t.assert.strictEqual(config.threads, 2);
  t.assert.deepStrictEqual([config.socketMode, config.umask], ['660', '']);
  t.assert.strictEqual(config.timeout, 30);
  t.assert.deepStrictEqual([config.maxRequests, config.maxRequestsJitter], [5000, 500]);
  t.assert.strictEqual(config.maxRss, 512 * 1024 * 1024);
  t.assert.strictEqual(config.maxLifetime, 3600);
  t.assert.deepStrictEqual([config.limitRequestFieldSize, config.limitRequestLine], [32768, 8190]);
  t.assert.strictEqual(config.static.length, 2);
  t.assert.strictEqual(config.env[0], 'DJANGO_SETTINGS_MODULE=mysite.settings');
  t.assert.ok(
    notes.some(
      (n) =>
        n.text ===
        'Skipped uWSGI options in uwsgi.ini, which Cask does not read: stats, touch-reload (docs/compat.md says why)',
    ),
  );
});

test('`loadConfig()` reads another section of a uWSGI file, and flags win over it', (t: TestContext) => {
  t.plan(2);
  const cwd = tempDir(t);
  writeFileSync(join(cwd, 'uwsgi.ini'), INI);
  t.assert.strictEqual(
    loadConfig({ argv: ['--uwsgi-ini', 'uwsgi.ini:production'], env: {}, cwd }).workers,
    16,
  );
  t.assert.strictEqual(
    loadConfig({ argv: ['--uwsgi-ini', 'uwsgi.ini:production', '-w', '3'], env: {}, cwd }).workers,
    3,
  );
});

/** An ini body for each way a uWSGI option is refused, with the option it blames. */
const UWSGI_REFUSALS: ReadonlyArray<[string, string]> = [
  ['socket = @abstract', 'socket'],
  ['http-socket = :8080\nhttps = :8443,cert.pem,key.pem', 'https'],
  ['chmod-socket = 999', 'chmod-socket'],
];

test('every refused uWSGI option has a refusal case here', (t: TestContext) => {
  const refused = [...UWSGI_SETTINGS.values()].filter((s) => s.status === 'refused');
  t.plan(refused.length);
  for (const s of refused)
    t.assert.ok(
      UWSGI_REFUSALS.some(([, name]) => name === s.name),
      s.name,
    );
});

for (const [body, name] of UWSGI_REFUSALS) {
  test(`\`main()\` exits 2 for uWSGI's ${body.split('\n').at(-1) ?? ''}, saying what Cask does`, async (t: TestContext) => {
    t.plan(2);
    const cwd = tempDir(t);
    writeFileSync(join(cwd, 'uwsgi.ini'), `[uwsgi]\n${body}\n`);
    const result = await run(['serve', '--uwsgi-ini', 'uwsgi.ini', '--print-config'], cwd);
    t.assert.strictEqual(result.code, 2);
    t.assert.match(
      result.stderr,
      new RegExp(`^cask: Unsupported uWSGI option ${name} in uwsgi\\.ini: .+ \\(.+\\)\\n$`),
    );
  });
}

test('`loadConfig()` takes uWSGI uid and gid as user and group, chmod-socket as socket-mode', (t: TestContext) => {
  t.plan(3);
  const cwd = tempDir(t);
  writeFileSync(join(cwd, 'uwsgi.ini'), '[uwsgi]\nuid = www-data\ngid = 33\nchmod-socket\n');
  const config = loadConfig({ argv: ['--uwsgi-ini', 'uwsgi.ini'], env: {}, cwd });
  t.assert.deepStrictEqual([config.user, config.group], ['www-data', '33']);
  // A bare chmod-socket is uWSGI's 666.
  t.assert.strictEqual(config.socketMode, '666');
  t.assert.strictEqual(
    loadConfig({ argv: ['--unix-socket-perms=0600'], env: {}, cwd }).socketMode,
    '0600',
  );
});

test('`main()` exits 2 for a missing uWSGI file or section', async (t: TestContext) => {
  t.plan(4);
  const cwd = tempDir(t);
  const missing = await run(['serve', '--uwsgi-ini', 'nope.ini', '--print-config'], cwd);
  t.assert.strictEqual(missing.code, 2);
  t.assert.strictEqual(
    missing.stderr,
    'cask: Cannot read the uWSGI ini file nope.ini: no such file\n',
  );
  writeFileSync(join(cwd, 'other.ini'), '[app]\nprocesses = 2\n');
  const empty = await run(['serve', '--uwsgi-ini', 'other.ini', '--print-config'], cwd);
  t.assert.strictEqual(empty.code, 2);
  t.assert.strictEqual(
    empty.stderr,
    'cask: Cannot read the uWSGI ini file other.ini: it has no [uwsgi] section\n',
  );
});

test('`renderCompatDoc()` lists every waitress flag and uWSGI option', (t: TestContext) => {
  t.plan(WAITRESS_SETTINGS.size + UWSGI_SETTINGS.size);
  const doc = renderCompatDoc();
  for (const name of [...WAITRESS_SETTINGS.keys(), ...UWSGI_SETTINGS.keys()]) {
    t.assert.ok(doc.includes(`| \`${name}\` |`), name);
  }
});

test('docs/compat.md has the waitress and uWSGI tables as rendered', (t: TestContext) => {
  t.plan(1);
  t.assert.ok(
    readFileSync(new URL('../../docs/compat.md', import.meta.url), 'utf8') === renderCompatDoc(),
  );
});
