// The front's connection handling over real loopback sockets, in-process and without Python:
// a stub handler stands in for the gateway, so each timeout, limit and PROXY header can be
// driven byte by byte and its outcome seen on both ends.

import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { test as nodeTest, type TestContext } from 'node:test';
import type { CaskError } from '../../src/errors.js';
import type { Exchange, RequestHandler } from '../../src/exchange.js';
import { Front, sweepInterval, type FrontOptions } from '../../src/http/front.js';
import { AllowList } from '../../src/net/allow-ips.js';
import { testFrontOptions } from '../helpers/front.js';
import { parseResponses } from '../helpers/http.js';
import { until } from '../helpers/load.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/**
 * How long to wait for something the server is expected to do. A fixed short wait is not
 * enough on a loaded machine (each step needs the event loop, and the thread pool for file
 * work, to come round); this bounds the wait within the tests' own 10 s timeout.
 */
const WAIT = 5000;
/** The responses `c` has received so far. */
const statuses = (c: Client): number[] =>
  parseResponses(c.received()).responses.map((r) => r.status);
/**
 * Every test here stops by itself, whatever goes wrong: after 10 s, or `timeout` for the few
 * that take seconds on purpose (their margins are seconds wide, so a loaded machine stretches
 * them).
 */
const test = (
  name: string,
  fn: (t: TestContext) => void | Promise<void>,
  timeout = 10_000,
): void => {
  nodeTest(name, { timeout }, fn);
};

class StubHandler implements RequestHandler {
  readonly exchanges: Exchange[] = [];
  readonly refusals: Array<{ status: number; code: string | undefined }> = [];
  gone = 0;
  /** Bytes of each response body. */
  size = 2;
  /** Don't answer: the request stays in the app. */
  hold = false;

  handle(exchange: Exchange): void {
    this.exchanges.push(exchange);
    exchange.onClientGone = () => this.gone++;
    if (this.hold) return;
    const body = Buffer.alloc(this.size, 'k');
    exchange.response.head(
      '200 OK',
      ['X-Remote', exchange.remoteAddr, 'X-Trusted', String(exchange.trusted)],
      body,
      true,
    );
  }
  refused(status: number, error: CaskError | undefined): void {
    this.refusals.push({ status, code: error?.code });
  }
  completed(): void {}
  responseError(): void {}
}

interface Harness {
  port: number;
  front: Front;
  handler: StubHandler;
  server: Server;
}

async function harness(t: TestContext, options: Partial<FrontOptions> = {}): Promise<Harness> {
  const handler = new StubHandler();
  const front = new Front(testFrontOptions(options), handler, { warn: () => {} });
  const server = createServer({ allowHalfOpen: true }, (socket) =>
    front.accept(socket, { scheme: 'http', serverName: '127.0.0.1', serverPort: '0' }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    front.close();
    for (const c of front.connections) c.shutdown();
    server.close();
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    front,
    handler,
    server,
  };
}

interface Client {
  socket: Socket;
  received(): Buffer;
  closed: Promise<number>;
}

/** A raw client; `closed` resolves with the time it took the server to close (ms). */
async function client(port: number, t: TestContext): Promise<Client> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  const started = Date.now();
  const closed = new Promise<number>((resolve) =>
    socket.on('close', () => resolve(Date.now() - started)),
  );
  await once(socket, 'connect');
  t.after(() => socket.destroy());
  return { socket, received: () => Buffer.concat(chunks), closed };
}

const GET = 'GET / HTTP/1.1\r\nHost: a\r\n\r\n';

test('`Front` answers 408 to a head that takes longer than header-timeout', async (t: TestContext) => {
  const { port, handler } = await harness(t, { headerTimeoutMs: 300 });
  const c = await client(port, t);
  c.socket.write('GET / HTTP/1.1\r\nHo');
  const took = await c.closed;
  t.plan(4);
  t.assert.match(c.received().toString('latin1'), /^HTTP\/1\.1 408 Request Timeout\r\n/);
  t.assert.ok(took >= 250 && took < 2000, `closed after ${took} ms`);
  t.assert.deepEqual(handler.refusals, [{ status: 408, code: 'CASK_HTTP_TIMEOUT' }]);
  t.assert.equal(handler.exchanges.length, 0);
});

