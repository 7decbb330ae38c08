// StatsD for users whose collector already takes gunicorn's metrics (`--statsd-host`). Nothing
// here runs per request: once a second the sender reads the counters /metrics reads
// (instruments.ts), takes the difference from the last flush, and sends it in as few UDP
// datagrams as fit, under the names and types gunicorn uses (gunicorn/instrument/statsd.py):
//
//   <prefix>gunicorn.requests:N|c                  requests finished in the interval
//   <prefix>gunicorn.request.status.<code>:N|c     of those, by status code
//   <prefix>gunicorn.request.duration:MS|ms|@RATE  request duration, one line per histogram
//                                                  bucket that got requests (below)
//   <prefix>gunicorn.workers:N|g                   worker processes now
//   <prefix>gunicorn.log.<level>:N|c               critical, error, warning log lines;
//                                                  exception: requests whose app raised
//
// gunicorn sends one timer per request. Sending one per bucket instead, with the sample rate
// 1/count, keeps the datagrams per second fixed whatever the load: collectors count such a
// line `count` times (Etsy statsd's timer count, Telegraf and statsd_exporter observe the
// value that many times). The value is the bucket's exact mean when one bucket got every
// request of the interval (the usual case), else the middle of each bucket.
//
// Datagrams never exceed MAX_DATAGRAM bytes, the size Etsy statsd's docs give as safe on an
// Ethernet path (1500 MTU less IP and UDP headers, less options); lines never split. Sending
// never blocks: a datagram the socket refuses (no collector, no route) is dropped and counted.

import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { InvalidValue } from '../config/types.js';
import type { Histogram, RequestMetrics } from './instruments.js';

export const FLUSH_EVERY_MS = 1000;
export const MAX_DATAGRAM = 1432;

export interface StatsdTarget {
  readonly host: string;
  readonly port: number;
}

/** `HOST:PORT` or `[IPv6]:PORT`; throws InvalidValue for anything else. */
export function parseStatsdHost(raw: string): StatsdTarget {
  const text = raw.trim();
  if (text.startsWith('unix:')) {
    throw new InvalidValue(
      'is a Unix socket: Node has no Unix datagram sockets, so give a UDP HOST:PORT',
    );
  }
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (m === null || port < 1 || port > 65535) {
    throw new InvalidValue('is not HOST:PORT (write localhost:8125 or [::1]:8125)');
  }
  return { host: m[1] ?? (m[2] as string), port };
}

/** gunicorn appends the dot: `app` and `app.` both give `app.gunicorn.requests`. */
export function normalPrefix(prefix: string): string {
  const bare = prefix.replace(/\.+$/, '');
  return bare === '' ? '' : `${bare}.`;
}

/** What one flush reads: counters that only grow, and the worker count now. */
export interface StatsdReading {
  readonly requests: number;
  /** Requests by status code, indexed by the code (0–599). */
  readonly statusCodes: Float64Array;
  readonly duration: Histogram;
  readonly workers: number;
  /** Log lines at or above warning, [warning, error, critical]. */
  readonly logs: readonly number[];
  readonly appErrors: number;
}

interface Totals {
  requests: number;
  statusCodes: Float64Array;
  duration: Float64Array;
  durationSum: number;
  logs: number[];
  appErrors: number;
}

function totalsOf(r: StatsdReading): Totals {
  return {
    requests: r.requests,
    statusCodes: r.statusCodes.slice(),
    duration: r.duration.counts.slice(),
    durationSum: r.duration.sum,
    logs: [...r.logs],
    appErrors: r.appErrors,
  };
}

const LOG_NAMES = ['warning', 'error', 'critical'] as const;

/** A number as a StatsD value: integers plain, others to a microsecond of a millisecond. */
function value(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 1000) / 1000);
}

/**
 * Sans-IO: the metric lines for the change since the previous reading. The first reading
 * only sets the baseline for the counters (and sends the gauge).
 */
export class StatsdLines {
  private last: Totals | undefined;
  private readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = `${normalPrefix(prefix)}gunicorn.`;
  }

  next(reading: StatsdReading): string[] {
    const p = this.prefix;
    const prev = this.last;
    const now = totalsOf(reading);
    this.last = now;
    const lines: string[] = [`${p}workers:${reading.workers}|g`];
    if (prev === undefined) return lines;
    const requests = now.requests - prev.requests;
    if (requests > 0) lines.push(`${p}requests:${requests}|c`);
    for (let code = 0; code < now.statusCodes.length; code++) {
      const n = (now.statusCodes[code] as number) - (prev.statusCodes[code] as number);
      if (n > 0) lines.push(`${p}request.status.${code}:${n}|c`);
    }
    lines.push(...timerLines(`${p}request.duration`, reading.duration.bounds, prev, now));
    for (let i = 0; i < LOG_NAMES.length; i++) {
      const n = (now.logs[i] as number) - (prev.logs[i] as number);
      if (n > 0) lines.push(`${p}log.${LOG_NAMES[i] as string}:${n}|c`);
    }
    const raised = now.appErrors - prev.appErrors;
    if (raised > 0) lines.push(`${p}log.exception:${raised}|c`);
    return lines;
  }
}

