// `--bind` values: every accepted form parses into the discriminated union, every refused one
// says why.
import { test, type TestContext } from 'node:test';
import { formatBind, loadConfig, parseBind, type BindAddress } from '../../src/config/index.js';

test('`parseBind()` reads host:port, hostname:port, [IPv6]:port and unix:path', (t: TestContext) => {
  const cases: [string, BindAddress][] = [
    ['127.0.0.1:8000', { kind: 'tcp', host: '127.0.0.1', port: 8000 }],
    ['0.0.0.0:80', { kind: 'tcp', host: '0.0.0.0', port: 80 }],
    ['localhost:0', { kind: 'tcp', host: 'localhost', port: 0 }],
    ['app.internal.example:65535', { kind: 'tcp', host: 'app.internal.example', port: 65535 }],
    ['[::1]:8000', { kind: 'tcp', host: '::1', port: 8000 }],
    ['[::]:443', { kind: 'tcp', host: '::', port: 443 }],
    ['[fe80::1%eth0]:8000', { kind: 'tcp', host: 'fe80::1%eth0', port: 8000 }],
    ['unix:/run/cask.sock', { kind: 'unix', path: '/run/cask.sock' }],
    ['unix:cask.sock', { kind: 'unix', path: 'cask.sock' }],
  ];
  t.plan(cases.length);
  for (const [text, expected] of cases) t.assert.deepStrictEqual(parseBind(text), expected, text);
});

test('`parseBind()` resolves a relative socket path against the base directory it is given', (t: TestContext) => {
  t.plan(1);
  t.assert.deepStrictEqual(parseBind('unix:run/cask.sock', '/srv/app'), {
    kind: 'unix',
    path: '/srv/app/run/cask.sock',
  });
});

test('`parseBind()` refuses an address without a host instead of guessing the interface', (t: TestContext) => {
  t.plan(1);
  t.assert.throws(() => parseBind(':8000'), {
    name: 'InvalidValue',
    reason:
      'has no host (write 0.0.0.0:PORT for every interface or 127.0.0.1:PORT for this machine)',
  });
});

test('`parseBind()` refuses malformed addresses with the reason', (t: TestContext) => {
  const cases: [string, RegExp][] = [
    ['localhost', /^has no port/],
    ['[::1]', /^has no port/],
    ['127.0.0.1:', /^has no port/],
    ['127.0.0.1:65536', /^has an invalid port/],
    ['127.0.0.1:http', /^has an invalid port/],
    ['127.0.0.1:-1', /^has an invalid port/],
    ['::1:8000', /^is an IPv6 address without brackets/],
    ['[::1:8000', /^has no closing bracket/],
    ['[nope]:80', /^is not a valid IPv6 address/],
    ['[::1]8000', /^is not an address/],
    ['300.1.1.1:80', /^has an invalid host/],
    ['my_host:80', /^has an invalid host/],
    ['*:80', /^has an invalid host/],
    ['http://127.0.0.1:8000', /^is a URL, not an address/],
    ['unix:', /^has no socket path/],
  ];
  t.plan(cases.length);
  for (const [text, reason] of cases) {
    t.assert.throws(() => parseBind(text), { name: 'InvalidValue', reason }, text);
  }
});

test('`parseBind()` reads the uwsgi, SCGI and FastCGI forms, TCP and Unix', (t: TestContext) => {
  const cases: [string, BindAddress][] = [
    ['uwsgi://127.0.0.1:8001', { kind: 'tcp', host: '127.0.0.1', port: 8001, protocol: 'uwsgi' }],
    ['scgi://[::1]:4000', { kind: 'tcp', host: '::1', port: 4000, protocol: 'scgi' }],
    [
      'fastcgi://localhost:9000',
      { kind: 'tcp', host: 'localhost', port: 9000, protocol: 'fastcgi' },
    ],
    ['UWSGI://127.0.0.1:0', { kind: 'tcp', host: '127.0.0.1', port: 0, protocol: 'uwsgi' }],
    ['uwsgi:unix:/run/cask.sock', { kind: 'unix', path: '/run/cask.sock', protocol: 'uwsgi' }],
    ['fastcgi:unix:cask.sock', { kind: 'unix', path: 'cask.sock', protocol: 'fastcgi' }],
  ];
  t.plan(cases.length + 1);
  for (const [text, expected] of cases) t.assert.deepStrictEqual(parseBind(text), expected, text);
  t.assert.deepStrictEqual(parseBind('scgi:unix:run/s.sock', '/srv/app'), {
    kind: 'unix',
    path: '/srv/app/run/s.sock',
    protocol: 'scgi',
  });
});

