// The load generator (src/bench/load/) against tiny local `net` servers on port 0.
import net from 'node:net';
import { test, type TestContext } from 'node:test';
import { LatencyHistogram } from '../../src/bench/histogram.js';
import { runClosed } from '../../src/bench/load/closed.js';
import { Generator } from '../../src/bench/load/generator.js';
import { mergeResults, splitSpec } from '../../src/bench/load/merge.js';
import { runOpen } from '../../src/bench/load/open.js';
import { runSlow } from '../../src/bench/load/slow-client.js';
import { parseWrkOutput } from '../../src/bench/load/wrk.js';
import { until } from '../helpers/attacks.js';
import type { ClosedSpec, LoadResult, OpenSpec, SlowSpec } from '../../src/bench/load/spec.js';

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

/** A server that calls `onRequest` for each complete request head it reads. */
async function serve(
  t: TestContext,
  onRequest: (sock: net.Socket, n: number, head: string) => void,
): Promise<{ port: number; count: () => number }> {
  let n = 0;
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = '';
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let i;
      while ((i = buf.indexOf('\r\n\r\n')) >= 0) {
        const head = buf.slice(0, i);
        buf = buf.slice(i + 4);
        n += 1;
        onRequest(sock, n, head);
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => srv.close(() => r()));
  });
  const addr = srv.address() as net.AddressInfo;
  return { port: addr.port, count: () => n };
}

function closedSpec(port: number, over: Partial<ClosedSpec> = {}): ClosedSpec {
  return {
    kind: 'closed',
    host: '127.0.0.1',
    port,
    requests: [{ tag: 'all', method: 'GET', path: '/', headers: [], bodyBytes: 0, weight: 1 }],
    timeoutMs: 2000,
    seed: 1,
    connections: 4,
    keepAlive: true,
    warmupMs: 50,
    durationMs: 300,
    ...over,
  };
}

function openSpec(port: number, over: Partial<OpenSpec> = {}): OpenSpec {
  return {
    kind: 'open',
    host: '127.0.0.1',
    port,
    requests: [{ tag: 'all', method: 'GET', path: '/', headers: [], bodyBytes: 0, weight: 1 }],
    timeoutMs: 2000,
    seed: 1,
    rate: 500,
    count: 100,
    keepAlive: false,
    maxConnections: 1000,
    phaseMs: 0,
    ...over,
  };
}

/** Slow clients beside `fast`: 5 of them dribbling their head and reading 64 KB a tick. */
function slowSpec(fast: ClosedSpec, over: Partial<SlowSpec> = {}): SlowSpec {
  return {
    ...fast,
    kind: 'slow',
    fast,
    clients: 5,
    idleClients: 0,
    byteIntervalMs: 5,
    slowPath: '/big',
    readIntervalMs: 50,
    readBytes: 65536,
    rampMs: 100,
    ...over,
  };
}

const latency = (r: LoadResult, tag = 'all'): LatencyHistogram =>
  LatencyHistogram.decode(r.latency[tag] ?? new LatencyHistogram().encode());

test('`runClosed()` counts every response and no errors against a keep-alive server', async (t: TestContext) => {
  t.plan(5);
  const srv = await serve(t, (sock) => sock.write(OK));
  const r = await runClosed(closedSpec(srv.port));
  t.assert.ok(r.ok > 50, `ok ${r.ok}`);
  t.assert.deepStrictEqual(r.errors, {});
  t.assert.deepStrictEqual(r.statuses, { '200': r.ok });
  t.assert.strictEqual(latency(r).count, r.ok);
  // Warm-up responses are not counted, and the server saw at least every counted request.
  t.assert.ok(srv.count() > r.ok, `server ${srv.count()} vs counted ${r.ok}`);
});

test('`runClosed()` counts resets by kind when the server resets connections', async (t: TestContext) => {
  t.plan(2);
  const srv = await serve(t, (sock) => sock.resetAndDestroy());
  const r = await runClosed(closedSpec(srv.port, { warmupMs: 0 }));
  t.assert.strictEqual(r.ok, 0);
  t.assert.ok((r.errors.reset ?? 0) > 0, JSON.stringify(r.errors));
});