function timerLines(name: string, bounds: readonly number[], prev: Totals, now: Totals): string[] {
  const counts: Array<[number, number]> = [];
  let total = 0;
  for (let i = 0; i < now.duration.length; i++) {
    const n = (now.duration[i] as number) - (prev.duration[i] as number);
    if (n > 0) {
      counts.push([i, n]);
      total += n;
    }
  }
  if (counts.length === 1) {
    const [, n] = counts[0] as [number, number];
    return [rated(name, ((now.durationSum - prev.durationSum) / total) * 1000, n)];
  }
  return counts.map(([i, n]) => {
    const lower = i === 0 ? 0 : (bounds[i - 1] as number);
    // The +Inf bucket has no middle: its lower bound is the best that can be said.
    const upper = i < bounds.length ? (bounds[i] as number) : lower;
    return rated(name, ((lower + upper) / 2) * 1000, n);
  });
}

/**
 * 1/count written so that 1/rate is never just below count: collectors that truncate it
 * (Telegraf's int(1/rate)) would otherwise count one request fewer.
 */
export function sampleRate(count: number): string {
  let rate = Number((1 / count).toPrecision(12));
  if (1 / rate < count)
    rate = Number((rate - 10 ** (Math.floor(Math.log10(rate)) - 11)).toPrecision(12));
  return String(rate);
}

function rated(name: string, ms: number, count: number): string {
  return `${name}:${value(ms)}|ms${count === 1 ? '' : `|@${sampleRate(count)}`}`;
}

/** Lines joined by newlines into datagrams of at most `max` bytes; a longer line is dropped. */
export function pack(lines: readonly string[], max = MAX_DATAGRAM): Buffer[] {
  const out: Buffer[] = [];
  let current = '';
  for (const line of lines) {
    if (Buffer.byteLength(line) > max) continue;
    const joined = current === '' ? line : `${current}\n${line}`;
    if (Buffer.byteLength(joined) <= max) {
      current = joined;
    } else {
      out.push(Buffer.from(current));
      current = line;
    }
  }
  if (current !== '') out.push(Buffer.from(current));
  return out;
}

export interface StatsdSources {
  readonly metrics: RequestMetrics;
  readonly workers: () => number;
  readonly logs: () => readonly number[];
  readonly appErrors: () => number;
}

/** The timer and the UDP socket around StatsdLines. */
export class StatsdSender {
  /** Datagrams handed to the socket, and those it refused. */
  sent = 0;
  dropped = 0;
  private readonly lines: StatsdLines;
  private readonly statusCodes: Float64Array;
  private socket: Socket | undefined;
  /** The socket is connected (the name resolved once); until then flushes are dropped. */
  private connected = false;
  private retry = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly target: StatsdTarget,
    prefix: string,
    private readonly sources: StatsdSources,
  ) {
    this.lines = new StatsdLines(prefix);
    // Exact status codes are counted only while someone sends them (instruments.ts).
    this.statusCodes = sources.metrics.countStatusCodes();
  }

  start(): void {
    const socket = createSocket(isIPv6(this.target.host) ? 'udp6' : 'udp4');
    // A collector that is down makes the kernel report ECONNREFUSED on a later send; such
    // errors are drops, never a crash.
    socket.on('error', () => {
      if (this.connected) this.dropped++;
      else this.retry = true;
    });
    // A failed connect (a name that does not resolve) comes as 'error' above, never as this.
    socket.on('connect', () => {
      this.connected = true;
    });
    socket.unref();
    this.socket = socket;
    this.connect();
    // The baseline: the first flush sends what happened since the server started.
    this.lines.next(this.reading());
    this.timer = setInterval(() => this.flush(), FLUSH_EVERY_MS);
    this.timer.unref();
  }

  private reading(): StatsdReading {
    const { metrics } = this.sources;
    return {
      requests: metrics.total,
      statusCodes: this.statusCodes,
      duration: metrics.duration,
      workers: this.sources.workers(),
      logs: this.sources.logs(),
      appErrors: this.sources.appErrors(),
    };
  }

  /**
   * A connected socket resolves the name once, not per datagram, and gets ECONNREFUSED back
   * when nothing listens (counted as drops). A name that does not resolve is tried again at
   * the next flush.
   */
  private connect(): void {
    const socket = this.socket;
    if (socket === undefined) return;
    // Without a callback: Node hands a failed lookup to the callback instead of 'error' when
    // there is one, and a socket taken for connected then throws on its first send.
    socket.connect(this.target.port, this.target.host);
  }

  flush(): void {
    const socket = this.socket;
    if (socket === undefined) return;
    const datagrams = pack(this.lines.next(this.reading()));
    if (!this.connected) {
      this.dropped += datagrams.length;
      if (this.retry) {
        this.retry = false;
        this.connect();
      }
      return;
    }
    for (const datagram of datagrams) {
      try {
        socket.send(datagram, (error) => {
          if (error === null) this.sent++;
          else this.dropped++;
        });
      } catch {
        // Metrics are never worth the server: a send refused at once is a drop.
        this.dropped++;
      }
    }
  }

  /** One last flush, so the final second is not lost; resolves once the socket is closed. */
  stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
    const socket = this.socket;
    this.socket = undefined;
    if (socket === undefined) return Promise.resolve();
    // Sends already queued complete before the close takes effect.
    return new Promise((resolve) => socket.close(() => resolve()));
  }
}
