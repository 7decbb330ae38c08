// `--static` against a real cask over real sockets: every path trick refused, conditional and
// Range requests, precompressed siblings, directories, Cache-Control, a mount at `/` that
// passes misses to the app, and a slow reader of a large file that the front must not buffer.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { rss, sleep, until } from '../helpers/attacks.js';
import { APPS, onPath, startCask, type RunningCask } from '../helpers/cask.js';
import { exchange, get, type ParsedResponse } from '../helpers/http.js';

const MiB = 1024 * 1024;
const CSS = 'body { color: #333; }\n'.repeat(40);
const BIG = 64 * MiB;

function makeSite(): { root: string; site: string; top: string } {
  const root = mkdtempSync(join(tmpdir(), 'cask-static-'));
  const site = join(root, 'site');
  const top = join(root, 'top');
  for (const dir of ['css', 'sub', 'empty-dir', '.git', 'outside', 'top']) {
    mkdirSync(join(dir === 'outside' || dir === 'top' ? root : site, dir), { recursive: true });
  }
  writeFileSync(join(site, 'css', 'app.css'), CSS);
  writeFileSync(join(site, 'css', 'app.css.br'), 'BROTLI BYTES');
  writeFileSync(join(site, 'css', 'app.css.gz'), 'GZIP BYTES');
  writeFileSync(join(site, 'app.3f9a2c7e.js'), 'console.log(1);\n');
  writeFileSync(join(site, 'index.html'), '<h1>home</h1>\n');
  writeFileSync(join(site, 'sub', 'index.html'), '<h1>sub</h1>\n');
  writeFileSync(join(site, 'café au lait.txt'), 'latte\n');
  writeFileSync(join(site, 'empty.txt'), '');
  writeFileSync(join(site, '.env'), 'SECRET=1\n');
  writeFileSync(join(site, '.git', 'config'), 'SECRET=2\n');
  writeFileSync(join(root, 'outside', 'secret.txt'), 'SECRET=3\n');
  writeFileSync(join(top, 'robots.txt'), 'User-agent: *\n');
  symlinkSync(join(root, 'outside', 'secret.txt'), join(site, 'link-out.txt'));
  symlinkSync(join(site, 'css', 'app.css'), join(site, 'link-in.css'));
  // Sparse: 64 MiB that cost no disk, for the slow reader.
  writeFileSync(join(site, 'big.bin'), '');
  truncateSync(join(site, 'big.bin'), BIG);
  return { root, site, top };
}

const head = (port: number, path: string, headers: Record<string, string> = {}) =>
  exchange(
    port,
    `HEAD ${path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n`,
    { headRequests: [true] },
  ).then((x) => x.responses[0] as ParsedResponse);

/** A request sent byte for byte as written (no client normalises `..` away). */
const raw = (port: number, target: string) =>
  exchange(port, `GET ${target} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`).then(
    (x) => x.responses[0] as ParsedResponse,
  );

