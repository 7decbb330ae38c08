// Starlette and FastAPI behind cask, beyond plain HTTP (asgi-frameworks.test.ts has that):
// their WebSocket routes through the front's RFC 6455 (Node's `ws` as the client), a lifespan
// startup that fails, and a client that leaves in the middle of a StreamingResponse, which the
// app must see (its generator ends; /stream/state, a second endpoint, tells). Run by Debian's
// python3 with python3-starlette and python3-fastapi; each test skips, saying why, without them.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import {
  APPS,
  DEBIAN_PYTHON,
  debianMissing,
  type RunningCask,
  startCask,
} from '../helpers/cask.js';
import { get } from '../helpers/http.js';

const noStarlette = debianMissing('starlette', 'python3-starlette');
const noFastapi = debianMissing('fastapi', 'python3-fastapi');

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function open(port: number, path: string): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
  await once(ws, 'open');
  return ws;
}

function nextMessage(ws: WebSocket): Promise<string> {
  return new Promise((resolve) => ws.once('message', (data) => resolve(String(data))));
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
}

function serve(app: string, env: NodeJS.ProcessEnv = {}): Promise<RunningCask> {
  return startCask([app, '--chdir', APPS, '--python', DEBIAN_PYTHON, '-w', '1'], { env });
}

interface StreamState {
  started: number;
  sent: number;
  ended: number;
  how: string | null;
}

async function streamState(port: number): Promise<StreamState> {
  return JSON.parse((await get(port, '/stream/state')).body.toString()) as StreamState;
}

/**
 * Opens GET /stream on a raw socket, reads until the stream has begun, then leaves: `reset`
 * sends an RST, `close` a FIN (what a closed browser tab does), after which the client's
 * kernel answers the next bytes with an RST. Returns when that was, and the number of the
 * last event the client had received.
 */
async function leaveMidStream(
  port: number,
  how: 'reset' | 'close',
  path = '/stream',
): Promise<{ at: number; lastSeen: number }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.on('error', () => {});
  socket.write(`GET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`);
  let seen = '';
  await new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      seen += chunk.toString('latin1');
      // The head and at least two events: the app is inside its loop.
      if (/\r\n\r\n[\s\S]*data: \d+\n\n[\s\S]*data: \d+\n\n/.test(seen)) resolve();
    });
  });
  assert.match(seen, /^HTTP\/1\.1 200 /);
  if (how === 'reset') socket.resetAndDestroy();
  else socket.destroy();
  const numbers = [...seen.matchAll(/data: (\d+)\n\n/g)].map((m) => Number(m[1]));
  return { at: Date.now(), lastSeen: Math.max(...numbers) };
}

/** Polls /stream/state until the app says `count` streams ended, for at most `ms`. */
async function streamsEnded(port: number, count: number, ms: number): Promise<StreamState> {
  const deadline = Date.now() + ms;
  for (;;) {
    const state = await streamState(port);
    if (state.ended >= count || Date.now() > deadline) return state;
    await sleep(50);
  }
}

/**
 * Leaves two streams in turn, by RST then by FIN, and checks after each that the app's
 * generator ended within 5 s and sent nothing more; returns how the app learned each time.
 */
async function leaveTwoStreams(port: number): Promise<string[]> {
  const hows: string[] = [];
  for (const [index, how] of (['reset', 'close'] as const).entries()) {
    const { at: left } = await leaveMidStream(port, how);
    const state = await streamsEnded(port, index + 1, 15_000);
    const waited = Date.now() - left;
    assert.equal(state.started, index + 1);
    assert.equal(state.ended, index + 1, `a stream is still running: ${JSON.stringify(state)}`);
    // The app learns within tens of milliseconds on a quiet machine (an event every 20 ms);
    // `waited` also counts the polls of /stream/state through the same worker, which a loaded
    // machine can slow to a second or more. A stream that is never cut runs on for ever.
    assert.ok(waited < 5000, `the app learned of the ${how} after ${waited} ms`);
    // Nothing more is sent once it ended: the count stays put.
    await sleep(200);
    assert.equal((await streamState(port)).sent, state.sent);
    hows.push(`${String(state.how)} (${how}, ${waited} ms)`);
  }
  return hows;
}

test(
  'a Starlette WebSocket route echoes, and the client closing is the app’s WebSocketDisconnect',
  { skip: noStarlette },
  async (t) => {
    const server = await serve('starlette_app:app');
    t.after(() => server.stop());
    const ws = await open(server.port, '/ws/echo');
    ws.send('h\u00e9llo');
    assert.equal(await nextMessage(ws), 'starlette: h\u00e9llo');
    const big = 'x'.repeat(200_000);
    ws.send(big);
    assert.equal(await nextMessage(ws), `starlette: ${big}`);
    const end = closed(ws);
    ws.close(1000, 'bye');
    assert.equal((await end).code, 1000);
    await server.waitFor('starlette ws disconnect 1000');
  },
);

