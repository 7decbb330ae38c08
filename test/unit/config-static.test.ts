// The static files, X-Sendfile and compression settings: flags, env, the config file's table,
// and the errors that name the bad value.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadConfig, renderConfigToml } from '../../src/config/index.js';

function site(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cask-static-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'staticfiles'));
  mkdirSync(join(dir, 'media'));
  writeFileSync(join(dir, 'file.txt'), 'x');
  return dir;
}

const invalid = (message: string) => ({
  name: 'ConfigError',
  code: 'CASK_CONFIG_INVALID',
  message,
});

test('`loadConfig()` reads repeated --static mounts, relative to the working directory', (t: TestContext) => {
  t.plan(1);
  const dir = site(t);
  const config = loadConfig({
    argv: ['--static', '/static/=staticfiles', '--static', '/media=./media/'],
    env: {},
    cwd: dir,
  });
  t.assert.deepStrictEqual(config.static, [
    { prefix: '/static', dir: join(dir, 'staticfiles') },
    { prefix: '/media', dir: join(dir, 'media') },
  ]);
});

test('`loadConfig()` reads CASK_STATIC as a comma-separated list', (t: TestContext) => {
  t.plan(1);
  const dir = site(t);
  const config = loadConfig({
    argv: [],
    env: { CASK_STATIC: '/=staticfiles, /m=media' },
    cwd: dir,
  });
  t.assert.deepStrictEqual(
    config.static.map((m) => m.prefix),
    ['/', '/m'],
  );
});

test('`loadConfig()` reads [static] as a table, relative to the config file', (t: TestContext) => {
  t.plan(2);
  const dir = site(t);
  mkdirSync(join(dir, 'conf'));
  writeFileSync(
    join(dir, 'conf', 'cask.toml'),
    'compress = true\n[static]\n"/static" = "../staticfiles"\n"/media" = "../media"\n',
  );
  const config = loadConfig({ argv: ['--config', 'conf/cask.toml'], env: {}, cwd: dir });
  t.assert.deepStrictEqual(config.static, [
    { prefix: '/static', dir: join(dir, 'staticfiles') },
    { prefix: '/media', dir: join(dir, 'media') },
  ]);
  t.assert.strictEqual(config.compress, true);
});

test('`renderConfigToml()` prints mounts that load back', (t: TestContext) => {
  t.plan(1);
  const dir = site(t);
  const config = loadConfig({ argv: ['--static', '/static=staticfiles'], env: {}, cwd: dir });
  writeFileSync(join(dir, 'printed.toml'), renderConfigToml(config));
  const again = loadConfig({ argv: ['--config', 'printed.toml'], env: {}, cwd: dir });
  t.assert.deepStrictEqual(again.static, config.static);
});

const BAD: Array<[string[], string]> = [
  [
    ['--static', 'staticfiles'],
    'Invalid value for --static: "staticfiles" is not PREFIX=DIR (write /static=./staticfiles)',
  ],
  [
    ['--static', 'static=staticfiles'],
    'Invalid value for --static: "static=staticfiles" has a prefix that does not start with "/"',
  ],
  [
    ['--static', '/a/../b=staticfiles'],
    'Invalid value for --static: "/a/../b=staticfiles" has a prefix with an empty, "." or ".." segment',
  ],
  [
    ['--static', '/s?x=staticfiles'],
    'Invalid value for --static: "/s?x=staticfiles" has a prefix with a "?", "#", "%", "\\" or a space',
  ],
  [['--static', '/static='], 'Invalid value for --static: "/static=" has no directory after "="'],
  [
    ['--compress-types', 'html'],
    'Invalid value for --compress-types: "html" is not a media type (write text/html, text/* or application/*+json)',
  ],
  [
    ['--compress-min-size', 'big'],
    'Invalid value for --compress-min-size: "big" is not a size (write 1024, 64k, 10m or 1g)',
  ],
  [
    ['--static-max-age', '-1'],
    'Invalid value for --static-max-age: "-1" is not a duration (write 30, 30s, 500ms or 2m)',
  ],
];

for (const [argv, message] of BAD) {
  test(`\`loadConfig()\` refuses ${argv.join(' ')}`, (t: TestContext) => {
    t.plan(1);
    const dir = site(t);
    t.assert.throws(() => loadConfig({ argv, env: {}, cwd: dir }), invalid(message));
  });
}

test('`loadConfig()` refuses a --static or --sendfile-root directory that is missing or a file', (t: TestContext) => {
  t.plan(3);
  const dir = site(t);
  t.assert.throws(
    () => loadConfig({ argv: ['--static', '/s=nowhere'], env: {}, cwd: dir }),
    invalid(
      `Invalid value for --static: "/s=nowhere" names a directory that does not exist: ${join(dir, 'nowhere')}`,
    ),
  );
  t.assert.throws(
    () => loadConfig({ argv: ['--static', '/s=file.txt'], env: {}, cwd: dir }),
    invalid(
      `Invalid value for --static: "/s=file.txt" is not a directory: ${join(dir, 'file.txt')}`,
    ),
  );
  t.assert.throws(
    () => loadConfig({ argv: ['--sendfile-root', 'file.txt'], env: {}, cwd: dir }),
    invalid(
      `Invalid value for --sendfile-root: "file.txt" is not a directory: ${join(dir, 'file.txt')}`,
    ),
  );
});

test('`loadConfig()` gives the static and compression defaults', (t: TestContext) => {
  t.plan(7);
  const config = loadConfig({ argv: [], env: {}, cwd: site(t) });
  t.assert.deepStrictEqual(config.static, []);
  t.assert.strictEqual(config.staticFollowSymlinks, false);
  t.assert.strictEqual(config.staticMaxAge, 0);
  t.assert.strictEqual(config.staticImmutable, false);
  t.assert.strictEqual(config.sendfileRoot, null);
  t.assert.strictEqual(config.compress, false);
  t.assert.strictEqual(config.compressMinSize, 1024);
});
