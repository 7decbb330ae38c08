// Parsers lent between connections (ParserPool, src/http/parser.ts): an idle keep-alive
// connection holds none, and a parser that comes back carries nothing of its last request
// into the next connection's. The pool alone, then a real Front over loopback sockets with
// connections that interleave.

import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import type { CaskError } from '../../src/errors.js';
import type { Exchange, RequestHandler } from '../../src/exchange.js';
import { Front } from '../../src/http/front.js';
import { ParserPool, RequestParser, type ParserEvent } from '../../src/http/parser.js';
import { testFrontOptions } from '../helpers/front.js';
import { until } from '../helpers/load.js';

const LIMITS = {
  maxRequestLine: 1024,
  maxHeaderCount: 32,
  maxHeaderFieldSize: 1024,
  maxBodySize: 1 << 20,
};

function drain(parser: RequestParser): ParserEvent[] {
  const events: ParserEvent[] = [];
  for (let event = parser.next(); event !== null; event = parser.next()) events.push(event);
  return events;
}

test('a parser comes back to the pool only between messages with nothing held', (t: TestContext) => {
  t.plan(5);
  const pool = new ParserPool(LIMITS);
  const whole = pool.take();
  whole.push(Buffer.from('GET /a HTTP/1.1\r\nHost: a\r\nX-Only-Here: 1\r\n\r\n'));
  t.assert.deepStrictEqual(
    drain(whole).map((e) => e.type),
    ['head', 'end'],
  );
  whole.settle();
  pool.give(whole);
  t.assert.strictEqual(pool.take(), whole, 'a parser between messages is lent again');

  const partial = pool.take();
  partial.push(Buffer.from('GET /b HTTP/1.1\r\nHo'));
  drain(partial);
  pool.give(partial);
  t.assert.notStrictEqual(pool.take(), partial, 'one in the middle of a head is not');

  const failed = pool.take();
  failed.push(Buffer.from('GET /c HTTP/1.1\nHost: c\r\n\r\n'));
  t.assert.throws(() => drain(failed), /bare LF/);
  pool.give(failed);
  t.assert.notStrictEqual(pool.take(), failed, 'nor one that failed');
});

test('a lent parser reads the next request as a new one would', (t: TestContext) => {
  t.plan(2);
  const pool = new ParserPool(LIMITS);
  const parser = pool.take();
  parser.push(
    Buffer.from(
      'POST /first HTTP/1.1\r\nHost: one\r\nCookie: secret\r\nContent-Length: 2\r\n\r\nok',
    ),
  );
  drain(parser);
  parser.settle();
  pool.give(parser);
  const again = pool.take();
  again.push(Buffer.from('GET /second HTTP/1.1\r\nHost: two\r\n\r\n'));
  const [head] = drain(again);
  const fresh = new RequestParser(LIMITS);
  fresh.push(Buffer.from('GET /second HTTP/1.1\r\nHost: two\r\n\r\n'));
  const [expected] = drain(fresh);
  t.assert.strictEqual(again, parser);
  t.assert.deepStrictEqual(head, expected);
});

/** Answers each request with its target and header fields, one per line. */
class EchoHandler implements RequestHandler {
  handle(exchange: Exchange): void {
    const { request } = exchange;
    const lines = [request.target];
    for (let i = 0; i < request.headers.length; i += 2) {
      lines.push(`${request.headers[i]}: ${request.headers[i + 1]}`);
    }
    exchange.response.head('200 OK', [], Buffer.from(lines.join('\n')), true);
  }
  refused(_status: number, _error: CaskError | undefined): void {}
  completed(): void {}
  responseError(): void {}
}

/** Reads one response with a Content-Length body from the socket; returns its body. */
async function response(socket: Socket): Promise<string> {
  let got = Buffer.alloc(0);
  for (;;) {
    const end = got.indexOf('\r\n\r\n');
    if (end !== -1) {
      const length = Number(/content-length: (\d+)/i.exec(got.subarray(0, end).toString())?.[1]);
      if (got.length >= end + 4 + length) return got.subarray(end + 4, end + 4 + length).toString();
    }
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    got = Buffer.concat([got, chunk]);
  }
}

test('connections that interleave over a real Front each see only their own request', async (t: TestContext) => {
  t.plan(5);
  const front = new Front(testFrontOptions({ limits: LIMITS }), new EchoHandler(), {
    warn: () => {},
  });
  const server = createServer((socket) =>
    front.accept(socket, { scheme: 'http', serverName: '127.0.0.1', serverPort: '0' }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const sockets: Socket[] = [];
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    front.close();
    server.close();
  });
  const open = async (): Promise<Socket> => {
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    await once(socket, 'connect');
    return socket;
  };
  const [a, b, c] = [await open(), await open(), await open()];
  // b finishes a request and goes idle, lending its parser; a then stops in the middle of its
  // head with a parser (b's); c reads with another; b's next request must not touch a's.
  b.write('GET /b HTTP/1.1\r\nHost: b.example\r\nX-B: 1\r\nCookie: b-secret\r\n\r\n');
  t.assert.strictEqual(await response(b), '/b\nHost: b.example\nX-B: 1\nCookie: b-secret');
  a.write('GET /a HTTP/1.1\r\nHost: a.example\r\nX-A: ');
  // a's bytes must have been read (a holding a parser) before c's arrive. A fixed wait does not
  // ensure that on a busy machine; the front's connections show it: a's is the only one that
  // is not idle once it holds half a head.
  await until(
    () => [...front.connections].filter((connection) => !connection.idle).length === 1,
    10_000,
    "a's half head read by the front",
  );
  c.write('GET /c HTTP/1.1\r\nHost: c.example\r\n\r\n');
  t.assert.strictEqual(await response(c), '/c\nHost: c.example');
  b.write('GET /b2 HTTP/1.1\r\nHost: b.example\r\n\r\n');
  t.assert.strictEqual(await response(b), '/b2\nHost: b.example');
  a.write('1\r\n\r\n');
  t.assert.strictEqual(await response(a), '/a\nHost: a.example\nX-A: 1');
  // Idle between requests, every connection gave its parser back.
  t.assert.ok([...front.connections].every((connection) => connection.idle));
});
