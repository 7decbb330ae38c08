// Client sockets read into the front's one shared buffer (src/http/shared-reads.ts), over real
// sockets: first the switch itself on a loopback socket pair, then the whole server with a real
// worker, where every body is checked with SHA-256 by the app. The server cases are the ways a
// read of the shared buffer could be kept past its call or reach the wrong reader: bodies
// pipelined with the next request in the same read, several sockets uploading at once (their
// reads land in the same buffer in turn), a client that trickles and half-closes, one that
// leaves mid-body, a connection that switches to WebSocket after an upload, TLS, and SCGI and
// FastCGI requests cut across reads. Every other HTTP/1.x test of the suite reads through
// it too.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { SHARED_READ_BUFFER, readIntoSharedBuffer } from '../../src/http/shared-reads.js';
import { RecordType, encodeFastCgiRequest } from '../../src/cgi/fastcgi.js';
import { encodeScgiRequest } from '../../src/cgi/scgi.js';
import { APPS, startCask, type RunningCask } from '../helpers/cask.js';
import { exchange, parseResponses, type ParsedResponse } from '../helpers/http.js';
import { makeCerts, opensslMissing } from '../helpers/tls.js';

const MB = 1024 * 1024;

function digestLine(body: Buffer): string {
  return `${createHash('sha256').update(body).digest('hex')} ${body.length}`;
}

function upload(body: Buffer, close = false): string {
  return (
    `POST /digest HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n` +
    `${close ? 'Connection: close\r\n' : ''}\r\n`
  );
}

/** `bytes` cut into pieces of the given sizes in turn (the last piece takes the rest). */
function cut(bytes: Buffer, sizes: number[]): Buffer[] {
  const pieces: Buffer[] = [];
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length] as number;
    pieces.push(bytes.subarray(at, at + size));
    at += size;
  }
  return pieces;
}

