// Slow clients: connections that hold a server's attention without giving it work, while a
// closed loop of fast clients runs beside them (runClosed) and is measured, so the report
// shows what the slow ones cost everyone else. Two shapes share this code:
// - slow-clients: the request head dribbles in a byte at a time, then a response a few
//   times the socket buffers is read in 64 KB steps (phones on a bad network);
// - slow-readers: the head goes in one write, then a response far larger than the socket
//   buffers is read 16 bytes a second, or not at all.
// A server that gives each connection a thread or a process while it writes is held by
// them; one that parks connections (or buffered responses) in an event loop is not.
import net from 'node:net';
import { runClosed } from './closed.js';
import { bump, classify } from './errors.js';
import { ResponseParser } from './http-parser.js';
import type { LoadResult, SlowSpec, SlowTally } from './spec.js';

interface SlowClient {
  socket: net.Socket;
  sent: number;
  parser: ResponseParser;
  finished: boolean;
  /** Never reads its response (half of the slow readers). */
  idle: boolean;
}

export async function runSlow(spec: SlowSpec, signal?: AbortSignal): Promise<LoadResult> {
  const head = Buffer.from(
    `GET ${spec.slowPath} HTTP/1.1\r\nHost: ${spec.host}:${spec.port}\r\nConnection: close\r\n\r\n`,
    'latin1',
  );
  const clients = new Set<SlowClient>();
  const slow: SlowTally = {
    clients: spec.clients,
    completed: 0,
    connected: 0,
    open: 0,
    bytesIn: 0,
    errors: {},
  };
  let stopped = false;

  const done = (c: SlowClient): void => {
    c.finished = true;
    slow.completed += 1;
  };

  const open = (idle: boolean): void => {
    if (stopped) return;
    // onread: each read takes at most readBytes off the kernel into a fresh buffer (the
    // parser may keep a view of it), and returning false stops reading until the next
    // read tick resumes the socket; a client paused before it connects never reads. So
    // the socket buffers fill and the server's writes block or queue.
    const socket = net.connect({
      host: spec.host,
      port: spec.port,
      onread: {
        buffer: () => Buffer.allocUnsafe(spec.readBytes),
        callback: (n, buf) => {
          try {
            c.parser.push(buf.subarray(0, n) as Buffer, () => done(c));
          } catch {
            bump(slow.errors, 'parse');
            socket.destroy();
          }
          return false;
        },
      },
    });
    if (idle) socket.pause();
    const c: SlowClient = { socket, sent: 0, parser: new ResponseParser(), finished: false, idle };
    clients.add(c);
    let lastError: unknown = null;
    socket.on('connect', () => {
      slow.connected += 1;
      if (spec.byteIntervalMs === 0) {
        socket.write(head);
        c.sent = head.length;
      }
    });
    socket.on('end', () => {
      try {
        c.parser.end(() => done(c));
      } catch {
        /* counted below as closed */
      }
    });
    socket.on('error', (err) => {
      lastError = err;
    });
    socket.on('close', () => {
      // After the run, the final tally (below) has counted this socket already.
      if (stopped) return;
      clients.delete(c);
      slow.bytesIn += socket.bytesRead;
      if (!c.finished)
        bump(slow.errors, lastError === null ? 'closed' : classify(lastError, c.sent > 0));
      // Each slow client comes back as soon as it is done, so the pressure is constant.
      setTimeout(() => open(idle), lastError === null ? 0 : 20);
    });
  };

  const writeTick =
    spec.byteIntervalMs > 0
      ? setInterval(() => {
          for (const c of clients) {
            if (c.sent < head.length && c.socket.readyState === 'open') {
              c.socket.write(head.subarray(c.sent, c.sent + 1));
              c.sent += 1;
            }
          }
        }, spec.byteIntervalMs)
      : undefined;
  const readTick = setInterval(() => {
    // resume() restarts reading only where the last read stopped it (onread above).
    for (const c of clients) if (!c.idle) c.socket.resume();
  }, spec.readIntervalMs);

  // Idle clients spread evenly among the readers (half: every second one, from the second),
  // so the first requests a server takes on are not all from clients that never read.
  const idleAt = (i: number): boolean =>
    Math.floor(((i + 1) * spec.idleClients) / spec.clients) >
    Math.floor((i * spec.idleClients) / spec.clients);
  for (let i = 0; i < spec.clients; i++) open(idleAt(i));
  let fast: LoadResult;
  try {
    // The fast clients' warm-up doubles as the slow clients' ramp.
    fast = await runClosed(
      { ...spec.fast, warmupMs: Math.max(spec.fast.warmupMs, spec.rampMs) },
      signal,
    );
  } finally {
    // Every slow client goes with the run: a server still writing to one would carry
    // the load into the next repeat or the next server's measurement.
    stopped = true;
    clearInterval(writeTick);
    clearInterval(readTick);
    for (const c of clients) {
      if (c.socket.readyState === 'open') slow.open += 1;
      slow.bytesIn += c.socket.bytesRead;
      c.socket.destroy();
    }
    clients.clear();
  }
  return { ...fast, kind: 'slow', slow };
}
