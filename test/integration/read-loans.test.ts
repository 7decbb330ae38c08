// The front reads a worker's link into buffers it lends and uses again (src/ipc/read-loans.ts).
// A buffer used again too early would overwrite bytes still waiting to be written, so these
// tests send bodies whose every byte is checked (SHA-256) down each path a lent view takes:
// straight to a fast client, queued in a socket behind a client that does not read yet, into
// the slow-client spool, cut off by a client that leaves, and copied for HTTP/2 and HTTP/1.0.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { BufferLender, LEND_FROM, readWithLoans } from '../../src/ipc/read-loans.js';
import { APPS, startCask, type RunningCask } from '../helpers/cask.js';
import { parseResponses, type ParsedResponse } from '../helpers/http.js';
import { h2session } from '../helpers/h2.js';

const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** A child that writes `mb` MiB of random bytes to its fd 3 in writes of many sizes and
 *  prints their SHA-256 on stdout. */
const WRITER = `
import hashlib, os, random
out = os.fdopen(3, "wb", buffering=0)
digest = hashlib.sha256()
rnd = random.Random(7)
left = MB * 1024 * 1024
while left > 0:
    size = min(left, rnd.choice([1, 700, 16383, 16384, 40000, 65536, 262144, 300000]))
    data = os.urandom(size)
    digest.update(data)
    view = memoryview(data)
    while view:
        view = view[out.write(view):]
    left -= size
out.close()
print(digest.hexdigest())
`;

interface PipeRun {
  received: Buffer;
  expected: string;
  lender: BufferLender;
  lentReads: number;
  closed: boolean;
}

/** Reads such a child's fd 3 through readWithLoans; `keep` decides which lent chunks are held
 *  past their call (and copied only when released, so an early reuse would show). */
async function readPipe(mb: number, keep: (index: number) => boolean): Promise<PipeRun> {
  const child = spawn('python3', ['-c', WRITER.replace('MB', String(mb))], {
    stdio: ['ignore', 'pipe', 'inherit', 'pipe'],
  });
  const lender = new BufferLender();
  const parts: Buffer[] = [];
  let lentReads = 0;
  let pending = 0;
  let ended: () => void = () => {};
  const drained = new Promise<void>((resolve) => (ended = resolve));
  const adopted = readWithLoans(child.stdio[3] as Socket, lender, (chunk, loan) => {
    if (loan === undefined) {
      assert.ok(chunk.length < LEND_FROM, 'a read this long comes on loan');
      parts.push(chunk);
      return;
    }
    const index = lentReads++;
    if (!keep(index)) {
      parts.push(Buffer.from(chunk));
      return;
    }
    // Keep the view itself, and copy it only after later reads have happened.
    const slot = parts.length;
    parts.push(Buffer.alloc(0));
    const release = loan.hold();
    pending++;
    setTimeout(
      () => {
        parts[slot] = Buffer.from(chunk);
        release();
        if (--pending === 0 && adopted?.closed === true) ended();
      },
      2 + (index % 5),
    );
  });
  assert.ok(adopted !== undefined, 'a child_process pipe has a handle to take over');
  let stdout = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  const closed = new Promise<boolean>((resolve) => child.once('close', () => resolve(true)));
  await new Promise<void>((resolve) => adopted.once('close', () => resolve()));
  if (pending > 0) await drained;
  // The child prints its digest after it closes fd 3, so the pipe may close before the
  // digest is read: wait for the child's 'close', which comes after its stdout has ended.
  const childClosed = await closed;
  return {
    received: Buffer.concat(parts),
    expected: stdout.trim(),
    lender,
    lentReads,
    closed: childClosed,
  };
}

test('a pipe read into lent buffers: every byte arrives, one buffer serves every read when nobody holds it', async () => {
  const run = await readPipe(16, () => false);
  assert.equal(sha(run.received), run.expected);
  assert.equal(run.received.length, 16 * 1024 * 1024);
  assert.ok(run.lentReads > 10, `only ${run.lentReads} reads came on loan`);
  assert.equal(run.lender.allocated, 1);
  assert.ok(run.closed, "the child's 'close' still comes");
});

test('a pipe read into lent buffers: chunks held past later reads are never overwritten', async () => {
  const run = await readPipe(16, (index) => index % 3 !== 2);
  assert.equal(sha(run.received), run.expected);
  // Held buffers come back: far fewer are made than there were lent reads.
  assert.ok(
    run.lender.allocated < run.lentReads,
    `${run.lender.allocated} buffers for ${run.lentReads} lent reads`,
  );
  assert.ok(run.closed);
});

let server: RunningCask;

before(async () => {
  server = await startCask([
    'lent_pieces:application',
    '--chdir',
    APPS,
    '-w',
    '1',
    '--threads',
    '4',
  ]);
});
after(async () => {
  await server.stop();
});

interface Fetch {
  /** Extra request lines and headers (default: HTTP/1.1, Host, Connection: close). */
  request?: string;
  /** Do not read for this long after sending the request. */
  pauseMs?: number;
  /** Leave once this many bytes have arrived. */
  leaveAfter?: number;
  headRequests?: boolean[];
}

