// Clients that ask for a large file and never read it. A file's bytes are not spooled (they
// are on disk already): the front reads a piece and writes it, and a piece the client has not
// taken stays in the front's memory. Pieces are full size (1 MiB over HTTP/1.1) only while the
// front's memory budget (`--response-spool-memory`) has room; past it they are 16 KiB, so two
// hundred such clients cost the front a few megabytes, not two hundred. Every byte still
// arrives once the clients read. Static files and `wsgi.file_wrapper` go the same way, and
// so do HTTP/2 streams (256 KiB pieces).

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ClientHttp2Session, ClientHttp2Stream } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { adminPort, metric, parseMetrics } from '../helpers/admin.js';
import { rss, sleep } from '../helpers/attacks.js';
import { APPS, startCask } from '../helpers/cask.js';
import { h2session } from '../helpers/h2.js';
import { get } from '../helpers/http.js';

const MiB = 1024 * 1024;
const SIZE = 8 * MiB;
const CLIENTS = 200;

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

interface Reader {
  socket: Socket;
  /** Starts reading: the whole response once the server has sent it all. */
  finish(): Promise<Buffer>;
}

/** Asks for `path` and reads nothing until finish(). */
async function stalled(port: number, path: string): Promise<Reader> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.pause();
  socket.write(`GET ${path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n`);
  return {
    socket,
    finish: () =>
      new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        socket.on('data', (chunk: Buffer) => chunks.push(chunk));
        socket.once('end', () => resolve(Buffer.concat(chunks)));
        socket.once('error', reject);
        socket.resume();
      }),
  };
}

function bodyOf(response: Buffer): Buffer {
  const end = response.indexOf('\r\n\r\n');
  assert.ok(end > 0, 'a response head');
  assert.match(response.subarray(0, end).toString('latin1'), /^HTTP\/1\.1 200 /);
  return response.subarray(end + 4);
}

