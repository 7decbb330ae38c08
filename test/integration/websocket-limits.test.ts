// WebSockets against the front's limits and the pool's drains, over real sockets with Node's
// `ws` as the client and the raw ASGI app test/fixtures/apps/asgi_ws_app.py (stdlib only, so
// nothing here skips): an open WebSocket holds one of `--max-connections` and of
// `--worker-connections` (docs/asgi.md), and a worker that is recycled (`--max-requests`,
// `--max-lifetime`) or scaled down (SIGTTOU) closes its WebSockets with 1001 once
// `--graceful-timeout` has passed, serving them until then.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { APPS, startCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Opened {
  ws: WebSocket;
  /** The pid of the worker that accepted it (the app's `x-worker` header). */
  worker: string;
}

async function open(port: number, path = '/ws/echo'): Promise<Opened> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
  let worker = '';
  ws.on('upgrade', (response) => (worker = String(response.headers['x-worker'])));
  await once(ws, 'open');
  return { ws, worker };
}

/**
 * `open()` once a connection slot is free: right after a connection closes on the client's
 * side, the front may not have seen its socket close yet and still counts it (503). The
 * deadline is generous because a loaded machine can be slow to close the socket; a slot that
 * is never freed still fails.
 */
async function openWhenFree(port: number, ms = 10_000): Promise<Opened> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await open(port);
    } catch (error) {
      if (!/Unexpected server response: 503/.test(String(error)) || Date.now() > deadline)
        throw error;
      await sleep(25);
    }
  }
}

function nextMessage(ws: WebSocket): Promise<string> {
  return new Promise((resolve) => ws.once('message', (data) => resolve(String(data))));
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string; at: number }> {
  return new Promise((resolve) =>
    ws.once('close', (code, reason) =>
      resolve({ code, reason: reason.toString(), at: Date.now() }),
    ),
  );
}