test('`parseBind()` refuses malformed web-server addresses with the reason', (t: TestContext) => {
  const cases: [string, RegExp][] = [
    ['uwsgi://', /^has no host \(/],
    ['uwsgi://127.0.0.1', /^has no port \(write uwsgi:\/\/HOST:PORT or uwsgi:unix:PATH\)/],
    ['scgi://127.0.0.1:99999', /^has an invalid port/],
    [
      'fastcgi://127.0.0.1:9000/app',
      /^has a path after the address \(write fastcgi:\/\/HOST:PORT\)/,
    ],
    ['uwsgi://unix:/run/s.sock', /^writes a Unix socket as a URL \(write uwsgi:unix:PATH\)/],
    ['uwsgi:unix:', /^has no socket path \(write uwsgi:\/\/HOST:PORT or uwsgi:unix:PATH\)/],
    ['uwsgi:8000', /^is not an address \(write uwsgi:\/\/HOST:PORT or uwsgi:unix:PATH\)/],
    ['scgi://::1:4000', /^is an IPv6 address without brackets/],
    [
      'fcgi://127.0.0.1:9000',
      /^names an unknown protocol "fcgi" \(write uwsgi:\/\/, scgi:\/\/ or fastcgi:\/\//,
    ],
  ];
  t.plan(cases.length);
  for (const [text, reason] of cases) {
    t.assert.throws(() => parseBind(text), { name: 'InvalidValue', reason }, text);
  }
});

test('`loadConfig()` refuses a web-server protocol for --admin-bind, which speaks HTTP', (t: TestContext) => {
  t.plan(1);
  t.assert.throws(
    () => loadConfig({ argv: ['--admin-bind', 'uwsgi://127.0.0.1:9'], env: {}, cwd: '/srv' }),
    {
      name: 'ConfigError',
      message:
        'Invalid value for --admin-bind: "uwsgi://127.0.0.1:9" is a uwsgi address, and this listener speaks HTTP (write HOST:PORT, [IPv6]:PORT or unix:PATH)',
    },
  );
});

test('`formatBind()` writes back what `parseBind()` reads', (t: TestContext) => {
  const forms = [
    '127.0.0.1:8000',
    '[::1]:0',
    'unix:/run/cask.sock',
    'localhost:9000',
    'uwsgi://127.0.0.1:8001',
    'scgi://[::1]:4000',
    'fastcgi://localhost:9000',
    'uwsgi:unix:/run/cask.sock',
    'fastcgi:unix:/run/f.sock',
  ];
  t.plan(forms.length);
  for (const text of forms) t.assert.strictEqual(formatBind(parseBind(text)), text);
});

test('`loadConfig()` binds 127.0.0.1:8000 by default and takes several `-b`', (t: TestContext) => {
  t.plan(2);
  t.assert.deepStrictEqual(loadConfig({ env: {}, cwd: '/srv' }).bind, [
    { kind: 'tcp', host: '127.0.0.1', port: 8000 },
  ]);
  t.assert.deepStrictEqual(
    loadConfig({ argv: ['-b', '[::1]:8000', '--bind', 'unix:s.sock'], env: {}, cwd: '/srv' }).bind,
    [
      { kind: 'tcp', host: '::1', port: 8000 },
      { kind: 'unix', path: '/srv/s.sock' },
    ],
  );
});

test('`loadConfig()` rejects `-b :8000` naming the flag and the value', (t: TestContext) => {
  t.plan(1);
  t.assert.throws(() => loadConfig({ argv: ['-b', ':8000'], env: {}, cwd: '/srv' }), {
    name: 'ConfigError',
    message:
      'Invalid value for --bind: ":8000" has no host (write 0.0.0.0:PORT for every interface or 127.0.0.1:PORT for this machine)',
  });
});