test('`runClosed()` counts refused connections as connect-refused', async (t: TestContext) => {
  t.plan(2);
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const r = await runClosed(closedSpec(port, { warmupMs: 0, durationMs: 200, connections: 2 }));
  t.assert.strictEqual(r.ok, 0);
  t.assert.ok((r.errors['connect-refused'] ?? 0) > 0, JSON.stringify(r.errors));
});

test('`runClosed()` counts error statuses by status code', async (t: TestContext) => {
  t.plan(3);
  const srv = await serve(t, (sock) =>
    sock.write('HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n'),
  );
  const r = await runClosed(closedSpec(srv.port));
  t.assert.strictEqual(r.ok, 0);
  t.assert.ok((r.errors['status-503'] ?? 0) > 0);
  t.assert.strictEqual(r.statuses['503'], r.errors['status-503']);
});

test('`runClosed()` retries a reused connection the server closed without saying so', async (t: TestContext) => {
  t.plan(3);
  // Like uWSGI's --http-socket: HTTP/1.1 response, no Connection: close, then a close.
  const srv = await serve(t, (sock) => {
    sock.write(OK);
    setTimeout(() => sock.end(), 5);
  });
  const r = await runClosed(closedSpec(srv.port, { warmupMs: 0 }));
  t.assert.ok(r.ok > 10, `ok ${r.ok}`);
  t.assert.ok(r.retries > 0, `retries ${r.retries}`);
  t.assert.deepStrictEqual(r.errors, {});
});

test('`runClosed()` stops reusing connections after 20 closes without notice', async (t: TestContext) => {
  t.plan(3);
  const srv = await serve(t, (sock) => {
    sock.write(OK);
    setTimeout(() => sock.end(), 2);
  });
  const r = await runClosed(closedSpec(srv.port, { warmupMs: 0, durationMs: 500 }));
  t.assert.ok((r.closesWithoutNotice ?? 0) >= 20, `closes ${r.closesWithoutNotice}`);
  // Only requests already in flight when the loop switched can still need a resend.
  t.assert.ok(r.retries < 20 + 4, `retries ${r.retries} of ${r.ok}`);
  t.assert.ok(r.ok > 100, `ok ${r.ok}`);
});

test('`runClosed()` counts a request without an answer as a timeout', async (t: TestContext) => {
  t.plan(2);
  const srv = await serve(t, () => {});
  const r = await runClosed(
    closedSpec(srv.port, { warmupMs: 0, durationMs: 400, timeoutMs: 100, connections: 2 }),
  );
  t.assert.strictEqual(r.ok, 0);
  t.assert.ok((r.errors.timeout ?? 0) >= 2, JSON.stringify(r.errors));
});

test('`runClosed()` without keep-alive opens a connection per request', async (t: TestContext) => {
  t.plan(2);
  const srv = await serve(t, (sock) =>
    sock.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok'),
  );
  // No warm-up: the recorder counts a connection when it opens and a response when it
  // arrives, so with a warm-up a connection opened just before the window whose response
  // lands inside it would count a response without its connection.
  const r = await runClosed(closedSpec(srv.port, { keepAlive: false, warmupMs: 0 }));
  t.assert.ok(r.ok > 10);
  t.assert.ok(r.connections >= r.ok, `connections ${r.connections} for ${r.ok} responses`);
});

test('`runOpen()` sends the requested count at the requested rate', async (t: TestContext) => {
  t.plan(6);
  const srv = await serve(t, (sock) =>
    sock.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok'),
  );
  const r = await runOpen(openSpec(srv.port, { rate: 500, count: 100 }));
  t.assert.strictEqual(r.sent, 100);
  t.assert.strictEqual(r.ok, 100);
  // 100 requests at 500/s are due over 198 ms, and none is sent before it is due: the last
  // reply cannot come sooner than that.
  const span = r.spanMs ?? 0;
  t.assert.ok(span >= 190, `span ${span}`);
  // How much later it comes depends on how busy the machine is, so a fixed bound close to the
  // schedule fails when the process is held up for a moment. Each latency is measured from its
  // request's due time, so no reply comes later than the last due time plus the slowest
  // latency: with the schedule asked for, the span is at most 198 ms plus that whatever the
  // machine did, while a schedule spread wider than 500/s would not fit (the 1 ms covers the
  // histogram's rounding). The fixed bound after it only catches a run that went on for seconds.
  const slowest = latency(r).summary().max;
  t.assert.ok(span <= 198 + slowest + 1, `span ${span}, slowest reply ${slowest} ms`);
  t.assert.ok(span < 5000, `span ${span}`);
  t.assert.strictEqual(LatencyHistogram.decode(r.connectionTime ?? '').count, 100);
});

