// The request limits and timeouts of docs/tls-http2.md ("Limits and timeouts"), over HTTP/2
// in cleartext (prior knowledge) against a real cask and real Python workers: --timeout,
// --max-queue, --max-queue-wait and --body-min-rate answer one stream (504, 503, 408) while the
// other streams of the same connection are served, and --header-timeout closes a connection
// that never gets as far as a request — whether it sends nothing, part of the preface, the
// preface alone, or a header block it never finishes.

import { constants, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2'; // prettier-ignore
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { describe, test, type TestContext } from 'node:test';
import { sleep } from '../helpers/attacks.js';
import { APPS, startCask, type RunningCask } from '../helpers/cask.js';
import { h2session } from '../helpers/h2.js';
import { makeCerts, opensslMissing } from '../helpers/tls.js';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** ms from the request to the end of its answer */
  ms: number;
}

/**
 * One stream: `body` is sent whole, or not at all (undefined); `trickle` instead writes its
 * pieces `every` ms apart, until the answer comes (a client that is told no stops sending).
 */
function request(
  client: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  body?: Buffer | { trickle: Buffer[]; every: number },
): Promise<Answer> {
  const start = Date.now();
  const trickle = body !== undefined && 'trickle' in body ? body : undefined;
  return new Promise((resolve, reject) => {
    const stream = client.request(headers, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let head: IncomingHttpHeaders = {};
    const pieces = [...(trickle?.trickle ?? [])];
    const timer =
      trickle === undefined
        ? undefined
        : setInterval(() => {
            const piece = pieces.shift();
            if (piece === undefined) {
              clearInterval(timer);
              stream.end();
            } else if (!stream.destroyed) stream.write(piece);
          }, trickle.every);
    stream.on('response', (h) => (head = h));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      clearInterval(timer);
      resolve({
        status: Number(head[':status']),
        headers: head,
        body: Buffer.concat(chunks).toString('latin1'),
        ms: Date.now() - start,
      });
    });
    stream.on('error', (error) => {
      clearInterval(timer);
      reject(error);
    });
    if (body !== undefined && trickle === undefined) stream.end(body);
  });
}

const get = (client: ClientHttp2Session, path: string): Promise<Answer> =>
  request(client, { ':path': path });

