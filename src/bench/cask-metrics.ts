// The inside view of Cask's own runs, from Cask's /metrics (docs/observability.md) rather than
// the bench/apps/_inside.py middleware: the lab scrapes the admin listener when the measured
// window starts and when it ends, and the difference gives the window's queue wait, app time
// and capacity utilisation as Cask itself measured them. The parsing and the difference are
// pure (no sockets), so a unit test feeds them text.
import { get } from 'node:http';
import type { LatencySummary } from './histogram.js';
import type { InsideSummary } from './inside.js';

/** Every sample of a Prometheus text exposition, keyed by `name{labels}` as printed. */
export type Scrape = ReadonlyMap<string, number>;

export function parseScrape(text: string): Scrape {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    if (space > 0) out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

/** The sum of every sample of `name` (any labels). */
function total(scrape: Scrape, name: string): number {
  let sum = 0;
  for (const [key, value] of scrape) {
    if (key === name || key.startsWith(`${name}{`)) sum += value;
  }
  return sum;
}

/** Cumulative buckets of a histogram, as [upper bound in s, count], +Inf last. */
function buckets(scrape: Scrape, name: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const re = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\}$`);
  for (const [key, value] of scrape) {
    const m = re.exec(key);
    if (m !== null) out.push([m[1] === '+Inf' ? Infinity : Number(m[1]), value]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

/** A quantile of a cumulative-bucket histogram, interpolated as histogram_quantile() does. */
function quantile(cumulative: ReadonlyArray<[number, number]>, q: number): number {
  const count = cumulative.at(-1)?.[1] ?? 0;
  if (count === 0) return Number.NaN;
  const rank = q * count;
  let lower = 0;
  let below = 0;
  for (const [bound, n] of cumulative) {
    if (n >= rank) {
      // The +Inf bucket has no upper bound: its lower one is the best that can be said.
      if (bound === Infinity) return lower;
      return lower + ((bound - lower) * (rank - below)) / Math.max(1, n - below);
    }
    lower = bound;
    below = n;
  }
  return lower;
}

/** A histogram's change over the window, in ms, as the lab's other latencies are. */
function latencyDelta(before: Scrape, after: Scrape, name: string): LatencySummary {
  const start = new Map(buckets(before, name));
  const cumulative = buckets(after, name).map(([bound, n]): [number, number] => [
    bound,
    n - (start.get(bound) ?? 0),
  ]);
  const count = cumulative.at(-1)?.[1] ?? 0;
  const sum = (after.get(`${name}_sum`) ?? 0) - (before.get(`${name}_sum`) ?? 0);
  const ms = (q: number): number => quantile(cumulative, q) * 1000;
  return {
    count,
    min: Number.NaN,
    mean: count > 0 ? (sum / count) * 1000 : Number.NaN,
    p50: ms(0.5),
    p75: ms(0.75),
    p90: ms(0.9),
    p99: ms(0.99),
    p999: ms(0.999),
    max: Number.NaN,
  };
}

/**
 * The window's inside view from two scrapes. Busy thread-seconds over the window give the
 * mean requests in the app, and over available thread-seconds the utilisation (mod_wsgi's
 * capacity utilisation); the peak and the timeline need per-request records, which /metrics
 * does not keep, so they are NaN and empty.
 */
export function insideFromScrapes(
  before: Scrape,
  after: Scrape,
  windowMs: number,
  slots: number | null,
): InsideSummary & { queueWait: LatencySummary } {
  const busy =
    total(after, 'cask_busy_thread_seconds_total') -
    total(before, 'cask_busy_thread_seconds_total');
  const capacity =
    total(after, 'cask_capacity_thread_seconds_total') -
    total(before, 'cask_capacity_thread_seconds_total');
  const avgInApp = windowMs > 0 ? busy / (windowMs / 1000) : 0;
  return {
    requests: total(after, 'cask_requests_total') - total(before, 'cask_requests_total'),
    processes: after.get('cask_workers{state="ready"}') ?? 0,
    appTime: latencyDelta(before, after, 'cask_app_seconds'),
    queueWait: latencyDelta(before, after, 'cask_queue_wait_seconds'),
    avgInApp,
    maxInApp: Number.NaN,
    busy: Number.NaN,
    utilization: capacity > 0 ? busy / capacity : null,
    slots,
    timeline: [],
    source: 'metrics',
  };
}

/** A scrape and when it was taken (CLOCK_MONOTONIC ns, the clock of the load's window). */
export interface TimedScrape {
  atNs: bigint;
  scrape: Scrape;
}

/**
 * Scrapes /metrics every `intervalMs` while a run goes on. The generator decides when its
 * measured window starts and ends (after its warm-up, in another process for some tools),
 * so the lab cannot scrape at those instants; it scrapes on a steady beat instead and keeps
 * the first and last scrapes inside the window (insideOfWindow). Each scrape is stamped
 * with the middle of its round trip.
 */
export class MetricsSampler {
  private readonly scrapes: TimedScrape[] = [];
  private timer: NodeJS.Timeout | null = null;
  private pending: Promise<void> | null = null;

  constructor(
    private readonly port: number,
    private readonly intervalMs = 250,
  ) {}

  start(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
  }

  /** Stops the beat and returns every scrape that answered, oldest first. */
  async stop(): Promise<TimedScrape[]> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.pending;
    return this.scrapes;
  }

  private tick(): void {
    // A scrape slower than the beat (a saturated server) is not stacked with another.
    if (this.pending !== null) return;
    const sent = process.hrtime.bigint();
    this.pending = scrapeMetrics(this.port).then((scrape) => {
      if (scrape !== null) {
        const got = process.hrtime.bigint();
        this.scrapes.push({ atNs: (sent + got) / 2n, scrape });
      }
      this.pending = null;
    });
  }
}

/**
 * The inside view of a window [startNs, endNs] from the scrapes taken during it: the
 * difference between the first and the last scrape inside the window, over the time between
 * them. Null when fewer than two scrapes fall inside (a window shorter than the beat, or a
 * server too busy to answer its admin listener).
 */
export function insideOfWindow(
  scrapes: readonly TimedScrape[],
  startNs: bigint,
  endNs: bigint,
  slots: number | null,
): ReturnType<typeof insideFromScrapes> | null {
  const inside = scrapes.filter((s) => s.atNs >= startNs && s.atNs <= endNs);
  const first = inside[0];
  const last = inside.at(-1);
  if (first === undefined || last === undefined || first === last) return null;
  return insideFromScrapes(first.scrape, last.scrape, Number(last.atNs - first.atNs) / 1e6, slots);
}

/** GET /metrics from the admin listener on 127.0.0.1; null when it does not answer. */
export function scrapeMetrics(port: number, timeoutMs = 2000): Promise<Scrape | null> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/metrics', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(res.statusCode === 200 ? parseScrape(body) : null));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}