describe('the switch, on a loopback socket pair', () => {
  let server: Server;
  let accepted: Promise<Socket>;
  before(async () => {
    server = createServer();
    accepted = once(server, 'connection').then(([socket]) => socket as Socket);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  after(() => server.close());

  test('body reads come as views of one buffer, other reads as copies to the owner, and through the stream once it lets go', async () => {
    const port = (server.address() as { port: number }).port;
    const client = connect(port, '127.0.0.1');
    const socket = await accepted;
    const owner = {
      takesReads: true,
      body: true,
      reads: [] as Buffer[],
      arrayBuffers: new Set<ArrayBufferLike>(),
      consumesNow(n: number): boolean {
        return this.body && n > 0;
      },
      onRead(bytes: Buffer): void {
        this.arrayBuffers.add(bytes.buffer);
        this.reads.push(Buffer.from(bytes));
      },
    };
    const events: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => events.push(chunk));
    assert.equal(readIntoSharedBuffer(socket, owner), true);
    // A socket is switched once: a second call changes nothing and says so.
    assert.equal(readIntoSharedBuffer(socket, owner), false);

    const body = randomBytes(3 * MB);
    client.write(body);
    await until(() => total(owner.reads) === body.length);
    assert.ok(Buffer.concat(owner.reads).equals(body));
    assert.equal(events.length, 0);
    assert.equal(owner.arrayBuffers.size, 1, 'every view is of the one shared buffer');
    const [shared] = [...owner.arrayBuffers];
    assert.equal(shared?.byteLength, SHARED_READ_BUFFER);
    assert.ok(owner.reads.length < body.length / (64 * 1024), 'reads larger than Node’s 64 KiB');

    // Not body: each read is a copy of its own, still handed to the owner directly.
    owner.body = false;
    owner.reads.length = 0;
    owner.arrayBuffers.clear();
    const other = randomBytes(MB);
    client.write(other);
    await until(() => total(owner.reads) === other.length);
    assert.ok(Buffer.concat(owner.reads).equals(other));
    assert.equal(events.length, 0);
    assert.ok(!owner.arrayBuffers.has(shared as ArrayBufferLike), 'a copy owns its bytes');

    // Paused, the socket reads nothing until resumed, then gives what came, in order.
    socket.pause();
    owner.reads.length = 0;
    const third = randomBytes(200 * 1024);
    client.write(third);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(total(owner.reads), 0);
    socket.resume();
    await until(() => total(owner.reads) === third.length);
    assert.ok(Buffer.concat(owner.reads).equals(third));

    // Once the owner lets another protocol have the socket, reads are its stream's 'data'.
    owner.takesReads = false;
    owner.reads.length = 0;
    const fourth = randomBytes(MB);
    client.write(fourth);
    await until(() => total(events) === fourth.length);
    assert.ok(Buffer.concat(events).equals(fourth));
    assert.equal(owner.reads.length, 0);
    for (const chunk of events) assert.notEqual(chunk.buffer, shared, 'a copy owns its bytes');

    // The end of the stream still reaches the socket's listeners.
    const ended = once(socket, 'end');
    client.end();
    await ended;
    socket.destroy();
  });
});

test(
  'a TLS socket is not switched: its handle decrypts into buffers of its own',
  { skip: opensslMissing() },
  async (t) => {
    const certs = makeCerts(t);
    const server = createTlsServer({
      cert: readFileSync(certs.cert),
      key: readFileSync(certs.key),
    });
    const accepted = once(server, 'secureConnection').then(([socket]) => socket as TLSSocket);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(() => server.close());
    const port = (server.address() as { port: number }).port;
    const client = tlsConnect({ port, host: '127.0.0.1', ca: readFileSync(certs.ca) });
    const socket = await accepted;
    assert.equal(
      readIntoSharedBuffer(socket, { takesReads: true, consumesNow: () => true, onRead: () => {} }),
      false,
    );
    const got = once(socket, 'data');
    client.write('still read as before');
    assert.equal(String((await got)[0]), 'still read as before');
    client.destroy();
    socket.destroy();
  },
);

function total(chunks: Buffer[]): number {
  return chunks.reduce((sum, chunk) => sum + chunk.length, 0);
}

async function until(done: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('large uploads through the server and a real worker', () => {
  let server: RunningCask;
  before(async () => {
    server = await startCask([
      'large_bodies:application',
      '--chdir',
      APPS,
      '-w',
      '1',
      '--threads',
      '4',
    ]);
  });
  after(() => server.stop());

  test('three uploads pipelined on one connection with a small request after them, in odd pieces', async () => {
    const bodies = [randomBytes(3 * MB), randomBytes(2 * MB + 1), randomBytes(5 * MB + 7)];
    const stream = Buffer.concat([
      ...bodies.flatMap((body) => [Buffer.from(upload(body)), body]),
      Buffer.from('GET /release HTTP/1.1\r\nHost: h\r\n\r\n'),
    ]);
    // Pieces that never line up with a request's end, so the last read of each body carries
    // the head of the next request.
    const x = await exchange(server.port, cut(stream, [100_003, 777_777, 3, 65_536]), {
      expect: 4,
      ms: 60_000,
      pauseMs: 1,
    });
    assert.deepEqual(
      x.responses.map((r) => r.status),
      [200, 200, 200, 200],
    );
    bodies.forEach((body, i) =>
      assert.equal(x.responses[i]?.body.toString(), digestLine(body), `body ${i}`),
    );
    assert.equal(x.responses[3]?.body.toString(), 'ok');
  });

  test('four connections uploading at once, their reads landing in the same buffer in turn', async () => {
    const bodies = Array.from({ length: 4 }, (_, i) => randomBytes(2 * MB + i * 4099));
    const results = await Promise.all(
      bodies.map((body) =>
        exchange(server.port, [Buffer.from(upload(body, true)), ...cut(body, [64 * 1024 + 5])], {
          ms: 60_000,
          pauseMs: 1,
        }),
      ),
    );
    results.forEach((x, i) => {
      assert.equal(x.responses[0]?.status, 200);
      assert.equal(x.responses[0]?.body.toString(), digestLine(bodies[i] as Buffer), `body ${i}`);
    });
  });

  test('a client that trickles its body in odd pieces and half-closes right after it still gets its answer', async () => {
    const body = randomBytes(2 * MB);
    const socket = connect(server.port, '127.0.0.1');
    await once(socket, 'connect');
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const ended = once(socket, 'end');
    socket.write(upload(body));
    for (const piece of cut(body, [1, 70_000, 3, 300_000, 9])) {
      socket.write(piece);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    socket.end();
    await ended;
    const { responses } = parseResponses(Buffer.concat(received));
    assert.equal(responses.length, 1);
    assert.equal(responses[0]?.body.toString(), digestLine(body));
    socket.destroy();
  });

  test('a client that leaves in the middle of a body does not disturb the next upload', async () => {
    const body = randomBytes(4 * MB);
    const leaving = connect(server.port, '127.0.0.1');
    await once(leaving, 'connect');
    leaving.write(upload(body));
    leaving.write(body.subarray(0, 1_500_000));
    await new Promise((resolve) => setTimeout(resolve, 50));
    leaving.destroy();
    const next = randomBytes(3 * MB);
    const x = await exchange(server.port, [upload(next, true), next], { ms: 30_000 });
    assert.equal(x.responses[0]?.body.toString(), digestLine(next));
  });

  test('TLS: a 3 MB upload arrives whole', { skip: opensslMissing() }, async (t) => {
    const certs = makeCerts(t);
    const tls = await startCask([
      'large_bodies:application',
      '--chdir',
      APPS,
      '-w',
      '1',
      '--certfile',
      certs.cert,
      '--keyfile',
      certs.key,
    ]);
    t.after(() => tls.stop());
    const body = randomBytes(3 * MB);
    const socket = tlsConnect({ port: tls.port, host: '127.0.0.1', ca: readFileSync(certs.ca) });
    await once(socket, 'secureConnect');
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const ended = once(socket, 'end');
    socket.write(upload(body, true));
    socket.write(body);
    await ended;
    const { responses } = parseResponses(Buffer.concat(received));
    assert.equal(responses[0]?.body.toString(), digestLine(body));
  });
});

describe('an upload, then a WebSocket on the same connection', () => {
  let server: RunningCask;
  before(async () => {
    server = await startCask(['asgi_ws_app:app', '--chdir', APPS]);
  });
  after(() => server.stop());

  test('the WebSocket reads what the client sends after the switch', async () => {
    const socket = connect(server.port, '127.0.0.1');
    await once(socket, 'connect');
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const body = randomBytes(3 * MB);
    socket.write(`POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n\r\n`);
    socket.write(body);
    let first: ParsedResponse | undefined;
    await until(() => {
      first = parseResponses(Buffer.concat(received)).responses[0];
      return first !== undefined;
    }, 30_000);
    assert.equal(first?.status, 200);
    assert.equal(first?.body.toString(), 'plain http /upload');

    received.length = 0;
    socket.write(
      'GET /ws/echo HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    await until(() => Buffer.concat(received).includes('\r\n\r\n'));
    const handshake = Buffer.concat(received);
    const headEnd = handshake.indexOf('\r\n\r\n') + 4;
    assert.match(handshake.toString('latin1', 0, headEnd), /^HTTP\/1\.1 101 /);

    // A masked text frame (RFC 6455 §5.2), and the app's echo of it, unmasked.
    received.length = 0;
    const rest = handshake.subarray(headEnd);
    if (rest.length > 0) received.push(rest);
    const text = Buffer.from('after the upload');
    const mask = Buffer.from([1, 2, 3, 4]);
    const masked = Buffer.from(text.map((byte, i) => byte ^ (mask[i % 4] as number)));
    socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | text.length]), mask, masked]));
    await until(() => total(received) >= 2 + text.length);
    const frame = Buffer.concat(received);
    assert.equal(frame[0], 0x81);
    assert.equal(frame[1], text.length);
    assert.equal(frame.toString('utf8', 2, 2 + text.length), 'after the upload');
    socket.destroy();
  });
});

