// --mount and --vhost: flags, env, the config file's table per app, the errors that name the
// bad value, and the settings that cannot go together (resolveApps).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { resolveApps } from '../../src/apps/index.js';
import { loadConfig, renderConfigToml } from '../../src/config/index.js';

function dir(t: TestContext): string {
  const path = mkdtempSync(join(tmpdir(), 'cask-apps-config-'));
  t.after(() => rmSync(path, { recursive: true, force: true }));
  return path;
}

const invalid = (message: string) => ({
  name: 'ConfigError',
  code: 'CASK_CONFIG_INVALID',
  message,
});

function withFile(t: TestContext, toml: string) {
  const cwd = dir(t);
  writeFileSync(join(cwd, 'cask.toml'), toml);
  return { cwd, load: () => loadConfig({ env: {}, cwd }) };
}

test('`loadConfig()` reads repeated --mount values, a trailing slash dropped', (t: TestContext) => {
  t.plan(1);
  const config = loadConfig({
    argv: ['--mount', '/api/=api.wsgi:app', '--mount', '/=site.wsgi:application'],
    env: {},
  });
  t.assert.deepStrictEqual(config.mount, [
    { key: '/api', app: 'api.wsgi:app', settings: {} },
    { key: '/', app: 'site.wsgi:application', settings: {} },
  ]);
});

test('`loadConfig()` keeps an app factory call whole after the first "="', (t: TestContext) => {
  t.plan(1);
  const config = loadConfig({ argv: ['--mount', '/=site:create_app(debug=False)'], env: {} });
  t.assert.strictEqual(config.mount[0]?.app, 'site:create_app(debug=False)');
});

test('`loadConfig()` reads --vhost hosts lower-cased, wildcards and the default', (t: TestContext) => {
  t.plan(1);
  const config = loadConfig({
    argv: [
      '--vhost',
      'Example.ORG=site:app',
      '--vhost',
      '*.example.org=tenants:app',
      '--vhost',
      '*=other:app',
    ],
    env: {},
  });
  t.assert.deepStrictEqual(
    config.vhost.map((v) => v.key),
    ['example.org', '*.example.org', '*'],
  );
});

test('`loadConfig()` reads CASK_MOUNT and CASK_VHOST as comma-separated lists', (t: TestContext) => {
  t.plan(2);
  const config = loadConfig({
    env: { CASK_MOUNT: '/api=api:app, /=site:app', CASK_VHOST: 'a.example=a:app' },
  });
  t.assert.deepStrictEqual(
    config.mount.map((m) => `${m.key}=${m.app}`),
    ['/api=api:app', '/=site:app'],
  );
  t.assert.strictEqual(config.vhost[0]?.key, 'a.example');
});

test('`loadConfig()` refuses a bad --mount with a message naming it', (t: TestContext) => {
  const cases: Array<[string[], string]> = [
    [
      ['--mount', 'api=api:app'],
      'Invalid value for --mount: "api=api:app" has a prefix that does not start with "/"',
    ],
    [
      ['--mount', '/api'],
      'Invalid value for --mount: "/api" is not PREFIX=APP (write PREFIX=APP, e.g. /api=api.wsgi:app)',
    ],
    [
      ['--mount', '/api='],
      'Invalid value for --mount: "/api=" is not an app (write module:callable)',
    ],
    [
      ['--mount', '/a/../b=x:app'],
      'Invalid value for --mount: "/a/../b=x:app" has a prefix with an empty, "." or ".." segment',
    ],
    [
      ['--mount', '/a?b=x:app'],
      'Invalid value for --mount: "/a?b=x:app" has a prefix with a "?", "#", "%", "\\", "=" or a space',
    ],
    [
      ['--mount', '/api=a:app', '--mount', '/api/=b:app'],
      'Invalid value for --mount: ["/api=a:app","/api=b:app"] mounts two apps at /api',
    ],
  ];
  t.plan(cases.length);
  for (const [argv, message] of cases) {
    t.assert.throws(() => loadConfig({ argv, env: {} }), invalid(message), argv.join(' '));
  }
});

test('`loadConfig()` refuses a bad --vhost with a message naming it', (t: TestContext) => {
  const cases: Array<[string[], string]> = [
    [
      ['--vhost', 'example.org:80=x:app'],
      'Invalid value for --vhost: "example.org:80=x:app" has a host with a port (a vhost matches the host alone)',
    ],
    [
      ['--vhost', 'a*.example.org=x:app'],
      'Invalid value for --vhost: "a*.example.org=x:app" has an invalid host (write example.org, *.example.org for its subdomains, or * for the default)',
    ],
    [
      ['--vhost', 'example.org=a:app', '--vhost', 'EXAMPLE.org=b:app'],
      'Invalid value for --vhost: ["example.org=a:app","example.org=b:app"] names the host example.org twice',
    ],
  ];
  t.plan(cases.length);
  for (const [argv, message] of cases) {
    t.assert.throws(() => loadConfig({ argv, env: {} }), invalid(message), argv.join(' '));
  }
});