test('`runOpen()` latency includes queueing when the server stalls', async (t: TestContext) => {
  t.plan(3);
  // The server stops answering from 200 ms to 500 ms after the first request, then
  // answers everything it holds. Requests due during the stall must show the wait.
  let first = 0;
  const held: net.Socket[] = [];
  let released = false;
  const answer = (s: net.Socket): void =>
    void s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
  const srv = await serve(t, (sock) => {
    const now = performance.now();
    if (first === 0) first = now;
    if (!released && now - first >= 200 && now - first < 500) {
      if (held.length === 0) {
        setTimeout(
          () => {
            released = true;
            held.splice(0).forEach(answer);
          },
          500 - (now - first),
        );
      }
      held.push(sock);
    } else answer(sock);
  });
  const open = await runOpen(openSpec(srv.port, { rate: 200, count: 200 }));
  const h = latency(open);
  t.assert.strictEqual(open.ok, 200);
  // ~60 of 200 requests were due during the 300 ms stall, ~40 of them more than 100 ms
  // before it ended: more than 15% of all requests are slower than 100 ms.
  t.assert.ok(h.percentileMs(85) > 100, `p85 ${h.percentileMs(85)} ms`);
  t.assert.ok(h.summary().max > 250, `max ${h.summary().max} ms`);
});

test('`runClosed()` on one connection hides the same stall in a single slow request', async (t: TestContext) => {
  t.plan(2);
  // The contrast to the open loop above (coordinated omission): a closed loop simply
  // stops sending while the server stalls, so only one request records the wait.
  let first = 0;
  let released = false;
  const srv = await serve(t, (sock) => {
    const now = performance.now();
    if (first === 0) first = now;
    if (!released && now - first >= 200) {
      released = true;
      setTimeout(() => sock.write(OK), 300);
    } else sock.write(OK);
  });
  // The held answer comes about 500 ms into the run and counts only if it lands inside the
  // window: 1.5 s leaves it a second to spare should the process be held up meanwhile.
  const r = await runClosed(
    closedSpec(srv.port, { connections: 1, warmupMs: 0, durationMs: 1500 }),
  );
  const h = latency(r);
  t.assert.ok(h.summary().max > 250, `max ${h.summary().max}`);
  t.assert.ok(h.percentileMs(85) < 50, `p85 ${h.percentileMs(85)}`);
});

test('`runOpen()` counts requests still unanswered at the timeout', async (t: TestContext) => {
  t.plan(2);
  const srv = await serve(t, () => {});
  // A request whose connection was not yet seen open at its timeout counts as a
  // connect-timeout instead. The loopback connect itself is immediate, but its event waits for
  // the event loop, and after a pause of the process the loop runs its timers (the timeout
  // check) before it reads the sockets: the timeout is a second so that only a pause longer
  // than that could make a request count as not connected.
  const r = await runOpen(openSpec(srv.port, { rate: 100, count: 5, timeoutMs: 1000 }));
  t.assert.strictEqual(r.ok, 0);
  t.assert.strictEqual(r.errors.timeout, 5);
});

test('`runSlow()` keeps slow clients connected while it measures fast ones', async (t: TestContext) => {
  t.plan(3);
  const srv = await serve(t, (sock) => sock.write(OK));
  const fast = closedSpec(srv.port, { connections: 2, warmupMs: 100, durationMs: 300 });
  const r = await runSlow(slowSpec(fast));
  t.assert.strictEqual(r.kind, 'slow');
  t.assert.ok(r.ok > 10, `fast ok ${r.ok}`);
  t.assert.strictEqual(r.slow?.connected, 5);
});