describe('large uploads over SCGI and FastCGI, cut across reads', () => {
  let server: RunningCask;
  const port = { scgi: 0, fastcgi: 0 };
  before(async () => {
    server = await startCask([
      'large_bodies:application',
      '--chdir',
      APPS,
      '-b',
      'scgi://127.0.0.1:0',
      '-b',
      'fastcgi://127.0.0.1:0',
      '-w',
      '1',
    ]);
    for (const name of ['scgi', 'fastcgi'] as const)
      port[name] = Number(
        new RegExp(`${name}://127\\.0\\.0\\.1:(\\d+)`).exec(server.stderr())?.[1],
      );
  });
  after(() => server.stop());

  const params = (body: Buffer): string[] => [
    'CONTENT_LENGTH', String(body.length),
    'SCGI', '1',
    'REQUEST_METHOD', 'POST',
    'REQUEST_URI', '/digest',
    'PATH_INFO', '/digest',
    'QUERY_STRING', '',
    'SERVER_NAME', 'h',
    'SERVER_PORT', '80',
    'SERVER_PROTOCOL', 'HTTP/1.1',
    'REMOTE_ADDR', '127.0.0.1',
  ]; // prettier-ignore

  test('SCGI: the head held between reads and the body after it arrive whole', async () => {
    const body = randomBytes(3 * MB + 5);
    const x = await exchange(
      port.scgi,
      cut(encodeScgiRequest(params(body), body), [3, 40, 100_001, 7]),
      {
        waitClose: true,
        ms: 30_000,
        pauseMs: 1,
      },
    );
    assert.equal(x.responses[0]?.status, 200, x.raw.toString('latin1', 0, 300));
    assert.equal(x.responses[0]?.body.toString(), digestLine(body));
  });

  test('FastCGI: each read ends inside the next record header, and the next read is longer', async () => {
    const body = randomBytes(40 * 65_535 + 5);
    const request = encodeFastCgiRequest(1, params(body), body);
    // The STDIN records: a header of 8 bytes, then 65,535 bytes of content, and so on; the
    // request ends with an empty STDIN header.
    const records = Math.ceil(body.length / 65_535);
    const stdinAt = request.length - (records * 8 + body.length + 8);
    // The first read takes the head and 10 bytes of the first record; each next one the rest
    // of a record and 3 bytes of the following header. A read that kept those 3 bytes as a
    // view of the shared buffer would find them overwritten by the next, longer read.
    const sizes = [stdinAt + 8 + 10, 65_535 - 10 + 3];
    for (let at = sizes[0]! + sizes[1]!; at < request.length; at += 5 + 65_535 + 3)
      sizes.push(5 + 65_535 + 3);
    const x = await exchange(port.fastcgi, cut(request, sizes), {
      waitClose: true,
      ms: 30_000,
      pauseMs: 2,
    });
    const out: Buffer[] = [];
    for (let at = 0; at + 8 <= x.raw.length;) {
      const length = x.raw.readUInt16BE(at + 4);
      if (x.raw[at + 1] === RecordType.STDOUT) out.push(x.raw.subarray(at + 8, at + 8 + length));
      at += 8 + length + (x.raw[at + 6] as number);
    }
    const stdout = Buffer.concat(out).toString('latin1');
    assert.match(stdout, /^Status: 200 OK\r\n/);
    assert.equal(stdout.slice(stdout.indexOf('\r\n\r\n') + 4), digestLine(body));
  });
});