test(`${CLIENTS} clients that never read an 8 MiB static file: full pieces only within --response-spool-memory, the front stays small, every byte arrives`, async (t: TestContext) => {
  const dir = mkdtempSync(join(tmpdir(), 'cask-file-slow-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const content = randomBytes(SIZE);
  writeFileSync(join(dir, 'large.bin'), content);
  const server = await startCask([
    'hello:application', '--chdir', APPS, '--static', `/static=${dir}`,
    '--response-spool-memory', '4m', '--max-connections', '1000', '--send-timeout', '120',
    '--admin-bind', '127.0.0.1:0',
  ]); // prettier-ignore
  t.after(() => server.stop());
  const pid = server.proc.pid as number;
  // Warm up: one whole download, so the front's own buffers are counted in the baseline.
  assert.equal(
    sha256(bodyOf(await (await stalled(server.port, '/static/large.bin')).finish())),
    sha256(content),
  );
  await sleep(300);
  const base = rss(pid);

  const readers: Reader[] = [];
  t.after(() => readers.forEach((r) => r.socket.destroy()));
  for (let i = 0; i < CLIENTS; i++) readers.push(await stalled(server.port, '/static/large.bin'));
  await sleep(1500); // every response has written what its client's kernel buffers take
  const grew = rss(pid) - base;
  const metrics = parseMetrics((await get(adminPort(server), '/metrics')).body.toString());
  const claimed = metric(metrics, 'cask_response_spool_memory_bytes') ?? Number.NaN;
  // Other requests are still served at once.
  const started = Date.now();
  assert.equal((await get(server.port, '/')).status, 200);
  const fast = Date.now() - started;
  t.diagnostic(
    `front RSS grew ${(grew / MiB).toFixed(1)} MiB for ${CLIENTS} clients that read nothing; ` +
      `${claimed / MiB} MiB claimed of the 4 MiB budget; a fast request took ${fast} ms`,
  );
  // Full 1 MiB pieces for all of them would be 200 MiB; the budget's four plus 16 KiB each
  // are about 7 MiB. 48 MiB leaves room for the garbage collector's timing.
  assert.ok(grew < 48 * MiB, `front RSS grew ${(grew / MiB).toFixed(1)} MiB`);
  assert.ok(claimed <= 4 * MiB, `${claimed} bytes claimed`);
  assert.ok(fast < 2000, `a fast request took ${fast} ms`);

  const bodies = await Promise.all(readers.map((r) => r.finish()));
  const digest = sha256(content);
  for (const body of bodies) assert.equal(sha256(bodyOf(body)), digest);
});

test('SIGTERM with a client that never reads: the front drops it at --graceful-timeout and exits', async (t: TestContext) => {
  const dir = mkdtempSync(join(tmpdir(), 'cask-file-slow-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'large.bin'), randomBytes(SIZE));
  const server = await startCask([
    'hello:application', '--chdir', APPS, '--static', `/static=${dir}`,
    '--graceful-timeout', '2', '--send-timeout', '120',
  ]); // prettier-ignore
  t.after(() => server.stop('SIGKILL'));
  const reader = await stalled(server.port, '/static/large.bin');
  t.after(() => reader.socket.destroy());
  await sleep(300);
  const started = Date.now();
  void server.stop();
  const exited = await Promise.race([server.exited, sleep(15_000).then(() => 'still running')]);
  const took = Date.now() - started;
  t.diagnostic(`exited ${JSON.stringify(exited)} after ${took} ms`);
  assert.equal(exited, 0, 'the server exits with 0 within 15 s of SIGTERM');
  assert.ok(took >= 1500, `exited after ${took} ms, before the graceful timeout`);
  assert.match(server.stderr(), /Graceful timeout: dropping 1 connection/);
});

test('297 HTTP/2 streams that never read an 8 MiB static file: full pieces only within --response-spool-memory, every byte arrives', async (t: TestContext) => {
  const dir = mkdtempSync(join(tmpdir(), 'cask-file-slow-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const content = randomBytes(SIZE);
  writeFileSync(join(dir, 'large.bin'), content);
  const server = await startCask([
    'hello:application', '--chdir', APPS, '--static', `/static=${dir}`,
    '--response-spool-memory', '4m', '--send-timeout', '120', '--admin-bind', '127.0.0.1:0',
  ]); // prettier-ignore
  t.after(() => server.stop());
  const pid = server.proc.pid as number;
  // Each session's connection window is large, so each stream is held by its own window only
  // (64 KiB): what the front read past it waits in the front's memory.
  const sessions = await Promise.all([0, 1, 2].map(() => h2session(t, server.port, 512 * MiB)));
  const fetch = (client: ClientHttp2Session, path: string): ClientHttp2Stream => {
    const stream = client.request({ ':path': path });
    stream.on('error', () => {});
    stream.pause();
    return stream;
  };
  const whole = (stream: ClientHttp2Stream): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.once('end', () => resolve(Buffer.concat(chunks)));
      stream.once('error', reject);
      stream.resume();
    });
  const digest = sha256(content);
  assert.equal(
    sha256(await whole(fetch(sessions[0] as ClientHttp2Session, '/static/large.bin'))),
    digest,
  );
  await sleep(300);
  const base = rss(pid);
  // 99 a session: one under --http2-max-streams' default.
  const streams = sessions.flatMap((client) =>
    Array.from({ length: 99 }, () => fetch(client, '/static/large.bin')),
  );
  await sleep(1500);
  const grew = rss(pid) - base;
  const metrics = parseMetrics((await get(adminPort(server), '/metrics')).body.toString());
  const claimed = metric(metrics, 'cask_response_spool_memory_bytes') ?? Number.NaN;
  t.diagnostic(
    `front RSS grew ${(grew / MiB).toFixed(1)} MiB for ${streams.length} streams that read nothing; ` +
      `${claimed / MiB} MiB claimed of the 4 MiB budget`,
  );
  // Full 256 KiB pieces for all of them would be 74 MiB; the budget plus 16 KiB each are
  // about 9 MiB. 40 MiB leaves room for the garbage collector's timing.
  assert.ok(grew < 40 * MiB, `front RSS grew ${(grew / MiB).toFixed(1)} MiB`);
  assert.ok(claimed <= 4 * MiB, `${claimed} bytes claimed`);
  const bodies = await Promise.all(streams.map(whole));
  for (const body of bodies) assert.equal(sha256(body), digest);
});