test(
  'a Starlette WebSocket closed by the app reaches the client with the app’s code and reason',
  { skip: noStarlette },
  async (t) => {
    const server = await serve('starlette_app:app');
    t.after(() => server.stop());
    const ws = await open(server.port, '/ws/echo');
    const end = closed(ws);
    ws.send('close 4321');
    assert.deepEqual(await end, { code: 4321, reason: 'starlette says bye' });
    await server.waitFor('starlette ws closed by the app');
    // The worker is free again: the next WebSocket is served.
    const again = await open(server.port, '/ws/echo');
    again.send('still');
    assert.equal(await nextMessage(again), 'starlette: still');
    again.close();
  },
);

test(
  'a FastAPI WebSocket route echoes JSON, and closes with the code the app gives',
  { skip: noFastapi },
  async (t) => {
    const server = await serve('fastapi_app:app');
    t.after(() => server.stop());
    const ws = await open(server.port, '/ws/echo');
    ws.send(JSON.stringify({ n: 1, s: 'caf\u00e9' }));
    assert.deepEqual(JSON.parse(await nextMessage(ws)), { echo: { n: 1, s: 'caf\u00e9' } });
    const end = closed(ws);
    ws.send(JSON.stringify({ close: 4008 }));
    assert.deepEqual(await end, { code: 4008, reason: 'fastapi says bye' });
    await server.waitFor('fastapi ws closed by the app');
    const second = await open(server.port, '/ws/echo');
    const gone = closed(second);
    second.close(4100, 'client leaves');
    assert.equal((await gone).code, 4100);
    await server.waitFor('fastapi ws disconnect 4100');
  },
);

test(
  'a Starlette lifespan startup that raises stops cask with exit code 4 and the traceback',
  { skip: noStarlette },
  async (t) => {
    const server = await startCask(
      ['starlette_app:app', '--chdir', APPS, '--python', DEBIAN_PYTHON, '-w', '2'],
      { noWait: true, env: { STARLETTE_STARTUP: 'fail' } },
    );
    t.after(() => server.stop());
    assert.equal(await server.exited, 4);
    const err = server.stderr();
    assert.match(err, /Traceback \(most recent call last\)/);
    assert.match(err, /in startup\n/);
    assert.match(err, /RuntimeError: starlette cannot reach the database at startup/);
    assert.doesNotMatch(err, /Ready: \d+ worker/);
    // The front says it once. Both workers start together and each may print its own
    // traceback before the front stops, but none is respawned to fail again.
    assert.equal(err.split('(CASK_APP_LOAD)').length - 1, 1, err);
    const relayed = err.match(/\[worker \d+ pid \d+ stderr\] RuntimeError: starlette cannot/g);
    assert.ok(relayed !== null && relayed.length <= 2, err);
    assert.ok(new Set(err.match(/ pid \d+ /g)).size <= 2, err);
  },
);

test(
  'a client that leaves mid StreamingResponse: the Starlette app’s generator ends, at once or by its second event after a FIN',
  { skip: noStarlette },
  async (t) => {
    const server = await serve('starlette_app:app');
    t.after(() => server.stop());
    const hows = await leaveTwoStreams(server.port);
    t.diagnostic(`the app learned it by ${hows.join(', ')}`);
    // Starlette's listener for http.disconnect cancels the stream: CancelledError in its sleep,
    // or GeneratorExit when it was waiting at its yield.
    for (const how of hows) assert.match(how, /^(CancelledError|GeneratorExit) /);
    await server.waitFor('starlette stream ended');
    // A FIN alone does not say the client is gone (it may be a half-close, RFC 9112 §9.6):
    // the app's next event draws the client's RST and the one after fails, so a stream with
    // an event every 0.5 s learns it within two events, not at once (docs/asgi.md).
    const { at: left, lastSeen } = await leaveMidStream(server.port, 'close', '/stream?every=0.5');
    const state = await streamsEnded(server.port, 3, 15_000);
    const waited = Date.now() - left;
    assert.equal(state.ended, 3, `the slow stream is still running: ${JSON.stringify(state)}`);
    // Counted in the app's events rather than in milliseconds, so that a loaded machine (whose
    // polls of /stream/state and whose front can each take a second) does not count against
    // the app: after the last event the client saw, the next one draws its RST and the one
    // after fails, or http.disconnect comes first. One more is allowed for an event already on
    // its way when the client left and one for a front slowed past an interval by the machine;
    // a stream that is never cut sends one every 0.5 s until the deadline above.
    const after = state.sent - (lastSeen + 1);
    assert.ok(after <= 4, `the app sent ${after} events after the last one the client saw`);
    t.diagnostic(
      `a stream with an event every 0.5 s learned of a FIN after ${waited} ms, ${after} more events`,
    );
  },
);

test(
  'a client that leaves mid StreamingResponse: the FastAPI app’s generator ends at once',
  { skip: noFastapi },
  async (t) => {
    const server = await serve('fastapi_app:app');
    t.after(() => server.stop());
    const hows = await leaveTwoStreams(server.port);
    t.diagnostic(`the app learned it by ${hows.join(', ')}`);
    // Whichever reads http.disconnect first: the generator's request.is_disconnected(), or
    // Starlette's listener, which cancels the stream.
    for (const how of hows) assert.match(how, /^(is_disconnected|CancelledError|GeneratorExit) /);
    await server.waitFor('fastapi stream ended');
  },
);
