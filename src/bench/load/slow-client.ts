// Slow clients: connections that dribble their request head one byte at a time and then
// read a large response slowly, like phones on a bad network. A server that gives each
// connection a thread or a process is held by them; one that parks connections in an
// event loop is not. The measured part is a closed loop of fast clients running at the
// same time (runClosed), so the report shows what the slow ones cost everyone else.
import net from 'node:net';
import { runClosed } from './closed.js';
import { bump, classify } from './errors.js';
import { ResponseParser } from './http-parser.js';
import type { LoadResult, SlowSpec } from './spec.js';

interface SlowClient {
  socket: net.Socket;
  head: Buffer;
  sent: number;
  parser: ResponseParser;
  finished: boolean;
}

export async function runSlow(spec: SlowSpec, signal?: AbortSignal): Promise<LoadResult> {
  const head = Buffer.from(
    `GET ${spec.slowPath} HTTP/1.1\r\nHost: ${spec.host}:${spec.port}\r\nConnection: close\r\n\r\n`,
    'latin1',
  );
  const clients = new Set<SlowClient>();
  const slow = { completed: 0, errors: {} as Record<string, number>, connected: 0 };
  let stopped = false;

  const open = (): void => {
    if (stopped) return;
    const socket = net.connect({ host: spec.host, port: spec.port });
    const c: SlowClient = { socket, head, sent: 0, parser: new ResponseParser(), finished: false };
    clients.add(c);
    let lastError: unknown = null;
    socket.on('connect', () => {
      slow.connected += 1;
    });
    socket.on('data', (chunk: Buffer) => {
      // Read pacing: after each chunk the socket is paused until the next read tick, so
      // the kernel buffers fill and the server's writes block or queue.
      socket.pause();
      try {
        c.parser.push(chunk, () => {
          c.finished = true;
          slow.completed += 1;
        });
      } catch {
        bump(slow.errors, 'parse');
        socket.destroy();
      }
    });
    socket.on('end', () => {
      try {
        c.parser.end(() => {
          c.finished = true;
          slow.completed += 1;
        });
      } catch {
        /* counted below as closed */
      }
    });
    socket.on('error', (err) => {
      lastError = err;
    });
    socket.on('close', () => {
      clients.delete(c);
      if (stopped) return;
      if (!c.finished)
        bump(slow.errors, lastError === null ? 'closed' : classify(lastError, c.sent > 0));
      // Each slow client comes back as soon as it is done, so the pressure is constant.
      setTimeout(open, lastError === null ? 0 : 20);
    });
  };

  const writeTick = setInterval(() => {
    for (const c of clients) {
      if (c.sent < c.head.length && c.socket.readyState === 'open') {
        c.socket.write(c.head.subarray(c.sent, c.sent + 1));
        c.sent += 1;
      }
    }
  }, spec.byteIntervalMs);
  const readTick = setInterval(() => {
    for (const c of clients) if (c.socket.isPaused()) c.socket.resume();
  }, spec.readIntervalMs);

  for (let i = 0; i < spec.clients; i++) open();
  try {
    // The fast clients' warm-up doubles as the slow clients' ramp.
    const fast = await runClosed(
      { ...spec.fast, warmupMs: Math.max(spec.fast.warmupMs, spec.rampMs) },
      signal,
    );
    return { ...fast, kind: 'slow', slow };
  } finally {
    stopped = true;
    clearInterval(writeTick);
    clearInterval(readTick);
    for (const c of clients) c.socket.destroy();
  }
}