describe('--static against cask', () => {
  let server: RunningCask;
  let paths: ReturnType<typeof makeSite>;
  before(async () => {
    paths = makeSite();
    server = await startCask([
      'hello:application', '--chdir', APPS,
      '--static', `/static=${paths.site}`, '--static', `/=${paths.top}`,
      '--static-max-age', '60', '--static-immutable',
    ]); // prettier-ignore
  });
  after(async () => {
    await server.stop();
    rmSync(paths.root, { recursive: true, force: true });
  });

  test('a file comes with its type, length, validators and caching headers', async (t: TestContext) => {
    t.plan(9);
    const r = await get(server.port, '/static/css/app.css');
    t.assert.strictEqual(r.status, 200);
    t.assert.strictEqual(r.body.toString(), CSS);
    t.assert.strictEqual(r.headers['content-type'], 'text/css; charset=utf-8');
    t.assert.strictEqual(r.headers['content-length'], String(CSS.length));
    t.assert.match(r.headers.etag ?? '', /^"[0-9a-z-]+"$/);
    t.assert.match(
      r.headers['last-modified'] ?? '',
      /^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/,
    );
    t.assert.strictEqual(r.headers['cache-control'], 'public, max-age=60');
    t.assert.strictEqual(r.headers['accept-ranges'], 'bytes');
    t.assert.strictEqual(r.headers.vary, 'Accept-Encoding');
  });

  test('the ETag is the same from a restarted server', async (t: TestContext) => {
    t.plan(1);
    const first = (await get(server.port, '/static/css/app.css')).headers.etag;
    const again = await startCask([
      'hello:application',
      '--chdir',
      APPS,
      '--static',
      `/static=${paths.site}`,
    ]);
    t.after(() => again.stop());
    t.assert.strictEqual((await get(again.port, '/static/css/app.css')).headers.etag, first);
  });

  test('HEAD gives the headers of GET and no body', async (t: TestContext) => {
    t.plan(4);
    const r = await head(server.port, '/static/css/app.css');
    t.assert.strictEqual(r.status, 200);
    t.assert.strictEqual(r.headers['content-length'], String(CSS.length));
    t.assert.strictEqual(r.body.length, 0);
    t.assert.ok(r.headers.etag);
  });

  test('a fingerprinted name is immutable for a year', async (t: TestContext) => {
    t.plan(2);
    const r = await get(server.port, '/static/app.3f9a2c7e.js');
    t.assert.strictEqual(r.headers['cache-control'], 'public, max-age=31536000, immutable');
    t.assert.strictEqual(r.headers['content-type'], 'text/javascript; charset=utf-8');
  });

  test('a percent-encoded name and an empty file are served', async (t: TestContext) => {
    t.plan(4);
    const latte = await get(server.port, '/static/caf%C3%A9%20au%20lait.txt');
    t.assert.strictEqual(latte.status, 200);
    t.assert.strictEqual(latte.body.toString(), 'latte\n');
    const empty = await get(server.port, '/static/empty.txt');
    t.assert.strictEqual(empty.status, 200);
    t.assert.strictEqual(empty.headers['content-length'], '0');
  });

  const TRICKS: Array<[string, number]> = [
    ['/static/../outside/secret.txt', 404],
    ['/static/%2e%2e/outside/secret.txt', 404],
    ['/static/%2E%2E/outside/secret.txt', 404],
    ['/static/css/..%2f..%2foutside/secret.txt', 404],
    ['/static/..%5coutside%5csecret.txt', 404],
    ['/static/..\\outside\\secret.txt', 404],
    ['/static/css/app.css%00.txt', 404],
    ['/static//css/app.css', 404],
    ['/static/css//app.css', 404],
    ['/static/.env', 404],
    ['/static/.git/config', 404],
    ['/static/%2egit/config', 404],
    ['/static/link-out.txt', 404],
    ['/static/%zz', 400],
  ];
  for (const [target, status] of TRICKS) {
    test(`${target} is refused with ${status}`, async (t: TestContext) => {
      t.plan(2);
      const r = await raw(server.port, target);
      t.assert.strictEqual(r.status, status);
      t.assert.ok(!r.body.toString().includes('SECRET'), r.body.toString());
    });
  }

  test('a file changed in place, replaced or deleted is seen within --static-cache-valid (1 s)', async (t: TestContext) => {
    t.plan(7);
    const path = join(paths.site, 'changing.txt');
    const url = '/static/changing.txt';
    writeFileSync(path, 'version 1\n');
    const first = await get(server.port, url);
    t.assert.strictEqual(first.body.toString(), 'version 1\n');
    writeFileSync(path, 'version 2\n'); // same size, same inode
    await sleep(1100);
    const second = await get(server.port, url);
    t.assert.strictEqual(second.body.toString(), 'version 2\n');
    t.assert.notStrictEqual(second.headers.etag, first.headers.etag);
    writeFileSync(`${path}.new`, 'version three\n');
    renameSync(`${path}.new`, path); // a new inode, as deploys write
    await sleep(1100);
    const third = await get(server.port, url);
    t.assert.strictEqual(third.body.toString(), 'version three\n');
    t.assert.strictEqual(third.headers['content-length'], '14');
    // Within the second, the front answers from what it holds: old bytes with their own
    // validators, never new bytes under an old length or ETag.
    unlinkSync(path);
    const soon = await get(server.port, url);
    t.assert.ok(
      soon.status === 404 ||
        (soon.body.toString() === 'version three\n' && soon.headers.etag === third.headers.etag),
      `status ${soon.status}`,
    );
    await sleep(1100);
    t.assert.strictEqual((await get(server.port, url)).status, 404);
  });

  test('a symlink that stays inside the directory is followed', async (t: TestContext) => {
    t.plan(2);
    const r = await get(server.port, '/static/link-in.css');
    t.assert.strictEqual(r.status, 200);
    t.assert.strictEqual(r.body.toString(), CSS);
  });

  test('a directory without its slash is redirected, with the query kept', async (t: TestContext) => {
    t.plan(3);
    const r = await get(server.port, '/static/sub?x=1');
    t.assert.strictEqual(r.status, 301);
    t.assert.strictEqual(r.headers.location, '/static/sub/?x=1');
    t.assert.strictEqual((await get(server.port, '/static')).headers.location, '/static/');
  });

  test('a directory is served by its index.html, or is a 404 without one', async (t: TestContext) => {
    t.plan(4);
    const sub = await get(server.port, '/static/sub/');
    t.assert.strictEqual(sub.status, 200);
    t.assert.strictEqual(sub.body.toString(), '<h1>sub</h1>\n');
    t.assert.strictEqual((await get(server.port, '/static/')).body.toString(), '<h1>home</h1>\n');
    t.assert.strictEqual((await get(server.port, '/static/empty-dir/')).status, 404);
  });

  test('a file asked for as a directory, and a missing file, are 404', async (t: TestContext) => {
    t.plan(2);
    t.assert.strictEqual((await get(server.port, '/static/css/app.css/')).status, 404);
    t.assert.strictEqual((await get(server.port, '/static/missing.css')).status, 404);
  });

  test('another method under a static prefix is a 405 naming GET and HEAD', async (t: TestContext) => {
    t.plan(2);
    const x = await exchange(
      server.port,
      'POST /static/css/app.css HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi',
    );
    t.assert.strictEqual(x.responses[0]?.status, 405);
    t.assert.strictEqual(x.responses[0]?.headers.allow, 'GET, HEAD');
  });

  test('the mount at / serves what exists and passes the rest to the app', async (t: TestContext) => {
    t.plan(4);
    const robots = await get(server.port, '/robots.txt');
    t.assert.strictEqual(robots.body.toString(), 'User-agent: *\n');
    const app = await get(server.port, '/anything');
    t.assert.strictEqual(app.body.toString(), 'Hello, World!');
    const dotdot = await raw(server.port, '/%2e%2e/outside/secret.txt');
    t.assert.ok(!dotdot.body.toString().includes('SECRET'));
    const post = await exchange(
      server.port,
      'POST /robots.txt HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
    );
    t.assert.strictEqual(post.responses[0]?.body.toString(), 'Hello, World!');
  });

  describe('conditional requests', () => {
    let etag: string;
    let modified: string;
    before(async () => {
      const r = await get(server.port, '/static/css/app.css');
      etag = r.headers.etag as string;
      modified = r.headers['last-modified'] as string;
    });

    test('If-None-Match with the ETag is a 304 with validators and no body', async (t: TestContext) => {
      t.plan(5);
      const r = await get(server.port, '/static/css/app.css', { 'If-None-Match': `"x", ${etag}` });
      t.assert.strictEqual(r.status, 304);
      t.assert.strictEqual(r.headers.etag, etag);
      t.assert.strictEqual(r.headers['cache-control'], 'public, max-age=60');
      t.assert.strictEqual(r.headers.vary, 'Accept-Encoding');
      t.assert.strictEqual(r.body.length, 0);
    });

    test('If-Modified-Since at Last-Modified is a 304; If-None-Match not matching wins', async (t: TestContext) => {
      t.plan(2);
      const r = await get(server.port, '/static/css/app.css', { 'If-Modified-Since': modified });
      t.assert.strictEqual(r.status, 304);
      const both = await get(server.port, '/static/css/app.css', {
        'If-Modified-Since': modified,
        'If-None-Match': '"other"',
      });
      t.assert.strictEqual(both.status, 200);
    });

    test('If-Match not matching and If-Unmodified-Since in the past are 412', async (t: TestContext) => {
      t.plan(3);
      t.assert.strictEqual(
        (await get(server.port, '/static/css/app.css', { 'If-Match': '"other"' })).status,
        412,
      );
      t.assert.strictEqual(
        (await get(server.port, '/static/css/app.css', { 'If-Match': etag })).status,
        200,
      );
      const old = 'Mon, 01 Jan 2001 00:00:00 GMT';
      t.assert.strictEqual(
        (await get(server.port, '/static/css/app.css', { 'If-Unmodified-Since': old })).status,
        412,
      );
    });
  });

  describe('ranges', () => {
    test('a single range is a 206 with Content-Range', async (t: TestContext) => {
      t.plan(4);
      const r = await get(server.port, '/static/css/app.css', { Range: 'bytes=5-9' });
      t.assert.strictEqual(r.status, 206);
      t.assert.strictEqual(r.headers['content-range'], `bytes 5-9/${CSS.length}`);
      t.assert.strictEqual(r.headers['content-length'], '5');
      t.assert.strictEqual(r.body.toString(), CSS.slice(5, 10));
    });

    test('suffix and open-ended ranges', async (t: TestContext) => {
      t.plan(2);
      const suffix = await get(server.port, '/static/css/app.css', { Range: 'bytes=-4' });
      t.assert.strictEqual(suffix.body.toString(), CSS.slice(-4));
      const open = await get(server.port, '/static/css/app.css', {
        Range: `bytes=${CSS.length - 3}-`,
      });
      t.assert.strictEqual(open.body.toString(), CSS.slice(-3));
    });

    test('several ranges are a multipart/byteranges body', async (t: TestContext) => {
      t.plan(6);
      const r = await get(server.port, '/static/css/app.css', { Range: 'bytes=0-3,10-12' });
      t.assert.strictEqual(r.status, 206);
      const boundary = /^multipart\/byteranges; boundary=(\S+)$/.exec(
        r.headers['content-type'] ?? '',
      )?.[1];
      t.assert.ok(boundary, r.headers['content-type']);
      t.assert.strictEqual(Number(r.headers['content-length']), r.body.length);
      const parts = r.body.toString('latin1').split(`--${boundary}`);
      t.assert.strictEqual(parts.at(-1), '--\r\n');
      const size = CSS.length;
      t.assert.ok(
        parts[1]?.endsWith(`Content-Range: bytes 0-3/${size}\r\n\r\n${CSS.slice(0, 4)}\r\n`),
        parts[1],
      );
      t.assert.ok(
        parts[2]?.endsWith(
          `Content-Type: text/css; charset=utf-8\r\nContent-Range: bytes 10-12/${size}\r\n\r\n${CSS.slice(10, 13)}\r\n`,
        ),
        parts[2],
      );
    });

    test('an unsatisfiable range is a 416 with bytes */size', async (t: TestContext) => {
      t.plan(2);
      const r = await get(server.port, '/static/css/app.css', { Range: 'bytes=99999-' });
      t.assert.strictEqual(r.status, 416);
      t.assert.strictEqual(r.headers['content-range'], `bytes */${CSS.length}`);
    });

    test('If-Range with the ETag allows the range; a stale one gets the whole file', async (t: TestContext) => {
      t.plan(3);
      const etag = (await get(server.port, '/static/css/app.css')).headers.etag as string;
      const fresh = await get(server.port, '/static/css/app.css', {
        Range: 'bytes=0-3',
        'If-Range': etag,
      });
      t.assert.strictEqual(fresh.status, 206);
      const stale = await get(server.port, '/static/css/app.css', {
        Range: 'bytes=0-3',
        'If-Range': '"old"',
      });
      t.assert.strictEqual(stale.status, 200);
      t.assert.strictEqual(stale.body.toString(), CSS);
    });

    test('Range is ignored on HEAD, and a bad Range is ignored on GET', async (t: TestContext) => {
      t.plan(3);
      const r = await head(server.port, '/static/css/app.css', { Range: 'bytes=0-3' });
      t.assert.strictEqual(r.status, 200);
      t.assert.strictEqual(r.headers['content-length'], String(CSS.length));
      t.assert.strictEqual(
        (await get(server.port, '/static/css/app.css', { Range: 'bytes=9-2' })).status,
        200,
      );
    });

    test('a range of a large file streams exactly its bytes', async (t: TestContext) => {
      t.plan(2);
      const r = await get(server.port, '/static/big.bin', {
        Range: `bytes=${BIG - MiB - 5}-${BIG - 1}`,
      });
      t.assert.strictEqual(r.status, 206);
      t.assert.strictEqual(r.body.length, MiB + 5);
    });
  });

  describe('precompressed siblings', () => {
    test('brotli is preferred when the client takes it', async (t: TestContext) => {
      t.plan(4);
      const r = await get(server.port, '/static/css/app.css', {
        'Accept-Encoding': 'gzip, deflate, br',
      });
      t.assert.strictEqual(r.body.toString(), 'BROTLI BYTES');
      t.assert.strictEqual(r.headers['content-encoding'], 'br');
      t.assert.strictEqual(r.headers['content-type'], 'text/css; charset=utf-8');
      t.assert.strictEqual(r.headers.vary, 'Accept-Encoding');
    });

    test('q-values choose gzip over brotli, and each sibling has its own ETag', async (t: TestContext) => {
      t.plan(3);
      const gz = await get(server.port, '/static/css/app.css', {
        'Accept-Encoding': 'br;q=0.5, gzip',
      });
      t.assert.strictEqual(gz.body.toString(), 'GZIP BYTES');
      const br = await get(server.port, '/static/css/app.css', { 'Accept-Encoding': 'br' });
      t.assert.notStrictEqual(gz.headers.etag, br.headers.etag);
      const none = await get(server.port, '/static/css/app.css', {
        'Accept-Encoding': 'br;q=0, gzip;q=0',
      });
      t.assert.strictEqual(none.body.toString(), CSS);
    });
  });

  test('two requests on one keep-alive connection are both answered', async (t: TestContext) => {
    t.plan(3);
    const x = await exchange(
      server.port,
      'GET /static/css/app.css HTTP/1.1\r\nHost: h\r\n\r\nGET /static/index.html HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
      { expect: 2 },
    );
    t.assert.strictEqual(x.responses.length, 2);
    t.assert.strictEqual(x.responses[0]?.body.toString(), CSS);
    t.assert.strictEqual(x.responses[1]?.body.toString(), '<h1>home</h1>\n');
  });

  test(
    'curl downloads a large file whole and resumes it with a range',
    { skip: onPath('curl') === undefined ? 'curl is not installed' : false },
    async (t: TestContext) => {
      t.plan(2);
      const url = `http://127.0.0.1:${server.port}/static/big.bin`;
      const whole = spawnSync('curl', ['-s', '-o', '-', url], { maxBuffer: 2 * BIG });
      const expected = createHash('sha256').update(Buffer.alloc(BIG)).digest('hex');
      t.assert.strictEqual(createHash('sha256').update(whole.stdout).digest('hex'), expected);
      const part = spawnSync('curl', ['-s', '-r', `${BIG - 100}-`, '-o', '-', url]);
      t.assert.strictEqual(part.stdout.length, 100);
    },
  );

  test(
    'a slow reader of a 64 MiB file keeps the front small, and its descriptor is closed when it leaves',
    { timeout: 30_000 },
    async (t: TestContext) => {
      t.plan(4);
      const pid = server.proc.pid as number;
      await get(server.port, '/static/css/app.css');
      const base = rss(pid);
      const fdsBefore = readdirSync(`/proc/${pid}/fd`).length;
      const sockets = Array.from({ length: 4 }, () => {
        const socket = connect({ port: server.port, host: '127.0.0.1' });
        socket.on('error', () => {});
        socket.pause(); // reads nothing: the kernel buffers fill, then the front must wait
        socket.write('GET /static/big.bin HTTP/1.1\r\nHost: h\r\n\r\n');
        return socket;
      });
      await sleep(1500);
      const grew = rss(pid) - base;
      const open = readdirSync(`/proc/${pid}/fd`).map((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          return '';
        }
      });
      t.diagnostic(
        `front RSS +${(grew / MiB).toFixed(1)} MiB with 4 readers of ${BIG / MiB} MiB that read nothing`,
      );
      t.assert.ok(grew < 32 * MiB, `the front grew by ${(grew / MiB).toFixed(1)} MiB`);
      // The four responses stream from one descriptor the file table holds.
      t.assert.ok(open.filter((p) => p.endsWith('big.bin')).length <= 4, open.join(', '));
      // A fast client is served meanwhile.
      t.assert.strictEqual((await get(server.port, '/static/css/app.css')).status, 200);
      for (const socket of sockets) socket.destroy();
      // Closed once no response uses it and the table's idle time (2 s) has passed.
      await until(() => readdirSync(`/proc/${pid}/fd`).length <= fdsBefore, 8000);
      t.assert.ok(readdirSync(`/proc/${pid}/fd`).length <= fdsBefore, 'descriptors left open');
    },
  );
});