describe(
  'HTTP/2: --timeout per stream (failures app, 1 worker × 2 threads, --timeout 2)',
  { timeout: 60_000 },
  () => {
    let server: RunningCask;
    test.before(async () => {
      server = await startCask([
      'failures:application', '--chdir', APPS, '-w', '1', '--threads', '2', '--timeout', '2',
    ]); // prettier-ignore
    });
    test.after(() => server.stop());

    test('a stream past --timeout gets 504, its neighbour on the same connection gets 200, and the worker and its thread serve on', async (t: TestContext) => {
      const client = await h2session(t, server.port);
      const pid = (await get(client, '/pid')).body;
      const victim = get(client, '/busy?30');
      await sleep(100);
      const neighbour = get(client, '/sleep?1');
      const [stopped, served] = await Promise.all([victim, neighbour]);
      await server.waitFor(/Request stopped after the timeout GET \/busy\?30/);
      // The stopped thread ran the app's finally block and is free again: both threads answer
      // at once on the same connection, in the same worker process.
      let closed = '';
      for (let i = 0; i < 40 && !closed.includes('busy-finally'); i++) {
        closed = (await get(client, '/closed')).body;
        if (!closed.includes('busy-finally')) await sleep(50);
      }
      const both = await Promise.all([get(client, '/sleep?0.5'), get(client, '/sleep?0.5')]);
      const after = await get(client, '/pid');
      t.plan(9);
      t.assert.equal(stopped.status, 504);
      t.assert.ok(stopped.ms >= 1900 && stopped.ms < 6000, `504 after ${stopped.ms} ms`);
      t.assert.equal(served.status, 200);
      t.assert.equal(served.body, 'slept 1.0');
      t.assert.match(closed, /busy-finally/, "the app's finally block ran");
      t.assert.deepEqual(
        both.map((a) => a.status),
        [200, 200],
      );
      t.assert.ok(
        both.every((a) => a.ms < 1400),
        `two streams at once took ${both.map((a) => a.ms).join(' and ')} ms: a thread is still held`,
      );
      t.assert.equal(after.body, pid, 'the same worker serves on');
      t.assert.doesNotMatch(server.stderr(), /Worker exited/);
    });

    test('a stream past --timeout after its headers went out is reset (RST_STREAM INTERNAL_ERROR), its neighbour is served', async (t: TestContext) => {
      const client = await h2session(t, server.port);
      // 200 chunks 20 ms apart: 4 s of output, cut at 2 s.
      const stream = client.request({ ':path': '/stream?200' });
      let status = 0;
      let received = 0;
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.on('data', (chunk: Buffer) => (received += chunk.length));
      const start = Date.now();
      const reset = new Promise<number>((resolve) => {
        stream.on('error', () => {});
        stream.once('close', () => resolve(stream.rstCode ?? -1));
      });
      await sleep(500);
      const neighbour = await get(client, '/sleep?0.5');
      const code = await reset;
      const ms = Date.now() - start;
      const after = await get(client, '/ok');
      t.plan(6);
      t.assert.equal(status, 200, 'the headers went out before the timeout');
      t.assert.ok(received > 0 && received < 200 * 7, `${received} bytes of the body arrived`);
      t.assert.equal(code, constants.NGHTTP2_INTERNAL_ERROR);
      t.assert.ok(ms >= 1900 && ms < 6000, `reset after ${ms} ms`);
      t.assert.equal(neighbour.status, 200);
      t.assert.equal(after.status, 200, 'the connection serves on');
    });
    test('an app that raises after its headers went out gets its stream reset with INTERNAL_ERROR, not ended', async (t: TestContext) => {
      const client = await h2session(t, server.port);
      const stream = client.request({ ':path': '/raise-after' });
      let received = '';
      let ended = false;
      stream.on('error', () => {});
      stream.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      stream.on('end', () => (ended = true));
      const code = await new Promise<number>((resolve) =>
        stream.once('close', () => resolve(stream.rstCode ?? -1)),
      );
      const after = await get(client, '/ok');
      t.plan(4);
      t.assert.equal(received, 'first part\n');
      t.assert.equal(code, constants.NGHTTP2_INTERNAL_ERROR);
      t.assert.equal(ended, false, 'the client must not take the cut body as complete');
      t.assert.equal(after.status, 200, 'the connection serves on');
    });

    test('a response shorter than its Content-Length is reset with INTERNAL_ERROR on its stream, which the client sees', async (t: TestContext) => {
      const client = await h2session(t, server.port);
      const stream = client.request({ ':path': '/short-length' });
      stream.on('error', () => {});
      stream.resume();
      const code = await new Promise<number>((resolve) =>
        stream.once('close', () => resolve(stream.rstCode ?? -1)),
      );
      const after = await get(client, '/ok');
      t.plan(2);
      // Ended instead, the client's nghttp2 would reset the stream itself with PROTOCOL_ERROR.
      t.assert.equal(code, constants.NGHTTP2_INTERNAL_ERROR);
      t.assert.equal(after.status, 200, 'the connection serves on');
    });
  },
);

