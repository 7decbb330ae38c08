// The variables a web server sends, as the request every transport delivers (cgiRequest()) and
// then as the environ the app sees (buildEnviron() with `RequestInfo.cgi`): the web server's
// own view (PATH_INFO, SCRIPT_NAME, SERVER_NAME, HTTPS, …) used as it is, and the HTTP
// listener's limits.

import { readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { cgiRequest } from '../../src/cgi/request.js';
import type { ParserLimits } from '../../src/http/parser.js';
import { buildEnviron, type EnvironContext } from '../../src/wsgi/environ.js';

const LIMITS: ParserLimits = {
  maxRequestLine: 4094,
  maxHeaderCount: 100,
  maxHeaderFieldSize: 8190,
  maxBodySize: 1024 * 1024,
};

const CTX: EnvironContext = {
  scheme: 'http',
  serverName: '127.0.0.1',
  serverPort: '8001',
  remoteAddr: '10.0.0.9',
  remotePort: '4444',
  rootPath: '',
  trustForwarded: false,
  isTrustedProxy: () => false,
};

/** The variables of the first request of a vector file, as nginx sent them. */
function nginxParams(protocol: string): string[] {
  const file = JSON.parse(
    readFileSync(new URL(`../fixtures/proto-vectors/${protocol}.json`, import.meta.url), 'utf8'),
  ) as { requests: Array<{ events: Array<{ params?: [string, string][] }> }> };
  return (file.requests[0]?.events[0]?.params ?? []).flat();
}

function environ(params: string[], ctx: Partial<EnvironContext> = {}): Map<string, string> {
  const { request, remoteAddr, remotePort } = cgiRequest(params, LIMITS);
  const pairs = buildEnviron(request, -1, {
    ...CTX,
    remoteAddr: remoteAddr ?? CTX.remoteAddr,
    remotePort: remotePort ?? CTX.remotePort,
    ...ctx,
  });
  const env = new Map<string, string>();
  for (let i = 0; i < pairs.length; i += 2) env.set(pairs[i] as string, pairs[i + 1] as string);
  return env;
}

const BASE = ['REQUEST_METHOD', 'GET', 'REQUEST_URI', '/app/x?q=1', 'SERVER_PROTOCOL', 'HTTP/1.1'];

test('`cgiRequest()` reads what nginx sends over uwsgi into a method, a target and headers', (t: TestContext) => {
  t.plan(6);
  const { request, remoteAddr, remotePort } = cgiRequest(nginxParams('uwsgi'), LIMITS);
  t.assert.strictEqual(request.method, 'GET');
  t.assert.strictEqual(request.target, '/u/caf%C3%A9?a=1&b=%20');
  t.assert.strictEqual(request.protocol, 'HTTP/1.1');
  t.assert.deepStrictEqual(request.headers, [
    'Host', '127.0.0.1', 'User-Agent', 'curl/7.88.1', 'Accept', '*/*', 'X-Test', 'v', 'Cookie', 'a=1', 'Cookie', 'b=2',
  ]); // prettier-ignore
  t.assert.deepStrictEqual(
    [request.host, request.contentLength, request.chunked],
    ['127.0.0.1', -1, false],
  );
  t.assert.deepStrictEqual([remoteAddr, remotePort?.length], ['127.0.0.1', 5]);
});

test("`buildEnviron()` uses the web server's PATH_INFO, QUERY_STRING, SERVER_NAME and SERVER_PORT as they are", (t: TestContext) => {
  t.plan(8);
  const env = environ(nginxParams('uwsgi'));
  t.assert.strictEqual(env.get('PATH_INFO'), '/u/caf\u00c3\u00a9');
  t.assert.strictEqual(env.get('QUERY_STRING'), 'a=1&b=%20');
  t.assert.strictEqual(env.get('SERVER_NAME'), 'example.test');
  t.assert.strictEqual(env.get('SERVER_PORT'), '19000');
  t.assert.strictEqual(env.get('REMOTE_ADDR'), '127.0.0.1');
  t.assert.strictEqual(env.get('HTTP_COOKIE'), 'a=1; b=2');
  t.assert.strictEqual(env.get('DOCUMENT_ROOT'), '/tmp/cap/html');
  t.assert.strictEqual(env.get('wsgi.url_scheme'), 'http');
});

test('`buildEnviron()` takes HTTPS=on for wsgi.url_scheme and keeps HTTPS', (t: TestContext) => {
  t.plan(4);
  for (const value of ['on', 'ON']) {
    const env = environ([...BASE, 'HTTPS', value]);
    t.assert.strictEqual(env.get('wsgi.url_scheme'), 'https');
    t.assert.strictEqual(env.get('HTTPS'), value);
  }
});

test('`buildEnviron()` takes SCRIPT_NAME off the front of a PATH_INFO that still holds it', (t: TestContext) => {
  const cases: Array<[string[], string, string]> = [
    [['SCRIPT_NAME', '/app', 'PATH_INFO', '/app/x'], '/app', '/x'],
    [['SCRIPT_NAME', '/app/', 'PATH_INFO', '/app/x'], '/app', '/x'],
    [['SCRIPT_NAME', '/app', 'PATH_INFO', '/x'], '/app', '/x'],
    [['SCRIPT_NAME', '/app'], '/app', '/x'],
    [['SCRIPT_NAME', '/app', 'PATH_INFO', '/app'], '/app', ''],
    [['SCRIPT_NAME', '/ap', 'PATH_INFO', '/app/x'], '/ap', '/app/x'],
  ];
  t.plan(cases.length * 2);
  for (const [given, script, path] of cases) {
    const env = environ([...BASE, ...given]);
    t.assert.strictEqual(env.get('SCRIPT_NAME'), script, given.join(' '));
    t.assert.strictEqual(env.get('PATH_INFO'), path, given.join(' '));
  }
});

test('`buildEnviron()` applies --root-path when the web server sends no SCRIPT_NAME or an empty one', (t: TestContext) => {
  t.plan(4);
  for (const given of [[], ['SCRIPT_NAME', '']]) {
    const env = environ([...BASE, ...given], { rootPath: '/app' });
    t.assert.strictEqual(env.get('SCRIPT_NAME'), '/app');
    t.assert.strictEqual(env.get('PATH_INFO'), '/x');
  }
});

test("`cgiRequest()` flags nginx's stock fastcgi_params, whose SCRIPT_NAME is the whole path", (t: TestContext) => {
  t.plan(4);
  const stock = cgiRequest(nginxParams('fastcgi'), LIMITS);
  t.assert.strictEqual(stock.scriptIsWholePath, true);
  const env = environ(nginxParams('fastcgi'));
  t.assert.deepStrictEqual(
    [env.get('SCRIPT_NAME'), env.get('PATH_INFO')],
    ['/f/caf\u00c3\u00a9', ''],
  );
  const fixed = [...nginxParams('fastcgi'), 'SCRIPT_NAME', ''];
  t.assert.strictEqual(cgiRequest(fixed, LIMITS).scriptIsWholePath, false);
  const fixedEnv = environ(fixed);
  t.assert.deepStrictEqual(
    [fixedEnv.get('SCRIPT_NAME'), fixedEnv.get('PATH_INFO')],
    ['', '/f/caf\u00c3\u00a9'],
  );
});

test("`cgiRequest()` drops the client's framing headers and takes Content-Type from CONTENT_TYPE", (t: TestContext) => {
  t.plan(2);
  const { request } = cgiRequest(
    [
      ...BASE,
      'CONTENT_LENGTH', '8',
      'CONTENT_TYPE', 'text/plain',
      'HTTP_TRANSFER_ENCODING', 'chunked',
      'HTTP_CONTENT_TYPE', 'text/plain',
      'HTTP_CONTENT_LENGTH', '99',
      'SCGI', '1',
    ],
    LIMITS,
  ); // prettier-ignore
  t.assert.deepStrictEqual(request.headers, ['Content-Type', 'text/plain']);
  t.assert.strictEqual(request.contentLength, 8);
});

test('`cgiRequest()` builds a target from SCRIPT_NAME, PATH_INFO and QUERY_STRING when REQUEST_URI is missing', (t: TestContext) => {
  t.plan(2);
  const params = [
    'REQUEST_METHOD',
    'GET',
    'SCRIPT_NAME',
    '/a',
    'PATH_INFO',
    '/b c\u00e9',
    'QUERY_STRING',
    'x=1',
  ];
  t.assert.strictEqual(cgiRequest(params, LIMITS).request.target, '/a/b%20c%E9?x=1');
  t.assert.strictEqual(cgiRequest(['REQUEST_METHOD', 'GET'], LIMITS).request.target, '/');
});

test('`cgiRequest()` honours X-Forwarded-For only from a client in forwarded-allow-ips', (t: TestContext) => {
  t.plan(2);
  const params = [...BASE, 'REMOTE_ADDR', '10.0.0.1', 'HTTP_X_FORWARDED_FOR', '203.0.113.7'];
  t.assert.strictEqual(environ(params).get('REMOTE_ADDR'), '10.0.0.1');
  t.assert.strictEqual(environ(params, { trustForwarded: true }).get('REMOTE_ADDR'), '203.0.113.7');
});

test("`cgiRequest()` applies the HTTP listener's limits: 414, 431, 413", (t: TestContext) => {
  const cases: Array<[string[], Partial<ParserLimits>, string]> = [
    [
      ['REQUEST_METHOD', 'GET', 'REQUEST_URI', `/${'a'.repeat(100)}`],
      { maxRequestLine: 64 },
      'CASK_HTTP_URI_TOO_LONG',
    ],
    [
      [...BASE, 'HTTP_A', '1', 'HTTP_B', '2', 'HTTP_C', '3'],
      { maxHeaderCount: 2 },
      'CASK_HTTP_HEADERS_TOO_LARGE',
    ],
    [
      [...BASE, 'HTTP_X_BIG', 'v'.repeat(100)],
      { maxHeaderFieldSize: 64 },
      'CASK_HTTP_HEADERS_TOO_LARGE',
    ],
    [[...BASE, 'CONTENT_LENGTH', '2000'], { maxBodySize: 1000 }, 'CASK_HTTP_BODY_TOO_LARGE'],
  ];
  t.plan(cases.length);
  for (const [params, limits, code] of cases) {
    t.assert.throws(() => cgiRequest(params, { ...LIMITS, ...limits }), { code }, code);
  }
});

test('`cgiRequest()` refuses variables that make no request', (t: TestContext) => {
  const cases: string[][] = [
    ['REQUEST_URI', '/'],
    ['REQUEST_METHOD', 'G T', 'REQUEST_URI', '/'],
    ['REQUEST_METHOD', 'GET', 'REQUEST_URI', '/a b'],
    ['REQUEST_METHOD', 'GET', 'REQUEST_URI', 'http://x/'],
    ['REQUEST_METHOD', 'GET', 'REQUEST_URI', '/', 'CONTENT_LENGTH', '-1'],
    ['REQUEST_METHOD', 'GET', 'REQUEST_URI', '/', 'HTTP_X', 'a\0b'],
  ];
  t.plan(cases.length);
  for (const params of cases) {
    t.assert.throws(
      () => cgiRequest(params, LIMITS),
      { code: 'CASK_CGI_PROTOCOL' },
      params.join(' '),
    );
  }
});
