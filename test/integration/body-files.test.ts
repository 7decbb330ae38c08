// Where the front keeps a request body while it arrives (src/http/body.ts): in memory up to
// --body-memory-limit, in a temporary file past it, and in the file from its first byte when
// the request announced a length past the limit (Content-Length, or a web server's
// CONTENT_LENGTH). The server runs with its own TMPDIR, so the test sees the files it makes;
// each body is sent in two parts with a look at that directory in between, and the app
// returns the SHA-256 and length of what it read.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import http2 from 'node:http2';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { encodeUwsgiRequest } from '../../src/cgi/uwsgi.js';
import { APPS, startCask, type RunningCask } from '../helpers/cask.js';

const LIMIT = 64 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let server: RunningCask;
let dir: string;
let uwsgiPort: number;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cask-body-files-'));
  server = await startCask(
    [
      'large_bodies:application',
      '--chdir',
      APPS,
      '-b',
      '127.0.0.1:0',
      '-b',
      'uwsgi://127.0.0.1:0',
      '--body-memory-limit',
      String(LIMIT),
    ],
    { env: { TMPDIR: dir } },
  );
  const match = /uwsgi:\/\/127\.0\.0\.1:(\d+)/.exec(server.stderr());
  assert.ok(match, server.stderr());
  uwsgiPort = Number(match[1]);
});
after(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The body files in the server's TMPDIR, with their sizes. */
function bodyFiles(): number[] {
  return readdirSync(dir)
    .filter((name) => name.startsWith('cask-body-'))
    .map((name) => statSync(join(dir, name)).size);
}

/** Waits until `check` holds for the body files (at most 5 s); returns what it saw last. */
async function filesUntil(check: (sizes: number[]) => boolean): Promise<number[]> {
  let sizes = bodyFiles();
  for (let waited = 0; !check(sizes) && waited < 5000; waited += 20) {
    await sleep(20);
    sizes = bodyFiles();
  }
  return sizes;
}

function body(size: number, seed: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

const digestOf = (bytes: Buffer): string =>
  `${createHash('sha256').update(bytes).digest('hex')} ${bytes.length}`;

async function open(port: number): Promise<{ socket: Socket; answer: Promise<string> }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const answer = once(socket, 'close').then(() => Buffer.concat(chunks).toString('latin1'));
  return { socket, answer };
}

function chunked(bytes: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`${bytes.length.toString(16)}\r\n`),
    bytes,
    Buffer.from('\r\n'),
  ]);
}

test('a Content-Length past the limit: the body goes to its file from its first bytes', async () => {
  const bytes = body(1024 * 1024, 1);
  const { socket, answer } = await open(server.port);
  socket.write(
    `POST /digest HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: ${bytes.length}\r\n\r\n`,
  );
  socket.write(bytes.subarray(0, 16 * 1024));
  const early = await filesUntil(
    (sizes) => sizes.length === 1 && (sizes[0] as number) >= 16 * 1024,
  );
  assert.deepEqual(early, [16 * 1024], 'the first 16 KiB are in a body file');
  socket.end(bytes.subarray(16 * 1024));
  const text = await answer;
  assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
  assert.ok(text.endsWith(digestOf(bytes)), text);
  assert.deepEqual(await filesUntil((sizes) => sizes.length === 0), [], 'the file is removed');
});

test('a Content-Length within the limit: the body stays in memory', async () => {
  const bytes = body(LIMIT, 2);
  const { socket, answer } = await open(server.port);
  socket.write(
    `POST /digest HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: ${bytes.length}\r\n\r\n`,
  );
  socket.write(bytes.subarray(0, LIMIT / 2));
  await sleep(200);
  assert.deepEqual(bodyFiles(), []);
  socket.end(bytes.subarray(LIMIT / 2));
  const text = await answer;
  assert.ok(text.endsWith(digestOf(bytes)), text);
  assert.deepEqual(bodyFiles(), []);
});

test('a chunked body: in memory until it passes the limit, then in its file', async () => {
  const bytes = body(256 * 1024, 3);
  const { socket, answer } = await open(server.port);
  socket.write(
    'POST /digest HTTP/1.1\r\nHost: h\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n',
  );
  socket.write(chunked(bytes.subarray(0, 16 * 1024)));
  await sleep(200);
  assert.deepEqual(bodyFiles(), [], 'no length was announced: 16 KiB stay in memory');
  socket.write(chunked(bytes.subarray(16 * 1024, 128 * 1024)));
  const spilled = await filesUntil(
    (sizes) => sizes.length === 1 && (sizes[0] as number) >= 128 * 1024,
  );
  assert.deepEqual(spilled, [128 * 1024], 'past the limit, all of it so far is in the file');
  socket.end(Buffer.concat([chunked(bytes.subarray(128 * 1024)), Buffer.from('0\r\n\r\n')]));
  const text = await answer;
  assert.ok(text.endsWith(digestOf(bytes)), text);
  assert.deepEqual(await filesUntil((sizes) => sizes.length === 0), []);
});

