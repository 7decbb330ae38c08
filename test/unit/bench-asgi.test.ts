// The ASGI and WebSocket scenarios of the bench lab: which servers run them, and the
// WebSocket broadcast load driven against a room served by Node's `ws` (the protocol of
// bench/apps/asgi_ws.py), with no Python involved.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { runWs } from '../../src/bench/load/ws.js';
import { findScenario } from '../../src/bench/scenarios.js';
import { findServer, runsScenario } from '../../src/bench/servers.js';

function runs(server: string, scenario: string): boolean {
  return runsScenario(findServer(server)!, findScenario(scenario)!);
}

test('runsScenario() gives the ASGI scenarios to Cask, uvicorn and Hypercorn, and nothing else to those two', () => {
  for (const server of ['cask', 'uvicorn', 'hypercorn'])
    assert.ok(runs(server, 'asgi-hello'), server);
  for (const server of ['gunicorn-gthread', 'waitress', 'raw-net', 'nginx'])
    assert.ok(!runs(server, 'asgi-hello'), server);
  assert.ok(!runs('uvicorn', 'hello'));
  assert.ok(!runs('hypercorn', 'download'));
  assert.ok(runs('cask', 'hello'));
});

test('runsScenario() gives the WebSocket broadcast to Cask and uvicorn only', () => {
  assert.ok(runs('cask', 'ws-broadcast-16'));
  assert.ok(runs('uvicorn', 'ws-broadcast-1000'));
  assert.ok(!runs('hypercorn', 'ws-broadcast-16'));
  assert.ok(!runs('gunicorn-gevent', 'ws-broadcast-16'));
});

test('runWs() counts every message of every round in the window, and times whole rounds', async (t) => {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  t.after(() => server.close());
  const room = new Set<WebSocket>();
  server.on('connection', (ws) => {
    room.add(ws);
    ws.on('close', () => room.delete(ws));
    ws.on('message', (data) => {
      const [verb, count, round] = data.toString().split(' ');
      if (verb === 'size') ws.send(`size ${room.size}`);
      if (verb === 'broadcast')
        for (const member of room)
          for (let i = 0; i < Number(count); i++) member.send(`${round} ${i}`);
    });
  });
  const result = await runWs({
    kind: 'ws',
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    requests: [],
    timeoutMs: 5000,
    seed: 1,
    path: '/ws',
    clients: 8,
    batch: 10,
    concurrency: 4,
    warmupMs: 100,
    durationMs: 400,
  });
  assert.equal(result.kind, 'ws');
  assert.deepEqual(result.errors, {});
  assert.equal(result.connections, 8);
  assert.ok(result.sent > 0, 'rounds in the window');
  // Rounds straddle the window's edges, so the count is a multiple of nothing; but it is
  // close to 80 messages a round.
  assert.ok(result.ok >= (result.sent - 1) * 80, `${result.ok} messages for ${result.sent} rounds`);
  assert.ok(result.latency.all !== undefined);
});
