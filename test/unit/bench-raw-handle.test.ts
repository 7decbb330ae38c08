// bench/launchers/raw-handle.mjs: raw-net's answers on bare TCP handles, run as the process a
// measurement starts (node raw-handle.mjs PORT), over real sockets.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { CLOSING_RESPONSE, MAX_HEAD, RESPONSE } from '../../bench/launchers/raw-net.mjs';
import { freePort } from '../helpers/ports.js';

const LAUNCHER = fileURLToPath(new URL('../../bench/launchers/raw-handle.mjs', import.meta.url));
const GET = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
const CLOSE = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n';

/** The launcher, started and answering; stopped after the test. */
async function start(t: TestContext): Promise<number> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [LAUNCHER, String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  t.after(() => child.kill('SIGTERM'));
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const probe = connect(port, '127.0.0.1');
      probe.on('connect', () => (probe.destroy(), resolve(true)));
      probe.on('error', () => resolve(false));
    });
    if (up) return port;
    if (child.exitCode !== null) throw new Error(`raw-handle exited: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`raw-handle did not listen: ${stderr}`);
}

/** A client that keeps its side open after the server's end, collecting what it reads. */
async function client(port: number): Promise<{
  socket: Socket;
  received: () => Buffer;
  errors: string[];
}> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  const chunks: Buffer[] = [];
  const errors: string[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? e.message));
  await once(socket, 'connect');
  return { socket, received: () => Buffer.concat(chunks), errors };
}

test('raw-handle answers pipelined requests on a kept connection', async (t: TestContext) => {
  const port = await start(t);
  const { socket, received, errors } = await client(port);
  t.after(() => socket.destroy());
  socket.write(GET + GET.slice(0, 10));
  socket.write(GET.slice(10));
  const both = Buffer.concat([RESPONSE, RESPONSE]);
  for (let i = 0; i < 100 && received().length < both.length; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  t.assert.deepStrictEqual(received(), both);
  t.assert.strictEqual(socket.readableEnded, false, 'a kept connection was closed');
  t.assert.deepStrictEqual(errors, []);
});

test('raw-handle closes after answering a request that asks to close', async (t: TestContext) => {
  const port = await start(t);
  const { socket, received, errors } = await client(port);
  t.after(() => socket.destroy());
  socket.write(GET + CLOSE);
  await once(socket, 'end');
  t.assert.deepStrictEqual(received(), Buffer.concat([RESPONSE, CLOSING_RESPONSE]));
  t.assert.deepStrictEqual(errors, []);
});

test('raw-handle drops what comes after a closing request without resetting the connection', async (t: TestContext) => {
  const port = await start(t);
  const { socket, received, errors } = await client(port);
  const closed = once(socket, 'close');
  socket.write(CLOSE + GET);
  await once(socket, 'end');
  // The server only shut its side down and still reads (and drops) what comes: writes now are
  // taken, where a closed socket would answer the first with a reset and fail the second.
  socket.write(GET);
  await new Promise((r) => setTimeout(r, 100));
  socket.write(GET);
  await new Promise((r) => setTimeout(r, 100));
  socket.end();
  await closed;
  t.assert.deepStrictEqual(received(), CLOSING_RESPONSE);
  t.assert.deepStrictEqual(errors, []);
});

test('raw-handle drops a connection whose head grows past the limit', async (t: TestContext) => {
  const port = await start(t);
  const { socket, received } = await client(port);
  t.after(() => socket.destroy());
  socket.write(`GET / HTTP/1.1\r\nX: ${'a'.repeat(MAX_HEAD + 1)}`);
  await once(socket, 'end');
  t.assert.strictEqual(received().length, 0);
});

test('raw-handle without a port says how to run it and exits 2', (t: TestContext) => {
  const run = spawnSync(process.execPath, [LAUNCHER], { encoding: 'utf8' });
  t.assert.strictEqual(run.status, 2);
  t.assert.match(run.stderr, /usage: node raw-handle\.mjs PORT/);
});
