// WebSocketSession over a real loopback connection, with `ws` on both ends: the messages the
// handler sends in one turn of the event loop are held by one cork of the socket and leave
// together once the turn ends, in order, each credited once written.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import type { FrontConnection } from '../../src/http/connection.js';
import { WebSocketSession } from '../../src/websocket/session.js';

const timers = { pingIntervalMs: 0, pingTimeoutMs: 0, idleTimeoutMs: 0 };

async function pair(): Promise<{
  session: WebSocketSession;
  socket: Socket;
  client: WebSocket;
  /** Resolves once the session has told its peer the WebSocket is closed. */
  peerClosed: Promise<void>;
  close: () => Promise<void>;
}> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const accepted = once(server, 'connection') as Promise<[WebSocket, IncomingMessage]>;
  const client = new WebSocket(`ws://127.0.0.1:${port}/`);
  const [ws, request] = await accepted;
  await once(client, 'open');
  const socket = request.socket as Socket;
  const registry = new Set<FrontConnection>();
  let peerGone = (): void => {};
  const peerClosed = new Promise<void>((resolve) => (peerGone = resolve));
  const session = new WebSocketSession(
    ws,
    socket,
    registry,
    timers,
    { message: () => {}, closed: () => peerGone() },
    () => {},
  );
  return {
    session,
    socket,
    client,
    peerClosed,
    close: async () => {
      client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test('the messages of one turn wait behind one cork and arrive in order once it ends', async (t) => {
  const { session, socket, client, close } = await pair();
  t.after(close);
  const got: string[] = [];
  const all = new Promise<void>((resolve) =>
    client.on('message', (data) => {
      got.push(String(data));
      if (got.length === 50) resolve();
    }),
  );
  let credited = 0;
  for (let i = 0; i < 50; i++) session.send(Buffer.from(`m${i}`), false, () => credited++);
  // ws corks and uncorks around each frame; the session's own cork holds them all.
  assert.equal(socket.writableCorked, 1);
  assert.ok(socket.writableLength > 0, 'the frames wait in the socket');
  assert.equal(credited, 0, 'nothing is credited before it is written');
  await new Promise((resolve) => process.nextTick(resolve));
  assert.equal(socket.writableCorked, 0);
  await all;
  assert.deepEqual(
    got,
    Array.from({ length: 50 }, (_, i) => `m${i}`),
  );
  assert.equal(credited, 50);
  // A later turn corks again, once.
  session.send(Buffer.from('later'), false, () => credited++);
  assert.equal(socket.writableCorked, 1);
  await once(client, 'message');
  assert.equal(credited, 51);
});

test('a message sent after the client left is credited at once, and the socket is not corked', async (t) => {
  const { session, socket, client, peerClosed, close } = await pair();
  t.after(close);
  client.terminate();
  await peerClosed;
  let credited = 0;
  session.send(Buffer.from('late'), false, () => credited++);
  assert.equal(credited, 1);
  assert.equal(socket.writableCorked, 0);
});
