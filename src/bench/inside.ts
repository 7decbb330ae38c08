// The inside view: what bench/apps/_inside.py recorded in each server process. From the
// per-request (start, end) intervals it rebuilds, for the measured window, how long
// requests spent in the app and how many were in the app at once across all processes.
// Compared with what the client saw, this separates time in the app from time queued in
// the server (or in its socket buffers), for any server, without its cooperation.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LatencyHistogram, type LatencySummary } from './histogram.js';

export const RECORD_BYTES = 16;

export interface Interval {
  start: number; // ms relative to the window start
  end: number;
  pid: number;
}

/** Read every <pid>.bin file of a records directory; times relative to `originNs`. */
export function readRecords(dir: string, originNs: bigint): Interval[] {
  const out: Interval[] = [];
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return out;
  }
  for (const f of files) {
    const m = /^(\d+)\.bin$/.exec(f);
    if (m === null) continue;
    const pid = Number(m[1]);
    const buf = readFileSync(join(dir, f));
    for (let off = 0; off + RECORD_BYTES <= buf.length; off += RECORD_BYTES) {
      const s = buf.readBigInt64LE(off);
      const e = buf.readBigInt64LE(off + 8);
      out.push({ start: Number(s - originNs) / 1e6, end: Number(e - originNs) / 1e6, pid });
    }
  }
  return out;
}

export interface InsideSummary {
  /** Requests that finished in the app during the window. */
  requests: number;
  /** Distinct server processes that ran the app during the window. */
  processes: number;
  /** Time from entering the app to the server closing the response, in ms. */
  appTime: LatencySummary;
  /** Mean number of requests inside the app over the window (time-weighted). */
  avgInApp: number;
  maxInApp: number;
  /** Fraction of the window with at least one request in the app. */
  busy: number;
  /** avgInApp / slots, when the server has a fixed number of slots (workers × threads). */
  utilization: number | null;
  slots: number | null;
  /** Requests in the app, averaged over each 100 ms of the window. */
  timeline: number[];
  /** Time waiting in the server's own queue before a worker took the request, when the
   * server measures it (Cask's /metrics); the middleware cannot see it. */
  queueWait?: LatencySummary;
  /** Where the figures come from: the middleware's records (the default) or the server's
   * own /metrics, whose view has no peak and no timeline. */
  source?: 'middleware' | 'metrics';
}

/** Summarise the intervals that overlap [0, windowMs]. */
export function summarizeInside(
  all: readonly Interval[],
  windowMs: number,
  slots: number | null,
): InsideSummary {
  const inWin = all.filter((r) => r.end > 0 && r.start < windowMs);
  const finished = inWin.filter((r) => r.end <= windowMs);
  const h = new LatencyHistogram();
  for (const r of finished) h.recordMs(r.end - r.start);
  // Sweep: +1 at each (clipped) start, -1 at each end; integrate the level over time.
  const events: Array<[number, number]> = [];
  for (const r of inWin) {
    events.push([Math.max(0, r.start), 1], [Math.min(windowMs, r.end), -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const bucketMs = 100;
  const buckets = new Array<number>(Math.max(1, Math.ceil(windowMs / bucketMs))).fill(0);
  let level = 0;
  let maxLevel = 0;
  let area = 0;
  let busy = 0;
  let prev = 0;
  const addSpan = (from: number, to: number, lvl: number): void => {
    if (to <= from || lvl === 0) return;
    area += (to - from) * lvl;
    busy += to - from;
    for (let b = Math.floor(from / bucketMs); b * bucketMs < to && b < buckets.length; b++) {
      const lo = Math.max(from, b * bucketMs);
      const hi = Math.min(to, (b + 1) * bucketMs);
      if (hi > lo) buckets[b] = (buckets[b] as number) + ((hi - lo) * lvl) / bucketMs;
    }
  };
  for (const [t, d] of events) {
    addSpan(prev, t, level);
    prev = t;
    level += d;
    maxLevel = Math.max(maxLevel, level);
  }
  const avg = windowMs > 0 ? area / windowMs : 0;
  return {
    requests: finished.length,
    processes: new Set(inWin.map((r) => r.pid)).size,
    appTime: h.summary(),
    avgInApp: avg,
    maxInApp: maxLevel,
    busy: windowMs > 0 ? busy / windowMs : 0,
    utilization: slots === null || slots <= 0 ? null : avg / slots,
    slots,
    timeline: buckets.map((v) => Math.round(v * 100) / 100),
  };
}
