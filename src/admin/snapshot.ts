// Private to src/admin: one consistent picture of the server, taken when someone asks
// (/metrics, /stats, the dashboard's sampler). It reads the counters the request path keeps
// (instruments.ts, the pool's and the front's) and /proc, and computes nothing per request.

import type { Exchange } from '../exchange.js';
import type { GatewayCounters } from '../gateway.js';
import type { Front } from '../http/front.js';
import type { Pool } from '../pool/pool.js';
import type { WorkerProcess } from '../pool/worker.js';
import type { RequestMetrics } from './instruments.js';
import { readUsage } from './proc.js';

/** What the admin listener reads; serve.ts hands it over. */
export interface AdminSources {
  /** The app as configured (`module:callable`), the `app` label. */
  readonly app: string;
  readonly pool: Pool;
  readonly gateway: { readonly metrics: RequestMetrics; readonly counters: GatewayCounters };
  readonly front: Front;
}

export interface RequestView {
  readonly id: number;
  readonly method: string;
  readonly target: string;
  readonly client: string;
  /** Seconds since the worker was handed the request. */
  readonly age: number;
  /** `running`, `overdue` (past `timeout`, being stopped) or `stuck` (past `timeout-grace`). */
  readonly phase: string;
  /** Running in a thread (true), or prefetched and waiting inside the worker (false). */
  readonly started: boolean;
}

export interface WorkerView {
  readonly worker: number;
  readonly pid: number | null;
  readonly generation: number;
  /** starting, ready, retiring, draining, stopping. */
  readonly state: string;
  readonly threads: number;
  readonly busy: number;
  readonly idle: number;
  /** Requests held beyond its threads (prefetched). */
  readonly queued: number;
  readonly served: number;
  readonly startedAt: number;
  readonly uptime: number;
  readonly startReason: string;
  readonly cpuSeconds: number | null;
  readonly rssBytes: number | null;
  readonly busySeconds: number;
  readonly capacitySeconds: number;
  readonly requests: readonly RequestView[];
}

export interface Snapshot {
  /** ms since the epoch. */
  readonly at: number;
  readonly app: string;
  readonly pid: number;
  readonly startedAt: number;
  readonly front: {
    readonly cpuSeconds: number;
    readonly rssBytes: number;
    readonly heapBytes: number;
  };
  readonly queue: { readonly depth: number; readonly max: number };
  readonly target: number;
  readonly generation: number;
  readonly reloading: boolean;
  readonly workers: readonly WorkerView[];
  /** Busy and available thread-seconds since the start, exited workers included. */
  readonly busySeconds: number;
  readonly capacitySeconds: number;
  /** Open connections by phase, whatever their protocol. */
  readonly connections: Readonly<Record<string, number>>;
  /** Open connections by protocol (http/1.1, h2, websocket, uwsgi…), then by phase. */
  readonly connectionsByProtocol: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Streams open on every HTTP/2 connection together. */
  readonly http2Streams: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly spool: { readonly bytes: number; readonly files: number; readonly peakBytes: number };
  readonly counters: {
    readonly accepted: number;
    readonly overLimit: number;
    readonly dispatched: number;
    readonly queueFull: number;
    readonly queueTimeouts: number;
    readonly timeouts: number;
    readonly stuck: number;
    readonly reclaimed: number;
    readonly slow: number;
    readonly appErrors: number;
    readonly failed: number;
  };
  readonly starts: Readonly<Record<string, number>>;
  readonly exits: Readonly<Record<string, number>>;
  readonly refused: Readonly<Record<string, number>>;
  readonly metrics: RequestMetrics;
}

const STARTED_AT = Date.now() - Math.round(process.uptime() * 1000);

function stateOf(worker: WorkerProcess): string {
  if (worker.state !== 'ready') return worker.state;
  if (worker.retiring !== undefined) return 'retiring';
  return worker.accepting ? 'ready' : 'draining';
}