test('`Front` counts the first head timeout from the connection, the next from their first byte', async (t: TestContext) => {
  // Every step is a second inside the 2 s header-timeout, or past it and past the sweep that
  // answers it, so a pause of the process of up to about a second (a loaded machine) cannot
  // flip an outcome. The front's sweep runs every 500 ms (a quarter of the shortest timeout),
  // so the 408 goes out between 2 and 2.5 s after connect.
  const { port, handler } = await harness(t, { headerTimeoutMs: 2000, keepAliveMs: 5000 });
  const late = await client(port, t);
  await sleep(1000); // the first byte arrives 1 s before the connection's deadline
  late.socket.write('GET / HTTP/1.1\r\n');
  // 2.8 s after connect, past the 408: only 1.8 s after the first byte, so a timeout counted
  // from the first byte (deadline at 3 s) would let this head complete and get a 200.
  await sleep(1800);
  late.socket.write('Host: a\r\n\r\n');
  await late.closed;
  const c = await client(port, t);
  c.socket.write(GET);
  await sleep(1800); // idle, well within keep-alive (5 s)
  c.socket.write('GET / HTTP/1.1\r\n');
  // 1 s after the first byte, well within 2 s; but 2.8 s after the connection and after the
  // previous answer, so a timeout counted from either would answer 408.
  await sleep(1000);
  c.socket.write('Host: a\r\n\r\n');
  await until(() => statuses(c).length >= 2, WAIT, 'the answer to the second request');
  t.plan(3);
  t.assert.match(late.received().toString('latin1'), /^HTTP\/1\.1 408 /);
  t.assert.deepEqual(
    parseResponses(c.received()).responses.map((r) => r.status),
    [200, 200],
  );
  t.assert.equal(handler.exchanges.length, 2);
}, 30_000);

test('`Front` closes a silent new connection at header-timeout and an idle one at keep-alive, without a 408', async (t: TestContext) => {
  const { port, handler } = await harness(t, { headerTimeoutMs: 300, keepAliveMs: 600 });
  const silent = await client(port, t);
  const idle = await client(port, t);
  idle.socket.write(GET);
  const [silentMs, idleMs] = await Promise.all([silent.closed, idle.closed]);
  t.plan(5);
  t.assert.equal(silent.received().length, 0);
  t.assert.ok(silentMs >= 250 && silentMs < 2000, `silent connection closed after ${silentMs} ms`);
  t.assert.deepEqual(
    parseResponses(idle.received()).responses.map((r) => r.status),
    [200],
  );
  t.assert.ok(idleMs >= 550 && idleMs < 2500, `idle connection closed after ${idleMs} ms`);
  t.assert.deepEqual(handler.refusals, []);
});

test('`Front` answers 408 to a body slower than body-min-rate and serves one that keeps up', async (t: TestContext) => {
  const { port, handler } = await harness(t, { headerTimeoutMs: 300, bodyMinRate: 100 });
  const slow = await client(port, t);
  const steady = await client(port, t);
  // A body is allowed header-timeout plus 10 ms per byte received (100 B/s). The slow one sends
  // 5 bytes every 100 ms (50 B/s). The steady one sends 100 bytes with its head, then 20 every
  // 100 ms (200 B/s), its 220 bytes and no more (more would start a second request, which would
  // time out). Its first bytes put it more than a second ahead of its limit, and it gains on
  // the limit from there: a pause of the process (a loaded machine), which holds its writes
  // back while the front's clock runs on, cannot make it late. Sent with the head alone, it
  // would have had only the 300 ms of header-timeout to get its first bytes in.
  slow.socket.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n');
  steady.socket.write(
    `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 220\r\n\r\n${'y'.repeat(100)}`,
  );
  let steadySent = 100;
  const timer = setInterval(() => {
    if (!slow.socket.destroyed) slow.socket.write('xxxxx');
    if (!steady.socket.destroyed && steadySent < 220) {
      steady.socket.write('y'.repeat(20));
      steadySent += 20;
    }
  }, 100);
  t.after(() => clearInterval(timer));
  const took = await slow.closed;
  // The steady one may still be sending when the slow one is cut: wait for its answer.
  await until(() => statuses(steady).length >= 1, WAIT, 'the answer to the steady body');
  clearInterval(timer);
  t.plan(4);
  t.assert.match(slow.received().toString('latin1'), /^HTTP\/1\.1 408 /);
  // Never before header-timeout, the least a body is allowed. Its bytes buy the slow one more
  // (about 700 ms in all when every write comes on time), but how many arrive in time depends
  // on how busy the machine is; that bytes extend the limit is what the steady one shows.
  t.assert.ok(took >= 300 && took < 3000, `slow body refused after ${took} ms`);
  t.assert.deepEqual(
    parseResponses(steady.received()).responses.map((r) => r.status),
    [200],
  );
  t.assert.deepEqual(
    handler.refusals.map((r) => r.code),
    ['CASK_HTTP_TIMEOUT'],
  );
});

