// Shared bookkeeping for one load run: counts and histograms, kept only for events inside
// the measured window, and the conversion of that window to CLOCK_MONOTONIC nanoseconds
// so the orchestrator can line it up with /proc samples and the servers' inside records.
import { LatencyHistogram } from '../histogram.js';
import { bump } from './errors.js';
import type { LoadResult, LoadSpec } from './spec.js';

/** performance.now() and process.hrtime share libuv's monotonic clock; one reading of
 * both gives the offset between them. */
export function toMonotonicNs(perfMs: number): bigint {
  const refNs = process.hrtime.bigint();
  const refMs = performance.now();
  return refNs + BigInt(Math.round((perfMs - refMs) * 1e6));
}

export class Recorder {
  ok = 0;
  sent = 0;
  retries = 0;
  connections = 0;
  bytesIn = 0;
  readonly statuses: Record<string, number> = {};
  readonly errors: Record<string, number> = {};
  readonly latency = new Map<string, LatencyHistogram>();

  constructor(
    public windowStart: number,
    public windowEnd: number,
  ) {}

  inWindow(t: number): boolean {
    return t >= this.windowStart && t < this.windowEnd;
  }

  response(tag: string, status: number, bytes: number, latencyMs: number, now: number): void {
    if (!this.inWindow(now)) return;
    bump(this.statuses, String(status));
    this.bytesIn += bytes;
    if (status >= 400) {
      bump(this.errors, `status-${status}`);
      return;
    }
    this.ok += 1;
    let h = this.latency.get(tag);
    if (h === undefined) {
      h = new LatencyHistogram();
      this.latency.set(tag, h);
    }
    h.recordMs(latencyMs);
  }

  error(kind: string, now: number): void {
    if (this.inWindow(now)) bump(this.errors, kind);
  }

  result(kind: LoadSpec['kind']): LoadResult {
    const latency: Record<string, string> = {};
    for (const [tag, h] of this.latency) latency[tag] = h.encode();
    return {
      kind,
      windowStartNs: toMonotonicNs(this.windowStart).toString(),
      windowEndNs: toMonotonicNs(this.windowEnd).toString(),
      ok: this.ok,
      sent: this.sent,
      statuses: this.statuses,
      errors: this.errors,
      retries: this.retries,
      connections: this.connections,
      bytesIn: this.bytesIn,
      latency,
    };
  }
}