function requestsOf(worker: WorkerProcess, now: number): RequestView[] {
  const out: RequestView[] = [];
  let index = 0;
  for (const held of worker.held.values()) {
    // The worker starts requests in the order it got them: the first `threads` run.
    const started = index++ < worker.threads;
    const exchange = (held.job as { exchange?: Exchange } | undefined)?.exchange;
    out.push({
      id: held.id,
      method: exchange?.request.method ?? '',
      target: exchange?.request.target ?? '(client gone)',
      client: exchange?.remoteAddr ?? '',
      age: Math.max(0, now - held.startedAt) / 1000,
      phase: held.phase,
      started,
    });
  }
  return out;
}

function workerView(worker: WorkerProcess, now: number): WorkerView {
  const usage = readUsage(worker.alive ? worker.pid : undefined);
  const busy = Math.min(worker.inFlight, worker.threads);
  return {
    worker: worker.index,
    pid: worker.pid ?? null,
    generation: worker.generation,
    state: stateOf(worker),
    threads: worker.threads,
    busy,
    idle: worker.state === 'ready' ? worker.threads - busy : 0,
    queued: Math.max(0, worker.inFlight - worker.threads),
    served: worker.served,
    startedAt: worker.startedAt,
    uptime: (now - worker.startedAt) / 1000,
    startReason: worker.startReason,
    cpuSeconds: usage?.cpuSeconds ?? null,
    rssBytes: usage?.rssBytes ?? null,
    busySeconds: worker.busySeconds(now),
    capacitySeconds: worker.readyAt > 0 ? (worker.threads * (now - worker.readyAt)) / 1000 : 0,
    requests: requestsOf(worker, now),
  };
}

export function takeSnapshot(sources: AdminSources, now = Date.now()): Snapshot {
  const { pool, front, gateway } = sources;
  const supervisor = pool.supervisor;
  const workers = supervisor.workers.map((w) => workerView(w, now));
  let busySeconds = supervisor.retired.busySeconds;
  let capacitySeconds = supervisor.retired.capacitySeconds;
  for (const w of workers) {
    busySeconds += w.busySeconds;
    capacitySeconds += w.capacitySeconds;
  }
  const connections: Record<string, number> = {};
  const connectionsByProtocol: Record<string, Record<string, number>> = {};
  let http2Streams = 0;
  for (const connection of front.connections) {
    const { phase, protocol } = connection;
    connections[phase] = (connections[phase] ?? 0) + 1;
    const byPhase = (connectionsByProtocol[protocol] ??= {});
    byPhase[phase] = (byPhase[phase] ?? 0) + 1;
    http2Streams += connection.openStreams ?? 0;
  }
  let bytesIn = front.counters.closedBytesIn;
  let bytesOut = front.counters.closedBytesOut;
  for (const socket of front.sockets) {
    bytesIn += socket.bytesRead;
    bytesOut += socket.bytesWritten;
  }
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  const p = pool.counters;
  return {
    at: now,
    app: sources.app,
    pid: process.pid,
    startedAt: STARTED_AT,
    front: {
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      rssBytes: memory.rss,
      heapBytes: memory.heapUsed,
    },
    queue: { depth: pool.queued, max: pool.maxQueue },
    target: supervisor.target,
    generation: supervisor.serving,
    reloading: supervisor.serving > 0 && supervisor.pending !== undefined,
    workers,
    busySeconds,
    capacitySeconds,
    connections,
    connectionsByProtocol,
    http2Streams,
    bytesIn,
    bytesOut,
    spool: {
      bytes: front.spoolLedger.onFile,
      files: front.spoolLedger.files,
      peakBytes: front.spoolLedger.peak,
    },
    counters: {
      accepted: front.counters.accepted,
      overLimit: front.counters.overLimit,
      dispatched: p.dispatched,
      queueFull: p.queueFull,
      queueTimeouts: p.queueTimeouts,
      timeouts: p.timeouts,
      stuck: p.stuck,
      reclaimed: p.reclaimed,
      slow: p.slow,
      appErrors: gateway.counters.appErrors,
      failed: gateway.counters.failed,
    },
    starts: Object.fromEntries(supervisor.starts),
    exits: Object.fromEntries(supervisor.exits),
    refused: Object.fromEntries(gateway.metrics.refused),
    metrics: gateway.metrics,
  };
}
