// Private to src/admin: one consistent picture of the server, taken when someone asks
// (/metrics, /stats, the dashboard's sampler). It reads the counters the request path keeps
// (instruments.ts, the pool's and the front's) and /proc, and computes nothing per request.

import type { GatewayCounters } from '../gateway.js';
import type { Front } from '../http/front.js';
import type { Pool } from '../pool/pool.js';
import type { WorkerProcess } from '../pool/worker.js';
import type { RequestMetrics } from './instruments.js';
import { readUsage } from './proc.js';

/** One app the server serves, as the admin listener sees it. */
export interface AdminApp {
  /** The `app` label: `module:callable` when it is the only app, else its mount or host. */
  readonly name: string;
  /** The app as configured (`module:callable`). */
  readonly app: string;
  readonly pool: Pool;
  /** Its gateway; `metrics` counts this app's requests (RequestMetrics.forApp()). */
  readonly gateway: { readonly metrics: RequestMetrics; readonly counters: GatewayCounters };
}

/** What the admin listener reads; serve.ts hands it over. */
export interface AdminSources {
  /** Every app served, at least one. */
  readonly apps: readonly AdminApp[];
  /** The server's metrics: the latency histograms and refusals every app shares. */
  readonly metrics: RequestMetrics;
  readonly front: Front;
}

export interface RequestView {
  readonly id: number;
  readonly method: string;
  readonly target: string;
  readonly client: string;
  /** Seconds since the worker was handed the request. */
  readonly age: number;
  /**
   * `running`, `streaming` (a push stream, on no thread), `overdue` (past `timeout`, being
   * stopped) or `stuck` (past `timeout-grace`).
   */
  readonly phase: string;
  /** Running in a thread (true), or prefetched and waiting inside the worker (false). */
  readonly started: boolean;
}

export interface WorkerView {
  /** The `app` label of the app whose worker it is. */
  readonly app: string;
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

/** What one app's gateway and pool counted. */
export interface AppCounters {
  readonly dispatched: number;
  readonly queueFull: number;
  readonly queueTimeouts: number;
  readonly timeouts: number;
  readonly stuck: number;
  readonly reclaimed: number;
  readonly slow: number;
  readonly appErrors: number;
  readonly failed: number;
}

/** One app's part of a Snapshot: its pool, its workers and its requests. */
export interface AppPart {
  /** The `app` label (AdminApp.name). */
  readonly name: string;
  /** `module:callable`. */
  readonly app: string;
  readonly queue: { readonly depth: number; readonly max: number };
  readonly target: number;
  readonly generation: number;
  readonly reloading: boolean;
  readonly workers: readonly WorkerView[];
  /** Busy and available thread-seconds since the start, exited workers included. */
  readonly busySeconds: number;
  readonly capacitySeconds: number;
  readonly counters: AppCounters;
  readonly starts: Readonly<Record<string, number>>;
  readonly exits: Readonly<Record<string, number>>;
  /** This app's requests by [method × status class] (RequestMetrics.requests). */
  readonly requests: Float64Array;
}

/**
 * The server at one moment. The top-level fields are server totals (summed over the apps);
 * `apps` has each app's own part.
 */
export interface Snapshot {
  /** ms since the epoch. */
  readonly at: number;
  /** `module:callable` of the app, or of every app, comma-separated. */
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
  /** The highest generation serving (each app reloads on its own). */
  readonly generation: number;
  readonly reloading: boolean;
  /** Every app's workers. */
  readonly workers: readonly WorkerView[];
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
  readonly spool: {
    readonly bytes: number;
    readonly files: number;
    readonly peakBytes: number;
    /** Bytes of memory claimed for slow clients now, and at most (response-spool.ts). */
    readonly memoryBytes: number;
    readonly memoryPeakBytes: number;
  };
  readonly counters: AppCounters & { readonly accepted: number; readonly overLimit: number };
  readonly starts: Readonly<Record<string, number>>;
  readonly exits: Readonly<Record<string, number>>;
  readonly refused: Readonly<Record<string, number>>;
  /** Every app's requests by [method × status class]. */
  readonly requests: Float64Array;
  readonly apps: readonly AppPart[];
  /** The shared latency histograms. */
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
    // The worker starts requests in the order it got them: the first `threads` run. A push
    // stream has started and holds none of them.
    const detached = held.detached === true;
    const started = detached || index++ < worker.threads;
    // The job keeps its request's method, target and client for this: it lets go of the
    // exchange itself when that completes. The pool lets go of the job when its client leaves.
    const job = held.job as { method?: string; target?: string; client?: string } | undefined;
    out.push({
      id: held.id,
      method: job?.method ?? '',
      target: job?.target ?? '(client gone)',
      client: job?.client ?? '',
      age: Math.max(0, now - held.startedAt) / 1000,
      phase: detached && held.phase === 'running' ? 'streaming' : held.phase,
      started,
    });
  }
  return out;
}

