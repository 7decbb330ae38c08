// WebSocket broadcast (the ws-broadcast scenarios): `clients` WebSockets join the room of
// bench/apps/asgi_ws.py; one of them asks for a round of `batch` messages to every member
// (`broadcast BATCH ROUND`), and as soon as every member has all of that round, the next
// round is asked for, through the warm-up and the measured window. Messages carry their round,
// so a straggler of a round given up on (past the timeout) is not counted in the next one.
//
// Throughput (`ok`) is the messages delivered inside the window, summed over the clients;
// latency (tag `all`) is one round, from the ask until the last member has its last message.
// One generator process runs the whole room: a broadcast cannot be split.
import { WebSocket } from 'ws';
import { bump } from './errors.js';
import { LatencyHistogram } from '../histogram.js';
import { toMonotonicNs } from './recorder.js';
import type { LoadResult, WsSpec } from './spec.js';

function join(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    // No compression: the messages are small, and the scenario measures the servers.
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

export async function runWs(spec: WsSpec, signal?: AbortSignal): Promise<LoadResult> {
  const url = `ws://${spec.host}:${spec.port}${spec.path}`;
  const errors: Record<string, number> = {};
  const sockets: WebSocket[] = [];
  for (let first = 0; first < spec.clients; first += spec.concurrency) {
    const batch = Math.min(spec.concurrency, spec.clients - first);
    const opened = await Promise.allSettled(Array.from({ length: batch }, () => join(url)));
    for (const o of opened) {
      if (o.status === 'fulfilled') sockets.push(o.value);
      else bump(errors, (o.reason as NodeJS.ErrnoException).code ?? 'connect');
    }
  }
  const leader = sockets[0];
  const histogram = new LatencyHistogram();
  const t0 = performance.now();
  const windowStart = t0 + spec.warmupMs;
  const windowEnd = windowStart + spec.durationMs;
  let ok = 0;
  let rounds = 0;
  if (leader === undefined) {
    return result(errors, histogram, 0, 0, windowStart, windowEnd, 0);
  }
  // The room holds everyone once the app says so.
  await new Promise<void>((resolve) => {
    const ask = (): void => leader.send('size');
    leader.on('message', function size(data) {
      const text = data.toString();
      if (!text.startsWith('size ')) return;
      if (Number(text.slice(5)) >= sockets.length) {
        leader.off('message', size);
        resolve();
      } else setTimeout(ask, 20);
    });
    ask();
  });

  let round = 0;
  let got = 0;
  let askedAt = 0;
  const expected = sockets.length * spec.batch;
  return new Promise((resolve) => {
    let finished = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', finish);
      for (const ws of sockets) ws.terminate();
      resolve(result(errors, histogram, ok, rounds, windowStart, windowEnd, sockets.length));
    };
    const next = (): void => {
      clearTimeout(timer);
      const now = performance.now();
      if (now >= windowEnd) {
        finish();
        return;
      }
      round += 1;
      got = 0;
      askedAt = now;
      if (now >= windowStart) rounds += 1;
      leader.send(`broadcast ${spec.batch} ${round}`);
      timer = setTimeout(() => {
        bump(errors, 'timeout');
        next();
      }, spec.timeoutMs);
    };
    for (const ws of sockets) {
      ws.on('message', (data: Buffer) => {
        // "ROUND INDEX"; anything else (the leader's "size") is not a broadcast.
        const space = data.indexOf(0x20);
        if (space <= 0 || Number(data.toString('latin1', 0, space)) !== round) return;
        const now = performance.now();
        if (now >= windowStart && now < windowEnd) ok += 1;
        if (++got === expected) {
          if (askedAt >= windowStart) histogram.recordMs(now - askedAt);
          next();
        }
      });
      ws.on('close', () => {
        if (!finished) bump(errors, 'closed');
      });
      ws.on('error', () => {});
    }
    signal?.addEventListener('abort', finish);
    next();
  });
}

function result(
  errors: Record<string, number>,
  histogram: LatencyHistogram,
  ok: number,
  rounds: number,
  windowStart: number,
  windowEnd: number,
  joined: number,
): LoadResult {
  return {
    kind: 'ws',
    windowStartNs: toMonotonicNs(windowStart).toString(),
    windowEndNs: toMonotonicNs(windowEnd).toString(),
    ok,
    sent: rounds,
    statuses: {},
    errors,
    retries: 0,
    connections: joined,
    bytesIn: 0,
    latency: { all: histogram.encode() },
  };
}