test('`runSlow()` slow readers take 16 bytes a tick, idle ones nothing, and all go at the end', async (t: TestContext) => {
  t.plan(5);
  const big = new Set<net.Socket>();
  let started = 0;
  const body = Buffer.alloc(4 * 1024 * 1024, 0x72);
  const srv = await serve(t, (sock, _n, head) => {
    if (!head.startsWith('GET /big ')) {
      sock.write(OK);
      return;
    }
    started += 1;
    big.add(sock);
    sock.on('close', () => big.delete(sock));
    sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
    sock.write(body);
  });
  const fast = closedSpec(srv.port, { connections: 1, warmupMs: 100, durationMs: 300 });
  const r = await runSlow(
    slowSpec(fast, { clients: 6, idleClients: 3, byteIntervalMs: 0, readBytes: 16 }),
  );
  t.assert.ok(r.ok > 10, `fast ok ${r.ok}`);
  const s = r.slow;
  t.assert.deepStrictEqual(
    [s?.clients, s?.connected, s?.open, s?.completed, s?.errors],
    [6, 6, 6, 0, {}],
  );
  t.assert.strictEqual(started, 6, 'every slow reader got its response started');
  // 3 readers, at most 16 bytes per 50 ms tick over ~400 ms; the 3 idle ones read nothing.
  const bytes = s?.bytesIn ?? 0;
  t.assert.ok(bytes >= 3 * 16 && bytes <= 3 * 16 * 12, `slow readers took ${bytes} bytes`);
  // The run destroys its slow sockets: the server sees every one of them close.
  t.assert.ok(await until(() => big.size === 0, 10_000), `${big.size} still open`);
});

test('`splitSpec()` and `mergeResults()` divide the load and add the counts back up', (t: TestContext) => {
  t.plan(4);
  const spec = closedSpec(1, { connections: 5 });
  const parts = [0, 1].map((i) => splitSpec(spec, i, 2));
  t.assert.deepStrictEqual(
    parts.map((p) => (p.kind === 'closed' ? p.connections : 0)),
    [3, 2],
  );
  const h = new LatencyHistogram();
  h.recordMs(1);
  const one: LoadResult = {
    kind: 'closed',
    windowStartNs: '100',
    windowEndNs: '200',
    ok: 1,
    sent: 1,
    statuses: { '200': 1 },
    errors: { reset: 1 },
    retries: 0,
    connections: 1,
    bytesIn: 2,
    latency: { all: h.encode() },
  };
  const m = mergeResults([one, { ...one, windowStartNs: '50', windowEndNs: '150' }]);
  t.assert.strictEqual(m.ok, 2);
  t.assert.deepStrictEqual(m.errors, { reset: 2 });
  t.assert.deepStrictEqual([m.windowStartNs, m.windowEndNs], ['50', '200']);
});

test('`Generator` runs a job in a child process and returns its result', async (t: TestContext) => {
  t.plan(2);
  const srv = await serve(t, (sock) => sock.write(OK));
  const gen = await Generator.start([], null);
  t.after(() => gen.stop());
  const r = await gen.run(closedSpec(srv.port, { durationMs: 200 }));
  t.assert.ok(r.ok > 10, `ok ${r.ok}`);
  t.assert.ok(gen.pids[0] !== process.pid && (gen.pids[0] ?? 0) > 0);
});

test('`parseWrkOutput()` reads the summary and quantiles the Lua hook prints', (t: TestContext) => {
  t.plan(4);
  const q = Array.from({ length: 1000 }, (_, i) => `Q ${i + 1} ${1000 + i}`).join('\n');
  const out = parseWrkOutput(`Running 1s test\nCASKBENCH 5000 1000000 650000 0 3 0 7 2\n${q}\n`);
  t.assert.strictEqual(out.requests, 5000);
  t.assert.deepStrictEqual(out.errors, { closed: 3, 'status-non2xx': 7, timeout: 2 });
  t.assert.strictEqual(out.quantiles[499], 1499);
  // A read error after nearly every response is a server closing without notice.
  t.assert.strictEqual(
    parseWrkOutput('CASKBENCH 5000 1000000 650000 0 4990 0 0 0\n').closesWithoutNotice,
    4990,
  );
});