/** Raw bytes from one connection, read to its end (or until the client leaves). */
function fetchRaw(path: string, opts: Fetch = {}): Promise<Buffer> {
  const request = opts.request ?? `GET ${path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`;
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1', () => {
      socket.write(request);
      if (opts.pauseMs !== undefined) {
        socket.pause();
        setTimeout(() => socket.resume(), opts.pauseMs);
      }
    });
    const chunks: Buffer[] = [];
    let got = 0;
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      got += chunk.length;
      if (opts.leaveAfter !== undefined && got >= opts.leaveAfter) {
        socket.destroy();
        resolve(Buffer.concat(chunks));
      }
    });
    socket.on('end', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
    socket.setTimeout(60_000, () => reject(new Error(`${path}: no end after 60 s`)));
  });
}

async function fetchOne(path: string, opts: Fetch = {}): Promise<ParsedResponse> {
  const raw = await fetchRaw(path, opts);
  const [response] = parseResponses(raw, opts.headRequests).responses;
  assert.ok(response !== undefined, `${path}: no whole response in ${raw.length} bytes`);
  return response;
}

function assertWhole(response: ParsedResponse, what: string): void {
  assert.equal(response.status, 200, what);
  assert.ok(response.body.length >= 6_000_000, `${what}: ${response.body.length} bytes`);
  assert.equal(sha(response.body), response.headers['x-sha'], `${what}: bytes differ`);
}

test('eight clients at once, with and without a Content-Length, get every byte', async () => {
  const paths = Array.from({ length: 8 }, (_, i) => `/?seed=${i + 1}${i % 2 === 0 ? '&cl=1' : ''}`);
  const responses = await Promise.all(paths.map((path) => fetchOne(path)));
  responses.forEach((response, i) => assertWhole(response, paths[i] as string));
  assert.equal(responses[0]?.headers['transfer-encoding'], undefined);
  assert.equal(responses[1]?.headers['transfer-encoding'], 'chunked');
});

test('clients that read nothing for a while, beside clients that read at once, get every byte', async () => {
  const slow = Array.from({ length: 4 }, (_, i) =>
    fetchOne(`/?seed=${20 + i}${i % 2 === 0 ? '&cl=1' : ''}`, { pauseMs: 1500 }),
  );
  const fast = Array.from({ length: 4 }, (_, i) => fetchOne(`/?seed=${30 + i}`));
  const responses = await Promise.all([...slow, ...fast]);
  responses.forEach((response, i) => assertWhole(response, `client ${i}`));
});

test('two requests on one connection, an HTTP/1.0 request and a HEAD get exactly their bytes', async () => {
  const pipelined = await fetchRaw('/', {
    request:
      'GET /?seed=40 HTTP/1.1\r\nHost: h\r\n\r\n' +
      'HEAD /?seed=41 HTTP/1.1\r\nHost: h\r\n\r\n' +
      'GET /?seed=42&cl=1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
  });
  const responses = parseResponses(pipelined, [false, true, false]).responses;
  assert.equal(responses.length, 3);
  assertWhole(responses[0] as ParsedResponse, 'first on the connection');
  assert.equal(responses[1]?.body.length, 0);
  assertWhole(responses[2] as ParsedResponse, 'third on the connection');
  const old = await fetchOne('/', { request: 'GET /?seed=43 HTTP/1.0\r\nHost: h\r\n\r\n' });
  assertWhole(old, 'HTTP/1.0');
});

test('clients that leave mid-body do not disturb the responses after them', async () => {
  const leaving = Array.from({ length: 4 }, (_, i) =>
    fetchRaw(`/?seed=${50 + i}`, { leaveAfter: 300_000 * (i + 1) }),
  );
  const staying = Array.from({ length: 3 }, (_, i) =>
    fetchOne(`/?seed=${60 + i}`, { pauseMs: 300 }),
  );
  const [, responses] = await Promise.all([Promise.all(leaving), Promise.all(staying)]);
  responses.forEach((response, i) => assertWhole(response, `client ${i} after the leavers`));
  assertWhole(await fetchOne('/?seed=70'), 'a request once they are gone');
});

test('HTTP/2 streams, which take copies, get every byte', async (t) => {
  const client = await h2session(t, server.port, 64 * 1024 * 1024);
  const streams = Array.from(
    { length: 4 },
    (_, i) =>
      new Promise<{ sha: string; body: Buffer }>((resolve, reject) => {
        const stream = client.request({ ':path': `/?seed=${80 + i}` });
        const chunks: Buffer[] = [];
        let expected = '';
        stream.on('response', (headers) => (expected = String(headers['x-sha'])));
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => resolve({ sha: expected, body: Buffer.concat(chunks) }));
        stream.on('error', reject);
      }),
  );
  for (const { sha: expected, body } of await Promise.all(streams)) {
    assert.ok(body.length >= 6_000_000);
    assert.equal(sha(body), expected);
  }
});