/** The status of a WebSocket handshake the server answered without switching. */
function refusedHandshake(port: number): Promise<number> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/echo`);
  ws.on('error', () => {});
  return new Promise((resolve, reject) => {
    ws.on('open', () => reject(new Error('the handshake was accepted')));
    ws.on('unexpected-response', (_request, response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
  });
}

/**
 * GET until it is answered 200, for at most `ms`; the statuses seen on the way. Callers give a
 * deadline far past what freeing a slot takes on a loaded machine: a slot never freed still
 * ends in 503.
 */
async function servedWithin(port: number, ms: number): Promise<number[]> {
  const seen: number[] = [];
  const deadline = Date.now() + ms;
  for (;;) {
    const status = (await get(port, '/plain')).status;
    seen.push(status);
    if (status === 200 || Date.now() > deadline) return seen;
    await sleep(25);
  }
}

test('open WebSockets count against --max-connections: the next connection gets 503 until one closes', async (t) => {
  const server = await startCask(['asgi_ws_app:app', '--chdir', APPS, '--max-connections', '2']);
  t.after(() => server.stop());
  // Below the limit an HTTP request is served on its own connection (which then closes).
  assert.equal((await get(server.port, '/plain')).status, 200);
  const first = await open(server.port);
  // One WebSocket and one HTTP connection: two, within the limit.
  assert.equal((await get(server.port, '/plain')).status, 200);
  const second = await openWhenFree(server.port);
  // Both are in the app, past the handshake: their HTTP connections became WebSockets.
  for (const { ws } of [first, second]) {
    ws.send('ping');
    assert.equal(await nextMessage(ws), 'ping');
  }
  const refused = await get(server.port, '/plain');
  assert.equal(refused.status, 503);
  assert.equal(refused.headers['retry-after'], '1');
  assert.equal(await refusedHandshake(server.port), 503);
  await server.waitFor('Connection limit reached, refusing connections: 2 open');
  // The open WebSockets are not disturbed by the refusals.
  second.ws.send('still open');
  assert.equal(await nextMessage(second.ws), 'still open');
  const end = closed(first.ws);
  first.ws.close(1000);
  await end;
  // The front frees the slot when the socket has closed, which may be a moment after the
  // client's close event: a 503 or two on the way, then served.
  const seen = await servedWithin(server.port, 10_000);
  assert.equal(seen.at(-1), 200, `statuses after one WebSocket closed: ${seen.join(' ')}`);
  t.diagnostic(`statuses after one WebSocket closed: ${seen.join(' ')}`);
  const third = await openWhenFree(server.port);
  third.ws.send('third');
  assert.equal(await nextMessage(third.ws), 'third');
  second.ws.close();
  third.ws.close();
});

test('a WebSocket the client drops without a close frame frees its connection too', async (t) => {
  const server = await startCask(['asgi_ws_app:app', '--chdir', APPS, '--max-connections', '1']);
  t.after(() => server.stop());
  const { ws } = await open(server.port);
  assert.equal((await get(server.port, '/plain')).status, 503);
  ws.terminate();
  await server.waitFor('disconnect 1006 /ws/echo');
  const seen = await servedWithin(server.port, 10_000);
  assert.equal(seen.at(-1), 200, `statuses after the WebSocket was dropped: ${seen.join(' ')}`);
});

test('a worker recycled by --max-requests serves its WebSocket until --graceful-timeout, then closes it with 1001', async (t) => {
  const server = await startCask([
    'asgi_ws_app:app', '--chdir', APPS, '-w', '1', '--max-requests', '2', '--graceful-timeout', '1',
  ]); // prettier-ignore
  t.after(() => server.stop());
  const old = await open(server.port); // request 1
  const end = closed(old.ws);
  // Request 2 reaches the limit: a replacement starts, then the old worker drains.
  const pid = (await get(server.port, '/pid')).body.toString();
  assert.equal(pid, old.worker);
  await server.waitFor('Recycling the worker (max-requests: 2 requests served)');
  await server.waitFor(/Worker ready[\s\S]*Worker ready/);
  const drainStarted = Date.now();
  // Still served by the old worker while it drains.
  old.ws.send('during the drain');
  assert.equal(await nextMessage(old.ws), 'during the drain');
  const { code, reason, at } = await end;
  assert.equal(code, 1001);
  assert.equal(reason, 'server restarting');
  assert.ok(at - drainStarted < 3000, `closed ${at - drainStarted} ms into the drain`);
  // The app saw the 1001 too, and its task ended, so the old worker exits on its own.
  await server.waitFor('disconnect 1001 /ws/echo');
  // New WebSockets and requests go to the replacement.
  const fresh = await open(server.port);
  assert.notEqual(fresh.worker, old.worker);
  fresh.ws.send('new worker');
  assert.equal(await nextMessage(fresh.ws), 'new worker');
  fresh.ws.close();
});

test('a worker recycled by --max-lifetime closes its WebSocket with 1001 too, and the app hears it', async (t) => {
  const server = await startCask([
    'asgi_ws_app:app', '--chdir', APPS, '-w', '1', '--max-lifetime', '3', '--graceful-timeout', '1',
  ]); // prettier-ignore
  t.after(() => server.stop());
  const old = await open(server.port);
  const end = closed(old.ws);
  await server.waitFor('Recycling the worker (max-lifetime');
  const { code } = await end;
  assert.equal(code, 1001);
  await server.waitFor('disconnect 1001 /ws/echo');
  const fresh = await open(server.port);
  assert.notEqual(fresh.worker, old.worker);
  fresh.ws.close();
});

test('scaling down (SIGTTOU) closes only the drained worker’s WebSockets, with 1001', async (t) => {
  const server = await startCask([
    'asgi_ws_app:app', '--chdir', APPS, '-w', '2', '--graceful-timeout', '1',
  ]); // prettier-ignore
  t.after(() => server.stop());
  // Least busy first: the second WebSocket goes to the other worker.
  const a = await open(server.port);
  const b = await open(server.port);
  assert.notEqual(a.worker, b.worker);
  const ends = new Map<string, Promise<{ code: number; at: number }>>([
    [a.worker, closed(a.ws)],
    [b.worker, closed(b.ws)],
  ]);
  server.proc.kill('SIGTTOU');
  await server.waitFor('Workers: 2 -> 1');
  // Both are served while the drained worker waits out its graceful timeout.
  for (const { ws } of [a, b]) {
    ws.send('during the drain');
    assert.equal(await nextMessage(ws), 'during the drain');
  }
  const [which] = (await Promise.race(
    [...ends].map(async ([worker, end]) => [worker, await end] as const),
  )) as readonly [string, { code: number }];
  const gone = which === a.worker ? a : b;
  const kept = which === a.worker ? b : a;
  assert.equal((await ends.get(gone.worker))?.code, 1001);
  await server.waitFor('disconnect 1001 /ws/echo');
  // The kept worker's WebSocket is untouched.
  await sleep(1500);
  assert.equal(kept.ws.readyState, WebSocket.OPEN);
  kept.ws.send('kept');
  assert.equal(await nextMessage(kept.ws), 'kept');
  // And a new one goes to the worker that is left.
  const fresh = await open(server.port);
  assert.equal(fresh.worker, kept.worker);
  fresh.ws.close();
  kept.ws.close();
});

test('open WebSockets count against --worker-connections: a request waits in the queue until one closes', async (t) => {
  const server = await startCask([
    'asgi_ws_app:app', '--chdir', APPS, '-w', '1', '--worker-connections', '2', '--prefetch', '0',
    '--max-queue-wait', '1',
  ]); // prettier-ignore
  t.after(() => server.stop());
  const first = await open(server.port);
  const second = await open(server.port);
  // Both tasks of the worker are WebSockets: a request waits, and past --max-queue-wait, 503.
  const started = Date.now();
  const timedOut = await get(server.port, '/plain');
  assert.equal(timedOut.status, 503);
  assert.ok(Date.now() - started >= 900, `answered after ${Date.now() - started} ms`);
  // One waiting when a WebSocket closes is served as soon as its task has ended.
  const waiting = get(server.port, '/plain');
  let answered = false;
  void waiting.then(() => (answered = true));
  await sleep(300);
  assert.equal(answered, false, 'the request was served beside two WebSockets');
  first.ws.close(1000);
  assert.equal((await waiting).status, 200);
  second.ws.close();
});
