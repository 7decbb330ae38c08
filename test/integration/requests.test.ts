// The validator-wrapped echo app driven through many request shapes over real sockets.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { APPS, startCask, type RunningCask } from '../helpers/cask.js';
import { exchange, get, type ParsedResponse } from '../helpers/http.js';

interface Echo {
  environ: Record<string, string>;
  flags: Record<string, boolean>;
  version: number[];
  body_latin1: string;
  body_length: number;
}

const echo = (r: ParsedResponse): Echo => {
  assert.equal(r.status, 200, `status ${r.status}: ${r.body.toString()}`);
  return JSON.parse(r.body.toString('utf8')) as Echo;
};

describe('echo app behind cask', () => {
  let server: RunningCask;
  before(async () => {
    server = await startCask([
      'echo:application', '--chdir', APPS, '-w', '2', '--threads', '4',
      '--body-memory-limit', '64k', '--max-body-size', '2m', '--limit-request-line', '200',
      '--limit-request-fields', '20', '--limit-request-field-size', '300',
    ]); // prettier-ignore
  });
  after(() => server.stop());

  test('a GET reaches the app with every PEP 3333 environ key', async () => {
    const r = await get(server.port, '/a/b?x=1&y=%20z', { Host: 'example.test:8080' });
    const { environ, flags, version } = echo(r);
    assert.equal(environ.REQUEST_METHOD, 'GET');
    assert.equal(environ.SCRIPT_NAME, '');
    assert.equal(environ.PATH_INFO, '/a/b');
    assert.equal(environ.QUERY_STRING, 'x=1&y=%20z');
    assert.equal(environ.SERVER_NAME, 'example.test');
    assert.equal(environ.SERVER_PORT, '8080');
    assert.equal(environ.SERVER_PROTOCOL, 'HTTP/1.1');
    assert.equal(environ.REMOTE_ADDR, '127.0.0.1');
    assert.match(environ.REMOTE_PORT ?? '', /^\d+$/);
    assert.equal(environ.HTTP_HOST, 'example.test:8080');
    assert.equal(environ['wsgi.url_scheme'], 'http');
    assert.equal(environ.CONTENT_LENGTH, undefined);
    assert.deepEqual(version, [1, 0]);
    assert.deepEqual(flags, {
      'wsgi.multithread': true,
      'wsgi.multiprocess': true,
      'wsgi.run_once': false,
      'wsgi.input_terminated': true,
    });
    assert.ok(r.headers.date, 'Date header');
    assert.equal(r.headers.server, 'Cask');
  });

  test('PATH_INFO is percent-decoded into a latin-1 native string', async () => {
    const { environ } = echo(await get(server.port, '/caf%C3%A9/%2Fx%zz'));
    assert.equal(environ.PATH_INFO, '/caf\u00c3\u00a9//x%zz');
    assert.equal(environ.RAW_URI, '/caf%C3%A9/%2Fx%zz');
  });

  test('OPTIONS * passes wsgiref.validate with an empty PATH_INFO and the asterisk in REQUEST_URI', async () => {
    const x = await exchange(server.port, 'OPTIONS * HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
    // The echo app runs under wsgiref's validator, which fails any PATH_INFO not starting with "/".
    const { environ } = echo(x.responses[0]!);
    assert.equal(environ.REQUEST_METHOD, 'OPTIONS');
    assert.equal(environ.PATH_INFO, '');
    assert.equal(environ.SCRIPT_NAME, '');
    assert.equal(environ.REQUEST_URI, '*');
    assert.equal(environ.RAW_URI, '*');
  });

  test('a path that decodes to NUL is refused with 400', async () => {
    const r = await get(server.port, '/a%00b');
    assert.equal(r.status, 400);
  });

  test('repeated headers are joined and cookies joined with a semicolon', async () => {
    const x = await exchange(
      server.port,
      'GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nX-A: 2\r\nCookie: a=1\r\nCookie: b=2\r\nConnection: close\r\n\r\n',
    );
    const { environ } = echo(x.responses[0]!);
    assert.equal(environ.HTTP_X_A, '1, 2');
    assert.equal(environ.HTTP_COOKIE, 'a=1; b=2');
  });

  test('a header name with an underscore cannot spoof its dashed twin', async () => {
    const x = await exchange(
      server.port,
      'GET / HTTP/1.1\r\nHost: h\r\nX_User: spoof\r\nX-Other: real\r\nConnection: close\r\n\r\n',
    );
    const { environ } = echo(x.responses[0]!);
    assert.equal(environ.HTTP_X_USER, undefined);
    assert.equal(environ.HTTP_X_OTHER, 'real');
  });

  for (const mode of ['read', 'lines', 'iter', 'small']) {
    test(`wsgi.input gives the whole body with ${mode}()`, async () => {
      const body = 'line one\nline two\n\nlast line without newline';
      const x = await exchange(
        server.port,
        `POST /up HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nX-Read-Mode: ${mode}\r\nConnection: close\r\n\r\n${body}`,
      );
      const e = echo(x.responses[0]!);
      assert.equal(e.body_latin1, body);
      assert.equal(e.environ.CONTENT_LENGTH, String(body.length));
      assert.equal(e.environ.CONTENT_TYPE, 'text/plain');
    });
  }

  test('a chunked body reaches the app de-chunked with its CONTENT_LENGTH', async () => {
    const x = await exchange(server.port, [
      'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n',
      '5\r\nhello\r\n',
      '7;ext=1\r\n, world\r\n',
      '0\r\nX-Trailer: t\r\n\r\n',
    ]);
    const e = echo(x.responses[0]!);
    assert.equal(e.body_latin1, 'hello, world');
    assert.equal(e.environ.CONTENT_LENGTH, '12');
    assert.equal(e.environ.HTTP_TRANSFER_ENCODING, undefined);
  });

  test('CONTENT_LENGTH is 0 for Content-Length: 0 and an empty chunked body alike, absent without framing', async () => {
    const req = (line: string, fields = ''): string => `${line} HTTP/1.1\r\nHost: h\r\n${fields}\r\n`;
    const x = await exchange(
      server.port,
      req('GET /cl0', 'Content-Length: 0\r\n') +
        req('POST /cl0', 'Content-Length: 0\r\n') +
        req('POST /chunked', 'Transfer-Encoding: chunked\r\n') +
        '0\r\n\r\n' +
        req('POST /none') +
        req('GET /none', 'Connection: close\r\n'),
      { expect: 5, waitClose: true },
    );
    assert.deepEqual(
      x.responses.map((r) => echo(r).environ.CONTENT_LENGTH ?? 'absent'),
      ['0', '0', '0', 'absent', 'absent'],
    );
  });

  test('a body larger than the memory limit is spooled to a file and read whole', async () => {
    const body = Buffer.alloc(300 * 1024, 'abcdefghij');
    const x = await exchange(server.port, [
      `PUT /big HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
      body,
    ]);
    const e = echo(x.responses[0]!);
    assert.equal(e.body_length, body.length);
    assert.equal(e.body_latin1, body.toString('latin1'));
  });

  test('a body over --max-body-size gets 413 before any byte of it is read', async () => {
    const x = await exchange(server.port, 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3000000\r\n\r\nabc', { waitClose: true });
    assert.equal(x.responses[0]?.status, 413);
    assert.ok(x.closed);
  });

  test('Expect: 100-continue gets an interim 100 before the final response', async () => {
    const x = await exchange(
      server.port,
      ['POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n', 'data'],
      { pauseMs: 100 },
    );
    assert.match(x.raw.toString('latin1'), /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
    assert.equal(echo(x.responses[0]!).body_latin1, 'data');
  });

  test('keep-alive serves several requests on one connection, and pipelined ones in order', async () => {
    const req = (n: number, close = false): string =>
      `GET /n${n} HTTP/1.1\r\nHost: h\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;
    const x = await exchange(server.port, req(1) + req(2) + req(3) + req(4, true), { expect: 4, waitClose: true });
    assert.deepEqual(
      x.responses.map((r) => echo(r).environ.PATH_INFO),
      ['/n1', '/n2', '/n3', '/n4'],
    );
    assert.ok(x.closed, 'closed after Connection: close');
    assert.equal(x.responses[3]!.headers.connection, 'close');
  });

  test('HEAD gets the headers of a GET and no body', async () => {
    const x = await exchange(server.port, 'HEAD /h HTTP/1.1\r\nHost: h\r\n\r\nGET /after HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n', {
      expect: 2,
      headRequests: [true, false],
      waitClose: true,
    });
    assert.equal(x.responses.length, 2);
    assert.equal(x.responses[0]!.status, 200);
    assert.ok(Number(x.responses[0]!.headers['content-length']) > 0);
    assert.equal(x.responses[0]!.body.length, 0);
    assert.equal(echo(x.responses[1]!).environ.PATH_INFO, '/after');
  });

  test('HTTP/1.0 closes by default and keeps alive when asked', async () => {
    const plain = await exchange(server.port, 'GET /old HTTP/1.0\r\n\r\n', { waitClose: true });
    assert.equal(echo(plain.responses[0]!).environ.SERVER_PROTOCOL, 'HTTP/1.0');
    assert.ok(plain.closed);
    const kept = await exchange(server.port, 'GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n', {
      expect: 2,
      waitClose: true,
    });
    assert.equal(kept.responses.length, 2);
    assert.equal(kept.responses[0]!.headers.connection, 'keep-alive');
  });

  test('an overlong request line gets 414 and the connection closes', async () => {
    const x = await exchange(server.port, `GET /${'a'.repeat(300)} HTTP/1.1\r\nHost: h\r\n\r\n`, { waitClose: true });
    assert.equal(x.responses[0]?.status, 414);
    assert.ok(x.closed);
  });

  test('an oversized header line or too many headers get 431', async () => {
    const big = await exchange(server.port, `GET / HTTP/1.1\r\nHost: h\r\nX-Big: ${'b'.repeat(400)}\r\n\r\n`, { waitClose: true });
    assert.equal(big.responses[0]?.status, 431);
    const many = Array.from({ length: 25 }, (_, i) => `X-H${i}: v\r\n`).join('');
    const x = await exchange(server.port, `GET / HTTP/1.1\r\nHost: h\r\n${many}\r\n`, { waitClose: true });
    assert.equal(x.responses[0]?.status, 431);
  });

  test('malformed requests get 400 and a closed connection, never the app', async () => {
    for (const bad of [
      'GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n',
      'GET / HTTP/1.1\r\nHost h\r\n\r\n',
      'GET / HTTP/1.1\r\n\r\n',
      'G@T / HTTP/1.1\r\nHost: h\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: h\r\nContent-Type: a/b\r\nContent-Type: c/d\r\nContent-Length: 0\r\n\r\n',
    ]) {
      const x = await exchange(server.port, bad, { waitClose: true });
      assert.equal(x.responses[0]?.status, 400, JSON.stringify(bad));
      assert.equal(x.responses[0]?.headers.connection, 'close');
      assert.ok(x.closed);
    }
  });
});

describe('cask with --root-path, on IPv6 and on a Unix socket', () => {
  test('--root-path becomes SCRIPT_NAME and is taken off PATH_INFO', async (t) => {
    const server = await startCask(['echo:application', '--chdir', APPS, '--root-path', '/app']);
    t.after(() => server.stop());
    const { environ } = echo(await get(server.port, '/app/page'));
    assert.equal(environ.SCRIPT_NAME, '/app');
    assert.equal(environ.PATH_INFO, '/page');
  });

  test('an IPv6 listener serves on [::1]', async (t) => {
    const server = await startCask(['echo:application', '--chdir', APPS, '-b', '[::1]:0']);
    t.after(() => server.stop());
    const x = await exchange(server.port, 'GET /six HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n', { host: '::1' });
    const { environ } = echo(x.responses[0]!);
    assert.equal(environ.REMOTE_ADDR, '::1');
    assert.equal(environ.SERVER_NAME, '[::1]');
  });
});
