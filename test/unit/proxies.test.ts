// Who may speak for the client: the forwarded-allow-ips list, the proxy headers it unlocks
// (X-Forwarded-*, RFC 7239 Forwarded) as buildEnviron() applies them, the PROXY protocol
// reader, the Host grammar they share, and the settings rows that configure them.

import { test, type TestContext } from 'node:test';
import fc from 'fast-check';
import { loadConfig } from '../../src/config/index.js';
import { ProtocolError } from '../../src/errors.js';
import { isHost } from '../../src/http/host.js';
import type { RequestHead } from '../../src/http/parser.js';
import { AllowList, parseAllowEntry } from '../../src/net/allow-ips.js';
import { ProxyHeaderReader } from '../../src/net/proxy-protocol.js';
import { buildEnviron, type EnvironContext } from '../../src/wsgi/environ.js';
import { parseForwarded, resolveForwarded } from '../../src/wsgi/forwarded.js';

// ── forwarded-allow-ips ─────────────────────────────────────────────────────

test('`AllowList` matches addresses, CIDR ranges and IPv4-mapped peers', (t: TestContext) => {
  const list = new AllowList(['127.0.0.1', '::1', '10.0.0.0/8', '[2001:db8::]/32', '192.0.2.5']);
  t.plan(9);
  t.assert.equal(list.has('127.0.0.1'), true);
  t.assert.equal(list.has('::ffff:127.0.0.1'), true);
  t.assert.equal(list.has('::1'), true);
  t.assert.equal(list.has('10.200.3.4'), true);
  t.assert.equal(list.has('11.0.0.1'), false);
  t.assert.equal(list.has('2001:db8:ffff::1'), true);
  t.assert.equal(list.has('2001:db9::1'), false);
  t.assert.equal(list.has('not an address'), false);
  t.assert.equal(list.has('192.0.2.6'), false);
});

test('`AllowList` trusts Unix socket peers, `*` any IP, and an empty list nobody else', (t: TestContext) => {
  t.plan(5);
  t.assert.equal(new AllowList([]).trustsPeer(''), true);
  t.assert.equal(new AllowList([]).trustsPeer('127.0.0.1'), false);
  t.assert.equal(new AllowList(['*']).has('203.0.113.9'), true);
  t.assert.equal(new AllowList(['*']).has('unknown'), false);
  t.assert.equal(new AllowList(['10.0.0.1']).trustsPeer('10.0.0.1'), true);
});

test('`parseAllowEntry()` refuses what is not an address, a range or `*`', (t: TestContext) => {
  const bad = ['localhost', '10.0.0.0/33', '::1/129', '10.0.0.0/', '10.0.0.0/8/8', '1.2.3', ''];
  t.plan(bad.length);
  for (const entry of bad) t.assert.throws(() => parseAllowEntry(entry), TypeError, entry);
});

test("`loadConfig()` reads forwarded-allow-ips from flags, CASK_ and gunicorn's env var", (t: TestContext) => {
  const load = (argv: string[], env: Record<string, string> = {}) =>
    loadConfig({ argv, env, cwd: '/srv' });
  t.plan(5);
  t.assert.deepEqual(load([]).forwardedAllowIps, ['127.0.0.1', '::1']);
  t.assert.deepEqual(
    load(['--forwarded-allow-ips', '10.0.0.0/8', '--forwarded-allow-ips', '*']).forwardedAllowIps,
    ['10.0.0.0/8', '*'],
  );
  t.assert.deepEqual(
    load([], { CASK_FORWARDED_ALLOW_IPS: '10.0.0.1, 10.0.0.2' }).forwardedAllowIps,
    ['10.0.0.1', '10.0.0.2'],
  );
  t.assert.deepEqual(load([], { FORWARDED_ALLOW_IPS: '192.0.2.0/24' }).forwardedAllowIps, [
    '192.0.2.0/24',
  ]);
  t.assert.throws(() => load(['--forwarded-allow-ips', 'proxy.local']), {
    code: 'CASK_CONFIG_INVALID',
    message:
      /forwarded-allow-ips.*"proxy\.local" is not an IP address, a CIDR range \(10\.0\.0\.0\/8\) or \*/,
  });
});

test('`loadConfig()` gives the hardening options their production defaults', (t: TestContext) => {
  const config = loadConfig({ argv: [], env: {}, cwd: '/srv' });
  t.plan(6);
  t.assert.equal(config.headerTimeout, 10);
  t.assert.equal(config.bodyMinRate, 1024);
  t.assert.equal(config.sendTimeout, 30);
  t.assert.equal(config.keepAlive, 5);
  t.assert.equal(config.maxConnections, 10_000);
  t.assert.equal(config.proxyProtocol, false);
});