describe(
  'HTTP/2: the queue per stream (1 worker × 1 thread, --prefetch 0)',
  { timeout: 60_000 },
  () => {
    test('with --max-queue 1, the stream past the queue gets 503 with Retry-After; the running and the queued one are served', async (t: TestContext) => {
      const server = await startCask([
      'failures:application', '--chdir', APPS, '-w', '1', '--threads', '1', '--prefetch', '0',
      '--max-queue', '1',
    ]); // prettier-ignore
      t.after(() => server.stop());
      const client = await h2session(t, server.port);
      const running = get(client, '/sleep?1');
      await sleep(200);
      const queued = get(client, '/ok');
      await sleep(200);
      const refused = await get(client, '/ok');
      const [ran, waited] = await Promise.all([running, queued]);
      const later = await get(client, '/ok');
      t.plan(6);
      t.assert.equal(refused.status, 503);
      t.assert.ok(refused.headers['retry-after'] !== undefined, 'Retry-After is sent');
      t.assert.ok(refused.ms < 800, `503 after ${refused.ms} ms: it did not wait`);
      t.assert.equal(ran.status, 200);
      t.assert.equal(waited.status, 200);
      t.assert.equal(later.status, 200, 'the connection serves on');
    });

    test('a queued stream the client resets leaves the queue: the app never runs it, the next stream is served', async (t: TestContext) => {
      const server = await startCask([
      'failures:application', '--chdir', APPS, '-w', '1', '--threads', '1', '--prefetch', '0',
    ]); // prettier-ignore
      t.after(() => server.stop());
      const client = await h2session(t, server.port);
      const running = get(client, '/sleep?1');
      await sleep(200);
      // Five seconds of the only thread, if it ever ran.
      const doomed = client.request({ ':path': '/sleep?5' });
      doomed.on('error', () => {});
      await sleep(200);
      doomed.close(constants.NGHTTP2_CANCEL);
      const next = await get(client, '/ok');
      const ran = await running;
      t.plan(3);
      t.assert.equal(ran.status, 200);
      t.assert.equal(next.status, 200);
      t.assert.ok(next.ms < 2500, `served after ${next.ms} ms: the reset stream still ran`);
    });

    test('a stream that waits longer than --max-queue-wait gets 503 with Retry-After; the connection serves on', async (t: TestContext) => {
      const server = await startCask([
      'failures:application', '--chdir', APPS, '-w', '1', '--threads', '1', '--prefetch', '0',
      '--max-queue-wait', '0.3',
    ], { env: { SAY_SLEEP: '1' } }); // prettier-ignore
      t.after(() => server.stop());
      const client = await h2session(t, server.port);
      const slow = get(client, '/sleep?1.5');
      // The app says so once the stream holds the only thread: the next one must wait.
      await server.waitFor('sleeping 1.5');
      const waiting = await get(client, '/ok');
      const ran = await slow;
      await server.waitFor(/No worker was free within 0\.3 s/);
      const later = await get(client, '/ok');
      t.plan(5);
      t.assert.equal(waiting.status, 503);
      t.assert.equal(waiting.headers['retry-after'], '1');
      t.assert.ok(waiting.ms >= 250 && waiting.ms < 1400, `503 after ${waiting.ms} ms`);
      t.assert.equal(ran.status, 200);
      t.assert.equal(later.status, 200);
    });
  },
);

describe(
  'HTTP/2: --body-min-rate per stream (echo app, --header-timeout 1, --body-min-rate 1k)',
  { timeout: 60_000 },
  () => {
    test('a trickling body gets 408 on its stream; a fast stream and an upload above the rate on the same connection are served', async (t: TestContext) => {
      const server = await startCask([
      'echo:application', '--chdir', APPS, '-w', '1', '--threads', '2',
      '--header-timeout', '1', '--body-min-rate', '1k', '--log-level', 'debug',
    ]); // prettier-ignore
      t.after(() => server.stop());
      const client = await h2session(t, server.port);
      const post = { ':method': 'POST', ':path': '/' };
      // 20 bytes/s of a 100 kB body: past its allowance (1 s + 20 ms per second) at about 1 s.
      const slow = request(
        client,
        { ...post, 'content-length': '100000' },
        { trickle: Array.from({ length: 40 }, () => Buffer.alloc(5, 's')), every: 250 },
      );
      // 8 KiB at about 4 KiB/s, above the 1 KiB/s minimum: a genuine slow upload.
      const upload = request(
        client,
        { ...post, 'content-length': String(8 * 1024) },
        { trickle: Array.from({ length: 8 }, () => Buffer.alloc(1024, 'u')), every: 250 },
      );
      await sleep(300);
      const fast = await get(client, '/fast');
      const [cut, uploaded] = await Promise.all([slow, upload]);
      const after = await get(client, '/after');
      await server.waitFor(/slower than 1024 bytes\/s/, 3000);
      t.plan(6);
      t.assert.equal(cut.status, 408);
      t.assert.ok(cut.ms >= 900 && cut.ms < 3000, `408 after ${cut.ms} ms`);
      t.assert.equal(fast.status, 200);
      t.assert.equal(uploaded.status, 200);
      t.assert.equal((JSON.parse(uploaded.body) as { body_length: number }).body_length, 8 * 1024);
      t.assert.equal(after.status, 200, 'the connection serves on');
    });
  },
);

// ── --header-timeout: a connection must get to its first request in time ────────────────

