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
import { adminPort, metric, metricSum, scrapeMetrics } from '../helpers/admin.js';
import { rss, sleep } from '../helpers/attacks.js';
import { APPS, startCask } from '../helpers/cask.js';
import { h2session } from '../helpers/h2.js';
import { get } from '../helpers/http.js';

const MiB = 1024 * 1024;
const SIZE = 8 * MiB;
const CLIENTS = 200;

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** A temporary directory holding `large.bin`, SIZE random bytes, removed after the test. */
function largeFile(t: TestContext): { dir: string; content: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'cask-file-slow-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const content = randomBytes(SIZE);
  writeFileSync(join(dir, 'large.bin'), content);
  return { dir, content };
}

/**
 * Takes an HTTP/1.1 response as it arrives and keeps only its head, its body's length and the
 * body's SHA-256: hundreds of 8 MiB bodies held whole would cost the test gigabytes.
 */
class ResponseDigest {
  private head = Buffer.alloc(0);
  private headDone = false;
  private readonly hash = createHash('sha256');
  length = 0;

  push(chunk: Buffer): void {
    if (this.headDone) {
      this.hash.update(chunk);
      this.length += chunk.length;
      return;
    }
    this.head = Buffer.concat([this.head, chunk]);
    const end = this.head.indexOf('\r\n\r\n');
    if (end < 0) return;
    const body = this.head.subarray(end + 4);
    this.head = this.head.subarray(0, end);
    this.headDone = true;
    this.push(body);
  }

  /** The body's SHA-256, once the response is a 200 with a whole head. */
  bodyDigest(): string {
    assert.ok(this.headDone, 'a response head');
    assert.match(this.head.toString('latin1'), /^HTTP\/1\.1 200 /);
    return this.hash.digest('hex');
  }
}

interface Reader {
  socket: Socket;
  /** Starts reading: resolves once the server has sent the whole response and closed. */
  finish(into?: ResponseDigest): Promise<ResponseDigest>;
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
    finish: (into = new ResponseDigest()) =>
      new Promise<ResponseDigest>((resolve, reject) => {
        socket.on('data', (chunk: Buffer) => into.push(chunk));
        socket.once('end', () => resolve(into));
        socket.once('error', reject);
        socket.resume();
      }),
  };
}

/**
 * Reads a paused socket slowly, 64 KiB every 20 ms, into `response` until `done()` says so.
 * Returns the bytes read.
 */
async function readSlowlyUntil(
  socket: Socket,
  response: ResponseDigest,
  done: () => boolean,
): Promise<number> {
  let received = 0;
  while (!done()) {
    await sleep(20);
    const before = received;
    for (
      let chunk: Buffer | null;
      received - before < 64 * 1024 && (chunk = socket.read()) !== null;
    ) {
      response.push(chunk);
      received += chunk.length;
    }
  }
  return received;
}

test(`${CLIENTS} clients that never read an 8 MiB static file: full pieces only within --response-spool-memory, the front stays small, every byte arrives`, async (t: TestContext) => {
  const { dir, content } = largeFile(t);
  const server = await startCask([
    'hello:application', '--chdir', APPS, '--static', `/static=${dir}`,
    '--response-spool-memory', '4m', '--max-connections', '1000', '--send-timeout', '120',
    '--admin-bind', '127.0.0.1:0',
  ]); // prettier-ignore
  t.after(() => server.stop());
  const pid = server.proc.pid as number;
  // Warm up: one whole download, so the front's own buffers are counted in the baseline.
  const digest = sha256(content);
  assert.equal(
    (await (await stalled(server.port, '/static/large.bin')).finish()).bodyDigest(),
    digest,
  );
  await sleep(300);
  const base = rss(pid);

  const readers: Reader[] = [];
  t.after(() => readers.forEach((r) => r.socket.destroy()));
  for (let i = 0; i < CLIENTS; i++) readers.push(await stalled(server.port, '/static/large.bin'));
  await sleep(1500); // every response has written what its client's kernel buffers take
  const grew = rss(pid) - base;
  const metrics = await scrapeMetrics(adminPort(server));
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
  // A front held up by the readers would answer only once they had read (never, here, before
  // --send-timeout's 120 s); 10 s tells that apart from a machine busy with other work, where
  // this request has been seen to take 4 s.
  assert.ok(fast < 10_000, `a fast request took ${fast} ms`);

  const responses = await Promise.all(readers.map((r) => r.finish()));
  for (const response of responses) {
    assert.equal(response.length, SIZE);
    assert.equal(response.bodyDigest(), digest);
  }
});

