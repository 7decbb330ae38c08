// Cask behind Debian's real nginx over uwsgi (TCP and a Unix socket), SCGI and FastCGI, with the
// configurations docs/deploy.md gives users: what the app sees, bodies both ways, keep-alive
// where the protocol has it, the HTTP listener's limits answered through nginx, and a peer
// outside forwarded-allow-ips refused. Skipped with a message where nginx is not installed.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  encodeBeginRequest,
  encodeFastCgiRequest,
  encodePairs,
  recordHeader,
  RecordType,
  Role,
} from '../../src/cgi/fastcgi.js';
import { encodeUwsgiRequest } from '../../src/cgi/uwsgi.js';
import { APPS, startCask, type RunningCask } from '../helpers/cask.js';
import { exchange, parseResponses, type ParsedResponse } from '../helpers/http.js';
import {
  countingProxy,
  deployConfig,
  nginxMissing,
  startNginx,
  type CountingProxy,
  type RunningNginx,
} from '../helpers/web-server.js';
import { freePort } from '../helpers/ports.js';

const skip = nginxMissing();

interface Echo {
  environ: Record<string, string>;
  body_latin1: string;
}

function echo(response: ParsedResponse | undefined): Echo {
  assert.equal(response?.status, 200, `status ${response?.status}: ${response?.body.toString()}`);
  return JSON.parse(response.body.toString('utf8')) as Echo;
}

/** One request on its own connection to nginx; resolves with the response and whether it was whole. */
async function send(port: number, request: string | Buffer | Array<string | Buffer>, ms = 20_000) {
  const result = await exchange(port, request, { waitClose: true, ms });
  return { response: result.responses[0], raw: result.raw, closed: result.closed };
}

