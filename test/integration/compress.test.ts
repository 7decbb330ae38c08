// `--compress` against a real cask: gzip and brotli of app responses by type and size, with
// Vary, never where the rules forbid it, streamed responses and wsgi.file_wrapper included.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { APPS, startCask, type RunningCask } from '../helpers/cask.js';
import { exchange, get, type ParsedResponse } from '../helpers/http.js';

const LINE = 'Cask serves text, and text compresses well. 0123456789\n';
const text = (size: number): string =>
  LINE.repeat(Math.ceil(size / LINE.length) + 1).slice(0, size);

describe('--compress against cask', () => {
  let server: RunningCask;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cask-compress-'));
    writeFileSync(join(dir, 'page.html'), text(300_000));
    server = await startCask([
      'assets_app:application',
      '--chdir',
      APPS,
      '--threads',
      '2',
      '--compress',
    ]);
  });
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const br = { 'Accept-Encoding': 'gzip, deflate, br' };

  test('a page the app gives whole is brotli-compressed with a length and Vary', async (t: TestContext) => {
    t.plan(6);
    const r = await get(server.port, '/text?size=5000&len=1', br);
    t.assert.strictEqual(r.headers['content-encoding'], 'br');
    t.assert.strictEqual(r.headers.vary, 'Accept-Encoding');
    t.assert.strictEqual(r.headers['content-length'], String(r.body.length));
    t.assert.ok(r.body.length < 1000, `${r.body.length} bytes`);
    t.assert.strictEqual(brotliDecompressSync(r.body).toString(), text(5000));
    t.assert.strictEqual(r.headers.etag, 'W/"text-v1"');
  });

  test('gzip when the client prefers it', async (t: TestContext) => {
    t.plan(2);
    const r = await get(server.port, '/text?size=5000', { 'Accept-Encoding': 'gzip, br;q=0.5' });
    t.assert.strictEqual(r.headers['content-encoding'], 'gzip');
    t.assert.strictEqual(gunzipSync(r.body).toString(), text(5000));
  });

  test('a streamed 10 MB page is compressed as it comes, chunked', async (t: TestContext) => {
    t.plan(3);
    const r = await get(server.port, `/text?size=${10 * 1024 * 1024}&stream=1`, br, { ms: 20_000 });
    t.assert.strictEqual(r.headers['content-encoding'], 'br');
    t.assert.strictEqual(r.headers['transfer-encoding'], 'chunked');
    t.assert.ok(brotliDecompressSync(r.body).equals(Buffer.from(text(10 * 1024 * 1024))));
  });

  test('a wsgi.file_wrapper file of a text type is compressed too', async (t: TestContext) => {
    t.plan(2);
    const r = await get(
      server.port,
      `/wrapper?path=${encodeURIComponent(join(dir, 'page.html'))}&type=text/html`,
      {
        'Accept-Encoding': 'gzip',
      },
    );
    t.assert.strictEqual(r.headers['content-encoding'], 'gzip');
    t.assert.strictEqual(gunzipSync(r.body).toString(), text(300_000));
  });

  test('a client that takes no coding gets the page as it is, with Vary', async (t: TestContext) => {
    t.plan(3);
    const r = await get(server.port, '/text?size=5000');
    t.assert.strictEqual(r.headers['content-encoding'], undefined);
    t.assert.strictEqual(r.headers.vary, 'Accept-Encoding');
    t.assert.strictEqual(r.body.toString(), text(5000));
  });

  const NEVER: Array<[string, string, Record<string, string>]> = [
    ['a response below compress-min-size', '/text?size=200', br],
    ['an already compressed type', '/text?size=5000&type=image/png', br],
    ['Cache-Control: no-transform', '/text?size=5000&cc=no-transform', br],
    ['a response with a Content-Encoding', '/text?size=5000&ce=identity', br],
    ['a Range request', '/text?size=5000', { ...br, Range: 'bytes=0-9' }],
    ['a 304', '/text?size=5000&status=304%20Not%20Modified', br],
  ];
  for (const [what, path, headers] of NEVER) {
    test(`never compressed: ${what}`, async (t: TestContext) => {
      t.plan(1);
      const r = await get(server.port, path, headers);
      t.assert.strictEqual(
        r.headers['content-encoding'],
        what.includes('Content-Encoding') ? 'identity' : undefined,
      );
    });
  }

  test('never compressed: HEAD, and an HTTP/1.0 client', async (t: TestContext) => {
    t.plan(3);
    const headX = await exchange(
      server.port,
      'HEAD /text?size=5000 HTTP/1.1\r\nHost: h\r\nAccept-Encoding: br\r\nConnection: close\r\n\r\n',
      { headRequests: [true] },
    );
    t.assert.strictEqual(headX.responses[0]?.headers['content-encoding'], undefined);
    const old = await exchange(
      server.port,
      'GET /text?size=5000 HTTP/1.0\r\nHost: h\r\nAccept-Encoding: br\r\n\r\n',
      {
        waitClose: true,
      },
    );
    const r = old.responses[0] as ParsedResponse;
    t.assert.strictEqual(r.headers['content-encoding'], undefined);
    t.assert.strictEqual(r.body.toString(), text(5000));
  });

  test('keep-alive carries a compressed response and the next one', async (t: TestContext) => {
    t.plan(3);
    const x = await exchange(
      server.port,
      'GET /text?size=5000&stream=1 HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n' +
        'GET /text?size=10 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
      { expect: 2 },
    );
    t.assert.strictEqual(x.responses.length, 2);
    t.assert.strictEqual(gunzipSync(x.responses[0]?.body as Buffer).toString(), text(5000));
    t.assert.strictEqual(x.responses[1]?.body.toString(), text(10));
  });
});
