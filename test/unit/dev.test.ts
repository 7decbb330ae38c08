// The pure parts of `cask dev`: its defaults, the short access-log line, who may see an error
// page, and the globs of --reload-include / --reload-exclude.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { errorPageAudience, hostName, isLoopbackAddress } from '../../src/dev/hosts.js';
import { globMatcher } from '../../src/dev/watch.js';
import { wantsScript } from '../../src/dev/browser.js';
import { browserUrl, openerCommand } from '../../src/dev/open.js';
import { formatDevAccess, wantsColor, type AccessRecord } from '../../src/log.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cask-dev-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('`loadConfig()` with the dev profile: one worker with threads, the dev log, reload on', (t: TestContext) => {
  t.plan(7);
  const config = loadConfig({ env: { WEB_CONCURRENCY: '4' }, cwd: tempDir(t), profile: 'dev' });
  t.assert.strictEqual(config.workers, 1, 'WEB_CONCURRENCY is a production setting');
  t.assert.strictEqual(config.threads, 8);
  t.assert.strictEqual(config.accessLog, '-');
  t.assert.strictEqual(config.accessLogFormat, 'dev');
  t.assert.strictEqual(config.reload, true);
  t.assert.strictEqual(config.gracefulTimeout, 3);
  t.assert.match(config.app, /examples\/hello_app\.py:application$/);
});

test('`loadConfig()` with the dev profile: flags, env and the config file still win', (t: TestContext) => {
  t.plan(4);
  const cwd = tempDir(t);
  writeFileSync(join(cwd, 'cask.toml'), 'threads = 2\n');
  const config = loadConfig({
    argv: ['--no-reload', '-w', '3'],
    env: { CASK_ACCESS_LOG_FORMAT: 'common' },
    cwd,
    profile: 'dev',
  });
  t.assert.strictEqual(config.reload, false);
  t.assert.strictEqual(config.workers, 3);
  t.assert.strictEqual(config.accessLogFormat, 'common');
  t.assert.strictEqual(config.threads, 2);
});

test('`loadConfig()` without a profile keeps the production defaults', (t: TestContext) => {
  t.plan(3);
  const config = loadConfig({ env: {}, cwd: tempDir(t) });
  t.assert.strictEqual(config.reload, false);
  t.assert.strictEqual(config.threads, 1);
  t.assert.strictEqual(config.accessLog, null);
});

test('`loadConfig()` refuses a --dev-allowed-hosts entry with a port', (t: TestContext) => {
  t.plan(1);
  t.assert.throws(
    () => loadConfig({ argv: ['--dev-allowed-hosts', 'devbox:8000'], env: {}, cwd: tempDir(t) }),
    /Invalid value for --dev-allowed-hosts: "devbox:8000" is not a host name or address/,
  );
});

const record: AccessRecord = {
  remoteAddr: '127.0.0.1',
  method: 'GET',
  target: '/a?b=1',
  protocol: 'HTTP/1.1',
  status: 404,
  bytes: 2048,
  referer: '',
  userAgent: '',
};

test('`formatDevAccess()` writes time, status, method, target and size', (t: TestContext) => {
  t.plan(2);
  const at = new Date(2026, 0, 2, 3, 4, 5);
  t.assert.strictEqual(formatDevAccess(record, at), '03:04:05 404 GET /a?b=1 2.0 KB');
  t.assert.strictEqual(
    formatDevAccess({ ...record, status: 500, bytes: 0 }, at, true),
    '\x1b[2m03:04:05\x1b[0m \x1b[31m500\x1b[0m GET /a?b=1 -',
  );
});

test('`wantsColor()` follows the terminal, NO_COLOR and FORCE_COLOR', (t: TestContext) => {
  t.plan(4);
  t.assert.strictEqual(wantsColor({ isTTY: true } as unknown as NodeJS.WritableStream, {}), true);
  t.assert.strictEqual(wantsColor({} as NodeJS.WritableStream, {}), false);
  t.assert.strictEqual(
    wantsColor({ isTTY: true } as unknown as NodeJS.WritableStream, { NO_COLOR: '1' }),
    false,
  );
  t.assert.strictEqual(wantsColor({} as NodeJS.WritableStream, { FORCE_COLOR: '1' }), true);
});

test('`hostName()` drops the port and the case', (t: TestContext) => {
  t.plan(4);
  t.assert.strictEqual(hostName('LocalHost:8000'), 'localhost');
  t.assert.strictEqual(hostName('[::1]:8000'), '[::1]');
  t.assert.strictEqual(hostName('127.0.0.1'), '127.0.0.1');
  t.assert.strictEqual(hostName(''), '');
});

