// Latency histograms: a thin wrapper over hdr-histogram-js so the rest of the lab deals in
// milliseconds and never in the library's API. Values are recorded in microseconds with 3
// significant digits (0.1% error), from 1 µs up to an hour; histograms travel between the
// generator process and the orchestrator as the library's compressed base64 encoding.
import * as hdr from 'hdr-histogram-js';

const HIGHEST_US = 3_600_000_000;

/** Summary of one latency distribution, in milliseconds. */
export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p75: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export const PERCENTILES = [50, 75, 90, 99, 99.9] as const;

export class LatencyHistogram {
  private readonly h: hdr.Histogram;

  constructor(from?: hdr.Histogram) {
    this.h =
      from ??
      hdr.build({
        lowestDiscernibleValue: 1,
        highestTrackableValue: HIGHEST_US,
        numberOfSignificantValueDigits: 3,
        autoResize: true,
      });
  }

  /** Record a latency given in milliseconds (sub-microsecond values count as 1 µs). */
  recordMs(ms: number, count = 1): void {
    const us = Math.min(Math.max(Math.round(ms * 1000), 1), HIGHEST_US);
    if (count === 1) this.h.recordValue(us);
    else if (count > 0) this.h.recordValueWithCount(us, count);
  }

  get count(): number {
    return this.h.totalCount;
  }

  /** Latency at percentile p (0..100) in ms; NaN when empty. */
  percentileMs(p: number): number {
    if (this.h.totalCount === 0) return Number.NaN;
    return this.h.getValueAtPercentile(p) / 1000;
  }

  add(other: LatencyHistogram): void {
    this.h.add(other.h);
  }

  summary(): LatencySummary {
    const n = this.h.totalCount;
    if (n === 0) {
      const nan = Number.NaN;
      return {
        count: 0,
        min: nan,
        mean: nan,
        p50: nan,
        p75: nan,
        p90: nan,
        p99: nan,
        p999: nan,
        max: nan,
      };
    }
    return {
      count: n,
      min: this.h.minNonZeroValue / 1000,
      mean: this.h.mean / 1000,
      p50: this.percentileMs(50),
      p75: this.percentileMs(75),
      p90: this.percentileMs(90),
      p99: this.percentileMs(99),
      p999: this.percentileMs(99.9),
      max: this.h.maxValue / 1000,
    };
  }

  encode(): string {
    return hdr.encodeIntoCompressedBase64(this.h);
  }

  static decode(encoded: string): LatencyHistogram {
    return new LatencyHistogram(hdr.decodeFromCompressedBase64(encoded, 32, false));
  }

  /** Merge encoded histograms (e.g. from several generator processes) into one. */
  static merge(encoded: readonly string[]): LatencyHistogram {
    const out = new LatencyHistogram();
    for (const e of encoded) out.add(LatencyHistogram.decode(e));
    return out;
  }
}