test('Connection: close with the answer still queued: the linger waits for it to leave, and a client that pauses past it gets every byte', async (t: TestContext) => {
  const { dir, content } = largeFile(t);
  const server = await startCask([
    'hello:application', '--chdir', APPS, '--static', `/static=${dir}`,
    '--access-log', '-', '--access-log-format', 'done %(r)s %(s)s',
  ]); // prettier-ignore
  t.after(() => server.stop());
  const reader = await stalled(server.port, '/static/large.bin');
  t.after(() => reader.socket.destroy());
  // The front has handed over the file's last piece and logged the response: the socket is
  // ended then, with up to a piece still queued.
  const response = new ResponseDigest();
  const logged = (): boolean => server.stdout().includes('done GET /static/large.bin');
  const received = await readSlowlyUntil(reader.socket, response, logged);
  // Past the 2 s linger the front used to count from end(): it destroyed the socket with
  // the answer's tail still in its queue, and the client saw a clean close, short.
  await sleep(3000);
  await reader.finish(response);
  t.diagnostic(
    `${received} bytes read when the response was logged; body ${response.length} bytes`,
  );
  assert.equal(response.length, SIZE);
  assert.equal(response.bodyDigest(), sha256(content));
});

test('Connection: close with the answer still queued and a client that stops reading: dropped at --send-timeout, not held', async (t: TestContext) => {
  const { dir } = largeFile(t);
  const server = await startCask([
    'hello:application', '--chdir', APPS, '--static', `/static=${dir}`, '--send-timeout', '2',
    '--admin-bind', '127.0.0.1:0', '--access-log', '-', '--access-log-format', 'done %(r)s %(s)s',
  ]); // prettier-ignore
  t.after(() => server.stop());
  const reader = await stalled(server.port, '/static/large.bin');
  t.after(() => reader.socket.destroy());
  const logged = (): boolean => server.stdout().includes('done GET /static/large.bin');
  const response = new ResponseDigest();
  const received = await readSlowlyUntil(reader.socket, response, logged);
  // The client now takes nothing more. While the answer's tail waits in the front, the
  // linger has not started and the send timeout is what ends the connection.
  const scrape = (): Promise<Map<string, number>> => scrapeMetrics(adminPort(server));
  const started = Date.now();
  let metrics = await scrape();
  while (metricSum(metrics, 'cask_connections') > 0 && Date.now() - started < 10_000) {
    await sleep(200);
    metrics = await scrape();
  }
  const timedOut = metric(metrics, 'cask_refused_total', { reason: 'CASK_SEND_TIMEOUT' }) ?? 0;
  t.diagnostic(
    `${received} bytes read before the client stopped; connection gone after ` +
      `${Date.now() - started} ms; send timeouts ${timedOut}`,
  );
  assert.equal(metricSum(metrics, 'cask_connections'), 0, 'the connection is still held');
  // Either the tail was still in the front (dropped by the send timeout), or the kernel took
  // all of it and the linger closed the connection after it left.
  if (timedOut === 0) assert.equal((await reader.finish(response)).length, SIZE);
  else assert.equal(timedOut, 1);
});

test('SIGTERM with a client that never reads: the front drops it at --graceful-timeout and exits', async (t: TestContext) => {
  const { dir } = largeFile(t);
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
  const { dir, content } = largeFile(t);
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
  // The body's length and SHA-256, hashed as it arrives: 297 bodies of 8 MiB held whole
  // would cost the test gigabytes.
  const whole = (stream: ClientHttp2Stream): Promise<{ length: number; digest: string }> =>
    new Promise((resolve, reject) => {
      const hash = createHash('sha256');
      let length = 0;
      stream.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        length += chunk.length;
      });
      stream.once('end', () => resolve({ length, digest: hash.digest('hex') }));
      stream.once('error', reject);
      stream.resume();
    });
  const digest = sha256(content);
  assert.equal(
    (await whole(fetch(sessions[0] as ClientHttp2Session, '/static/large.bin'))).digest,
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
  const metrics = await scrapeMetrics(adminPort(server));
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
  for (const body of bodies) assert.deepEqual(body, { length: SIZE, digest });
});
