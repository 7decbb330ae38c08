// src/net/bare-socket.ts over real loopback sockets: a net.Server whose connections come as
// BareSockets (acceptBare), driven by net.Socket clients. Each test holds one rule of the
// module's header to what a client sees, since the front relies on each as it would on a
// net.Socket: reads to the owner or as 'data', writes in order with every callback once and
// never inside write(), 'drain', end and half-open, destroy with writes queued, a reset, pause,
// and the hand-over to a net.Socket; and which listeners hand them out.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, Socket, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { acceptBare, bareSocketsAvailable, BareSocket } from '../../src/net/bare-socket.js';
import type { BindAddress } from '../../src/net/bind.js';
import type { ClientSocket } from '../../src/net/client-socket.js';
import { listen } from '../../src/net/listener.js';
import { sharedReadBuffer, type SharedReadOwner } from '../../src/http/shared-reads.js';

const skip = bareSocketsAvailable() ? false : 'this Node lacks the bindings bare sockets need';

/** Everything `socket` receives until its end. */
function readAll(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve, reject) => {
    socket.on('end', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
  });
}

/** Bytes `socket` emits as 'data' until there are `n`. */
function take(socket: BareSocket | Socket, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  return new Promise((resolve) => {
    const on = (chunk: Buffer): void => {
      chunks.push(Buffer.from(chunk));
      got += chunk.length;
      if (got >= n) {
        socket.off('data', on);
        resolve(Buffer.concat(chunks));
      }
    };
    socket.on('data', on);
  });
}

