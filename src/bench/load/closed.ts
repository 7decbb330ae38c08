// Closed-loop load: N connections, each sending its next request as soon as the previous
// one completed (wrk's model). Throughput is what the server sustains at that
// concurrency; latency is measured from the moment a request is wanted, so it includes a
// reconnect when the server closed the connection.
import { ClientConnection } from './conn.js';
import { type ErrorKind } from './errors.js';
import { Recorder } from './recorder.js';
import { buildRequest, makePicker, type WireRequest } from './request.js';
import type { ClosedSpec, LoadResult } from './spec.js';

/** Pause before reconnecting after a connect failure, so a server that refuses
 * connections does not turn the generator into a busy loop. */
const CONNECT_BACKOFF_MS = 5;

/** A server that closes every connection after its response without saying so (uWSGI's
 * --http-socket) turns each keep-alive request into a write, a reset and a resend, which
 * costs the generator about twice the work of the server's own answer and made it the
 * bottleneck. After this many such closes in one run the loop treats every response as
 * the connection's last (a new connection per request, as the server in effect demands);
 * the count is reported so the report can say so. */
const ASSUME_CLOSE_AFTER = 20;

interface Slot {
  conn: ClientConnection | null;
  req: WireRequest | null;
  wantedAt: number;
  retried: boolean;
}

export function runClosed(spec: ClosedSpec, signal?: AbortSignal): Promise<LoadResult> {
  const wires = spec.requests.map((t) => buildRequest(t, spec.host, spec.port, spec.keepAlive));
  const pick = makePicker(
    wires,
    spec.requests.map((t) => t.weight),
    spec.seed,
  );
  const t0 = performance.now();
  const rec = new Recorder(t0 + spec.warmupMs, t0 + spec.warmupMs + spec.durationMs);
  const slots: Slot[] = [];
  let stopped = false;
  let closesWithoutNotice = 0;
  let assumeClose = false;

  return new Promise((resolve) => {
    const connect = (slot: Slot): void => {
      const now = performance.now();
      if (rec.inWindow(now)) rec.connections += 1;
      const conn = new ClientConnection(spec.host, spec.port, now, {
        response: (c, r) => {
          if (slot.conn !== c || slot.req === null) return;
          const t = performance.now();
          rec.response(slot.req.tag, r.status, r.bodyBytes, t - slot.wantedAt, t);
          slot.req = null;
          if (!spec.keepAlive || c.done || assumeClose) {
            c.retire();
            slot.conn = null;
            next(slot);
          } else {
            next(slot);
          }
        },
        failure: (c, kind, retryable) => {
          if (slot.conn !== c) return;
          slot.conn = null;
          const t = performance.now();
          if (retryable && !slot.retried && slot.req !== null && !stopped) {
            slot.retried = true;
            if (rec.inWindow(t)) rec.retries += 1;
            closesWithoutNotice += 1;
            if (closesWithoutNotice >= ASSUME_CLOSE_AFTER) assumeClose = true;
            connect(slot);
            send(slot);
            return;
          }
          rec.error(kind, t);
          slot.req = null;
          if (kind.startsWith('connect')) setTimeout(() => next(slot), CONNECT_BACKOFF_MS);
          else next(slot);
        },
      });
      slot.conn = conn;
    };

    const send = (slot: Slot): void => {
      if (slot.conn !== null && slot.req !== null) slot.conn.send(slot.req);
    };

    const next = (slot: Slot): void => {
      if (stopped) return;
      const now = performance.now();
      if (now >= rec.windowEnd) return;
      slot.req = pick();
      slot.wantedAt = now;
      slot.retried = false;
      if (rec.inWindow(now)) rec.sent += 1;
      if (slot.conn === null || !slot.conn.reusable) {
        if (slot.conn !== null) slot.conn.retire();
        connect(slot);
      }
      send(slot);
    };

    const checkTimeouts = (): void => {
      const now = performance.now();
      for (const slot of slots) {
        if (slot.req !== null && slot.conn !== null && now - slot.wantedAt > spec.timeoutMs) {
          const kind: ErrorKind = slot.conn.connected ? 'timeout' : 'connect-timeout';
          slot.conn.abort(kind); // reports through failure(), which moves on
        }
      }
    };

    const finish = (): void => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      clearTimeout(endTimer);
      signal?.removeEventListener('abort', finish);
      for (const slot of slots) slot.conn?.destroy();
      const result = rec.result('closed');
      if (closesWithoutNotice > 0) result.closesWithoutNotice = closesWithoutNotice;
      resolve(result);
    };

    const timer = setInterval(checkTimeouts, Math.min(100, Math.max(10, spec.timeoutMs / 10)));
    const endTimer = setTimeout(finish, Math.max(0, rec.windowEnd - performance.now()));
    signal?.addEventListener('abort', finish);
    for (let i = 0; i < spec.connections; i++) {
      const slot: Slot = { conn: null, req: null, wantedAt: 0, retried: false };
      slots.push(slot);
      next(slot);
    }
  });
}
