// Private to src/admin: the /stats document, read by `cask status` and `cask top`. A superset
// of /metrics: the same counters, plus what each worker runs now and for how long, and the
// live view's latest point. Field names are stable; docs/observability.md lists them.

import { VERSION } from '../version.js';
import { METHODS, STATUS_CLASSES, type Histogram } from './instruments.js';
import { quantile, type Point, type Sampler } from './sampler.js';
import type { AppPart, Snapshot } from './snapshot.js';

export interface LatencySummary {
  readonly count: number;
  /** Mean and percentiles since the start, in ms (null before the first request). */
  readonly meanMs: number | null;
  readonly p50Ms: number | null;
  readonly p90Ms: number | null;
  readonly p99Ms: number | null;
}

function summary(h: Histogram): LatencySummary {
  const zero = new Float64Array(h.counts.length);
  const ms = (v: number | null): number | null => (v === null ? null : Math.round(v * 1e6) / 1e3);
  return {
    count: h.count,
    meanMs: h.count > 0 ? ms(h.sum / h.count) : null,
    p50Ms: ms(quantile(h.bounds, zero, h.counts, 0.5)),
    p90Ms: ms(quantile(h.bounds, zero, h.counts, 0.9)),
    p99Ms: ms(quantile(h.bounds, zero, h.counts, 0.99)),
  };
}

export interface RequestCounts {
  readonly total: number;
  readonly byStatus: Readonly<Record<string, number>>;
  readonly byMethod: Readonly<Record<string, number>>;
}

function requestCounts(requests: Float64Array): RequestCounts {
  const byStatus: Record<string, number> = {};
  const byMethod: Record<string, number> = {};
  let total = 0;
  for (let mi = 0; mi < METHODS.length; mi++) {
    for (let si = 0; si < STATUS_CLASSES.length; si++) {
      const n = requests[mi * STATUS_CLASSES.length + si] as number;
      if (n === 0) continue;
      const status = STATUS_CLASSES[si] as string;
      const method = METHODS[mi] as string;
      byStatus[status] = (byStatus[status] ?? 0) + n;
      byMethod[method] = (byMethod[method] ?? 0) + n;
      total += n;
    }
  }
  return { total, byStatus, byMethod };
}

/** One app's part of /stats: its pool, workers and requests (the latency is the server's). */
export interface AppStats {
  /** The `app` label of /metrics: `module:callable` when alone, else the mount or host. */
  readonly name: string;
  readonly app: string;
  readonly generation: number;
  readonly targetWorkers: number;
  readonly reloading: boolean;
  readonly queue: AppPart['queue'];
  readonly utilization: { readonly sinceStart: number };
  readonly requests: RequestCounts;
  readonly workers: AppPart['workers'];
  readonly counters: AppPart['counters'];
  readonly starts: AppPart['starts'];
  readonly exits: AppPart['exits'];
}

function appStats(a: AppPart): AppStats {
  return {
    name: a.name,
    app: a.app,
    generation: a.generation,
    targetWorkers: a.target,
    reloading: a.reloading,
    queue: a.queue,
    utilization: { sinceStart: a.capacitySeconds > 0 ? a.busySeconds / a.capacitySeconds : 0 },
    requests: requestCounts(a.requests),
    workers: a.workers,
    counters: a.counters,
    starts: a.starts,
    exits: a.exits,
  };
}

export interface Stats {
  readonly version: string;
  readonly pid: number;
  readonly app: string;
  readonly startedAt: number;
  readonly uptime: number;
  readonly generation: number;
  readonly targetWorkers: number;
  readonly reloading: boolean;
  readonly queue: { readonly depth: number; readonly max: number };
  readonly utilization: { readonly recent: number | null; readonly sinceStart: number };
  readonly requests: RequestCounts;
  readonly latency: Readonly<Record<'queueWait' | 'app' | 'send' | 'total', LatencySummary>>;
  readonly last: Point | null;
  readonly workers: Snapshot['workers'];
  readonly front: Snapshot['front'];
  readonly connections: Snapshot['connections'];
  readonly connectionsByProtocol: Snapshot['connectionsByProtocol'];
  readonly http2Streams: number;
  readonly bytes: { readonly in: number; readonly out: number };
  readonly spool: Snapshot['spool'];
  readonly counters: Snapshot['counters'];
  readonly starts: Snapshot['starts'];
  readonly exits: Snapshot['exits'];
  readonly refused: Snapshot['refused'];
  /** Each app's own figures; the fields above are the server's totals. */
  readonly apps: readonly AppStats[];
}

export function statsJson(snap: Snapshot, sampler: Sampler | undefined): Stats {
  const m = snap.metrics;
  return {
    version: VERSION,
    pid: snap.pid,
    app: snap.app,
    startedAt: snap.startedAt,
    uptime: (snap.at - snap.startedAt) / 1000,
    generation: snap.generation,
    targetWorkers: snap.target,
    reloading: snap.reloading,
    queue: snap.queue,
    utilization: {
      recent: sampler?.utilization(snap) ?? null,
      sinceStart: snap.capacitySeconds > 0 ? snap.busySeconds / snap.capacitySeconds : 0,
    },
    requests: requestCounts(snap.requests),
    latency: {
      queueWait: summary(m.queueWait),
      app: summary(m.appTime),
      send: summary(m.sendTime),
      total: summary(m.duration),
    },
    last: sampler?.points.at(-1) ?? null,
    workers: snap.workers,
    front: snap.front,
    connections: snap.connections,
    connectionsByProtocol: snap.connectionsByProtocol,
    http2Streams: snap.http2Streams,
    bytes: { in: snap.bytesIn, out: snap.bytesOut },
    spool: snap.spool,
    counters: snap.counters,
    starts: snap.starts,
    exits: snap.exits,
    refused: snap.refused,
    apps: snap.apps.map(appStats),
  };
}