/** Polls every 10 ms until `done()` holds, for at most 30 s; the time it took, in ms. The
 *  short interval keeps the time measured close to the moment the server acted. */
const soon = (done: () => boolean, what: string): Promise<number> =>
  until(done, 30_000, what, 10);

test('`Front` drops a client that reads nothing of its response for send-timeout', async (t: TestContext) => {
  const { port, front, handler } = await harness(t, { sendTimeoutMs: 400 });
  handler.hold = true;
  const c = await client(port, t);
  c.socket.pause();
  c.socket.write(GET);
  await soon(() => handler.exchanges.length === 1, 'the request at the handler');
  const exchange = handler.exchanges[0]!;
  // 16 MiB, far more than the socket buffers hold, in 1 MiB writes as the gateway makes them.
  exchange.response.head('200 OK', ['Content-Length', String(16 << 20)], Buffer.alloc(0), false);
  for (let i = 0; i < 16; i++) exchange.response.data(Buffer.alloc(1 << 20, 'x'), i === 15);
  const took = await soon(() => front.connections.size === 0, 'the connection closed');
  t.plan(3);
  t.assert.ok(took >= 350 && took < 4000, `dropped after ${took} ms`);
  t.assert.equal(handler.gone, 0, 'the response was complete on our side: nothing to cancel');
  t.assert.deepEqual(
    handler.refusals.map((r) => r.code),
    ['CASK_SEND_TIMEOUT'],
  );
});

test('`Front` cancels the request of a client dropped by send-timeout mid-response', async (t: TestContext) => {
  const { port, front, handler } = await harness(t, { sendTimeoutMs: 300 });
  handler.hold = true;
  const c = await client(port, t);
  c.socket.pause();
  c.socket.write(GET);
  await soon(() => handler.exchanges.length === 1, 'the request at the handler');
  handler.exchanges[0]!.response.head('200 OK', [], Buffer.alloc(8 << 20, 'x'), false);
  await soon(() => front.connections.size === 0, 'the connection closed');
  t.plan(2);
  t.assert.equal(handler.gone, 1);
  t.assert.deepEqual(
    handler.refusals.map((r) => r.code),
    ['CASK_SEND_TIMEOUT'],
  );
});

