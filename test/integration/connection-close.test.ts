// How the front closes a connection after its last answer (src/http/connection.ts and
// src/cgi/connection.ts, close()).
// A client that asked to close and sent nothing more has its socket closed as soon as the
// answer is in the kernel; one that sent more bytes after its request is lingered on (read
// and discarded until it closes), so that those bytes do not make the kernel reset the
// connection under an answer the client has not read yet. The client here keeps its own
// side open throughout, and the admin endpoint's connection gauge says what the front holds.
// The HTTP cases run with both kinds of client socket (`--client-sockets`): the bare handles
// the front uses by default, and net.Socket.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { adminPort, metricSum, scrapeMetrics } from '../helpers/admin.js';
import { APPS, startCask, type RunningCask } from '../helpers/cask.js';
import { encodeUwsgiRequest } from '../../src/cgi/uwsgi.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function start(
  t: TestContext,
  clientSockets: 'bare' | 'node',
  ...binds: string[]
): Promise<RunningCask> {
  const server = await startCask([
    'hello:application',
    '--chdir',
    APPS,
    '--admin-bind',
    '127.0.0.1:0',
    '--client-sockets',
    clientSockets,
    ...binds.flatMap((bind) => ['-b', bind]),
  ]);
  t.after(() => server.stop());
  return server;
}

/** The port of the listener the startup log shows for `scheme` (`uwsgi`, `scgi`). */
function portOf(server: RunningCask, scheme: string): number {
  const match = new RegExp(`${scheme}://127\\.0\\.0\\.1:(\\d+)`).exec(server.stderr());
  assert.ok(match, `no ${scheme} listener in: ${server.stderr()}`);
  return Number(match[1]);
}

/** Sends `bytes` on a connection that stays half-open after the server's end, and returns
 *  what came until that end, with any socket error seen meanwhile. */
async function ask(
  t: TestContext,
  port: number,
  bytes: string | Buffer,
): Promise<{ socket: Socket; text: string; errors: Error[] }> {
  // allowHalfOpen: the client's side stays open after the server's FIN, as a slow client's
  // would, so that only the server decides when the connection ends.
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  t.after(() => socket.destroy());
  const errors: Error[] = [];
  socket.on('error', (error) => errors.push(error));
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.write(bytes);
  await once(socket, 'end');
  return { socket, text: Buffer.concat(chunks).toString('latin1'), errors };
}

/** The front's open connections, waited on for up to `ms` to reach `want`. */
async function connectionsAfter(server: RunningCask, want: number, ms: number): Promise<number> {
  const until = Date.now() + ms;
  for (;;) {
    const open = metricSum(await scrapeMetrics(adminPort(server)), 'cask_connections');
    if (open === want || Date.now() >= until) return open;
    await sleep(50);
  }
}

for (const clientSockets of ['bare', 'node'] as const) {
  const suffix = ` (--client-sockets ${clientSockets})`;

  test(
    'Connection: close with nothing after the request: the socket is closed once the answer has left, without waiting for the client' +
      suffix,
    async (t) => {
      const server = await start(t, clientSockets);
      const { text, errors } = await ask(
        t,
        server.port,
        'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      );
      assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
      assert.ok(text.endsWith('\r\n\r\nHello, World!'), text);
      assert.deepEqual(errors, []);
      // Lingering would hold it for 2 s (LINGER_MS) or until the client's end, which never comes.
      assert.equal(
        await connectionsAfter(server, 0, 1000),
        0,
        'the front still holds the connection',
      );
    },
  );

  test('HTTP/1.0 without keep-alive: closed at once too' + suffix, async (t) => {
    const server = await start(t, clientSockets);
    const { text, errors } = await ask(t, server.port, 'GET / HTTP/1.0\r\nHost: x\r\n\r\n');
    assert.match(text, /^HTTP\/1\.0 200 OK\r\n/);
    assert.ok(text.endsWith('\r\n\r\nHello, World!'), text);
    assert.deepEqual(errors, []);
    assert.equal(
      await connectionsAfter(server, 0, 1000),
      0,
      'the front still holds the connection',
    );
  });

  test(
    'Connection: close with more bytes after the request: the front lingers, so the client reads its answer whole and sees no reset' +
      suffix,
    async (t) => {
      const server = await start(t, clientSockets);
      // A second request after one that asked to close: never answered (RFC 9112 §9.6), but
      // closing on it unread would send a reset that can destroy the answer in the client's
      // buffers. The front reads and discards it instead, until the client ends or 2 s pass.
      const { socket, text, errors } = await ask(
        t,
        server.port,
        'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /again HTTP/1.1\r\nHost: x\r\n\r\n',
      );
      assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
      assert.ok(text.endsWith('\r\n\r\nHello, World!'), text);
      socket.write('more bytes after the end\r\n');
      await sleep(300);
      assert.deepEqual(errors, [], 'the client saw a reset');
      assert.equal(await connectionsAfter(server, 1, 500), 1, 'the front did not linger');
      socket.end();
      assert.equal(
        await connectionsAfter(server, 0, 3000),
        0,
        'the connection outlived its linger',
      );
    },
  );
}

test('a uwsgi or SCGI request from a web server: the socket is closed once the response has left, without waiting for the peer', async (t) => {
  const server = await start(t, 'bare', '127.0.0.1:0', 'uwsgi://127.0.0.1:0', 'scgi://127.0.0.1:0');
  const vars = ['REQUEST_METHOD', 'GET', 'REQUEST_URI', '/', 'PATH_INFO', '/', 'QUERY_STRING', '',
    'SERVER_PROTOCOL', 'HTTP/1.1', 'SERVER_NAME', 'example.org', 'SERVER_PORT', '80',
    'REMOTE_ADDR', '127.0.0.1', 'REMOTE_PORT', '40000', 'HTTP_HOST', 'example.org']; // prettier-ignore
  const uwsgi = await ask(t, portOf(server, 'uwsgi'), encodeUwsgiRequest(vars));
  assert.match(uwsgi.text, /^HTTP\/1\.[01] 200 OK\r\n/);
  assert.ok(uwsgi.text.endsWith('\r\n\r\nHello, World!'), uwsgi.text);
  assert.equal(await connectionsAfter(server, 0, 1000), 0, 'the front still holds the uwsgi one');
  // SCGI: a netstring of the variables (CONTENT_LENGTH first, SCGI=1), then no body.
  const pairs = ['CONTENT_LENGTH', '0', 'SCGI', '1', ...vars];
  const headers = pairs.map((x) => `${x}\0`).join('');
  const scgi = await ask(t, portOf(server, 'scgi'), `${headers.length}:${headers},`);
  assert.match(scgi.text, /^HTTP\/1\.[01] 200 OK\r\n/);
  assert.ok(scgi.text.endsWith('\r\n\r\nHello, World!'), scgi.text);
  assert.equal(await connectionsAfter(server, 0, 1000), 0, 'the front still holds the SCGI one');
});