describe('BareSocket', { skip }, () => {
  let server: Server;
  let port: number;
  const waiting: Array<(socket: BareSocket) => void> = [];

  before(async () => {
    server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
    assert.equal(
      acceptBare(server, (socket) => waiting.shift()?.(socket)),
      true,
    );
  });
  after(() => server.close());

  /** A client connected, and the BareSocket the server got for it. */
  async function pair(): Promise<{ client: Socket; bare: BareSocket }> {
    const accepted = new Promise<BareSocket>((resolve) => waiting.push(resolve));
    // Half-open, as the server's side: a client's end is not answered by its own.
    const client = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    await once(client, 'connect');
    const bare = await accepted;
    bare.on('error', () => {});
    return { client, bare };
  }

  test('reads come as copies in data events, or to an owner: a view when it consumes them at once', async () => {
    const { client, bare } = await pair();
    assert.equal(bare.remoteAddress, '127.0.0.1');
    assert.equal(bare.remotePort, client.localPort);
    client.write('first');
    const first = await take(bare, 5);
    assert.equal(first.toString(), 'first');

    const seen: Array<{ text: string; shared: boolean }> = [];
    let consume = true;
    const owner: SharedReadOwner = {
      takesReads: true,
      consumesNow: () => consume,
      onRead: (bytes) =>
        seen.push({ text: bytes.toString(), shared: bytes.buffer === sharedReadBuffer().buffer }),
    };
    bare.readInto(owner);
    const events: Buffer[] = [];
    bare.on('data', (chunk: Buffer) => events.push(chunk));
    client.write('viewed');
    while (seen.length < 1) await new Promise((r) => setTimeout(r, 5));
    consume = false;
    client.write('copied');
    while (seen.length < 2) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(seen, [
      { text: 'viewed', shared: true },
      { text: 'copied', shared: false },
    ]);
    assert.equal(events.length, 0, 'an owner takes the reads instead of data events');
    assert.equal(bare.bytesRead, 5 + 6 + 6);
    client.end();
    await once(bare, 'end');
    assert.equal(bare.destroyed, false, "half-open: the client's end alone does not close");
    bare.end();
    await once(bare, 'close');
  });

  test('writes arrive in order, corked ones in one piece; callbacks run once each, never inside write()', async () => {
    const { client, bare } = await pair();
    const received = readAll(client);
    const calls: string[] = [];
    let inside = false;
    const mark = (name: string) => () => {
      assert.equal(inside, false, `${name}'s callback ran inside write()`);
      calls.push(name);
    };
    inside = true;
    bare.write(Buffer.from('one,'), mark('one'));
    bare.write('two,', 'latin1', mark('two'));
    bare.cork();
    bare.write(Buffer.from('three,'), mark('three'));
    bare.write('four,', 'latin1');
    bare.write(Buffer.from('five,'), mark('five'));
    assert.equal(bare.writableCorked, 1);
    assert.equal(bare.writableLength, 'three,four,five,'.length, 'a cork holds what is written');
    bare.uncork();
    bare.write('é', 'utf8', mark('six'));
    inside = false;
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(calls, ['one', 'two', 'three', 'five', 'six']);
    assert.equal(bare.writableLength, 0);
    bare.end();
    await once(bare, 'finish');
    assert.equal(bare.writableFinished, true);
    assert.equal((await received).toString(), 'one,two,three,four,five,é');
    assert.equal(bare.bytesWritten, 'one,two,three,four,five,'.length + 2);
    client.end();
    await once(bare, 'close');
  });

  test('a client that does not read: write() says wait, the queue holds the bytes, drain once taken', async () => {
    const { client, bare } = await pair();
    client.pause();
    const big = Buffer.alloc(8 * 1024 * 1024, 7);
    let called = 0;
    const more = bare.write(big, () => called++);
    assert.equal(more, false);
    assert.equal(bare.writableNeedDrain, true);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(
      bare.writableLength > 0,
      'the kernel cannot take 8 MiB from a client that reads nothing',
    );
    assert.ok(bare._handle.writeQueueSize > 0);
    assert.equal(called, 0);
    const drained = once(bare, 'drain');
    const got = take(client, big.length);
    client.resume();
    await drained;
    assert.equal(called, 1);
    assert.equal(bare.writableLength, 0);
    assert.equal((await got).equals(big), true);
    bare.destroy();
    client.destroy();
  });

  test('destroyed with writes queued and corked: each callback runs once, then close', async () => {
    const { client, bare } = await pair();
    client.pause();
    const calls: Array<Error | null | undefined> = [];
    bare.write(Buffer.alloc(8 * 1024 * 1024), (error) => calls.push(error));
    bare.cork();
    bare.write(Buffer.from('held'), (error) => calls.push(error));
    await new Promise((r) => setTimeout(r, 20));
    const closed = once(bare, 'close');
    bare.destroy();
    await closed;
    await new Promise((r) => setImmediate(r));
    assert.equal(calls.length, 2);
    for (const error of calls)
      assert.ok(error instanceof Error, 'a write that never left is an error');
    let after: Error | null | undefined;
    assert.equal(
      bare.write(Buffer.from('late'), (error) => (after = error)),
      false,
    );
    await new Promise((r) => setImmediate(r));
    assert.equal((after as NodeJS.ErrnoException | undefined)?.code, 'ERR_STREAM_DESTROYED');
    client.destroy();
  });

  test('fifty thousand small writes queued to a client that does not read: taken in order, every callback once and in order, in good time', async (t) => {
    const { client, bare } = await pair();
    client.pause();
    // The kernel's buffers are filled first, so that each small write after it waits in libuv.
    const fill = Buffer.alloc(8 * 1024 * 1024, 1);
    const order: number[] = [];
    bare.write(fill, () => order.push(-1));
    const count = 50_000;
    const pieces = Buffer.alloc(count * 16);
    const started = Date.now();
    const write = (i: number): void => {
      const piece = pieces.subarray(i * 16, i * 16 + 16);
      piece.writeUInt32BE(i);
      bare.write(piece, () => order.push(i));
    };
    for (let i = 0; i < count; i++) {
      if (i % 1000 === 500) {
        // Corked pairs among them go out as one write, their callbacks in order with the rest.
        bare.cork();
        write(i);
        write(++i);
        bare.uncork();
      } else write(i);
    }
    assert.ok(bare._handle.writeQueueSize > 0);
    const total = fill.length + count * 16;
    const got = take(client, total);
    const drained = once(bare, 'drain');
    client.resume();
    const bytes = await got;
    await drained;
    const took = Date.now() - started;
    assert.equal(bare.writableLength, 0);
    assert.equal(order.length, count + 1);
    assert.equal(
      order.every((n, at) => n === at - 1),
      true,
      'callbacks in the order of their writes',
    );
    for (let i = 0; i < count; i += 9973) assert.equal(bytes.readUInt32BE(fill.length + i * 16), i);
    t.diagnostic(`${count} queued writes taken in ${took} ms`);
    assert.ok(took < 10_000, `${count} queued writes took ${took} ms`);
    bare.destroy();
    client.destroy();
  });

  test('destroyed with thousands of writes queued, some already taken: each callback once, in order, the taken ones without error', async (t) => {
    const { client, bare } = await pair();
    client.pause();
    const results: Array<{ at: number; failed: boolean }> = [];
    // 32 MiB in pieces of 1 KiB: more than the kernel's buffers on both sides can hold.
    const count = 32 * 1024;
    for (let i = 0; i < count; i++)
      bare.write(Buffer.alloc(1024), (error) =>
        results.push({ at: i, failed: error instanceof Error }),
      );
    // The client takes the first 2 MiB, then the socket goes with the rest still queued.
    const got = take(client, 2 * 1024 * 1024);
    client.resume();
    await got;
    client.pause();
    await new Promise((r) => setTimeout(r, 20));
    const closed = once(bare, 'close');
    bare.destroy();
    await closed;
    await new Promise((r) => setImmediate(r));
    assert.equal(results.length, count);
    assert.equal(
      results.every((r, at) => r.at === at),
      true,
      'callbacks in the order of their writes',
    );
    const firstFailed = results.findIndex((r) => r.failed);
    t.diagnostic(`the first of ${count} writes to fail: ${firstFailed}`);
    assert.ok(firstFailed >= 2048, `the write at ${firstFailed} failed, though it had been taken`);
    assert.equal(
      results.slice(firstFailed).every((r) => r.failed),
      true,
      'every write after the first that failed failed too',
    );
    client.destroy();
  });

  test('half-open both ways: the client may send after our end, and ending too closes the socket', async () => {
    const { client, bare } = await pair();
    const received = readAll(client);
    bare.end('bye');
    await once(bare, 'finish');
    assert.equal((await received).toString(), 'bye');
    let late: Error | null | undefined;
    bare.write('more', (error) => (late = error));
    await new Promise((r) => setImmediate(r));
    assert.equal((late as NodeJS.ErrnoException | undefined)?.code, 'ERR_STREAM_WRITE_AFTER_END');
    client.write('still here');
    assert.equal((await take(bare, 10)).toString(), 'still here');
    const ended = once(bare, 'end');
    const closed = once(bare, 'close');
    client.end();
    await ended;
    await closed;
    assert.equal(bare.destroyed, true);
  });

  test('the client ends first: end, then our answer and end, then close', async () => {
    const { client, bare } = await pair();
    const received = readAll(client);
    client.end('request');
    assert.equal((await take(bare, 7)).toString(), 'request');
    await once(bare, 'end');
    assert.equal(bare.destroyed, false, 'half-open: our side may still answer');
    bare.end('answer');
    await once(bare, 'close');
    assert.equal((await received).toString(), 'answer');
  });

  test('a reset is an error, then close', async () => {
    const { client, bare } = await pair();
    const errored = once(bare, 'error');
    const closed = new Promise<[boolean]>((resolve) =>
      bare.on('close', (hadError: boolean) => resolve([hadError])),
    );
    client.resetAndDestroy();
    const [error] = (await errored) as [NodeJS.ErrnoException];
    assert.equal(error.code, 'ECONNRESET');
    const [hadError] = await closed;
    assert.equal(hadError, true);
  });

  test('resetAndDestroy: the client sees a reset, not an end', async () => {
    const { client, bare } = await pair();
    const errored = once(client, 'error');
    const closed = once(bare, 'close');
    bare.resetAndDestroy();
    const [error] = (await errored) as [NodeJS.ErrnoException];
    assert.equal(error.code, 'ECONNRESET');
    await closed;
    assert.equal(bare.destroyed, true);
  });

  test('pause stops reading until resume', async () => {
    const { client, bare } = await pair();
    bare.pause();
    assert.equal(bare.isPaused(), true);
    const got: Buffer[] = [];
    bare.on('data', (chunk: Buffer) => got.push(chunk));
    client.write('wait');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(got.length, 0);
    bare.resume();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(Buffer.concat(got).toString(), 'wait');
    bare.destroy();
    await once(bare, 'close');
    client.destroy();
  });

  test('handed to a net.Socket: writes stay in order, reads go to it, its close is ours', async () => {
    const { client, bare } = await pair();
    const received = readAll(client);
    client.write('before');
    await take(bare, 6);
    bare.write('queued,');
    bare.cork();
    bare.write('corked,');
    const socket = bare.toNetSocket();
    assert.equal(bare.toNetSocket(), socket, 'handed over once');
    socket.write('after');
    const got = take(socket, 5);
    client.write('later');
    assert.equal((await got).toString(), 'later');
    const closed = once(bare, 'close');
    socket.end();
    client.end();
    await closed;
    assert.equal(bare.destroyed, true);
    assert.equal((await received).toString(), 'queued,corked,after');
    assert.equal(bare.bytesRead, 'before'.length + 'later'.length);
    assert.equal(bare.bytesWritten, 'queued,corked,after'.length);
  });
});

