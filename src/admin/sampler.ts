// Private to src/admin: once a second, while the admin listener is on, a snapshot of the
// cumulative counters, and from two consecutive ones a point of the live view: requests per
// second, latency percentiles of that second, queue, capacity utilisation, workers, CPU and
// memory. The last POINTS points are kept for a dashboard that opens late; every new point is
// pushed to the dashboards listening (/dashboard/stream).
//
// Percentiles come from the difference of two histogram snapshots, interpolated inside the
// bucket as Prometheus's histogram_quantile() does: exact to within a bucket's width.

import { STATUS_CLASSES } from './instruments.js';
import { takeSnapshot, type AdminSources, type Snapshot } from './snapshot.js';

export const SAMPLE_EVERY_MS = 1000;
/** Points kept: two minutes. */
export const POINTS = 120;
/** The window of the `cask_capacity_utilization` gauge, in samples (seconds). */
export const UTILIZATION_WINDOW = 10;

export interface Point {
  /** ms since the epoch. */
  readonly t: number;
  readonly rps: number;
  /** Responses with status 5xx per second. */
  readonly errors: number;
  /** Request duration percentiles of the second, in ms (null when no request ended). */
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  /** Mean queue wait of the requests dispatched in that second, in ms. */
  readonly queueWaitMs: number | null;
  readonly queueDepth: number;
  /** Busy over available thread-seconds during the second (0 to 1). */
  readonly utilization: number;
  readonly workers: number;
  readonly threads: number;
  readonly busyThreads: number;
  /** CPU used in the second, in cores (1 = one core busy), front and workers. */
  readonly frontCpu: number;
  readonly workersCpu: number;
  readonly frontRss: number;
  readonly workersRss: number;
}

interface Totals {
  readonly at: number;
  readonly requests: number;
  readonly errors: number;
  readonly duration: Float64Array;
  readonly queueWaitSum: number;
  readonly queueWaitCount: number;
  readonly busySeconds: number;
  readonly capacitySeconds: number;
  readonly frontCpu: number;
  /** CPU seconds of each live worker, by pid: a worker that left takes its own with it. */
  readonly workerCpu: ReadonlyMap<number, number>;
}

function totalsOf(snap: Snapshot): Totals {
  const m = snap.metrics;
  let errors = 0;
  let requests = 0;
  for (const n of snap.requests) requests += n;
  for (let at = 5; at < snap.requests.length; at += STATUS_CLASSES.length)
    errors += snap.requests[at] as number;
  const workerCpu = new Map<number, number>();
  for (const w of snap.workers)
    if (w.pid !== null && w.cpuSeconds !== null) workerCpu.set(w.pid, w.cpuSeconds);
  return {
    at: snap.at,
    requests,
    errors,
    duration: Float64Array.from(m.duration.counts),
    queueWaitSum: m.queueWait.sum,
    queueWaitCount: m.queueWait.count,
    busySeconds: snap.busySeconds,
    capacitySeconds: snap.capacitySeconds,
    frontCpu: snap.front.cpuSeconds,
    workerCpu,
  };
}

/**
 * The q-quantile (0..1) of the observations between two snapshots of one histogram's counts,
 * in the histogram's unit; null when there were none.
 */
export function quantile(
  bounds: readonly number[],
  before: Float64Array,
  after: Float64Array,
  q: number,
): number | null {
  let total = 0;
  for (let i = 0; i < after.length; i++) total += (after[i] as number) - (before[i] as number);
  if (total <= 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < after.length; i++) {
    const n = (after[i] as number) - (before[i] as number);
    if (n > 0 && seen + n >= rank) {
      const low = i === 0 ? 0 : (bounds[i - 1] as number);
      // Past the last bound there is no upper edge: report the last bound, as Prometheus does.
      if (i >= bounds.length) return low;
      const high = bounds[i] as number;
      return low + (high - low) * ((rank - seen) / n);
    }
    seen += n;
  }
  return bounds[bounds.length - 1] ?? null;
}

export function pointBetween(
  before: Totals,
  after: Totals,
  snap: Snapshot,
  durationBounds: readonly number[],
): Point {
  const seconds = Math.max(0.001, (after.at - before.at) / 1000);
  const ms = (v: number | null): number | null => (v === null ? null : Math.round(v * 1e6) / 1e3);
  const capacity = after.capacitySeconds - before.capacitySeconds;
  let workersCpu = 0;
  for (const [pid, cpu] of after.workerCpu) workersCpu += cpu - (before.workerCpu.get(pid) ?? cpu);
  let threads = 0;
  let busy = 0;
  let rss = 0;
  let ready = 0;
  for (const w of snap.workers) {
    if (w.state === 'ready' || w.state === 'retiring') {
      ready++;
      threads += w.threads;
    }
    busy += w.busy;
    rss += w.rssBytes ?? 0;
  }
  const waits = after.queueWaitCount - before.queueWaitCount;
  return {
    t: after.at,
    rps: Math.round(((after.requests - before.requests) / seconds) * 10) / 10,
    errors: Math.round(((after.errors - before.errors) / seconds) * 10) / 10,
    p50: ms(quantile(durationBounds, before.duration, after.duration, 0.5)),
    p90: ms(quantile(durationBounds, before.duration, after.duration, 0.9)),
    p99: ms(quantile(durationBounds, before.duration, after.duration, 0.99)),
    queueWaitMs: waits > 0 ? ms((after.queueWaitSum - before.queueWaitSum) / waits) : null,
    queueDepth: snap.queue.depth,
    utilization:
      capacity > 0
        ? Math.min(
            1,
            Math.round(((after.busySeconds - before.busySeconds) / capacity) * 1000) / 1000,
          )
        : 0,
    workers: ready,
    threads,
    busyThreads: busy,
    frontCpu: Math.round(((after.frontCpu - before.frontCpu) / seconds) * 1000) / 1000,
    workersCpu: Math.round((Math.max(0, workersCpu) / seconds) * 1000) / 1000,
    frontRss: snap.front.rssBytes,
    workersRss: rss,
  };
}

export class Sampler {
  readonly points: Point[] = [];
  private readonly totals: Totals[] = [];
  private readonly listeners = new Set<(point: Point) => void>();
  private timer: NodeJS.Timeout | undefined;
  private readonly bounds: readonly number[];

  constructor(private readonly sources: AdminSources) {
    this.bounds = sources.metrics.duration.bounds;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.totals.push(totalsOf(takeSnapshot(this.sources)));
    this.timer = setInterval(() => this.tick(), SAMPLE_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }

  /** Called with every new point until the returned function is called. */
  subscribe(listener: (point: Point) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Busy over available thread-seconds over the last UTILIZATION_WINDOW seconds. */
  utilization(snap: Snapshot): number | undefined {
    const first = this.totals[Math.max(0, this.totals.length - UTILIZATION_WINDOW)];
    if (first === undefined) return undefined;
    const capacity = snap.capacitySeconds - first.capacitySeconds;
    if (capacity <= 0) return 0;
    return Math.min(1, Math.max(0, (snap.busySeconds - first.busySeconds) / capacity));
  }

  tick(): Point {
    const snap = takeSnapshot(this.sources);
    const now = totalsOf(snap);
    const before = this.totals.at(-1) ?? now;
    const point = pointBetween(before, now, snap, this.bounds);
    this.totals.push(now);
    if (this.totals.length > UTILIZATION_WINDOW + 1) this.totals.shift();
    this.points.push(point);
    if (this.points.length > POINTS) this.points.shift();
    for (const listener of this.listeners) listener(point);
    return point;
  }
}