// ── Host ────────────────────────────────────────────────────────────────────

test('`isHost()` accepts the forms of RFC 3986 §3.2.2 and nothing else', (t: TestContext) => {
  const good = [
    '',
    'a',
    'a:',
    'a:80',
    'EXAMPLE.com:65535',
    '192.0.2.1',
    '[::1]',
    '[2001:db8::1]:8080',
    "x-_.~!$&'()*+,;=%41",
  ];
  const bad = [
    'a:b',
    'a:1:2',
    '::1',
    '[::1',
    '[::1]x',
    '[a.b]',
    'a b',
    'a/b',
    'a\\b',
    'a@b',
    'a%4',
    'a%zz',
    'é',
    'a:123456',
  ];
  t.plan(good.length + bad.length);
  for (const host of good) t.assert.equal(isHost(host), true, host);
  for (const host of bad) t.assert.equal(isHost(host), false, host);
});

// ── X-Forwarded-* and Forwarded ─────────────────────────────────────────────

const proxies = new AllowList(['127.0.0.1', '10.0.0.0/8']);
const trusted = (address: string): boolean => proxies.has(address);

test('`resolveForwarded()` walks X-Forwarded-For from the right past trusted proxies only', (t: TestContext) => {
  const client = (xff: string) => resolveForwarded({ xForwardedFor: xff }, trusted).remoteAddr;
  t.plan(7);
  t.assert.equal(client('203.0.113.7'), '203.0.113.7');
  t.assert.equal(client('1.1.1.1, 203.0.113.7'), '203.0.113.7', 'a spoofed left entry is ignored');
  t.assert.equal(client('203.0.113.7, 10.1.2.3'), '203.0.113.7', 'through a trusted inner proxy');
  t.assert.equal(client('10.0.0.9, 10.1.2.3'), '10.0.0.9', 'all trusted: the left-most');
  t.assert.equal(client('203.0.113.7, garbage'), undefined, 'an unreadable hop stops the walk');
  t.assert.equal(client('[2001:db8::7]:4711'), '2001:db8::7');
  t.assert.equal(client('198.51.100.2:80, '), undefined);
});

test('`resolveForwarded()` takes the last X-Forwarded-Proto/-Host/-Port and checks each', (t: TestContext) => {
  t.plan(4);
  t.assert.deepEqual(
    resolveForwarded(
      {
        xForwardedProto: 'http, HTTPS',
        xForwardedHost: 'evil, shop.example',
        xForwardedPort: '8443',
      },
      trusted,
    ),
    { scheme: 'https', host: 'shop.example', port: '8443' },
  );
  t.assert.deepEqual(
    resolveForwarded(
      { xForwardedProto: 'ftp', xForwardedHost: 'a/b', xForwardedPort: '99999' },
      trusted,
    ),
    {},
  );
  t.assert.deepEqual(resolveForwarded({ xForwardedHost: '' }, trusted), {});
  t.assert.deepEqual(resolveForwarded({ xForwardedPort: '80a' }, trusted), {});
});

test('`parseForwarded()` reads RFC 7239 elements and refuses a malformed header whole', (t: TestContext) => {
  t.plan(6);
  t.assert.deepEqual(
    parseForwarded(
      'for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711"',
    )?.map((e) => Object.fromEntries(e)),
    [{ for: '192.0.2.60', proto: 'http', by: '203.0.113.43' }, { for: '[2001:db8:cafe::17]:4711' }],
  );
  t.assert.deepEqual(
    parseForwarded('for="a\\"b";host="x:1"')?.map((e) => Object.fromEntries(e)),
    [{ for: 'a"b', host: 'x:1' }],
  );
  t.assert.equal(parseForwarded('for=192.0.2.1:80'), undefined, 'a port needs quotes');
  t.assert.equal(parseForwarded('for=a;for=b'), undefined, 'a repeated parameter');
  t.assert.equal(parseForwarded('for="open'), undefined);
  t.assert.equal(parseForwarded('=x'), undefined);
});

