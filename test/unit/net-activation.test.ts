// Systemd socket activation's variables (src/net/activation.ts) and the socket ownership
// options (--umask, --user, --group), without sockets.
import { test, type TestContext } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { describeActivated, forgetActivation, parseActivation } from '../../src/net/activation.js';
import { umaskValue } from '../../src/net/owner.js';

const invalid = (message: string) => ({
  name: 'ConfigError',
  code: 'CASK_CONFIG_INVALID',
  message,
});

test('`parseActivation()` returns the sockets from fd 3 on, the protocol from each name', (t: TestContext) => {
  t.plan(1);
  const env = {
    LISTEN_PID: '42',
    LISTEN_FDS: '3',
    LISTEN_FDNAMES: 'myproject.socket:uwsgi:FastCGI',
  };
  t.assert.deepStrictEqual(parseActivation(env, 42), [
    { fd: 3, name: 'myproject.socket' },
    { fd: 4, name: 'uwsgi', protocol: 'uwsgi' },
    { fd: 5, name: 'FastCGI', protocol: 'fastcgi' },
  ]);
});

test('`parseActivation()` takes sockets without names as HTTP', (t: TestContext) => {
  t.plan(1);
  t.assert.deepStrictEqual(parseActivation({ LISTEN_PID: '7', LISTEN_FDS: '2' }, 7), [
    { fd: 3, name: '' },
    { fd: 4, name: '' },
  ]);
});

test('`parseActivation()` ignores variables meant for another process, or none', (t: TestContext) => {
  t.plan(3);
  t.assert.strictEqual(parseActivation({ LISTEN_PID: '41', LISTEN_FDS: '1' }, 42), undefined);
  t.assert.strictEqual(parseActivation({ LISTEN_FDS: '1' }, 42), undefined);
  t.assert.strictEqual(parseActivation({}, 42), undefined);
});

test('`parseActivation()` refuses malformed variables meant for this process', (t: TestContext) => {
  t.plan(3);
  t.assert.throws(
    () => parseActivation({ LISTEN_PID: '42', LISTEN_FDS: 'two' }, 42),
    invalid('Invalid value for LISTEN_FDS: "two" is not a number of sockets'),
  );
  t.assert.throws(
    () => parseActivation({ LISTEN_PID: '42', LISTEN_FDS: '0' }, 42),
    invalid('Invalid value for LISTEN_FDS: "0" is not a number of sockets'),
  );
  t.assert.throws(
    () => parseActivation({ LISTEN_PID: '42', LISTEN_FDS: '2', LISTEN_FDNAMES: 'http' }, 42),
    invalid('Invalid value for LISTEN_FDNAMES: "http" names 1 socket(s) for LISTEN_FDS=2'),
  );
});

test('`forgetActivation()` removes the three variables and nothing else', (t: TestContext) => {
  t.plan(1);
  const env: Record<string, string | undefined> = {
    LISTEN_PID: '1',
    LISTEN_FDS: '1',
    LISTEN_FDNAMES: 'x',
    PATH: '/bin',
  };
  forgetActivation(env);
  t.assert.deepStrictEqual(env, { PATH: '/bin' });
});

test('`describeActivated()` names the descriptor and its name', (t: TestContext) => {
  t.plan(2);
  t.assert.strictEqual(describeActivated({ fd: 3, name: 'http' }), 'fd 3 "http" from systemd');
  t.assert.strictEqual(describeActivated({ fd: 4, name: '' }), 'fd 4 from systemd');
});

test('`loadConfig()` reads --umask as octal and --user/--group as names or ids', (t: TestContext) => {
  t.plan(5);
  const config = loadConfig({
    argv: ['--umask', '0o007', '--user', 'www-data', '--group', '33'],
    env: {},
  });
  t.assert.deepStrictEqual([config.umask, config.user, config.group], ['0o007', 'www-data', '33']);
  t.assert.strictEqual(umaskValue(config.umask), 0o007);
  t.assert.strictEqual(umaskValue('027'), 0o027);
  t.assert.strictEqual(umaskValue(''), undefined);
  t.assert.strictEqual(loadConfig({ env: { CASK_UMASK: '22' } }).umask, '22');
});

test('`loadConfig()` refuses a umask that is not octal and a user that is not a name', (t: TestContext) => {
  t.plan(3);
  t.assert.throws(
    () => loadConfig({ argv: ['--umask', '089'], env: {} }),
    invalid('Invalid value for --umask: "089" is not an octal umask (write 022, 027 or 0o007)'),
  );
  t.assert.throws(
    () => loadConfig({ argv: ['--umask', '0o1777'], env: {} }),
    invalid('Invalid value for --umask: "0o1777" is not an octal umask (write 022, 027 or 0o007)'),
  );
  t.assert.throws(
    () => loadConfig({ argv: ['--user', 'www data'], env: {} }),
    invalid('Invalid value for --user: "www data" is not a user or group name, or a number'),
  );
});