function get(path: string, headers = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: example.org\r\n${headers}Connection: close\r\n\r\n`;
}

describe('Cask behind nginx over uwsgi, SCGI and FastCGI', { skip }, () => {
  let dir: string;
  let cask: RunningCask;
  let nginx: RunningNginx;
  let uwsgiProxy: CountingProxy;
  let fastcgiProxy: CountingProxy;
  /** nginx's ports: the uwsgi, SCGI and FastCGI servers of docs/deploy.md, and the test's own. */
  const port = { uwsgi: 0, scgi: 0, fastcgi: 0, extra: 0 };
  /** Cask's own ports. */
  const cport = { uwsgi: 0, scgi: 0, fastcgi: 0 };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cask-web-server-'));
    chmodSync(dir, 0o755);
    const socket = join(dir, 'shop.sock');
    cask = await startCask([
      'behind_web_server:application',
      '--chdir', APPS,
      '-b', 'uwsgi://127.0.0.1:0',
      '-b', 'scgi://127.0.0.1:0',
      '-b', 'fastcgi://127.0.0.1:0',
      '-b', `uwsgi:unix:${socket}`,
      '-w', '1',
      '--threads', '4',
      '--header-timeout', '2',
      '--keep-alive', '30',
      '--max-body-size', '6m',
      '--limit-request-field-size', '2048',
    ]); // prettier-ignore
    for (const name of ['uwsgi', 'scgi', 'fastcgi'] as const) {
      const match = new RegExp(`${name}://127\\.0\\.0\\.1:(\\d+)`).exec(cask.stderr());
      assert.ok(match, `no ${name} listener in: ${cask.stderr()}`);
      cport[name] = Number(match[1]);
    }
    uwsgiProxy = await countingProxy(cport.uwsgi);
    fastcgiProxy = await countingProxy(cport.fastcgi);
    for (const name of Object.keys(port) as Array<keyof typeof port>) port[name] = await freePort();
    const listen = (text: string, at: number): string =>
      text.replace('listen 80;', `listen 127.0.0.1:${at};`);
    const http = [
      listen(deployConfig('nginx uwsgi_pass'), port.uwsgi)
        .replace('127.0.0.1:8001', `127.0.0.1:${uwsgiProxy.port}`)
        .replace('/run/myproject/shop.sock', socket),
      listen(deployConfig('nginx scgi_pass'), port.scgi).replace(
        '127.0.0.1:4000',
        `127.0.0.1:${cport.scgi}`,
      ),
      listen(deployConfig('nginx fastcgi_pass'), port.fastcgi).replace(
        '127.0.0.1:9000',
        `127.0.0.1:${fastcgiProxy.port}`,
      ),
      `server {
    listen 127.0.0.1:${port.extra};
    location /https/ {
        include uwsgi_params;
        uwsgi_param HTTPS on;
        uwsgi_pass 127.0.0.1:${cport.uwsgi};
    }
    location /refused/ {                  # nginx connects from an address Cask does not trust
        include uwsgi_params;
        uwsgi_bind 127.0.0.2;
        uwsgi_pass 127.0.0.1:${cport.uwsgi};
    }
}
`,
    ].join('\n');
    nginx = await startNginx(dir, http, Object.values(port));
  });

  after(async () => {
    await nginx?.stop();
    await uwsgiProxy?.close();
    await fastcgiProxy?.close();
    await cask?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const protocols = ['uwsgi', 'scgi', 'fastcgi'] as const;

  test('the app sees the method, path, query, headers and client address nginx passes', async () => {
    for (const protocol of protocols) {
      const { response } = await send(
        port[protocol],
        get('/caf%C3%A9?a=1&b=%20', 'X-Test: v\r\nCookie: a=1\r\nCookie: b=2\r\n'),
      );
      const env = echo(response).environ;
      const seen = {
        method: env.REQUEST_METHOD,
        script: env.SCRIPT_NAME,
        path: env.PATH_INFO,
        query: env.QUERY_STRING,
        uri: env.REQUEST_URI,
        test: env.HTTP_X_TEST,
        cookie: env.HTTP_COOKIE,
        remote: env.REMOTE_ADDR,
        server: env.SERVER_NAME,
        port: env.SERVER_PORT,
        scheme: env['wsgi.url_scheme'],
      };
      assert.deepEqual(
        seen,
        {
          method: 'GET',
          script: '',
          path: '/caf\u00c3\u00a9',
          query: 'a=1&b=%20',
          uri: '/caf%C3%A9?a=1&b=%20',
          test: 'v',
          cookie: 'a=1; b=2',
          remote: '127.0.0.1',
          server: 'example.org',
          port: String(port[protocol]),
          scheme: 'http',
        },
        protocol,
      );
      assert.match(env.REMOTE_PORT ?? '', /^\d+$/, protocol);
    }
  });

  test('a uwsgi Unix socket with SCRIPT_NAME: the prefix comes off PATH_INFO', async () => {
    const env = echo((await send(port.uwsgi, get('/shop/caf%C3%A9?x=1'))).response).environ;
    assert.deepEqual(
      [env.SCRIPT_NAME, env.PATH_INFO, env.QUERY_STRING, env.REMOTE_ADDR],
      ['/shop', '/caf\u00c3\u00a9', 'x=1', '127.0.0.1'],
    );
  });

  test('HTTPS=on from nginx makes wsgi.url_scheme https', async () => {
    const env = echo((await send(port.extra, get('/https/x'))).response).environ;
    assert.deepEqual([env['wsgi.url_scheme'], env.HTTPS], ['https', 'on']);
  });

  test('a 5 MB POST reaches the app byte for byte', async () => {
    const body = Buffer.alloc(5 * 1024 * 1024);
    for (let i = 0; i < body.length; i += 4) body.writeUInt32LE((i * 2654435761) >>> 0, i);
    const digest = createHash('sha256').update(body).digest('hex');
    for (const protocol of protocols) {
      const head =
        `POST /digest HTTP/1.1\r\nHost: example.org\r\nContent-Type: application/octet-stream\r\n` +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
      const { response } = await send(port[protocol], [head, body]);
      assert.equal(response?.status, 200, `${protocol}: ${response?.body.toString()}`);
      assert.deepEqual(
        JSON.parse(response.body.toString()),
        { length: body.length, sha256: digest },
        protocol,
      );
    }
  });

  test('a chunked upload reaches the app de-chunked, with its length', async () => {
    for (const protocol of protocols) {
      const { response } = await send(port[protocol], [
        'POST /up HTTP/1.1\r\nHost: example.org\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n',
        '5\r\nhello\r\n',
        '6\r\n world\r\n0\r\n\r\n',
      ]);
      const report = echo(response);
      assert.equal(report.body_latin1, 'hello world', protocol);
      assert.equal(report.environ.CONTENT_LENGTH, '11', protocol);
      assert.equal(report.environ.HTTP_TRANSFER_ENCODING, undefined, protocol);
    }
  });

  test('a streamed response arrives piece by piece, whole', async () => {
    for (const protocol of protocols) {
      const started = Date.now();
      let first = 0;
      const chunks: Buffer[] = [];
      await new Promise<void>((resolve, reject) => {
        const socket = connect({ port: port[protocol], host: '127.0.0.1' }, () =>
          socket.write(get('/stream?pieces=4&delay=0.6')),
        );
        socket.on('data', (chunk: Buffer) => {
          if (first === 0) first = Date.now();
          chunks.push(chunk);
        });
        socket.on('end', () => resolve());
        socket.on('error', reject);
      });
      const ended = Date.now();
      const { responses } = parseResponses(Buffer.concat(chunks));
      const body = responses[0]?.body ?? Buffer.alloc(0);
      assert.equal(responses[0]?.status, 200, protocol);
      assert.equal(body.length, 4 * 64 * 1024, protocol);
      for (let i = 0; i < 4; i++)
        assert.equal(body[i * 64 * 1024 + 100], i, `${protocol} piece ${i}`);
      // Three pauses of 0.6 s: the first piece must not have waited for the last. A response
      // held back until the end arrives all at once; 1.8 s of pauses against the 0.5 s bound
      // leave a loaded machine over a second to be late with the first piece alone.
      assert.ok(
        ended - first >= 500,
        `${protocol}: first bytes after ${first - started} ms, end after ${ended - started} ms`,
      );
    }
  });

  test('a 10 MB streamed response arrives whole', async () => {
    for (const protocol of protocols) {
      const { response } = await send(port[protocol], get('/stream?pieces=160'), 60_000);
      assert.equal(response?.status, 200, protocol);
      const body = response.body;
      assert.equal(body.length, 160 * 64 * 1024, protocol);
      for (let i = 0; i < 160; i++) {
        assert.equal(body[i * 64 * 1024 + 7], i % 256, `${protocol} piece ${i}`);
      }
    }
  });

  test('a FastCGI response to a peer that does not read waits in the spool, in order', async () => {
    const request = encodeFastCgiRequest(1, [
      'REQUEST_METHOD', 'GET',
      'REQUEST_URI', '/stream?pieces=160',
      'QUERY_STRING', 'pieces=160',
      'SERVER_PROTOCOL', 'HTTP/1.1',
    ]); // prettier-ignore
    const bytes = await new Promise<Buffer>((resolve, reject) => {
      const socket = connect({ port: cport.fastcgi, host: '127.0.0.1' }, () => {
        socket.write(request);
        socket.pause(); // the app's 10 MB outrun the socket: the rest waits on file
        setTimeout(() => socket.resume(), 1500);
      });
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => resolve(Buffer.concat(chunks)));
      socket.on('error', reject);
    });
    const out: Buffer[] = [];
    let ended = false;
    for (let at = 0; at + 8 <= bytes.length;) {
      const length = bytes.readUInt16BE(at + 4);
      if (bytes[at + 1] === RecordType.STDOUT) out.push(bytes.subarray(at + 8, at + 8 + length));
      if (bytes[at + 1] === RecordType.END_REQUEST) ended = at + 16 === bytes.length;
      at += 8 + length + (bytes[at + 6] as number);
    }
    const stdout = Buffer.concat(out);
    const body = stdout.subarray(stdout.indexOf('\r\n\r\n') + 4);
    assert.ok(stdout.toString('latin1', 0, 20).startsWith('Status: 200 OK'));
    assert.equal(body.length, 160 * 64 * 1024);
    for (let i = 0; i < 160; i++) assert.equal(body[i * 64 * 1024 + 9], i % 256, `piece ${i}`);
    assert.ok(ended, 'END_REQUEST comes last');
  });

  test('FastCGI keeps its connection to Cask from one request to the next (fastcgi_keep_conn)', async () => {
    const before = fastcgiProxy.connections;
    for (let i = 0; i < 5; i++) echo((await send(port.fastcgi, get(`/k${i}`))).response);
    assert.ok(
      fastcgiProxy.connections - before <= 1,
      `${fastcgiProxy.connections - before} connections for 5 requests`,
    );
  });

  test('uwsgi carries one request per connection, as the protocol has it', async () => {
    const before = uwsgiProxy.connections;
    for (let i = 0; i < 3; i++) echo((await send(port.uwsgi, get(`/k${i}`))).response);
    assert.equal(uwsgiProxy.connections - before, 3);
  });

  test("a response the app breaks off is cut for nginx's client too, never passed as whole", async () => {
    for (const protocol of protocols) {
      const { response, raw, closed } = await send(port[protocol], get('/fail-after-head'));
      assert.ok(
        raw.toString('latin1').startsWith('HTTP/1.1 200'),
        `${protocol}: ${raw.toString('latin1', 0, 80)}`,
      );
      assert.equal(response, undefined, `${protocol}: the chunked body must not end`);
      assert.ok(closed, protocol);
    }
  });

  test("the HTTP listener's limits hold through nginx: 431, 414, 413", async () => {
    const big = `X-Big: ${'b'.repeat(3000)}\r\n`;
    assert.equal((await send(port.uwsgi, get('/x', big))).response?.status, 431);
    assert.equal((await send(port.scgi, get(`/${'a'.repeat(5000)}`))).response?.status, 414);
    const body = Buffer.alloc(7 * 1024 * 1024, 0x61);
    const head = `POST /digest HTTP/1.1\r\nHost: example.org\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
    assert.equal((await send(port.fastcgi, [head, body])).response?.status, 413);
    // The FastCGI connection was closed after the refusal; the next request still gets through.
    echo((await send(port.fastcgi, get('/after'))).response);
  });

  test('a request head slower than header-timeout gets 408 in the protocol', async () => {
    const uwsgi = encodeUwsgiRequest(['REQUEST_METHOD', 'GET', 'REQUEST_URI', '/']);
    const late = await exchange(cport.uwsgi, uwsgi.subarray(0, 10), { waitClose: true, ms: 8000 });
    assert.ok(late.raw.toString('latin1').startsWith('HTTP/1.1 408'), late.raw.toString('latin1'));
    assert.ok(late.closed);
    const begun = Buffer.concat([
      encodeBeginRequest(1, Role.RESPONDER, 0),
      recordHeader(RecordType.PARAMS, 1, 30),
      encodePairs(['REQUEST_METHOD', 'GET']),
    ]);
    const fcgi = await exchange(cport.fastcgi, begun, { waitClose: true, ms: 8000 });
    assert.equal(fcgi.raw[1], RecordType.STDOUT);
    assert.ok(
      fcgi.raw.toString('latin1').includes('Status: 408 Request Timeout\r\n'),
      fcgi.raw.toString('latin1'),
    );
    assert.ok(fcgi.closed);
  });

  test('a peer outside forwarded-allow-ips is refused (nginx answers 502)', async () => {
    const { response } = await send(port.extra, get('/refused/x'));
    assert.equal(response?.status, 502);
    await cask.waitFor(
      /uwsgi connection from a peer not in forwarded-allow-ips: 127\.0\.0\.2.*CASK_CGI_PEER/,
      5000,
    );
  });
});