test('`resolveForwarded()` uses the Forwarded element of the first untrusted hop', (t: TestContext) => {
  t.plan(4);
  t.assert.deepEqual(
    resolveForwarded(
      {
        forwarded:
          'for=203.0.113.7;proto=https;host=shop.example, for=10.0.0.2;proto=http;host=inner',
      },
      trusted,
    ),
    { remoteAddr: '203.0.113.7', scheme: 'https', host: 'shop.example' },
  );
  t.assert.deepEqual(
    resolveForwarded(
      { forwarded: 'for="[2001:db8::1]:4711";proto=https', xForwardedFor: '198.51.100.1' },
      trusted,
    ),
    { remoteAddr: '2001:db8::1', remotePort: '4711', scheme: 'https' },
    'Forwarded wins over X-Forwarded-For',
  );
  t.assert.deepEqual(resolveForwarded({ forwarded: 'for=unknown;proto=https' }, trusted), {
    scheme: 'https',
  });
  t.assert.deepEqual(
    resolveForwarded({ forwarded: 'for=1.2.3.4;proto=https;proto=http' }, trusted),
    {},
  );
});

function head(headers: string[], target = '/p'): RequestHead {
  const hostAt = headers.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === 'host');
  return {
    method: 'GET',
    target,
    protocol: 'HTTP/1.1',
    versionMinor: 1,
    headers,
    contentLength: -1,
    chunked: false,
    keepAlive: true,
    expectContinue: false,
    upgrade: false,
    host: hostAt === -1 ? '' : (headers[hostAt + 1] as string),
  };
}

function environ(headers: string[], trust: boolean): Record<string, string> {
  const ctx: EnvironContext = {
    scheme: 'http',
    serverName: '127.0.0.1',
    serverPort: '8000',
    remoteAddr: '10.0.0.2',
    remotePort: '5555',
    rootPath: '',
    trustForwarded: trust,
    isTrustedProxy: trusted,
  };
  const pairs = buildEnviron(head(headers), -1, ctx);
  const env: Record<string, string> = {};
  for (let i = 0; i < pairs.length; i += 2) env[pairs[i] as string] = pairs[i + 1] as string;
  return env;
}

const PROXIED = [
  'Host', 'internal:8000',
  'X-Forwarded-For', '203.0.113.7',
  'X-Forwarded-Proto', 'https',
  'X-Forwarded-Host', 'shop.example',
  'X-Forwarded-Port', '443',
  'X-Forwarded-Prefix', '/shop',
  'Forwarded', 'for=198.51.100.1',
]; // prettier-ignore

test('`buildEnviron()` drops every proxy header of an untrusted peer', (t: TestContext) => {
  const env = environ(PROXIED, false);
  t.plan(2);
  t.assert.deepEqual(
    Object.keys(env).filter((k) => k.startsWith('HTTP_')),
    ['HTTP_HOST'],
  );
  t.assert.deepEqual(
    [
      env.REMOTE_ADDR,
      env.REMOTE_PORT,
      env['wsgi.url_scheme'],
      env.HTTP_HOST,
      env.SERVER_NAME,
      env.SERVER_PORT,
    ],
    ['10.0.0.2', '5555', 'http', 'internal:8000', 'internal', '8000'],
  );
});

test('`buildEnviron()` applies X-Forwarded-* from a trusted peer and keeps them for the app', (t: TestContext) => {
  const env = environ(PROXIED.slice(0, 12), true);
  t.plan(3);
  t.assert.deepEqual(
    [
      env.REMOTE_ADDR,
      env.REMOTE_PORT,
      env['wsgi.url_scheme'],
      env.HTTP_HOST,
      env.SERVER_NAME,
      env.SERVER_PORT,
    ],
    ['203.0.113.7', undefined, 'https', 'shop.example', 'shop.example', '443'],
  );
  t.assert.equal(env.HTTP_X_FORWARDED_FOR, '203.0.113.7');
  t.assert.equal(env.HTTP_X_FORWARDED_PREFIX, '/shop');
});

test('`buildEnviron()` gives a forwarded https scheme its default port when no port is named', (t: TestContext) => {
  const env = environ(['Host', 'shop.example', 'X-Forwarded-Proto', 'https'], true);
  t.plan(1);
  t.assert.deepEqual(
    [env['wsgi.url_scheme'], env.SERVER_NAME, env.SERVER_PORT, env.REMOTE_ADDR],
    ['https', 'shop.example', '443', '10.0.0.2'],
  );
});

test('`buildEnviron()` lets Forwarded win over X-Forwarded-* from a trusted peer', (t: TestContext) => {
  const env = environ(PROXIED, true);
  t.plan(1);
  t.assert.deepEqual(
    [env.REMOTE_ADDR, env['wsgi.url_scheme'], env.HTTP_HOST, env.SERVER_PORT],
    ['198.51.100.1', 'http', 'internal:8000', '8000'],
  );
});