/** One frame (RFC 9113 §4.1). */
function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const SETTINGS = frame(0x4, 0, 0, Buffer.alloc(0));
const SETTINGS_ACK = frame(0x4, 0x1, 0, Buffer.alloc(0));

/** HPACK "literal field without indexing, new name", no Huffman (RFC 7541 §6.2.2). */
function literal(name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  return Buffer.concat([Buffer.from([0, n.length]), n, Buffer.from([v.length]), v]);
}

interface Watched {
  /** ms after the connect when the server's GOAWAY arrived, if it did */
  goawayAt: number | undefined;
  /** ms after the connect when the server closed the connection */
  closedAt: Promise<number>;
}

/**
 * A raw client that writes `bytes` and then stays silent, never closing its side: it sees the
 * server's frames (acknowledging its SETTINGS, as a client must) and when the server closes.
 * `afterAck` is written once the server's SETTINGS is acknowledged: a header block left open
 * must be the last thing sent, since any other frame inside it is a connection error (RFC 9113
 * §6.10).
 */
async function silentClient(
  t: TestContext,
  port: number,
  bytes: Buffer,
  afterAck?: Buffer,
): Promise<Watched> {
  const socket: Socket = connect({ port, host: '127.0.0.1' });
  socket.on('error', () => {});
  t.after(() => socket.destroy());
  await new Promise((resolve) => socket.once('connect', resolve));
  const start = Date.now();
  const watched: Watched = {
    goawayAt: undefined,
    closedAt: new Promise((resolve) => socket.once('close', () => resolve(Date.now() - start))),
  };
  const speaksH2 = bytes.subarray(0, PREFACE.length).equals(PREFACE);
  let buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    if (!speaksH2) return;
    buffer = Buffer.concat([buffer, chunk]);
    while (buffer.length >= 9 && buffer.length >= 9 + buffer.readUIntBE(0, 3)) {
      const type = buffer[3] as number;
      const flags = buffer[4] as number;
      buffer = buffer.subarray(9 + buffer.readUIntBE(0, 3));
      if (type === 0x4 && (flags & 0x1) === 0) {
        socket.write(SETTINGS_ACK);
        if (afterAck !== undefined) socket.write(afterAck);
        afterAck = undefined;
      }
      if (type === 0x7) watched.goawayAt ??= Date.now() - start;
    }
  });
  if (bytes.length > 0) socket.write(bytes);
  return watched;
}

describe(
  'HTTP/2: --header-timeout 1 (--keep-alive 10): the first request must arrive in time',
  { timeout: 60_000 },
  () => {
    let server: RunningCask;
    test.before(async () => {
      server = await startCask([
      'hello:application', '--chdir', APPS, '--header-timeout', '1', '--keep-alive', '10',
    ]); // prettier-ignore
    });
    test.after(() => server.stop());

    // From the connect: header-timeout, plus a quarter of it for the sweep, plus slack for a
    // busy machine.
    const inTime = (ms: number): boolean => ms >= 900 && ms < 2500;

    test('a connection that sends nothing is closed after header-timeout', async (t: TestContext) => {
      const watched = await silentClient(t, server.port, Buffer.alloc(0));
      const closedAt = await watched.closedAt;
      t.plan(1);
      t.assert.ok(inTime(closedAt), `closed after ${closedAt} ms`);
    });

    test('a connection that sends part of the preface and stops is closed after header-timeout', async (t: TestContext) => {
      const watched = await silentClient(t, server.port, PREFACE.subarray(0, 16));
      const closedAt = await watched.closedAt;
      t.plan(1);
      t.assert.ok(inTime(closedAt), `closed after ${closedAt} ms`);
    });

    test('a connection that sends the preface and no stream gets GOAWAY after header-timeout, and is closed though the client stays', async (t: TestContext) => {
      const watched = await silentClient(t, server.port, Buffer.concat([PREFACE, SETTINGS]));
      const closedAt = await watched.closedAt;
      t.plan(2);
      t.assert.ok(
        watched.goawayAt !== undefined && inTime(watched.goawayAt),
        `GOAWAY after ${watched.goawayAt} ms`,
      );
      // GOAWAY, then the client has the 2 s linger to close before the server does.
      t.assert.ok(closedAt >= 900 && closedAt < 5000, `closed after ${closedAt} ms`);
    });

    test('a connection whose first header block never ends (no END_HEADERS, no CONTINUATION) gets GOAWAY and is closed', async (t: TestContext) => {
      const block = Buffer.concat([
        literal(':method', 'GET'),
        literal(':scheme', 'http'),
        literal(':authority', 'a'),
      ]);
      const headers = frame(0x1, 0x1 /* END_STREAM, not END_HEADERS */, 1, block);
      const watched = await silentClient(
        t,
        server.port,
        Buffer.concat([PREFACE, SETTINGS]),
        headers,
      );
      const closedAt = await watched.closedAt;
      t.plan(2);
      t.assert.ok(
        watched.goawayAt !== undefined && inTime(watched.goawayAt),
        `GOAWAY after ${watched.goawayAt} ms`,
      );
      t.assert.ok(closedAt >= 900 && closedAt < 5000, `closed after ${closedAt} ms`);
    });

    test('after its first stream, a connection is kept for keep-alive, not header-timeout', async (t: TestContext) => {
      const client = await h2session(t, server.port);
      let goaway = false;
      client.once('goaway', () => (goaway = true));
      const first = await get(client, '/');
      await sleep(1800);
      const second = await get(client, '/');
      t.plan(3);
      t.assert.equal(first.status, 200);
      t.assert.equal(goaway, false, 'no GOAWAY before keep-alive');
      t.assert.equal(second.status, 200);
    });

    test('a session that sends its first request in time is served, whatever header-timeout', async (t: TestContext) => {
      const client = await h2session(t, server.port);
      await sleep(600);
      const answer = await get(client, '/');
      t.plan(2);
      t.assert.equal(answer.status, 200);
      t.assert.equal(answer.body, 'Hello, World!');
    });
  },
);

