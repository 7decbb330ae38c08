// Open-loop load at a fixed rate (httperf's and wrk2's model). Request i is due at
// t0 + phase + i/rate whatever happened to the previous ones; its latency is measured from
// that due time, so time spent waiting for a free connection, for the generator to catch
// up, or in the server's queue is all counted (no coordinated omission).
import { LatencyHistogram } from '../histogram.js';
import { ClientConnection } from './conn.js';
import { Recorder } from './recorder.js';
import { buildRequest, makePicker, type WireRequest } from './request.js';
import type { LoadResult, OpenSpec } from './spec.js';

interface Pending {
  req: WireRequest;
  due: number;
  retried: boolean;
  conn: ClientConnection | null;
  /** Start of the connection this request opened (httperf's connection time). */
  connStart: number;
}

export function runOpen(spec: OpenSpec, signal?: AbortSignal): Promise<LoadResult> {
  if (!(spec.rate > 0)) throw new RangeError(`Open-loop rate must be positive: ${spec.rate}`);
  const wires = spec.requests.map((t) => buildRequest(t, spec.host, spec.port, spec.keepAlive));
  const pick = makePicker(
    wires,
    spec.requests.map((t) => t.weight),
    spec.seed,
  );
  const interval = 1000 / spec.rate;
  const total = spec.count ?? Math.floor(((spec.durationMs ?? 0) * spec.rate) / 1000);
  const t0 = performance.now() + spec.phaseMs;
  // Every request of an open-loop run is measured: the window is the whole schedule plus
  // the time the last replies take.
  const rec = new Recorder(t0, Number.POSITIVE_INFINITY);
  const connectTime = new LatencyHistogram();
  const connectionTime = new LatencyHistogram();
  const replySeconds: number[] = [];
  const replyTimes: number[] = [];
  const idle: ClientConnection[] = [];
  const queue: Pending[] = [];
  const inFlight = new Set<Pending>();
  let open = 0;
  let dispatched = 0;
  let settled = 0;
  let lastReply = t0;
  let maxLag = 0;
  let stopped = false;

  return new Promise((resolve) => {
    const settle = (): void => {
      settled += 1;
      if (settled === total) finish();
    };

    const release = (conn: ClientConnection): void => {
      if (spec.keepAlive && conn.reusable) {
        const waiting = queue.shift();
        if (waiting !== undefined) attach(waiting, conn);
        else idle.push(conn);
        return;
      }
      conn.retire();
      open -= 1;
      const waiting = queue.shift();
      if (waiting !== undefined) start(waiting);
    };

    const attach = (p: Pending, conn: ClientConnection): void => {
      p.conn = conn;
      inFlight.add(p);
      conn.send(p.req);
    };

    const connectFor = (p: Pending): void => {
      const now = performance.now();
      open += 1;
      rec.connections += 1;
      p.connStart = now;
      const conn = new ClientConnection(spec.host, spec.port, now, {
        response: (c, r) => {
          const cur = owner.get(c);
          if (cur === undefined) return;
          owner.delete(c);
          inFlight.delete(cur);
          const t = performance.now();
          rec.response(cur.req.tag, r.status, r.bodyBytes, t - cur.due, t);
          if (cur.connStart > 0 && c.connectedAt > 0) {
            connectTime.recordMs(c.connectedAt - c.openedAt);
            connectionTime.recordMs(t - c.openedAt);
          }
          const second = Math.floor((t - t0) / 1000);
          replySeconds[second] = (replySeconds[second] ?? 0) + 1;
          lastReply = Math.max(lastReply, t);
          replyTimes.push(t - t0);
          release(c);
          settle();
        },
        failure: (c, kind, retryable) => {
          const cur = owner.get(c);
          open -= 1;
          removeIdle(c);
          if (cur === undefined) return;
          owner.delete(c);
          inFlight.delete(cur);
          if (retryable && !cur.retried && !stopped) {
            cur.retried = true;
            rec.retries += 1;
            start(cur);
            return;
          }
          rec.error(kind, performance.now());
          const waiting = queue.shift();
          if (waiting !== undefined) start(waiting);
          settle();
        },
      });
      owner.set(conn, p);
      attach(p, conn);
    };

    // Which request a connection currently carries.
    const owner = new Map<ClientConnection, Pending>();

    const removeIdle = (c: ClientConnection): void => {
      const i = idle.indexOf(c);
      if (i >= 0) idle.splice(i, 1);
    };

    const start = (p: Pending): void => {
      if (stopped) return;
      while (idle.length > 0) {
        const conn = idle.pop() as ClientConnection;
        if (conn.reusable) {
          owner.set(conn, p);
          p.connStart = 0;
          attach(p, conn);
          return;
        }
        open -= 1;
        conn.destroy();
      }
      if (open < spec.maxConnections) connectFor(p);
      else queue.push(p);
    };

    const tick = (): void => {
      if (stopped) return;
      const now = performance.now();
      while (dispatched < total) {
        const due = t0 + dispatched * interval;
        if (due > now) break;
        maxLag = Math.max(maxLag, now - due);
        dispatched += 1;
        rec.sent += 1;
        start({ req: pick(), due, retried: false, conn: null, connStart: 0 });
      }
      if (dispatched < total) {
        scheduler = setTimeout(tick, Math.max(0, t0 + dispatched * interval - performance.now()));
      }
    };

    const checkTimeouts = (): void => {
      const now = performance.now();
      for (const p of [...inFlight]) {
        if (now - p.due > spec.timeoutMs && p.conn !== null) {
          owner.delete(p.conn);
          inFlight.delete(p);
          open -= 1;
          p.conn.destroy();
          rec.error(p.conn.connected ? 'timeout' : 'connect-timeout', now);
          const waiting = queue.shift();
          if (waiting !== undefined) start(waiting);
          settle();
        }
      }
      for (let i = queue.length - 1; i >= 0; i--) {
        const p = queue[i] as Pending;
        if (now - p.due > spec.timeoutMs) {
          queue.splice(i, 1);
          rec.error('timeout', now);
          settle();
        }
      }
    };

    const finish = (): void => {
      if (stopped) return;
      stopped = true;
      clearTimeout(scheduler);
      clearInterval(timer);
      signal?.removeEventListener('abort', finish);
      for (const p of inFlight) p.conn?.destroy();
      for (const c of idle) c.destroy();
      rec.windowEnd = Math.max(lastReply, performance.now());
      const result = rec.result('open');
      result.connectTime = connectTime.encode();
      result.connectionTime = connectionTime.encode();
      result.maxLagMs = maxLag;
      result.spanMs = lastReply - t0;
      replyTimes.sort((a, b) => a - b);
      result.span99Ms = replyTimes[Math.max(0, Math.ceil(replyTimes.length * 0.99) - 1)] ?? 0;
      result.replyRates = Array.from(replySeconds, (n) => n ?? 0);
      resolve(result);
    };

    const timer = setInterval(checkTimeouts, 50);
    signal?.addEventListener('abort', finish);
    let scheduler = setTimeout(tick, Math.max(0, t0 - performance.now()));
    if (total <= 0) finish();
  });
}