function workerView(app: string, worker: WorkerProcess, now: number): WorkerView {
  const usage = readUsage(worker.alive ? worker.pid : undefined);
  const busy = Math.min(worker.inFlight, worker.threads);
  return {
    app,
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

function appPart(source: AdminApp, now: number): AppPart {
  const { pool, gateway } = source;
  const supervisor = pool.supervisor;
  const workers = supervisor.workers.map((w) => workerView(source.name, w, now));
  let busySeconds = supervisor.retired.busySeconds;
  let capacitySeconds = supervisor.retired.capacitySeconds;
  for (const w of workers) {
    busySeconds += w.busySeconds;
    capacitySeconds += w.capacitySeconds;
  }
  const p = pool.counters;
  return {
    name: source.name,
    app: source.app,
    queue: { depth: pool.queued, max: pool.maxQueue },
    target: supervisor.target,
    generation: supervisor.serving,
    reloading: supervisor.serving > 0 && supervisor.pending !== undefined,
    workers,
    busySeconds,
    capacitySeconds,
    counters: {
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
    requests: Float64Array.from(gateway.metrics.requests),
  };
}

function addInto(into: Record<string, number>, from: Readonly<Record<string, number>>): void {
  for (const [key, n] of Object.entries(from)) into[key] = (into[key] ?? 0) + n;
}

export function takeSnapshot(sources: AdminSources, now = Date.now()): Snapshot {
  const { front } = sources;
  const apps = sources.apps.map((app) => appPart(app, now));
  const workers: WorkerView[] = [];
  const counters: Record<keyof AppCounters, number> = {
    dispatched: 0,
    queueFull: 0,
    queueTimeouts: 0,
    timeouts: 0,
    stuck: 0,
    reclaimed: 0,
    slow: 0,
    appErrors: 0,
    failed: 0,
  };
  const starts: Record<string, number> = {};
  const exits: Record<string, number> = {};
  const requests = new Float64Array(sources.metrics.requests.length);
  const queue = { depth: 0, max: 0 };
  let target = 0;
  let generation = 0;
  let reloading = false;
  let busySeconds = 0;
  let capacitySeconds = 0;
  for (const app of apps) {
    workers.push(...app.workers);
    for (const key of Object.keys(counters) as (keyof AppCounters)[])
      counters[key] += app.counters[key];
    addInto(starts, app.starts);
    addInto(exits, app.exits);
    for (let i = 0; i < requests.length; i++)
      requests[i] = (requests[i] as number) + (app.requests[i] as number);
    queue.depth += app.queue.depth;
    queue.max += app.queue.max;
    target += app.target;
    generation = Math.max(generation, app.generation);
    reloading ||= app.reloading;
    busySeconds += app.busySeconds;
    capacitySeconds += app.capacitySeconds;
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
  return {
    at: now,
    app: sources.apps.map((app) => app.app).join(', '),
    pid: process.pid,
    startedAt: STARTED_AT,
    front: {
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      rssBytes: memory.rss,
      heapBytes: memory.heapUsed,
    },
    queue,
    target,
    generation,
    reloading,
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
      memoryBytes: front.spoolLedger.inMemory,
      memoryPeakBytes: front.spoolLedger.memoryPeak,
    },
    counters: {
      accepted: front.counters.accepted,
      overLimit: front.counters.overLimit,
      ...counters,
    },
    starts,
    exits,
    refused: Object.fromEntries(sources.metrics.refused),
    requests,
    apps,
    metrics: sources.metrics,
  };
}
