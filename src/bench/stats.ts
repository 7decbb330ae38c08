// Plain-number statistics for the values the bench aggregates across repeats (req/s, CPU,
// percentiles of each repeat). Per-request latencies go through histogram.ts instead.

/** Linear-interpolated percentile (the "R-7" definition used by numpy and spreadsheets):
 * the median of an odd sample is its middle value, of an even one the mean of the two
 * middle values. Returns NaN for an empty sample so a missing value never looks like 0. */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`Percentile must be within 0..100: ${p}`);
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (rank - lo);
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function mean(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return Number.NaN;
  return finite.reduce((s, v) => s + v, 0) / finite.length;
}

/** How far repeats disagree: (max - min) / median, as a fraction. 0 for one repeat.
 * Reported next to every median because absolute figures drift by up to 30% from one
 * hour to the next on a shared machine (see docs/bench.md): a 5% win inside a 20%
 * spread is noise. */
export interface Spread {
  min: number;
  max: number;
  median: number;
  /** (max - min) / median; NaN when the median is 0 or missing. */
  relative: number;
}

export function spread(values: readonly number[]): Spread {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) {
    return { min: Number.NaN, max: Number.NaN, median: Number.NaN, relative: Number.NaN };
  }
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  const med = median(finite);
  return { min, max, median: med, relative: med === 0 ? Number.NaN : (max - min) / Math.abs(med) };
}

/** Sum of the values of several count maps (errors by kind, by status). */
export function addCounts(
  into: Record<string, number>,
  from: Readonly<Record<string, number>>,
): Record<string, number> {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  return into;
}

/** Median of each key over several count maps (keys missing from a map count as 0). */
export function medianCounts(
  maps: readonly Readonly<Record<string, number>>[],
): Record<string, number> {
  const keys = new Set(maps.flatMap((m) => Object.keys(m)));
  const out: Record<string, number> = {};
  for (const k of [...keys].sort()) out[k] = median(maps.map((m) => m[k] ?? 0));
  return out;
}
