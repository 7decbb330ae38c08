// A client that writes tiny WebSocket messages to an app that does not receive them, over the
// real server with Node's `ws` as the client and test/fixtures/apps/asgi_ws_app.py (its
// /ws/hold takes no message until GET /release). Every message counts against the link's
// window as its payload plus a fixed cost (docs/protocol.md), so the front forwards at most
// about 16k of them, stops reading the client's socket and holds little memory; the app then
// gets every message, in order, as credit comes back.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { rss, sleep } from '../helpers/attacks.js';
import { APPS, startCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';

const MiB = 1024 * 1024;

async function open(port: number, path: string): Promise<WebSocket> {
  // No permessage-deflate: the client should write as fast as it can, not wait on zlib.
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { perMessageDeflate: false });
  await once(ws, 'open');
  return ws;
}

async function echoed(ws: WebSocket, text: string): Promise<string> {
  const reply = once(ws, 'message');
  ws.send(text);
  const [data] = (await reply) as [Buffer];
  return data.toString();
}

test('tiny messages to an app that does not receive: the front stops reading the client after a window, keeps its memory and serves others; the app then gets every message in order', async (t) => {
  // A short graceful timeout: should the test fail, the held app is not waited on for 30 s.
  const args = ['asgi_ws_app:app', '--chdir', APPS, '-w', '1', '--graceful-timeout', '2'];
  const server = await startCask(args);
  t.after(() => server.stop());
  const front = server.proc.pid as number;
  const worker = Number((await get(server.port, '/pid')).body.toString());
  // A first WebSocket, so that the baseline includes what any WebSocket costs the front once.
  const other = await open(server.port, '/ws/echo');
  t.after(() => other.terminate());
  assert.equal(await echoed(other, 'warm'), 'warm');
  const frontBase = rss(front);
  const workerBase = rss(worker);

  const held = await open(server.port, '/ws/hold');
  t.after(() => held.terminate());
  // As fast as the client's socket takes them, for 1.5 s; the client holds at most 256 KiB
  // more that its socket has not taken. Were only payload counted against the window, the
  // front would read all of them and hold each one: hundreds of MB for a million messages.
  let sent = 0;
  const until = Date.now() + 1500;
  while (Date.now() < until) {
    if (held.bufferedAmount < 256 * 1024) {
      for (let i = 0; i < 1000; i++) held.send(String(sent++));
      await nextTurn();
    } else {
      await sleep(5);
    }
  }
  const frontGrew = rss(front) - frontBase;
  const workerGrew = rss(worker) - workerBase;
  assert.ok(frontGrew < 64 * MiB, `the front grew by ${frontGrew} bytes for ${sent} messages`);
  assert.ok(workerGrew < 64 * MiB, `the worker grew by ${workerGrew} bytes for ${sent} messages`);

  // The front no longer reads this client: what its socket could not send stays unsent.
  await sleep(500);
  assert.ok(held.bufferedAmount > 0, `the client's ${sent} messages were all read by the front`);

  // Other connections are served: a WebSocket echo and a plain HTTP request.
  assert.equal(await echoed(other, 'still here'), 'still here');
  assert.equal((await get(server.port, '/pid')).status, 200);

  // Once the app receives, credit comes back, the front reads again, and every message comes.
  const answer = once(held, 'message');
  held.send('end');
  assert.equal((await get(server.port, '/release')).body.toString(), 'released 1');
  const [data] = (await answer) as [Buffer];
  assert.equal(data.toString(), `got ${sent} in order`);
});