describe(
  'HTTP/2: --header-timeout under --http 2 (every cleartext connection is sniffed first)',
  { timeout: 60_000 },
  () => {
    test('a connection that sends nothing is closed after header-timeout', async (t: TestContext) => {
      const server = await startCask([
      'hello:application', '--chdir', APPS, '--http', '2', '--header-timeout', '1',
      '--keep-alive', '10',
    ]); // prettier-ignore
      t.after(() => server.stop());
      const watched = await silentClient(t, server.port, Buffer.alloc(0));
      const closedAt = await watched.closedAt;
      t.plan(1);
      t.assert.ok(closedAt >= 900 && closedAt < 2500, `closed after ${closedAt} ms`);
    });
  },
);

describe('HTTP/2 over TLS: --header-timeout after the handshake', { timeout: 60_000 }, () => {
  test(
    'a client that negotiates h2 by ALPN and sends no preface gets GOAWAY and is closed after header-timeout',
    { skip: opensslMissing() },
    async (t: TestContext) => {
      const certs = makeCerts(t);
      const server = await startCask([
        'hello:application', '--chdir', APPS, '--certfile', certs.cert, '--keyfile', certs.key,
        '--header-timeout', '1', '--keep-alive', '10',
      ]); // prettier-ignore
      t.after(() => server.stop());
      const socket = tlsConnect({
        port: server.port,
        host: '127.0.0.1',
        ca: readFileSync(certs.ca),
        servername: 'localhost',
        ALPNProtocols: ['h2'],
      });
      socket.on('error', () => {});
      t.after(() => socket.destroy());
      await new Promise((resolve) => socket.once('secureConnect', resolve));
      const start = Date.now();
      let goawayAt: number | undefined;
      let buffer = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        while (buffer.length >= 9 && buffer.length >= 9 + buffer.readUIntBE(0, 3)) {
          if (buffer[3] === 0x7) goawayAt ??= Date.now() - start;
          buffer = buffer.subarray(9 + buffer.readUIntBE(0, 3));
        }
      });
      const closedAt = await new Promise<number>((resolve) =>
        socket.once('close', () => resolve(Date.now() - start)),
      );
      t.plan(3);
      t.assert.equal(socket.alpnProtocol, 'h2');
      t.assert.ok(
        goawayAt !== undefined && goawayAt >= 900 && goawayAt < 2500,
        `GOAWAY after ${goawayAt} ms`,
      );
      t.assert.ok(closedAt >= 900 && closedAt < 5000, `closed after ${closedAt} ms`);
    },
  );
});