test('--static-cache-valid 0: a file changed in place, or replaced, is served fresh at once', async (t: TestContext) => {
  t.plan(6);
  const paths = makeSite();
  t.after(() => rmSync(paths.root, { recursive: true, force: true }));
  const server = await startCask([
    'hello:application', '--chdir', APPS, '--static', `/static=${paths.site}`, '--static-cache-valid', '0',
  ]); // prettier-ignore
  t.after(() => server.stop());
  const path = join(paths.site, 'changing.txt');
  writeFileSync(path, 'version 1\n');
  const first = await get(server.port, '/static/changing.txt');
  t.assert.strictEqual(first.body.toString(), 'version 1\n');
  writeFileSync(path, 'version 2\n'); // same size, same inode
  const second = await get(server.port, '/static/changing.txt');
  t.assert.strictEqual(second.body.toString(), 'version 2\n');
  t.assert.notStrictEqual(second.headers.etag, first.headers.etag);
  writeFileSync(`${path}.new`, 'version three\n');
  renameSync(`${path}.new`, path); // a new inode, as deploys write
  const third = await get(server.port, '/static/changing.txt');
  t.assert.strictEqual(third.body.toString(), 'version three\n');
  t.assert.strictEqual(third.headers['content-length'], '14');
  unlinkSync(path);
  t.assert.strictEqual((await get(server.port, '/static/changing.txt')).status, 404);
});