test('`buildEnviron()` never lets proxy headers through untrusted, whatever their case or repetition', (t: TestContext) => {
  const names = [
    'x-forwarded-for',
    'X-FORWARDED-PROTO',
    'x-Forwarded-Host',
    'FORWARDED',
    'X-Forwarded-Anything',
  ];
  t.plan(1);
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.constantFrom(...names), fc.stringMatching(/^[ -~]{0,20}$/)), {
        maxLength: 6,
      }),
      (pairs) => {
        const env = environ(['Host', 'h', ...pairs.flat()], false);
        return (
          env.REMOTE_ADDR === '10.0.0.2' &&
          env['wsgi.url_scheme'] === 'http' &&
          env.HTTP_HOST === 'h' &&
          !Object.keys(env).some((k) => k.includes('FORWARDED'))
        );
      },
    ),
  );
  t.assert.ok(true);
});

// ── PROXY protocol ──────────────────────────────────────────────────────────

function readAll(chunks: Buffer[]): ReturnType<ProxyHeaderReader['push']> {
  const reader = new ProxyHeaderReader();
  for (let i = 0; i < chunks.length; i++) {
    const result = reader.push(chunks[i] as Buffer);
    // What follows the header goes to HTTP, with the chunks not fed to the reader.
    if (result !== null)
      return { header: result.header, rest: Buffer.concat([result.rest, ...chunks.slice(i + 1)]) };
  }
  return null;
}

const V2_SIG = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

test('`ProxyHeaderReader` reads a v1 header cut anywhere and hands back what follows it', (t: TestContext) => {
  const bytes = Buffer.from('PROXY TCP4 192.0.2.7 192.0.2.1 4711 80\r\nGET / HTTP/1.1\r\n');
  t.plan(2 * (bytes.length - 1));
  for (let cut = 1; cut < bytes.length; cut++) {
    const result = readAll([bytes.subarray(0, cut), bytes.subarray(cut)]);
    t.assert.deepEqual(result?.header, {
      kind: 'proxied',
      sourceAddress: '192.0.2.7',
      sourcePort: 4711,
      destAddress: '192.0.2.1',
      destPort: 80,
    });
    t.assert.equal(result?.rest.toString(), 'GET / HTTP/1.1\r\n');
  }
});

test('`ProxyHeaderReader` writes v2 IPv6 addresses as Node writes peers', (t: TestContext) => {
  const v6 = (groups: number[]): number[] => groups.flatMap((g) => [g >> 8, g & 0xff]);
  const header = (src: number[]) =>
    Buffer.from([
      ...V2_SIG,
      0x21,
      0x21,
      0,
      36,
      ...v6(src),
      ...v6([0, 0, 0, 0, 0, 0, 0, 1]),
      0x12,
      0x67,
      0,
      80,
    ]);
  t.plan(2);
  const addresses = [
    [0x2001, 0xdb8, 0, 0, 0, 0, 0, 7],
    [0x2001, 0xdb8, 0, 0, 1, 0, 0, 7],
    [0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201],
  ].map((g) => {
    const h = readAll([header(g)])?.header;
    return h?.kind === 'proxied' ? h.sourceAddress : '';
  });
  t.assert.deepEqual(addresses, ['2001:db8::7', '2001:db8::1:0:0:7', '::ffff:192.0.2.1']);
  t.assert.equal(new AllowList(['192.0.2.0/24']).has(addresses[2] as string), true);
});

test('`ProxyHeaderReader` only ever returns null, a header, or throws ProtocolError on any bytes', (t: TestContext) => {
  t.plan(1);
  const prefix = fc.constantFrom(Buffer.from('PROXY '), Buffer.from(V2_SIG), Buffer.alloc(0));
  fc.assert(
    fc.property(
      prefix,
      fc.uint8Array({ maxLength: 300 }),
      fc.array(fc.nat(), { maxLength: 5 }),
      (start, tail, cuts) => {
        const bytes = Buffer.concat([start, tail]);
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let from = 0;
        for (const p of [...points, bytes.length]) {
          chunks.push(bytes.subarray(from, p));
          from = p;
        }
        try {
          readAll(chunks);
        } catch (error) {
          if (!(error instanceof ProtocolError) || error.code !== 'CASK_PROXY_PROTOCOL')
            throw error;
        }
      },
    ),
  );
  t.assert.ok(true);
});
