// A request body that cannot be written to its temporary file (src/http/body.ts): the
// request gets 500 (CASK_BODY_SPOOL), the error is logged with its reason, nothing of the
// body is left behind, and the front serves on. Over HTTP/1.1, uwsgi and HTTP/2, with a
// TMPDIR that does not exist; and over HTTP/1.1 with one that fills up in the middle of a
// body (a 128 KiB tmpfs, where this test may mount one).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { encodeUwsgiRequest } from '../../src/cgi/uwsgi.js';
import { smallTmpfs } from '../helpers/tmpfs.js';
import { APPS, startCask, type RunningCask } from '../helpers/cask.js';

async function start(t: TestContext, dir: string): Promise<RunningCask> {
  const server = await startCask(
    [
      'large_bodies:application',
      '--chdir',
      APPS,
      '-b',
      '127.0.0.1:0',
      '-b',
      'uwsgi://127.0.0.1:0',
      '--body-memory-limit',
      '64k',
    ],
    { env: { TMPDIR: dir } },
  );
  t.after(() => server.stop());
  return server;
}

/** Sends `bytes` on a new connection and returns all that comes back until it closes. */
async function exchange(port: number, ...parts: Array<Buffer | string>): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  // The server may answer and close before the whole body is sent: a reset then is fine.
  socket.on('error', () => {});
  for (const part of parts) socket.write(part);
  socket.end();
  await once(socket, 'close');
  return Buffer.concat(chunks).toString('latin1');
}

const post = (size: number): [string, Buffer] => [
  `POST /digest HTTP/1.1\r\nHost: h\r\nContent-Length: ${size}\r\n\r\n`,
  Buffer.alloc(size, 7),
];

function uwsgiPort(server: RunningCask): number {
  const match = /uwsgi:\/\/127\.0\.0\.1:(\d+)/.exec(server.stderr());
  assert.ok(match, server.stderr());
  return Number(match[1]);
}

async function assertStillServes(server: RunningCask): Promise<void> {
  const small = await exchange(server.port, ...post(1000));
  assert.match(small, /^HTTP\/1\.1 200 OK\r\n[\s\S]* 1000$/, 'a body kept in memory still works');
}

test('TMPDIR missing: warned at start; HTTP/1.1, uwsgi and HTTP/2 bodies past the limit get 500', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'cask-spool-errors-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const missing = join(base, 'missing');
  const server = await start(t, missing);
  assert.match(
    server.stderr(),
    /\[WARNING\] Request bodies past --body-memory-limit cannot be written to \S*missing \(ENOENT/,
  );

  const http1 = await exchange(server.port, ...post(256 * 1024));
  assert.match(http1, /^HTTP\/1\.1 500 Internal Server Error\r\n/);
  assert.match(http1, /\r\nConnection: close\r\n/i);
  await server.waitFor(
    /\[ERROR\] Cannot write a request body to its temporary file in \S*missing: ENOENT.*\(CASK_BODY_SPOOL\): answered 500 to 127\.0\.0\.1/,
  );

  const viaUwsgi = await exchange(
    uwsgiPort(server),
    encodeUwsgiRequest([
      'REQUEST_METHOD', 'POST',
      'PATH_INFO', '/digest',
      'SERVER_PROTOCOL', 'HTTP/1.1',
      'CONTENT_LENGTH', String(256 * 1024),
    ]), // prettier-ignore
    Buffer.alloc(256 * 1024, 1),
  );
  assert.match(viaUwsgi, /^HTTP\/1\.[01] 500 /);

  const session = http2.connect(`http://127.0.0.1:${server.port}`);
  t.after(() => session.close());
  const stream = session.request({ ':method': 'POST', ':path': '/digest' });
  stream.on('error', () => {});
  stream.end(Buffer.alloc(256 * 1024, 2));
  const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
  assert.equal(headers[':status'], 500);

  assert.equal(server.stderr().match(/\(CASK_BODY_SPOOL\): answered 500/g)?.length, 3);
  await assertStillServes(server);
  mkdirSync(missing);
  const now = await exchange(server.port, ...post(256 * 1024));
  assert.match(now, /^HTTP\/1\.1 200 OK\r\n/, 'once the directory is there, bodies go to it');
});

test('a TMPDIR that fills up in the middle of a body: 500, and the part written is removed', async (t) => {
  const tmpfs = smallTmpfs(t, '128k', 'the disk-full case');
  if (tmpfs === undefined) return;
  const dir = tmpfs.dir;
  const server = await start(t, dir);
  tmpfs.using(server);
  assert.doesNotMatch(server.stderr(), /cannot be written/);

  const full = await exchange(server.port, ...post(1024 * 1024));
  assert.match(full, /^HTTP\/1\.1 500 Internal Server Error\r\n/);
  await server.waitFor(
    /\[ERROR\] Cannot write a request body to its temporary file in \S+: ENOSPC.*\(CASK_BODY_SPOOL\)/,
  );
  for (let waited = 0; readdirSync(dir).length > 0 && waited < 5000; waited += 20) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(readdirSync(dir), [], 'the part of the body written is removed');

  const fits = await exchange(server.port, ...post(96 * 1024));
  assert.match(fits, /^HTTP\/1\.1 200 OK\r\n[\s\S]* 98304$/, 'a body that fits is served');
  await assertStillServes(server);
});