describe('which listeners hand out BareSockets', { skip }, () => {
  /** The socket a listener bound to `bind` hands on for one connection. */
  async function firstSocket(
    bind: BindAddress,
    clientSockets: 'bare' | 'node' = 'bare',
  ): Promise<ClientSocket> {
    let resolveSocket: (socket: ClientSocket) => void = () => {};
    const got = new Promise<ClientSocket>((resolve) => (resolveSocket = resolve));
    const bound = await listen(
      bind,
      16,
      (socket) => resolveSocket(socket),
      undefined,
      clientSockets,
    );
    try {
      const address = bound.server.address();
      const client =
        bind.kind === 'unix'
          ? connect(bind.path)
          : connect((address as { port: number }).port, '127.0.0.1');
      client.on('error', () => {});
      const socket = await got;
      socket.on('error', () => {});
      socket.destroy();
      client.destroy();
      return socket;
    } finally {
      bound.server.close();
    }
  }

  test('TCP listeners, HTTP or a web server protocol: BareSockets; Unix sockets and --client-sockets node: net.Sockets', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cask-bare-'));
    try {
      assert.ok(
        (await firstSocket({ kind: 'tcp', host: '127.0.0.1', port: 0 })) instanceof BareSocket,
      );
      const uwsgi = await firstSocket({
        kind: 'tcp',
        host: '127.0.0.1',
        port: 0,
        protocol: 'uwsgi',
      });
      assert.ok(uwsgi instanceof BareSocket, 'a web server protocol on TCP');
      const unix = await firstSocket({ kind: 'unix', path: join(dir, 'http.sock') });
      assert.ok(unix instanceof Socket);
      const asked = await firstSocket({ kind: 'tcp', host: '127.0.0.1', port: 0 }, 'node');
      assert.ok(asked instanceof Socket, '--client-sockets node');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
