// Proxies in front of a real cask (issue #5): X-Forwarded-* and Forwarded honoured only from
// --forwarded-allow-ips and removed otherwise, and the PROXY protocol on a listener started
// with --proxy-protocol (and refused on one without it), as the echo app sees them.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { APPS, startCask, type RunningCask } from '../helpers/cask.js';
import { exchange, type ParsedResponse } from '../helpers/http.js';

interface Echo {
  environ: Record<string, string>;
}

const echo = (r: ParsedResponse | undefined): Record<string, string> => {
  assert.equal(r?.status, 200, `status ${r?.status}: ${r?.body.toString()}`);
  return (JSON.parse(r.body.toString('utf8')) as Echo).environ;
};

const PROXIED =
  'GET /p HTTP/1.1\r\nHost: internal:8000\r\nX-Forwarded-For: 198.51.100.1, 203.0.113.7\r\n' +
  'X-Forwarded-Proto: https\r\nX-Forwarded-Host: shop.example\r\nX-Forwarded-Port: 443\r\n' +
  'X-Forwarded-Prefix: /shop\r\nConnection: close\r\n\r\n';

const view = (env: Record<string, string>): unknown[] => [
  env.REMOTE_ADDR,
  env['wsgi.url_scheme'],
  env.HTTP_HOST,
  env.SERVER_NAME,
  env.SERVER_PORT,
];

describe('a cask that trusts its loopback proxy (the default)', () => {
  let server: RunningCask;
  before(async () => {
    server = await startCask(['echo:application', '--chdir', APPS]);
  });
  after(() => server.stop());

  test('X-Forwarded-For/-Proto/-Host/-Port set the client, scheme, host and port', async () => {
    const env = echo((await exchange(server.port, PROXIED)).responses[0]);
    assert.deepEqual(view(env), ['203.0.113.7', 'https', 'shop.example', 'shop.example', '443']);
    assert.equal(env.REMOTE_PORT, undefined, "the proxy connection's port is not the client's");
    assert.equal(env.HTTP_X_FORWARDED_FOR, '198.51.100.1, 203.0.113.7', 'kept for the app');
    assert.equal(env.HTTP_X_FORWARDED_PREFIX, '/shop');
  });

  test('RFC 7239 Forwarded sets the client with its port, and wins over X-Forwarded-*', async () => {
    const x = await exchange(
      server.port,
      'GET / HTTP/1.1\r\nHost: h\r\nForwarded: for="[2001:db8::7]:4711";proto=https;host=a.example\r\n' +
        'X-Forwarded-For: 192.0.2.1\r\nConnection: close\r\n\r\n',
    );
    const env = echo(x.responses[0]);
    assert.deepEqual(view(env), ['2001:db8::7', 'https', 'a.example', 'a.example', '443']);
    assert.equal(env.REMOTE_PORT, '4711');
  });
});

describe('a cask whose --forwarded-allow-ips leaves out its peer', () => {
  let server: RunningCask;
  before(async () => {
    server = await startCask([
      'echo:application',
      '--chdir',
      APPS,
      '--forwarded-allow-ips',
      '10.0.0.0/8',
    ]);
  });
  after(() => server.stop());

  test('every proxy header is removed and the socket says who the client is', async () => {
    const x = await exchange(
      server.port,
      PROXIED.replace('\r\n\r\n', '\r\nForwarded: for=192.0.2.9\r\n\r\n'),
    );
    const env = echo(x.responses[0]);
    assert.deepEqual(view(env), ['127.0.0.1', 'http', 'internal:8000', 'internal', '8000']);
    assert.match(env.REMOTE_PORT ?? '', /^\d+$/);
    assert.deepEqual(
      Object.keys(env).filter((k) => k.includes('FORWARDED')),
      [],
    );
  });

  test('a PROXY header on a listener without --proxy-protocol is a bad request', async () => {
    const x = await exchange(server.port, `PROXY TCP4 192.0.2.7 192.0.2.1 4711 80\r\n${PROXIED}`, {
      waitClose: true,
    });
    assert.equal(x.responses[0]?.status, 400);
    assert.ok(x.closed);
  });
});

describe('a cask listening with --proxy-protocol', () => {
  let server: RunningCask;
  before(async () => {
    // A real balancer's own address would be listed; here the balancer is loopback.
    server = await startCask(['echo:application', '--chdir', APPS, '--proxy-protocol']);
  });
  after(() => server.stop());

  test('a PROXY v1 header names the client, and its proxy headers are judged by that address', async () => {
    const x = await exchange(server.port, `PROXY TCP4 192.0.2.7 192.0.2.1 4711 80\r\n${PROXIED}`);
    const env = echo(x.responses[0]);
    assert.deepEqual(view(env), ['192.0.2.7', 'http', 'internal:8000', 'internal', '8000']);
    assert.equal(env.REMOTE_PORT, '4711');
    assert.equal(env.HTTP_X_FORWARDED_FOR, undefined);
  });

  test('a PROXY v2 header, sent in pieces, names the client', async () => {
    const header = Buffer.from([
      0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0x00, 0x0c,
      198, 51, 100, 20, 192, 0, 2, 1, 0xc3, 0x50, 0x01, 0xbb,
    ]); // prettier-ignore
    const request = Buffer.from('GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
    const x = await exchange(server.port, [
      header.subarray(0, 5),
      header.subarray(5, 20),
      Buffer.concat([header.subarray(20), request]),
    ]);
    const env = echo(x.responses[0]);
    assert.equal(env.REMOTE_ADDR, '198.51.100.20');
    assert.equal(env.REMOTE_PORT, '50000');
  });

  test('keep-alive requests after the PROXY header all carry its address', async () => {
    const get = 'GET / HTTP/1.1\r\nHost: h\r\n\r\n';
    const x = await exchange(
      server.port,
      `PROXY TCP6 2001:db8::9 2001:db8::1 1000 443\r\n${get}${get}`,
      { expect: 2 },
    );
    assert.deepEqual(
      x.responses.map((r) => echo(r).REMOTE_ADDR),
      ['2001:db8::9', '2001:db8::9'],
    );
  });

  test('a connection without a PROXY header is refused with 400', async () => {
    const x = await exchange(server.port, PROXIED, { waitClose: true });
    assert.equal(x.responses[0]?.status, 400);
    assert.ok(x.closed);
  });
});
