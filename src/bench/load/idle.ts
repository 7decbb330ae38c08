// Idle keep-alive connections (the idle-10k scenario): open many connections, each asking
// one request and reading its response so the server has taken it on fully, then keep them
// all open and silent for a while, the way a site's browsers hold connections between page
// loads. The ramp is paced (at most `concurrency` connections opening or waiting for their
// response at once) so a short listen backlog does not turn the ramp into SYN retries. The
// measured window is the hold; the orchestrator samples the server's memory meanwhile.
import { ClientConnection } from './conn.js';
import { bump } from './errors.js';
import { toMonotonicNs } from './recorder.js';
import { buildRequest } from './request.js';
import type { IdleSpec, IdleTally, LoadResult } from './spec.js';

export function runIdle(spec: IdleSpec, signal?: AbortSignal): Promise<LoadResult> {
  const first = spec.requests[0];
  if (first === undefined) throw new RangeError('An idle load needs one request template: 0');
  const wire = buildRequest(first, spec.host, spec.port, true);
  const t0 = performance.now();
  const tally: IdleTally = {
    target: spec.connections,
    opened: 0,
    answered: 0,
    held: 0,
    closedByServer: 0,
    rampMs: 0,
    errors: {},
  };
  const conns: ClientConnection[] = [];
  /** Connections opened and not yet answered or failed, with when they were opened. */
  const waiting = new Map<ClientConnection, number>();
  let settled = 0;
  let holding = false;
  let finished = false;

  return new Promise((resolve) => {
    let holdStart = 0;
    let holdTimer: NodeJS.Timeout | undefined;

    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearInterval(ticker);
      clearTimeout(holdTimer);
      signal?.removeEventListener('abort', finish);
      const end = performance.now();
      if (holdStart === 0) holdStart = end;
      tally.held = conns.filter((c) => c.served > 0 && !c.socket.destroyed).length;
      if (tally.rampMs === 0) tally.rampMs = end - t0;
      for (const c of conns) c.destroy();
      resolve({
        kind: 'idle',
        windowStartNs: toMonotonicNs(holdStart).toString(),
        windowEndNs: toMonotonicNs(end).toString(),
        ok: tally.answered,
        sent: tally.opened,
        statuses: {},
        errors: { ...tally.errors },
        retries: 0,
        connections: tally.opened,
        bytesIn: 0,
        latency: {},
        idle: tally,
      });
    };

    const hold = (): void => {
      if (holding || finished) return;
      holding = true;
      tally.rampMs = performance.now() - t0;
      holdStart = performance.now();
      holdTimer = setTimeout(finish, spec.holdMs);
    };

    const settle = (): void => {
      settled += 1;
      if (settled >= spec.connections) hold();
      else open();
    };

    const open = (): void => {
      while (
        !holding &&
        !finished &&
        tally.opened < spec.connections &&
        waiting.size < spec.concurrency
      ) {
        tally.opened += 1;
        const conn = new ClientConnection(spec.host, spec.port, performance.now(), {
          response: (c) => {
            if (!waiting.delete(c)) return;
            tally.answered += 1;
            settle();
          },
          failure: (c, kind) => {
            if (!waiting.delete(c)) return;
            bump(tally.errors, kind);
            settle();
          },
        });
        // A connection answered and then closed by the server is one it did not hold.
        conn.socket.on('close', () => {
          if (conn.served > 0 && !finished) tally.closedByServer += 1;
        });
        waiting.set(conn, performance.now());
        conns.push(conn);
        conn.send(wire);
      }
    };

    // Requests unanswered after the timeout fail; past the ramp limit no more are opened,
    // and the hold starts with whatever the server took.
    const ticker = setInterval(() => {
      const now = performance.now();
      for (const [c, at] of waiting)
        if (now - at > spec.timeoutMs) c.abort(c.connected ? 'timeout' : 'connect-timeout');
      if (!holding && now - t0 > spec.rampLimitMs) {
        hold(); // first, so that the failures below do not open more connections
        for (const c of [...waiting.keys()]) c.abort('timeout');
      }
    }, 100);
    signal?.addEventListener('abort', finish);
    if (spec.connections <= 0) finish();
    else open();
  });
}
