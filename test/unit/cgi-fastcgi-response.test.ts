// The FastCGI response sink over a real loopback socket pair: the CGI head and body in STDOUT
// records, the end records, no body for HEAD, the app held to its Content-Length (a short body
// drops the connection, since END_REQUEST would say it is whole), and canned errors.

import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { FastCgiResponse, cgiError } from '../../src/cgi/fastcgi-response.js';
import { RecordType } from '../../src/cgi/fastcgi.js';

interface Record {
  type: number;
  id: number;
  content: Buffer;
}

/** The server's end of a fresh connection, and everything the client end reads until it closes. */
async function pair(t: TestContext): Promise<{ socket: Socket; read: Promise<Buffer> }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const client = connect(port, '127.0.0.1');
  const [socket] = (await once(server, 'connection')) as [Socket];
  const chunks: Buffer[] = [];
  client.on('data', (c: Buffer) => chunks.push(c));
  const read = new Promise<Buffer>((resolve) => {
    client.on('close', () => resolve(Buffer.concat(chunks)));
    client.on('error', () => {});
  });
  t.after(() => {
    client.destroy();
    socket.destroy();
  });
  return { socket, read };
}

function records(bytes: Buffer): Record[] {
  const out: Record[] = [];
  for (let at = 0; at + 8 <= bytes.length;) {
    const length = bytes.readUInt16BE(at + 4);
    out.push({
      type: bytes[at + 1] as number,
      id: bytes.readUInt16BE(at + 2),
      content: bytes.subarray(at + 8, at + 8 + length),
    });
    at += 8 + length + (bytes[at + 6] as number);
  }
  return out;
}

function stdout(all: Record[]): string {
  return Buffer.concat(
    all.filter((r) => r.type === RecordType.STDOUT).map((r) => r.content),
  ).toString('latin1');
}

test('`FastCgiResponse` writes a CGI head, the body in STDOUT records, then the end records', async (t: TestContext) => {
  t.plan(5);
  const { socket, read } = await pair(t);
  let done = 0;
  const credit: number[] = [];
  const sink = new FastCgiResponse(
    socket,
    { id: 3, isHead: false, spool: undefined },
    () => done++,
    () => {},
  );
  sink.head('200 OK', ['Content-Type', 'text/plain'], Buffer.from('hel'), false, (n) =>
    credit.push(n),
  );
  sink.data(Buffer.from('lo'), true, (n) => credit.push(n));
  socket.end();
  const all = records(await read);
  t.assert.strictEqual(stdout(all), 'Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nhello');
  t.assert.deepStrictEqual(
    all.slice(-2).map((r) => [r.type, r.id, r.content.length]),
    [
      [RecordType.STDOUT, 3, 0],
      [RecordType.END_REQUEST, 3, 8],
    ],
  );
  t.assert.ok(all.every((r) => r.id === 3));
  t.assert.strictEqual(done, 1);
  t.assert.deepStrictEqual(credit, [3, 2]);
});

test('`FastCgiResponse` gives a whole body in hand a Content-Length and HEAD no body', async (t: TestContext) => {
  t.plan(2);
  const whole = await pair(t);
  new FastCgiResponse(
    whole.socket,
    { id: 1, isHead: false, spool: undefined },
    () => whole.socket.end(),
    () => {},
  ).head('201 Created', [], Buffer.from('abc'), true);
  t.assert.strictEqual(
    stdout(records(await whole.read)),
    'Status: 201 Created\r\nContent-Length: 3\r\n\r\nabc',
  );
  const head = await pair(t);
  new FastCgiResponse(
    head.socket,
    { id: 1, isHead: true, spool: undefined },
    () => head.socket.end(),
    () => {},
  ).head('200 OK', ['Content-Length', '5'], Buffer.from('hello'), true);
  t.assert.strictEqual(
    stdout(records(await head.read)),
    'Status: 200 OK\r\nContent-Length: 5\r\n\r\n',
  );
});

test('`FastCgiResponse` drops the connection when the body falls short of its Content-Length', async (t: TestContext) => {
  t.plan(3);
  const { socket, read } = await pair(t);
  const errors: string[] = [];
  const sink = new FastCgiResponse(
    socket,
    { id: 1, isHead: false, spool: undefined },
    () => {},
    (m) => errors.push(m),
  );
  sink.head('200 OK', ['Content-Length', '10'], Buffer.from('abc'), true);
  const all = records(await read);
  t.assert.ok(
    !all.some((r) => r.type === RecordType.END_REQUEST),
    'no END_REQUEST for a cut response',
  );
  t.assert.strictEqual(sink.cut, true);
  t.assert.match(errors[0] ?? '', /^Response shorter than its Content-Length: 7 bytes missing/);
});

test('`FastCgiResponse.fail()` before the head sends a canned CGI error and ends the request', async (t: TestContext) => {
  t.plan(3);
  const { socket, read } = await pair(t);
  const sink = new FastCgiResponse(
    socket,
    { id: 2, isHead: false, spool: undefined },
    () => socket.end(),
    () => {},
  );
  sink.fail(503);
  const all = records(await read);
  t.assert.strictEqual(stdout(all), cgiError(503).toString('latin1'));
  t.assert.match(
    stdout(all),
    /^Status: 503 Service Unavailable\r\n.*Retry-After: 1\r\n\r\n503 Service Unavailable\n$/s,
  );
  t.assert.strictEqual(all[all.length - 1]?.type, RecordType.END_REQUEST);
});