test('--static-follow-symlinks serves a symlink that leaves the directory', async (t: TestContext) => {
  t.plan(2);
  const paths = makeSite();
  t.after(() => rmSync(paths.root, { recursive: true, force: true }));
  const server = await startCask([
    'hello:application', '--chdir', APPS, '--static', `/static=${paths.site}`, '--static-follow-symlinks',
  ]); // prettier-ignore
  t.after(() => server.stop());
  const r = await get(server.port, '/static/link-out.txt');
  t.assert.strictEqual(r.status, 200);
  t.assert.strictEqual(r.body.toString(), 'SECRET=3\n');
});

test('--static-dotfiles serves a dot directory such as .well-known', async (t: TestContext) => {
  t.plan(2);
  const paths = makeSite();
  t.after(() => rmSync(paths.root, { recursive: true, force: true }));
  mkdirSync(join(paths.site, '.well-known'));
  writeFileSync(join(paths.site, '.well-known', 'security.txt'), 'Contact: x\n');
  const server = await startCask([
    'hello:application', '--chdir', APPS, '--static', `/=${paths.site}`, '--static-dotfiles',
  ]); // prettier-ignore
  t.after(() => server.stop());
  const r = await get(server.port, '/.well-known/security.txt');
  t.assert.strictEqual(r.body.toString(), 'Contact: x\n');
  t.assert.strictEqual(r.headers['cache-control'], 'no-cache');
});