test('`Front` keeps a slow reader that takes bytes more often than send-timeout', async (t: TestContext) => {
  const { port, handler } = await harness(t, { sendTimeoutMs: 2500 });
  handler.size = 24 << 20;
  const c = await client(port, t);
  c.socket.pause();
  c.socket.write('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  // Read for 2 ms every 400 ms: a read takes 2 to 4 MiB at most (one or two polls of the
  // socket), so the 24 MiB take a dozen reads or more, about 5 s, far slower than the server
  // could send; bytes stay pending on its side for about 4 s of it, well past send-timeout.
  // But the client never goes 2.5 s without taking bytes: a pause of up to 2 s (a loaded
  // machine) still passes.
  const timer = setInterval(() => {
    c.socket.resume();
    setTimeout(() => c.socket.pause(), 2);
  }, 400);
  t.after(() => clearInterval(timer));
  await c.closed;
  clearInterval(timer);
  t.plan(3);
  t.assert.deepEqual(handler.refusals, []);
  t.assert.equal(handler.gone, 0);
  t.assert.equal(parseResponses(c.received()).responses[0]?.body.length, 24 << 20);
}, 30_000);

/** This process's response spool files (response.ts names them by pid). */
function spoolFiles(): string[] {
  return readdirSync(tmpdir()).filter((f) => f.startsWith(`cask-response-${process.pid}-`));
}

/** Sends 16 answers of 1 MiB, each a different letter, counting the credit given back. */
function sendSixteen(exchange: Exchange, chunked: boolean): { credited: () => number } {
  let credited = 0;
  const flushed = (n: number): void => {
    credited += n;
  };
  const headers = chunked ? [] : ['Content-Length', String(16 << 20)];
  exchange.response.head('200 OK', headers, Buffer.alloc(0), false, flushed);
  for (let i = 0; i < 16; i++) {
    exchange.response.data(Buffer.alloc(1 << 20, 97 + i), i === 15, flushed);
  }
  return { credited: () => credited };
}

for (const chunked of [false, true]) {
  test(`\`Front\` spools a ${chunked ? 'chunked ' : ''}response for a client that does not read, credits the app at once, and sends it all in order`, async (t: TestContext) => {
    const { port, handler } = await harness(t, { responseSpoolLimit: 64 << 20 });
    handler.hold = true;
    const c = await client(port, t);
    c.socket.pause();
    c.socket.write('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    await soon(() => handler.exchanges.length === 1, 'the request at the handler');
    const { credited } = sendSixteen(handler.exchanges[0]!, chunked);
    await sleep(100);
    const whileUnread = credited();
    const files = spoolFiles().length;
    c.socket.resume();
    await c.closed;
    // The spool file is unlinked asynchronously (on the thread pool).
    await until(() => spoolFiles().length === 0, WAIT, 'the spool file removed');
    const body = parseResponses(c.received()).responses[0]?.body ?? Buffer.alloc(0);
    t.plan(5);
    // All but the first answer, which went into the socket before it backed up.
    t.assert.ok(
      whileUnread >= 15 << 20,
      `${whileUnread} bytes credited while the client read nothing`,
    );
    t.assert.equal(files, 1, 'one spool file while the client lagged');
    t.assert.equal(body.length, 16 << 20);
    t.assert.ok(
      Array.from({ length: 16 }, (_, i) => body[(i << 20) + 12345] === 97 + i).every(Boolean),
      'the answers arrive in order',
    );
    t.assert.deepEqual(spoolFiles(), [], 'the spool file is gone');
  });
}

test('`Front` stops crediting the app past response-spool-limit until the client reads', async (t: TestContext) => {
  const { port, handler } = await harness(t, { responseSpoolLimit: 4 << 20 });
  handler.hold = true;
  const c = await client(port, t);
  c.socket.pause();
  c.socket.write('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  await soon(() => handler.exchanges.length === 1, 'the request at the handler');
  const { credited } = sendSixteen(handler.exchanges[0]!, false);
  await sleep(100);
  const whileUnread = credited();
  c.socket.resume();
  await c.closed;
  t.plan(3);
  t.assert.ok(
    whileUnread < 12 << 20,
    `${whileUnread} bytes credited to a client that read nothing`,
  );
  t.assert.equal(credited(), 16 << 20, 'all credited once read');
  t.assert.equal(parseResponses(c.received()).responses[0]?.body.length, 16 << 20);
});

test('`Front` holds at most response-spool-memory for clients that do not read: the rest spills to file, every app is credited, every byte arrives', async (t: TestContext) => {
  // Two claims of 256 KiB for six clients: four get none and keep at most 16 KiB queued.
  const { port, front, handler } = await harness(t, {
    responseSpoolLimit: 64 << 20,
    responseSpoolMemory: 512 << 10,
  });
  handler.hold = true;
  const clients = await Promise.all(Array.from({ length: 6 }, () => client(port, t)));
  for (const c of clients) {
    c.socket.pause();
    c.socket.write('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  }
  await soon(() => handler.exchanges.length === 6, 'six requests at the handler');
  const sent = handler.exchanges.map((e) => sendSixteen(e, false));
  await sleep(100);
  const ledger = front.spoolLedger;
  const queued = [...front.sockets].map((s) => s.writableLength).sort((a, b) => b - a);
  const credited = sent.map((s) => s.credited());
  const { inMemory, memoryPeak, memoryRefused } = ledger;
  const files = spoolFiles().length;
  for (const c of clients) c.socket.resume();
  await Promise.all(clients.map((c) => c.closed));
  const bodies = clients.map((c) => parseResponses(c.received()).responses[0]?.body);
  // The claims go back as the sockets close, and the files are unlinked on the thread pool.
  await until(
    () => ledger.inMemory === 0 && spoolFiles().length === 0,
    WAIT,
    'the claims and spool files given back',
  );
  t.diagnostic(`queued per socket: ${queued.join(', ')}; ${memoryRefused} writes found no claim`);
  t.plan(8);
  t.assert.ok(memoryPeak <= 512 << 10, `${memoryPeak} bytes claimed at most`);
  t.assert.equal(inMemory, 512 << 10, 'both claims held while their clients did not read');
  t.assert.ok(memoryRefused > 0, 'the budget was spent');
  t.assert.ok(
    queued.slice(2).every((n) => n <= 16 << 10) && queued.every((n) => n <= 256 << 10),
    `queued in memory per socket: ${queued.join(', ')}`,
  );
  t.assert.equal(files, 6, 'each response spilled to its file');
  t.assert.ok(
    credited.every((n) => n === 16 << 20),
    `every app credited at once: ${credited.join(', ')}`,
  );
  t.assert.deepEqual(
    bodies.map((b) =>
      b === undefined
        ? 'none'
        : `${b.length} ${Array.from({ length: 16 }, (_, i) => b[(i << 20) + 777] === 97 + i).every(Boolean)}`,
    ),
    Array(6).fill(`${16 << 20} true`),
  );
  t.assert.deepEqual([ledger.inMemory, spoolFiles().length], [0, 0], 'claims and files given back');
}, 30_000);

test('`Front` removes the spool of a client dropped by send-timeout', async (t: TestContext) => {
  const { port, front, handler } = await harness(t, {
    responseSpoolLimit: 64 << 20,
    sendTimeoutMs: 300,
  });
  handler.hold = true;
  const c = await client(port, t);
  c.socket.pause();
  c.socket.write(GET);
  await soon(() => handler.exchanges.length === 1, 'the request at the handler');
  sendSixteen(handler.exchanges[0]!, true);
  const spooling = spoolFiles().length;
  await soon(() => front.connections.size === 0, 'the connection closed');
  // The spool file is unlinked asynchronously (on the thread pool).
  await until(() => spoolFiles().length === 0, WAIT, 'the spool file removed');
  t.plan(3);
  t.assert.equal(spooling, 1);
  t.assert.deepEqual(spoolFiles(), []);
  t.assert.deepEqual(
    handler.refusals.map((r) => r.code),
    ['CASK_SEND_TIMEOUT'],
  );
});

test('`Front` refuses connections past max-connections with 503 and counts them', async (t: TestContext) => {
  const warnings: string[] = [];
  const { port, front, handler } = await harness(t, { maxConnections: 3 });
  (front as unknown as { logger: { warn(m: string): void } }).logger = {
    warn: (m) => warnings.push(m),
  };
  const held = await Promise.all([client(port, t), client(port, t), client(port, t)]);
  await until(() => front.connections.size === 3, WAIT, 'three connections accepted');
  const over = await client(port, t);
  await over.closed;
  held[0]!.socket.destroy();
  await until(() => front.connections.size === 2, WAIT, 'the front to see one close');
  const next = await client(port, t);
  next.socket.write(GET);
  await until(() => statuses(next).length >= 1, WAIT, 'an answer on the next connection');
  t.plan(6);
  const refusal = parseResponses(over.received()).responses[0];
  t.assert.equal(refusal?.status, 503);
  t.assert.equal(refusal?.headers['retry-after'], '1');
  t.assert.equal(refusal?.headers.connection, 'close');
  t.assert.equal(front.counters.overLimit, 1);
  t.assert.match(
    warnings.join('\n'),
    /Connection limit reached, refusing connections: 3 open, 1 refused.*CASK_CONNECTION_LIMIT/,
  );
  t.assert.deepEqual(
    parseResponses(next.received()).responses.map((r) => r.status),
    [200],
    `${handler.exchanges.length}`,
  );
});

test('`Front` answers every request a client sent whole before half-closing, then closes', async (t: TestContext) => {
  const { port } = await harness(t);
  const c = await client(port, t);
  c.socket.end(`${GET}${GET}POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok${GET}`);
  await c.closed;
  t.plan(1);
  t.assert.deepEqual(
    parseResponses(c.received()).responses.map((r) => r.status),
    [200, 200, 200, 200],
  );
});

test('`Front` answers 400 to a request cut short by a half-close, after the whole ones', async (t: TestContext) => {
  const { port } = await harness(t);
  const c = await client(port, t);
  c.socket.end(`${GET}POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nshort`);
  await c.closed;
  t.plan(1);
  t.assert.deepEqual(
    parseResponses(c.received()).responses.map((r) => r.status),
    [200, 400],
  );
});

test('`Front` sends 100 Continue only while the body has not started to come', async (t: TestContext) => {
  const { port } = await harness(t, {
    limits: {
      maxRequestLine: 1024,
      maxHeaderCount: 32,
      maxHeaderFieldSize: 1024,
      maxBodySize: 100,
    },
  });
  const waiting = await client(port, t);
  waiting.socket.write(
    'PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n',
  );
  await until(
    () => waiting.received().includes('\r\n\r\n'),
    WAIT,
    'an interim answer before the body',
  );
  const before = waiting.received().toString('latin1');
  waiting.socket.write('data');
  const eager = await client(port, t);
  eager.socket.write(
    'PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\ndata',
  );
  const large = await client(port, t);
  large.socket.write(
    'PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 101\r\n\r\n',
  );
  await large.closed;
  await until(
    () => statuses(waiting).length >= 2 && statuses(eager).length >= 1,
    WAIT,
    'the answers to both bodies',
  );
  t.plan(4);
  t.assert.equal(before, 'HTTP/1.1 100 Continue\r\n\r\n');
  t.assert.deepEqual(
    parseResponses(waiting.received()).responses.map((r) => r.status),
    [100, 200],
  );
  t.assert.deepEqual(
    parseResponses(eager.received()).responses.map((r) => r.status),
    [200],
  );
  t.assert.deepEqual(
    parseResponses(large.received()).responses.map((r) => r.status),
    [413],
  );
});

test('`Front` stops taking pipelined requests from a client that does not read its answers', async (t: TestContext) => {
  const { port, handler } = await harness(t);
  handler.size = 64 * 1024;
  const c = await client(port, t);
  c.socket.pause();
  const n = 300; // 300 answers of 64 KiB: 19 MiB, far past what the socket buffers hold
  c.socket.write(GET.repeat(n));
  await sleep(500);
  const whileStalled = handler.exchanges.length;
  c.socket.resume();
  while (handler.exchanges.length < n) await sleep(20);
  await until(() => statuses(c).length >= n, WAIT, `${n} answers`);
  t.plan(2);
  t.assert.ok(
    whileStalled < n / 2,
    `${whileStalled} of ${n} requests handled while the client read nothing`,
  );
  t.assert.equal(parseResponses(c.received()).responses.length, n);
});

test('`Front` marks an exchange trusted only when its peer is in forwarded-allow-ips', async (t: TestContext) => {
  const trusting = await harness(t);
  const wary = await harness(t, { allow: new AllowList([]) });
  const a = await client(trusting.port, t);
  const b = await client(wary.port, t);
  a.socket.write(GET);
  b.socket.write(GET);
  await until(
    () => trusting.handler.exchanges.length > 0 && wary.handler.exchanges.length > 0,
    WAIT,
    'a request on each front',
  );
  t.plan(2);
  t.assert.equal(trusting.handler.exchanges[0]?.trusted, true);
  t.assert.equal(wary.handler.exchanges[0]?.trusted, false);
});

const v2 = (command: number, family: number, addresses: number[], tlv: number[] = []): Buffer =>
  Buffer.from([
    0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
    0x20 | command, family, 0, addresses.length + tlv.length, ...addresses, ...tlv,
  ]); // prettier-ignore

for (const [what, header, address, trusted] of [
  ['v1 TCP4', Buffer.from('PROXY TCP4 192.0.2.7 192.0.2.1 4711 80\r\n'), '192.0.2.7', false],
  ['v1 TCP6', Buffer.from('PROXY TCP6 2001:db8::7 2001:db8::1 4711 443\r\n'), '2001:db8::7', false],
  ['v1 UNKNOWN', Buffer.from('PROXY UNKNOWN whatever\r\n'), '127.0.0.1', true],
  [
    'v2 TCP4 with a TLV',
    v2(1, 0x11, [192, 0, 2, 9, 192, 0, 2, 1, 0x12, 0x67, 0, 80], [0x04, 0, 1, 0x41]),
    '192.0.2.9',
    false,
  ],
  [
    'v2 TCP6 of a trusted proxy',
    v2(1, 0x21, [...Array(15).fill(0), 1, ...Array(15).fill(0), 1, 0, 1, 0, 2]),
    '::1',
    true,
  ],
  ['v2 LOCAL', v2(0, 0x00, []), '127.0.0.1', true],
] as const) {
  test(`\`Front\` takes the client address from a PROXY ${what} header`, async (t: TestContext) => {
    const { port, handler } = await harness(t, { proxyProtocol: true });
    const c = await client(port, t);
    // Byte by byte: the header may be cut anywhere.
    const bytes = Buffer.concat([header, Buffer.from(GET)]);
    for (let i = 0; i < bytes.length; i++) {
      c.socket.write(bytes.subarray(i, i + 1));
      if (i < header.length + 2) await sleep(1);
    }
    // The answer too: the handler has the request before its answer reaches the client.
    await until(
      () => handler.exchanges.length > 0 && statuses(c).length > 0,
      WAIT,
      'the request and its answer',
    );
    t.plan(3);
    t.assert.equal(handler.exchanges[0]?.remoteAddr, address);
    t.assert.equal(handler.exchanges[0]?.trusted, trusted);
    t.assert.match(c.received().toString('latin1'), /^HTTP\/1\.1 200 OK\r\n/);
  });
}

for (const [what, bytes] of [
  ['no header at all', GET],
  ['a v1 header with a bad address', 'PROXY TCP4 192.0.2.256 192.0.2.1 1 2\r\n'],
  ['a v1 header longer than 107 bytes', `PROXY UNKNOWN ${'x'.repeat(100)}\r\n`],
  ['a v1 header ending in a bare LF', 'PROXY TCP4 192.0.2.1 192.0.2.1 1 2\n'],
  ['a v1 port with a leading zero', 'PROXY TCP4 192.0.2.1 192.0.2.1 01 2\r\n'],
  [
    'a v2 header of version 3',
    Buffer.concat([v2(1, 0x11, [1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2])]).fill(0x31, 12, 13),
  ],
  ['a v2 TCP4 header with a short address block', v2(1, 0x11, [1, 2, 3, 4])],
  ['a v2 UDP header', v2(1, 0x12, [1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2])],
] as const) {
  test(`\`Front\` refuses a PROXY listener's connection with ${what}`, async (t: TestContext) => {
    const { port, handler } = await harness(t, { proxyProtocol: true });
    const c = await client(port, t);
    c.socket.end(bytes);
    await c.closed;
    t.plan(3);
    t.assert.match(c.received().toString('latin1'), /^HTTP\/1\.1 400 Bad Request\r\n/);
    t.assert.deepEqual(
      handler.refusals.map((r) => r.code),
      ['CASK_PROXY_PROTOCOL'],
    );
    t.assert.equal(handler.exchanges.length, 0);
  });
}

test('`Front` refuses a PROXY header from a peer not in forwarded-allow-ips', async (t: TestContext) => {
  const { port, handler } = await harness(t, {
    proxyProtocol: true,
    allow: new AllowList(['10.0.0.0/8']),
  });
  const c = await client(port, t);
  c.socket.write(`PROXY TCP4 192.0.2.7 192.0.2.1 4711 80\r\n${GET}`);
  await c.closed;
  t.plan(2);
  t.assert.match(c.received().toString('latin1'), /^HTTP\/1\.1 400 /);
  t.assert.deepEqual(handler.exchanges, []);
});

test('`sweepInterval()` is a quarter of the shortest timeout, from 25 ms to 500 ms', (t: TestContext) => {
  const base = {
    limits: { maxRequestLine: 1, maxHeaderCount: 1, maxHeaderFieldSize: 1, maxBodySize: 1 },
    bodyMinRate: 0,
    bodyMemoryLimit: 0,
    bodyMemoryTotal: 0,
    responseSpoolLimit: 0,
    responseSpoolTotal: 1 << 30,
    responseSpoolMemory: 64 << 20,
    serverHeader: '',
  };
  t.plan(3);
  t.assert.equal(
    sweepInterval({ ...base, keepAliveMs: 5000, headerTimeoutMs: 10_000, sendTimeoutMs: 30_000 }),
    500,
  );
  t.assert.equal(
    sweepInterval({ ...base, keepAliveMs: 0, headerTimeoutMs: 0, sendTimeoutMs: 0 }),
    500,
  );
  t.assert.equal(
    sweepInterval({ ...base, keepAliveMs: 40, headerTimeoutMs: 0, sendTimeoutMs: 0 }),
    25,
  );
});