test('`isLoopbackAddress()` takes 127/8, ::1, mapped IPv4 and Unix sockets only', (t: TestContext) => {
  t.plan(6);
  for (const address of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', ''])
    t.assert.ok(isLoopbackAddress(address), address);
  t.assert.ok(!isLoopbackAddress('192.168.1.5'));
});

test('`errorPageAudience()` needs a loopback Host from a loopback client, or an allowed host', (t: TestContext) => {
  const may = errorPageAudience(['devbox.test']);
  const ask = (host: string, remoteAddr: string): boolean =>
    may({ request: { host } as never, remoteAddr });
  const cases: Array<[string, string, boolean]> = [
    ['localhost:8000', '127.0.0.1', true],
    ['127.0.0.1:8000', '::ffff:127.0.0.1', true],
    ['[::1]:8000', '::1', true],
    ['localhost', '10.0.0.7', false], // Host: localhost from the network
    ['evil.example', '127.0.0.1', false], // DNS rebinding
    ['localhost.evil.example', '127.0.0.1', false],
    ['', '127.0.0.1', false],
    ['devbox.test:8000', '10.0.0.7', true],
    ['DEVBOX.TEST', '192.168.0.2', true],
  ];
  t.plan(cases.length);
  for (const [host, remote, expected] of cases)
    t.assert.strictEqual(ask(host, remote), expected, `${host} from ${remote}`);
});

test('`globMatcher()` matches names in any folder without a slash, paths with one', (t: TestContext) => {
  const match = globMatcher(['*.html', 'config/*.toml', 'templates/**']);
  const cases: Array<[string, boolean]> = [
    ['index.html', true],
    ['a/b/page.html', true],
    ['config/app.toml', true],
    ['other/config/app.toml', false],
    ['templates/x/y.txt', true],
    ['app.py', false],
  ];
  t.plan(cases.length + 1);
  for (const [path, expected] of cases) t.assert.strictEqual(match(path), expected, path);
  t.assert.strictEqual(globMatcher([])('anything'), false);
});

test('`wantsScript()` takes HTML responses only, never compressed or bodiless ones', (t: TestContext) => {
  const html = ['Content-Type', 'text/html; charset=utf-8'];
  const cases: Array<[string, string[], boolean]> = [
    ['200 OK', html, true],
    ['404 Not Found', ['content-type', 'TEXT/HTML'], true],
    ['200 OK', ['Content-Type', 'text/plain'], false],
    ['200 OK', ['Content-Type', 'application/xhtml+xml'], false],
    ['200 OK', [...html, 'Content-Encoding', 'gzip'], false],
    ['204 No Content', html, false],
    ['304 Not Modified', html, false],
    ['200 OK', [], false],
  ];
  t.plan(cases.length);
  for (const [status, headers, expected] of cases)
    t.assert.strictEqual(wantsScript(status, headers), expected, `${status} ${headers.join(' ')}`);
});

test('`openerCommand()` uses $BROWSER, else the platform opener', (t: TestContext) => {
  t.plan(5);
  const url = 'http://localhost:8000/';
  t.assert.deepStrictEqual(openerCommand(url, {}, 'linux'), ['xdg-open', [url]]);
  t.assert.deepStrictEqual(openerCommand(url, {}, 'darwin'), ['open', [url]]);
  t.assert.deepStrictEqual(openerCommand(url, { BROWSER: 'firefox -new-tab' }, 'linux'), [
    'firefox',
    ['-new-tab', url],
  ]);
  t.assert.deepStrictEqual(openerCommand(url, { BROWSER: 'w3m %s -dump' }, 'linux'), [
    'w3m',
    [url, '-dump'],
  ]);
  t.assert.deepStrictEqual(openerCommand(url, { BROWSER: '' }, 'win32')[0], 'cmd');
});

test('`browserUrl()` opens the first HTTP listener on TCP, localhost for an any-address bind', (t: TestContext) => {
  t.plan(4);
  const tcp = (url: string, port = '8000') => ({
    url,
    info: { scheme: 'http' as const, serverName: '', serverPort: port },
  });
  t.assert.strictEqual(
    browserUrl([tcp('unix:/tmp/s', ''), tcp('http://127.0.0.1:8000')]),
    'http://127.0.0.1:8000/',
  );
  t.assert.strictEqual(browserUrl([tcp('http://0.0.0.0:9000')]), 'http://localhost:9000/');
  t.assert.strictEqual(browserUrl([tcp('unix:/tmp/s', '')]), undefined);
  t.assert.strictEqual(
    browserUrl([tcp('uwsgi://127.0.0.1:3031', '3031'), tcp('https://127.0.0.1:8443', '8443')]),
    'https://127.0.0.1:8443/',
  );
});
