// WebSockets through cask over real sockets: the front speaks RFC 6455 (the `ws` library) and
// an ASGI app (test/fixtures/apps/asgi_ws_app.py) sees websocket.connect/receive/send/close.
// Clients are Node's `ws`, raw sockets for what a library would not do, and python3-websockets
// for the broadcast to 1,000 clients (Node's `ws` when that package is missing).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { APPS, startCask, type RunningCask } from '../helpers/cask.js';
import { exchange } from '../helpers/http.js';
import { makeCerts, opensslMissing } from '../helpers/tls.js';

const DEBIAN_PYTHON = '/usr/bin/python3';
const BROADCAST = fileURLToPath(new URL('../fixtures/ws_broadcast.py', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Opened {
  ws: WebSocket;
  headers: Record<string, string | string[] | undefined>;
}

async function open(port: number, path: string, protocols?: string[]): Promise<Opened> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, protocols);
  let headers: Opened['headers'] = {};
  ws.on('upgrade', (response) => (headers = response.headers));
  await once(ws, 'open');
  return { ws, headers };
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; binary: boolean }> {
  return new Promise((resolve) =>
    ws.once('message', (data, binary) => resolve({ data: data as Buffer, binary })),
  );
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
}

/** The status and body of a handshake the server answered without switching. */
function refused(port: number, path: string): Promise<{ status: number; body: string }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
  ws.on('error', () => {});
  return new Promise((resolve) => {
    ws.on('unexpected-response', (_request, response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
  });
}

/** A raw handshake on a TCP socket, which then never answers anything (pings included). */
async function rawHandshake(
  port: number,
  path: string,
  version = '13',
): Promise<{ head: string; gone: Promise<void> }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: ${version}\r\n\r\n`,
  );
  const [first] = (await once(socket, 'data')) as [Buffer];
  const gone = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('error', () => {});
  return { head: first.toString('latin1'), gone };
}

describe('WebSockets to an ASGI app', () => {
  let server: RunningCask;
  before(async () => {
    server = await startCask(['asgi_ws_app:app', '--chdir', APPS, '--access-log', '-']);
  });
  after(() => server.stop());

  test('echo: text and binary, the subprotocol and headers the app chose, permessage-deflate', async () => {
    const { ws, headers } = await open(server.port, '/ws/echo', ['superchat', 'chat']);
    assert.equal(ws.protocol, 'chat');
    assert.match(String(headers['x-worker']), /^\d+$/);
    assert.match(ws.extensions, /permessage-deflate/);
    ws.send('h\u00e9llo');
    const text = await nextMessage(ws);
    assert.deepEqual([text.data.toString(), text.binary], ['h\u00e9llo', false]);
    ws.send(Buffer.from([0, 1, 255]));
    const bytes = await nextMessage(ws);
    assert.deepEqual([[...bytes.data], bytes.binary], [[0, 1, 255], true]);
    const big = 'compressible '.repeat(20_000);
    ws.send(big);
    assert.equal((await nextMessage(ws)).data.toString(), big);
    const end = closed(ws);
    ws.close(1000, 'done');
    assert.equal((await end).code, 1000);
    await server.waitFor('disconnect 1000 /ws/echo');
    await server.waitFor(/"GET \/ws\/echo HTTP\/1\.1" 101 /);
  });

  test('the app closes with its code, and an app error closes with 1011', async () => {
    const first = await open(server.port, '/ws/echo');
    const byApp = closed(first.ws);
    first.ws.send('close please');
    assert.deepEqual(await byApp, { code: 4000, reason: 'as asked' });
    const second = await open(server.port, '/ws/echo');
    const failed = closed(second.ws);
    second.ws.send('raise please');
    assert.equal((await failed).code, 1011);
    await server.waitFor('RuntimeError: the app failed inside a WebSocket');
  });

  test('a handshake the app refuses gets 403, or the response the app sends', async () => {
    assert.equal((await refused(server.port, '/ws/deny')).status, 403);
    assert.deepEqual(await refused(server.port, '/ws/login'), {
      status: 401,
      body: 'log in first',
    });
  });

  test('a WebSocket version other than 13 gets 426 naming 13, whatever the app', async () => {
    const { head } = await rawHandshake(server.port, '/ws/echo', '8');
    assert.match(head, /^HTTP\/1\.1 426 Upgrade Required\r\n/);
    assert.match(head, /\r\nSec-WebSocket-Version: 13\r\n/);
  });

  test('a client that disconnects mid-stream is seen by the app as 1006', async () => {
    const { ws } = await open(server.port, '/ws/ticks');
    await nextMessage(ws);
    ws.terminate(); // the TCP connection goes, without a close frame
    await server.waitFor(/disconnect (1006|\(send raised ClientDisconnected\)) \/ws\/ticks/);
  });

  test('a client that does not read holds the app back: bounded buffers, then everything arrives', async () => {
    const { ws } = await open(server.port, '/ws/flood?2000');
    ws.pause(); // stop reading the socket: the kernel's buffers fill, then the front's window
    await sleep(1500);
    const sent = [...server.stderr().matchAll(/flood sent (\d+)/g)].map((m) => Number(m[1]));
    const most = Math.max(0, ...sent);
    assert.ok(!server.stderr().includes('flood done'), 'the app was not held back');
    // 64 KiB each: what loopback's socket buffers hold, plus one 1 MiB link window.
    assert.ok(most < 600, `the app sent ${most} messages to a client that read none`);
    let got = 0;
    const all = new Promise<void>((resolve) =>
      ws.on('message', () => {
        if (++got === 2000) resolve();
      }),
    );
    ws.resume();
    await all;
    await server.waitFor('flood done 2000');
    ws.close();
  });

  test('a plain HTTP request reaches the same app', async () => {
    const x = await exchange(
      server.port,
      'GET /plain HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
    );
    assert.equal(x.responses[0]?.body.toString(), 'plain http /plain');
  });
});

test('a WSGI app gets a WebSocket handshake as the plain GET it also is: no switch', async (t) => {
  const server = await startCask(['hello:application', '--chdir', APPS]);
  t.after(() => server.stop());
  const answer = await refused(server.port, '/ws/echo');
  assert.deepEqual(answer, { status: 200, body: 'Hello, World!' });
  const { head } = await rawHandshake(server.port, '/', '7');
  assert.match(head, /^HTTP\/1\.1 426 /);
});

test('a WebSocket reaches an ASGI app mounted beside a WSGI app (--mount)', async (t) => {
  const server = await startCask([
    '--mount', '/chat=asgi_ws_app:app', '--mount', '/=hello:application', '--chdir', APPS,
  ]); // prettier-ignore
  t.after(() => server.stop());
  const { ws } = await open(server.port, '/chat/ws/echo');
  ws.send('through the mount');
  assert.equal((await nextMessage(ws)).data.toString(), 'through the mount');
  ws.close();
  // The WSGI app at / gets its handshake as a plain GET.
  assert.deepEqual(await refused(server.port, '/ws/echo'), { status: 200, body: 'Hello, World!' });
});

test('--ws-idle-timeout closes a silent WebSocket with 1001', async (t) => {
  const server = await startCask(['asgi_ws_app:app', '--chdir', APPS, '--ws-idle-timeout', '1']);
  t.after(() => server.stop());
  const { ws } = await open(server.port, '/ws/echo');
  const started = Date.now();
  const end = await closed(ws);
  assert.equal(end.code, 1001);
  assert.ok(Date.now() - started < 3000);
  await server.waitFor('disconnect 1001 /ws/echo');
});

test('a client that answers no ping is dropped after --ws-ping-timeout, and the app sees 1006', async (t) => {
  const server = await startCask([
    'asgi_ws_app:app', '--chdir', APPS, '--ws-ping-interval', '0.5', '--ws-ping-timeout', '2',
  ]); // prettier-ignore
  t.after(() => server.stop());
  const { head, gone } = await rawHandshake(server.port, '/ws/echo');
  assert.match(head, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  await gone;
  await server.waitFor('disconnect 1006 /ws/echo');
  // A client that answers pings (Node's ws does) stays. 3 s is past the timeout of the first
  // pings, so they were answered. The timeout is 2 s rather than shorter so that a loaded
  // machine, which can stall the client or the front for most of a second, delivers the pong
  // in time: a front stalled past the timeout runs its timer before it reads the pong.
  const { ws } = await open(server.port, '/ws/echo');
  await sleep(3000);
  assert.equal(ws.readyState, WebSocket.OPEN);
  ws.close();
});

test('a reload drains a worker: its WebSockets close with 1001 after the graceful timeout', async (t) => {
  const server = await startCask(['asgi_ws_app:app', '--chdir', APPS, '--graceful-timeout', '1']);
  t.after(() => server.stop());
  const { ws, headers } = await open(server.port, '/ws/echo');
  const end = closed(ws);
  server.proc.kill('SIGHUP');
  await server.waitFor('Reload complete');
  // The old worker serves its WebSocket until the graceful timeout.
  ws.send('still here');
  assert.equal((await nextMessage(ws)).data.toString(), 'still here');
  assert.equal((await end).code, 1001);
  await server.waitFor('disconnect 1001 /ws/echo');
  const again = await open(server.port, '/ws/echo');
  assert.notEqual(again.headers['x-worker'], headers['x-worker']);
  again.ws.close();
});

test('SIGTERM closes WebSockets with 1001 and the server exits 0', async (t) => {
  const server = await startCask(['asgi_ws_app:app', '--chdir', APPS]);
  t.after(() => server.stop());
  const { ws } = await open(server.port, '/ws/echo');
  const end = closed(ws);
  const code = server.stop();
  assert.equal((await end).code, 1001);
  assert.equal(await code, 0);
});

const noWebsockets = ((): string | false => {
  const probe = spawnSync(DEBIAN_PYTHON, ['-c', 'import websockets']);
  return probe.status === 0 ? false : 'python3-websockets is not installed';
})();

test('a broadcast to 1,000 clients: every client gets every message', async (t) => {
  const server = await startCask(['asgi_ws_app:app', '--chdir', APPS], { timeoutMs: 30_000 });
  t.after(() => server.stop());
  const clients = 1000;
  const messages = 20;
  let result: { received: number; seconds: number; rate: number };
  if (noWebsockets === false) {
    const driver = spawn(DEBIAN_PYTHON, [
      BROADCAST,
      `ws://127.0.0.1:${server.port}/ws/room`,
      String(clients),
      String(messages),
    ]);
    let out = '';
    let err = '';
    driver.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    driver.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    t.after(() => {
      if (driver.exitCode === null) driver.kill();
    });
    const [code] = (await once(driver, 'exit')) as [number];
    assert.equal(code, 0, err);
    result = JSON.parse(out) as typeof result;
  } else {
    t.diagnostic(`${noWebsockets}: driving the clients with Node's ws instead`);
    const sockets: WebSocket[] = [];
    for (let i = 0; i < clients; i += 100) {
      sockets.push(
        ...(await Promise.all(
          Array.from({ length: 100 }, async () => (await open(server.port, '/ws/room')).ws),
        )),
      );
    }
    let received = 0;
    const all = new Promise<void>((resolve) => {
      for (const ws of sockets)
        ws.on('message', (data) => {
          if (!data.toString().startsWith('size') && ++received === clients * messages) resolve();
        });
    });
    const started = Date.now();
    (sockets[0] as WebSocket).send(`broadcast ${messages}`);
    await all;
    const seconds = (Date.now() - started) / 1000;
    result = { received, seconds, rate: Math.round(received / seconds) };
    for (const ws of sockets) ws.terminate();
  }
  assert.equal(result.received, clients * messages);
  t.diagnostic(
    `${result.received} messages to ${clients} clients in ${result.seconds} s (${result.rate}/s)`,
  );
  await server.waitFor(`broadcast ${messages} to ${clients}`);
});