test('`loadConfig()` reads a table per app from the config file, in the units of each setting', (t: TestContext) => {
  t.plan(2);
  const { cwd, load } = withFile(
    t,
    `[mount."/api"]
app = "api.wsgi:app"
workers = 2
threads = 4
timeout = "1m"
max-rss = "512m"
chdir = "api"

[mount]
"/" = "site.wsgi:application"
`,
  );
  const config = load();
  t.assert.deepStrictEqual(config.mount[0], {
    key: '/api',
    app: 'api.wsgi:app',
    settings: {
      workers: 2,
      threads: 4,
      timeout: 60,
      maxRss: 512 * 1024 ** 2,
      chdir: join(cwd, 'api'),
    },
  });
  t.assert.deepStrictEqual(config.mount[1], {
    key: '/',
    app: 'site.wsgi:application',
    settings: {},
  });
});

test('`loadConfig()` refuses an app table with a bad, unknown or server-wide setting', (t: TestContext) => {
  const cases: Array<[string, string]> = [
    [
      '[mount."/api"]\napp = "a:app"\nworkers = "many"\n',
      'Invalid value for mount in cask.toml: "many" is not an integer (workers of the app at /api)',
    ],
    [
      '[mount."/api"]\napp = "a:app"\nwrokers = 2\n',
      'Invalid value for mount in cask.toml: {"app":"a:app","wrokers":2} has an unknown key "wrokers" (in the app at /api) (did you mean "workers"?)',
    ],
    [
      '[mount."/api"]\napp = "a:app"\nbind = "0.0.0.0:80"\n',
      'Invalid value for mount in cask.toml: {"app":"a:app","bind":"0.0.0.0:80"} sets "bind" (in the app at /api): it applies to the whole server, not to one app',
    ],
    [
      '[mount."/api"]\napp = "a:app"\nroot-path = "/x"\n',
      'Invalid value for mount in cask.toml: {"app":"a:app","root-path":"/x"} sets "root-path" (in the app at /api): a mount\'s prefix is its SCRIPT_NAME',
    ],
    [
      '[mount."/api"]\nworkers = 2\n',
      'Invalid value for mount in cask.toml: {"workers":2} has no app (in the app at /api): write app = "module:callable"',
    ],
    [
      '[vhost."example.org"]\napp = "a:app"\ntimeout = "soon"\n',
      'Invalid value for vhost in cask.toml: "soon" is not a duration (write 30, 30s, 500ms or 2m) (timeout of the app of example.org)',
    ],
    [
      '[mount]\n"api" = "a:app"\n',
      'Invalid value for mount in cask.toml: "api" has a prefix that does not start with "/"',
    ],
  ];
  t.plan(cases.length);
  for (const [toml, message] of cases) {
    const { load } = withFile(t, toml);
    t.assert.throws(load, invalid(message), toml);
  }
});

test('`renderConfigToml()` prints apps and their own settings so that they load back', (t: TestContext) => {
  t.plan(2);
  const { cwd, load } = withFile(
    t,
    `workers = 3
[mount."/api"]
app = "api:app"
threads = 4
max-rss = "1g"
[mount."/"]
app = "site:app"
`,
  );
  const config = load();
  writeFileSync(join(cwd, 'printed.toml'), renderConfigToml(config));
  const again = loadConfig({ argv: ['--config', 'printed.toml'], env: {}, cwd });
  t.assert.deepStrictEqual(again.mount, config.mount);
  t.assert.strictEqual(again.workers, 3);
});

test('`resolveApps()` gives each app the server settings with its own on top', (t: TestContext) => {
  t.plan(4);
  const { load } = withFile(
    t,
    `workers = 3
timeout = "10s"
[mount."/api"]
app = "api:app"
workers = 1
[mount]
"/" = "site:app"
`,
  );
  const [api, site] = resolveApps(load());
  t.assert.deepStrictEqual(
    [api?.config.app, api?.config.workers, api?.config.timeout, api?.config.rootPath],
    ['api:app', 1, 10, '/api'],
  );
  t.assert.deepStrictEqual(
    [site?.config.app, site?.config.workers, site?.config.rootPath],
    ['site:app', 3, ''],
  );
  t.assert.deepStrictEqual(api?.route, { kind: 'mount', prefix: '/api' });
  t.assert.strictEqual(resolveApps(loadConfig({ argv: ['x:app'], env: {} })).length, 1);
});

test('`resolveApps()` refuses settings that contradict several apps', (t: TestContext) => {
  const cases: Array<[string[], string]> = [
    [
      ['x:app', '--mount', '/api=a:app'],
      'Conflicting values for APP: "x:app" and --mount/--vhost (mount it too, --mount /=x:app, or make it the default host, --vhost \'*=x:app\')',
    ],
    [
      ['--root-path', '/p', '--mount', '/api=a:app'],
      'Conflicting values for --root-path: "/p" and --mount (a mount\'s prefix is its SCRIPT_NAME)',
    ],
    [
      ['--vhost', '*=a:app', '--mount', '/api=a:app'],
      "Conflicting values for --vhost: '*' and --mount (the mounts take every host no vhost names)",
    ],
  ];
  t.plan(cases.length);
  for (const [argv, message] of cases) {
    t.assert.throws(
      () => resolveApps(loadConfig({ argv, env: {} })),
      invalid(message),
      argv.join(' '),
    );
  }
});