test('a --static directory that does not exist stops cask with exit 2 naming it', async (t: TestContext) => {
  t.plan(2);
  const server = await startCask(
    ['hello:application', '--chdir', APPS, '--static', '/s=/nowhere/at/all'],
    {
      noWait: true,
    },
  );
  t.assert.strictEqual(await server.exited, 2);
  t.assert.match(
    server.stderr(),
    /--static: "\/s=\/nowhere\/at\/all" names a directory that does not exist/,
  );
});

/** curl speaking cleartext HTTP/2 (prior knowledge), or why the test cannot run. */
function curlHttp2(): string | false {
  if (onPath('curl') === undefined) return 'curl is not installed';
  const version = spawnSync('curl', ['-V'], { encoding: 'utf8' }).stdout;
  return /\bHTTP2\b/.test(version) ? false : 'this curl has no HTTP/2';
}

test(
  'static files, ranges, X-Sendfile and compression work the same over HTTP/2',
  { skip: curlHttp2() },
  async (t: TestContext) => {
    t.plan(7);
    const paths = makeSite();
    t.after(() => rmSync(paths.root, { recursive: true, force: true }));
    const server = await startCask([
    'assets_app:application', '--chdir', APPS, '--static', `/static=${paths.site}`,
    '--sendfile-root', paths.site, '--compress',
  ]); // prettier-ignore
    t.after(() => server.stop());
    const url = `http://127.0.0.1:${server.port}`;
    const curl = (...args: string[]) =>
      spawnSync('curl', ['-s', '--http2-prior-knowledge', ...args], { maxBuffer: 4 * MiB });
    const file = curl('-w', '%{http_version}', `${url}/static/css/app.css`).stdout.toString();
    t.assert.strictEqual(file, `${CSS}2`);
    const part = curl('-r', '5-9', '-w', ' %{http_code}', `${url}/static/css/app.css`);
    t.assert.strictEqual(part.stdout.toString(), `${CSS.slice(5, 10)} 206`);
    const head = curl('-I', `${url}/static/css/app.css`).stdout.toString();
    t.assert.match(head, /^HTTP\/2 200/);
    t.assert.match(head, new RegExp(`content-length: ${CSS.length}`, 'i'));
    const sent = curl(`${url}/sendfile?path=${encodeURIComponent(join(paths.site, 'index.html'))}`);
    t.assert.strictEqual(sent.stdout.toString(), '<h1>home</h1>\n');
    const compressed = curl(
      '-H',
      'Accept-Encoding: br',
      '-D',
      '-',
      '-o',
      '/dev/null',
      `${url}/text?size=5000`,
    );
    t.assert.match(compressed.stdout.toString(), /content-encoding: br/i);
    const plain = curl('--compressed', `${url}/text?size=5000`).stdout.toString();
    t.assert.strictEqual(plain.length, 5000);
  },
);