test(
  'over TLS (wss): a burst of messages arrives whole and in order, with and without permessage-deflate',
  { skip: opensslMissing() ?? false },
  async (t) => {
    const certs = makeCerts(t);
    const server = await startCask([
      'asgi_ws_app:app', '--chdir', APPS, '--certfile', certs.cert, '--keyfile', certs.key,
    ]); // prettier-ignore
    t.after(() => server.stop());
    const ca = readFileSync(certs.ca);
    const url = `wss://127.0.0.1:${server.port}/ws/room`;
    const plain = new WebSocket(url, { ca, perMessageDeflate: false });
    const deflated = new WebSocket(url, { ca, perMessageDeflate: true });
    await Promise.all([once(plain, 'open'), once(deflated, 'open')]);
    t.after(() => {
      plain.terminate();
      deflated.terminate();
    });
    const count = 500;
    const collect = (ws: WebSocket): Promise<number[]> =>
      new Promise((resolve) => {
        const seen: number[] = [];
        ws.on('message', (data) => {
          const text = data.toString();
          if (!text.startsWith('{')) return;
          seen.push((JSON.parse(text) as { n: number }).n);
          if (seen.length === count) resolve(seen);
        });
      });
    // The room holds both once each has asked its size (the app adds a member on accept).
    for (const ws of [plain, deflated]) {
      ws.send('size');
      await once(ws, 'message');
    }
    const both = Promise.all([collect(plain), collect(deflated)]);
    plain.send(`broadcast ${count}`);
    const [a, b] = await both;
    const expected = Array.from({ length: count }, (_, i) => i);
    assert.deepEqual(a, expected);
    assert.deepEqual(b, expected);
    assert.equal(deflated.extensions, 'permessage-deflate');
  },
);