test("a web server's CONTENT_LENGTH past the limit (uwsgi): the body goes to its file at once", async () => {
  const bytes = body(512 * 1024, 4);
  const { socket, answer } = await open(uwsgiPort);
  socket.write(
    encodeUwsgiRequest([
      'REQUEST_METHOD', 'POST',
      'REQUEST_URI', '/digest',
      'PATH_INFO', '/digest',
      'SERVER_PROTOCOL', 'HTTP/1.1',
      'CONTENT_LENGTH', String(bytes.length),
    ]), // prettier-ignore
  );
  socket.write(bytes.subarray(0, 8 * 1024));
  const early = await filesUntil((sizes) => sizes.length === 1 && (sizes[0] as number) >= 8 * 1024);
  assert.deepEqual(early, [8 * 1024]);
  socket.end(bytes.subarray(8 * 1024));
  const text = await answer;
  assert.match(text, /^HTTP\/1\.[01] 200 OK\r\n/);
  assert.ok(text.endsWith(digestOf(bytes)), text);
  assert.deepEqual(await filesUntil((sizes) => sizes.length === 0), []);
});

test('an HTTP/2 request with a content-length past the limit: the body goes to its file at once', async () => {
  const bytes = body(512 * 1024, 5);
  const session = http2.connect(`http://127.0.0.1:${server.port}`);
  try {
    const stream = session.request({
      ':method': 'POST',
      ':path': '/digest',
      'content-length': String(bytes.length),
    });
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = once(stream, 'end');
    stream.write(bytes.subarray(0, 8 * 1024));
    const early = await filesUntil(
      (sizes) => sizes.length === 1 && (sizes[0] as number) >= 8 * 1024,
    );
    assert.deepEqual(early, [8 * 1024]);
    stream.end(bytes.subarray(8 * 1024));
    await ended;
    assert.equal(Buffer.concat(chunks).toString('latin1'), digestOf(bytes));
    assert.deepEqual(await filesUntil((sizes) => sizes.length === 0), []);
  } finally {
    session.close();
  }
});

test('bodies in 1-byte chunks are held at about their own size, and arrive whole', async () => {
  // Kept one Buffer per chunk, 16 such bodies of 64 KiB held the front some 130 MB.
  const rss = (): number =>
    Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.proc.pid}/status`, 'utf8'))?.[1]) *
    1024;
  const count = 16;
  const before = rss();
  const opened = await Promise.all(Array.from({ length: count }, () => open(server.port)));
  const bodies = opened.map((_, i) => body(LIMIT, 10 + i));
  for (const [i, { socket }] of opened.entries()) {
    const bytes = bodies[i] as Buffer;
    const pieces: Buffer[] = [
      Buffer.from(
        'POST /digest HTTP/1.1\r\nHost: h\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n',
      ),
    ];
    for (let at = 0; at < bytes.length; at++) pieces.push(chunked(bytes.subarray(at, at + 1)));
    socket.write(Buffer.concat(pieces));
  }
  // Every body is in the front (none is complete, so none has reached the app) once the
  // front has read it all: wait for the connections' bytes to be taken from the kernel.
  await sleep(1500);
  const grown = rss() - before;
  assert.ok(grown < 40 * 1024 * 1024, `the front grew by ${grown} bytes holding ${count} bodies`);
  assert.deepEqual(bodyFiles(), [], 'each body is within the memory limit');
  for (const { socket } of opened) socket.end('0\r\n\r\n');
  const answers = await Promise.all(opened.map(({ answer }) => answer));
  for (const [i, text] of answers.entries()) {
    assert.ok(text.endsWith(digestOf(bodies[i] as Buffer)), text);
  }
});

test('--body-memory-total: past it, bodies being received go to files, and every one arrives whole', async (t) => {
  const own = mkdtempSync(join(tmpdir(), 'cask-body-total-'));
  const capped = await startCask(
    [
      'large_bodies:application',
      '--chdir',
      APPS,
      '--body-memory-limit',
      '1m',
      '--body-memory-total',
      '256k',
    ],
    { env: { TMPDIR: own } },
  );
  t.after(async () => {
    await capped.stop();
    rmSync(own, { recursive: true, force: true });
  });
  const files = (): number => readdirSync(own).filter((n) => n.startsWith('cask-body-')).length;
  // Eight chunked bodies (no length announced, each within body-memory-limit) are sent 64 KiB
  // each and held open: 512 KiB in all, twice the total, so about half must be in files.
  const count = 8;
  const opened = await Promise.all(Array.from({ length: count }, () => open(capped.port)));
  const bodies = opened.map((_, i) => body(128 * 1024, 40 + i));
  for (const [i, { socket }] of opened.entries()) {
    socket.write(
      'POST /digest HTTP/1.1\r\nHost: h\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n',
    );
    socket.write(chunked((bodies[i] as Buffer).subarray(0, 64 * 1024)));
  }
  for (let waited = 0; files() < count / 2 - 1 && waited < 5000; waited += 20) await sleep(20);
  assert.ok(files() >= count / 2 - 1, `${files()} of ${count} bodies in files`);
  assert.ok(files() < count, 'the bodies that fit stay in memory');
  for (const [i, { socket }] of opened.entries()) {
    socket.end(
      Buffer.concat([chunked((bodies[i] as Buffer).subarray(64 * 1024)), Buffer.from('0\r\n\r\n')]),
    );
  }
  const answers = await Promise.all(opened.map(({ answer }) => answer));
  for (const [i, text] of answers.entries()) {
    assert.ok(text.endsWith(digestOf(bodies[i] as Buffer)), text);
  }
});
