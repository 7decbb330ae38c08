// The front's client connections on a Node whose internals are not what `--client-sockets
// bare` rests on (src/net/bare-socket.ts). The real `cask serve` runs with a module loaded
// before it (`node --import`, through NODE_OPTIONS) that takes away what a later Node might
// not have: the `stream_wrap` binding as a whole, or one method of the TCP handles it accepts.
// Either way every connection must still be served, on net.Socket, and a missing binding is
// said once at start.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { encodeUwsgiRequest } from '../../src/cgi/uwsgi.js';
import { APPS, startCask, type RunningCask } from '../helpers/cask.js';

const INTERNALS = fileURLToPath(new URL('../fixtures/node-internals/', import.meta.url));
const FALLBACK_WARNING = /lacks the internals --client-sockets bare rests on/;

async function start(t: TestContext, preload: string): Promise<RunningCask> {
  const server = await startCask(
    [
      'hello:application',
      '--chdir',
      APPS,
      '-b',
      '127.0.0.1:0',
      '-b',
      'uwsgi://127.0.0.1:0',
      '--keep-alive',
      '5',
    ],
    {
      env: {
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${INTERNALS}${preload}`.trim(),
      },
    },
  );
  t.after(() => server.stop());
  return server;
}

/** Sends `bytes` on a new connection, shuts the sending side, and returns all that comes back. */
async function exchange(port: number, bytes: Buffer | string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.end(bytes);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  await once(socket, 'close');
  return Buffer.concat(chunks).toString('latin1');
}

function uwsgiPort(server: RunningCask): number {
  const match = /uwsgi:\/\/127\.0\.0\.1:(\d+)/.exec(server.stderr());
  assert.ok(match, `no uwsgi listener in:\n${server.stderr()}`);
  return Number(match[1]);
}

/** Two requests on one connection, one that closes, and one through the uwsgi listener. */
async function assertServes(server: RunningCask): Promise<void> {
  const twice = await exchange(
    server.port,
    'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  );
  assert.equal(twice.match(/HTTP\/1\.1 200 OK\r\n/g)?.length, 2, twice);
  assert.match(twice, /Hello, World!$/);
  const closing = await exchange(
    server.port,
    'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  );
  assert.match(closing, /^HTTP\/1\.1 200 OK\r\n[\s\S]*Hello, World!$/);
  const viaUwsgi = await exchange(
    uwsgiPort(server),
    encodeUwsgiRequest(
      [
        ['REQUEST_METHOD', 'GET'],
        ['PATH_INFO', '/'],
        ['SERVER_PROTOCOL', 'HTTP/1.1'],
        ['SERVER_NAME', 'x'],
        ['SERVER_PORT', '80'],
      ].flat(),
    ),
  );
  assert.match(viaUwsgi, /^HTTP\/1\.[01] 200 OK\r\n[\s\S]*Hello, World!$/);
}

test('a Node without the stream_wrap binding: connections on net.Socket, said once at start', async (t) => {
  const server = await start(t, 'without-stream-wrap.mjs');
  assert.equal(server.stderr().match(new RegExp(FALLBACK_WARNING, 'g'))?.length, 1);
  await assertServes(server);
  assert.equal(await server.stop(), 0);
});

test('TCP handles without a method a bare socket uses: each connection becomes a net.Socket', async (t) => {
  const server = await start(t, 'unknown-tcp-handle.mjs');
  assert.doesNotMatch(server.stderr(), FALLBACK_WARNING);
  await assertServes(server);
  assert.equal(await server.stop(), 0);
});

test('the same requests on this Node as it is, with no warning', async (t) => {
  const server = await startCask([
    'hello:application',
    '--chdir',
    APPS,
    '-b',
    '127.0.0.1:0',
    '-b',
    'uwsgi://127.0.0.1:0',
  ]);
  t.after(() => server.stop());
  assert.doesNotMatch(server.stderr(), FALLBACK_WARNING);
  await assertServes(server);
});
