// From raw measurements (generator results, /proc samples, inside records) to the numbers
// in results.json: one RunResult per repeat, then medians and spreads per cell.
import { LatencyHistogram, type LatencySummary } from './histogram.js';
import { summarizeInside, type InsideSummary, type Interval } from './inside.js';
import {
  httperfBehind,
  httperfLagMs,
  httperfVerdict,
  replyRate,
  type HttperfOutput,
} from './load/httperf.js';
import type { LoadResult } from './load/spec.js';
import type { CellSummary, HttperfStep, RunResult, SweepStep, TimePoint } from './results.js';
import type { ProcMemory, Sample } from './sample.js';
import { mean, median, medianCounts, spread } from './stats.js';

const sum = (o: Readonly<Record<string, number>>): number =>
  Object.values(o).reduce((s, v) => s + v, 0);

/** Largest finite value, NaN when there is none (Math.max of nothing is -Infinity). */
function maxFinite(values: readonly number[]): number {
  const f = values.filter((v) => Number.isFinite(v));
  return f.length === 0 ? Number.NaN : Math.max(...f);
}

/** Map a CLOCK_MONOTONIC time (ns) to this process's performance.now() scale. */
export function perfFromNs(ns: bigint): number {
  const refNs = process.hrtime.bigint();
  const refMs = performance.now();
  return refMs + Number(ns - refNs) / 1e6;
}

export interface RunInput {
  repeat: number;
  result: LoadResult;
  samples: readonly Sample[];
  /** Inside records (ms on the monotonic clock / 1e6 scale, see run.ts), or null. */
  records: readonly Interval[] | null;
  /** The inside view as the server itself measured it (its /metrics over the window), which
   * takes the place of the records; null when the scrapes did not cover the window. */
  inside?: InsideSummary | null;
  slots: number | null;
  loadCpus: number;
  /** Samples kept after the window, for the time series and the process counts only. */
  observeAfterMs?: number;
  /** Each server process's RSS and PSS, read once during the load. */
  memory?: { atMs: number; processes: ProcMemory[] } | null;
}

export function summarizeRun(input: RunInput): RunResult {
  const { result } = input;
  const startNs = BigInt(result.windowStartNs);
  const endNs = BigInt(result.windowEndNs);
  const windowMs = Number(endNs - startNs) / 1e6;
  const windowS = windowMs / 1000;
  const all = LatencyHistogram.merge(Object.values(result.latency));
  const latencyByTag: Record<string, LatencySummary> = {};
  for (const [tag, enc] of Object.entries(result.latency))
    latencyByTag[tag] = LatencyHistogram.decode(enc).summary();
  const latency = all.summary();

  const ws = perfFromNs(startNs);
  const we = perfFromNs(endNs);
  const win = input.samples.filter((s) => s.at >= ws && s.at <= we + 50);
  const cpuAvg = win.length > 0 ? mean(win.map((s) => s.cpu)) : Number.NaN;
  const cpuSeconds = (cpuAvg / 100) * windowS;
  const loadCpu = win.length > 0 ? mean(win.map((s) => s.loadCpu)) : Number.NaN;
  // CPU, RSS and throughput belong to the load window; the time series and the process
  // counts also cover the idle period after it, where a server may retire workers.
  const afterMs = input.observeAfterMs ?? 0;
  const series =
    afterMs > 0 ? input.samples.filter((s) => s.at >= ws && s.at <= we + afterMs + 50) : win;
  const samples: TimePoint[] = series.map((s) => ({
    t: Math.round(s.at - ws),
    cpu: Math.round(s.cpu * 10) / 10,
    rss: s.rss,
    procs: s.procs,
  }));

  let inside: InsideSummary | null = input.inside ?? null;
  if (input.inside === undefined && input.records !== null) {
    const originMs = Number(startNs) / 1e6;
    const shifted = input.records.map((r) => ({
      start: r.start - originMs,
      end: r.end - originMs,
      pid: r.pid,
    }));
    // Slot use is in-app time over a fixed number of slots; a server that added or retired
    // processes in the window had no fixed number.
    const procsVaried = win.some((s) => s.procs !== win[0]?.procs);
    inside = summarizeInside(shifted, windowMs, procsVaried ? null : input.slots);
  }
  const throughput = windowS > 0 ? result.ok / windowS : 0;
  const errorCount = sum(result.errors);
  const run: RunResult = {
    repeat: input.repeat,
    windowS,
    requests: result.ok,
    throughput,
    sent: result.sent,
    errorCount,
    errors: result.errors,
    statuses: result.statuses,
    retries: result.retries,
    closesWithoutNotice: result.closesWithoutNotice ?? 0,
    connections: result.connections,
    bytesPerS: windowS > 0 ? result.bytesIn / windowS : 0,
    latency,
    latencyByTag,
    histogram: all.encode(),
    cpu: {
      avg: cpuAvg,
      peak: maxFinite(win.map((s) => s.cpu)),
      seconds: cpuSeconds,
      perRequestUs: result.ok > 0 ? (cpuSeconds / result.ok) * 1e6 : Number.NaN,
    },
    rss: {
      peak: maxFinite(win.map((s) => s.rss)),
      avg: win.length > 0 ? mean(win.map((s) => s.rss)) : Number.NaN,
      rootPeak: maxFinite(win.map((s) => s.rootRss ?? Number.NaN)),
      rootAvg: mean(win.map((s) => s.rootRss ?? Number.NaN)),
      rootBefore: input.samples[0]?.rootRss ?? Number.NaN,
    },
    procs: series.length > 0 ? Math.max(...series.map((s) => s.procs)) : 0,
    procsMin: series.length > 0 ? Math.min(...series.map((s) => s.procs)) : 0,
    loadCpu,
    // A generator process near its core's limit is measuring itself, not the server; a
    // Node process above ~80% rarely gets further (the rest is event-loop scheduling).
    generatorBound: loadCpu >= 80 * input.loadCpus,
    otherCpu: win.length > 0 ? median(win.map((s) => s.otherCpu)) : Number.NaN,
    inFlight: (throughput * latency.mean) / 1000,
    samples,
    inside,
  };
  if (result.slow !== undefined) run.slow = result.slow;
  if (result.idle !== undefined) run.idle = result.idle;
  if (input.memory != null) run.memory = input.memory;
  if (afterMs > 0) run.observedAfterS = afterMs / 1000;
  return run;
}

/** Median queue wait of the repeats, for servers that measure it (Cask's /metrics). */
function queueWaitOf(
  insides: readonly InsideSummary[],
): { queueP50: number; queueP99: number; source: 'metrics' } | Record<string, never> {
  const waits = insides.map((i) => i.queueWait).filter((w) => w !== undefined);
  if (waits.length === 0) return {};
  return {
    queueP50: median(waits.map((w) => w.p50)),
    queueP99: median(waits.map((w) => w.p99)),
    source: 'metrics',
  };
}

/** The fast clients of a slow scenario are served when at least this share of their
 * requests in the window was answered within their timeout; below it, blocked. */
export const SERVED_SHARE = 0.9;

/** Share of a run's requests answered within the timeout: answers over the requests asked
 * in the window, where one still waiting when the window closed (started, never answered)
 * or failed (a timeout, a reset) counts as unanswered. 0 when nothing was asked. */
export function answeredShare(r: Pick<RunResult, 'requests' | 'sent' | 'errorCount'>): number {
  const asked = Math.max(r.sent, r.requests + r.errorCount);
  return asked > 0 ? r.requests / asked : 0;
}

/** Whether the slow clients left the fast ones served, over the repeats of a cell. */
export function fastVerdict(runs: readonly RunResult[]): CellSummary['fastClients'] {
  if (!runs.some((r) => r.slow !== undefined)) return undefined;
  const answered = median(runs.map(answeredShare));
  return { answered, verdict: answered >= SERVED_SHARE ? 'served' : 'blocked' };
}

export function summarizeCell(runs: readonly RunResult[]): CellSummary {
  const pick = (f: (r: RunResult) => number): number => median(runs.map(f));
  const tags = new Set(runs.flatMap((r) => Object.keys(r.latencyByTag)));
  const latencyByTag: CellSummary['latencyByTag'] = {};
  for (const tag of tags) {
    const rs = runs
      .map((r) => r.latencyByTag[tag])
      .filter((x): x is LatencySummary => x !== undefined);
    latencyByTag[tag] = {
      p50: median(rs.map((l) => l.p50)),
      p99: median(rs.map((l) => l.p99)),
      max: maxFinite(rs.map((l) => l.max)),
      count: rs.reduce((s, l) => s + l.count, 0),
    };
  }
  const insides = runs.map((r) => r.inside).filter((x) => x !== null);
  const sent = runs.reduce((s, r) => s + r.requests + r.errorCount, 0);
  const fastClients = fastVerdict(runs);
  return {
    ...(fastClients === undefined ? {} : { fastClients }),
    throughput: spread(runs.map((r) => r.throughput)),
    latency: {
      mean: pick((r) => r.latency.mean),
      p50: pick((r) => r.latency.p50),
      p90: pick((r) => r.latency.p90),
      p99: pick((r) => r.latency.p99),
      p999: pick((r) => r.latency.p999),
      max: maxFinite(runs.map((r) => r.latency.max)),
    },
    latencyByTag,
    p99Spread: spread(runs.map((r) => r.latency.p99)),
    errors: medianCounts(runs.map((r) => r.errors)),
    errorRate: sent > 0 ? runs.reduce((s, r) => s + r.errorCount, 0) / sent : 0,
    retries: pick((r) => r.retries),
    closesWithoutNotice: runs.some((r) => (r.closesWithoutNotice ?? 0) > 0),
    cpu: pick((r) => r.cpu.avg),
    perRequestUs: pick((r) => r.cpu.perRequestUs),
    rssPeak: maxFinite(runs.map((r) => r.rss.peak)),
    inside:
      insides.length === 0
        ? null
        : {
            avgInApp: median(insides.map((i) => i.avgInApp)),
            maxInApp: Math.max(...insides.map((i) => i.maxInApp)),
            utilization:
              insides[0]?.utilization === null
                ? null
                : median(insides.map((i) => i.utilization ?? Number.NaN)),
            appP50: median(insides.map((i) => i.appTime.p50)),
            outsideP50: pick((r) => r.latency.p50) - median(insides.map((i) => i.appTime.p50)),
            processes: Math.max(...insides.map((i) => i.processes)),
            ...queueWaitOf(insides),
          },
    inFlight: pick((r) => r.inFlight),
    generatorBound: runs.some((r) => r.generatorBound),
    otherCpu: maxFinite(runs.map((r) => r.otherCpu)),
  };
}

/** One rate of the sweep, as httperf would print it, plus whether the server broke:
 * more than 1% errors, or replies falling below 90% of the offered rate. The rate used
 * for that verdict is taken over the time 99% of the replies needed, so one straggler
 * (a 1 s SYN retry at the end) does not fail a rate the server kept up with; the
 * printed reply rate is httperf's (all replies over the whole span). */
export function summarizeSweepStep(
  rate: number,
  result: LoadResult,
  samples: readonly Sample[],
): SweepStep {
  const latency = LatencyHistogram.merge(Object.values(result.latency)).summary();
  const conn =
    result.connectionTime === undefined
      ? new LatencyHistogram()
      : LatencyHistogram.decode(result.connectionTime);
  const cs = conn.summary();
  const connect =
    result.connectTime === undefined
      ? new LatencyHistogram().summary()
      : LatencyHistogram.decode(result.connectTime).summary();
  const errorCount = sum(result.errors);
  const spanS = (result.spanMs ?? 0) / 1000;
  const replies = result.ok;
  const replyRate = spanS > 0 ? replies / spanS : 0;
  // Whole seconds only (the last partial second would read as a drop), and only when
  // there are at least two of them: like httperf's 5-second samples, min and max of a
  // single bucket say nothing.
  const full = Math.floor(spanS) >= 2 ? (result.replyRates ?? []).slice(0, Math.floor(spanS)) : [];
  const requests = result.sent;
  const whys: string[] = [];
  if (errorCount > requests * 0.01)
    whys.push(`${((errorCount / Math.max(1, requests)) * 100).toFixed(1)}% errors`);
  const span99S = (result.span99Ms ?? result.spanMs ?? 0) / 1000;
  const sustained = span99S > 0 ? (replies * 0.99) / span99S : replyRate;
  if (sustained < rate * 0.9)
    whys.push(`replies at ${Math.round(sustained)}/s for ${rate}/s offered`);
  const cpu = samples.length > 0 ? mean(samples.map((s) => s.cpu)) : Number.NaN;
  const otherCpu = samples.length > 0 ? median(samples.map((s) => s.otherCpu)) : Number.NaN;
  return {
    rate,
    requests,
    replies,
    replyRate,
    replyRateMin: full.length > 0 ? Math.min(...full) : Number.NaN,
    replyRateMax: full.length > 0 ? Math.max(...full) : Number.NaN,
    spanS,
    connectionTime: { min: cs.min, avg: cs.mean, max: cs.max, median: cs.p50 },
    connectTime: connect,
    latency,
    errorCount,
    errors: result.errors,
    maxLagMs: result.maxLagMs ?? 0,
    cpu,
    otherCpu,
    rssPeak: maxFinite(samples.map((s) => s.rss)),
    broke: whys.length > 0,
    why: whys.join(', '),
  };
}

export function summarizeSweep(steps: readonly SweepStep[]): CellSummary {
  const good = steps.filter((s) => !s.broke);
  const best = good.at(-1) ?? steps[0];
  const nan = Number.NaN;
  const lat = best?.latency;
  return {
    throughput: spread(best === undefined ? [] : [best.replyRate]),
    latency: {
      mean: lat?.mean ?? nan,
      p50: lat?.p50 ?? nan,
      p90: lat?.p90 ?? nan,
      p99: lat?.p99 ?? nan,
      p999: lat?.p999 ?? nan,
      max: lat?.max ?? nan,
    },
    latencyByTag: {},
    p99Spread: spread([]),
    errors: best?.errors ?? {},
    errorRate: best === undefined || best.requests === 0 ? 0 : best.errorCount / best.requests,
    retries: 0,
    closesWithoutNotice: false,
    cpu: best?.cpu ?? nan,
    perRequestUs:
      best === undefined || best.replyRate === 0 ? nan : (best.cpu / 100 / best.replyRate) * 1e6,
    rssPeak: maxFinite(steps.map((s) => s.rssPeak)),
    inside: null,
    inFlight: nan,
    generatorBound: steps.some((s) => s.maxLagMs > 100),
    otherCpu: maxFinite(steps.map((s) => s.otherCpu)),
    sustainedRate: good.length > 0 ? (good.at(-1) as SweepStep).rate : 0,
  };
}

/** One rate of the httperf sweep: httperf's figures, whether the rate was held, and what the
 * server spent meanwhile (its samples cover httperf's whole run). */
export function summarizeHttperfStep(
  rate: number,
  conns: number,
  out: HttperfOutput,
  samples: readonly Sample[],
): HttperfStep {
  const verdict = httperfVerdict(rate, conns, out);
  const cpu = samples.length > 0 ? mean(samples.map((s) => s.cpu)) : Number.NaN;
  const cpuSeconds = (cpu / 100) * out.durationS;
  return {
    rate,
    conns,
    replies: out.replies,
    replyRate: replyRate(out),
    requestRate: out.requestRate,
    durationS: out.durationS,
    connectionTime: {
      min: out.connectionTime.min,
      avg: out.connectionTime.avg,
      max: out.connectionTime.max,
      median: out.connectionTime.median,
    },
    connectMs: out.connectMs,
    concurrent: out.concurrent,
    errorCount: out.errorTotal,
    errors: out.errors,
    status: out.status,
    held: verdict.held,
    why: verdict.why,
    behind: httperfBehind(rate, out),
    lagMs: httperfLagMs(rate, out),
    cpu,
    cpuPerReplyUs: out.replies > 0 ? (cpuSeconds / out.replies) * 1e6 : Number.NaN,
    loadCpu: samples.length > 0 ? mean(samples.map((s) => s.loadCpu)) : Number.NaN,
    otherCpu: samples.length > 0 ? median(samples.map((s) => s.otherCpu)) : Number.NaN,
    rssPeak: maxFinite(samples.map((s) => s.rss)),
  };
}

/** A rate at which httperf itself failed (it printed no summary, or did not end in time):
 * not held, with the reason, and nothing measured. */
export function failedStep(rate: number, conns: number, why: string): HttperfStep {
  const nan = Number.NaN;
  return {
    rate, conns, replies: 0, replyRate: 0, requestRate: nan, durationS: nan,
    connectionTime: { min: nan, avg: nan, max: nan, median: nan }, connectMs: nan, concurrent: nan,
    errorCount: 0, errors: {}, status: {}, held: false, why: why.split('\n')[0] ?? why, behind: false, lagMs: 0,
    cpu: nan, cpuPerReplyUs: nan, loadCpu: nan, otherCpu: nan, rssPeak: nan,
  }; // prettier-ignore
}

/** The httperf sweep of one server: the highest rate held (0 when none was), with that
 * step's reply rate, connection times and CPU standing for the cell. */
export function summarizeHttperf(steps: readonly HttperfStep[]): CellSummary {
  const held = steps.filter((s) => s.held);
  const best = held.at(-1);
  const nan = Number.NaN;
  const ct = best?.connectionTime;
  const errors = best?.errors ?? steps[0]?.errors ?? {};
  return {
    throughput: spread(best === undefined ? [] : [best.replyRate]),
    latency: {
      mean: ct?.avg ?? nan,
      p50: ct?.median ?? nan,
      p90: nan,
      p99: nan,
      p999: nan,
      max: ct?.max ?? nan,
    },
    latencyByTag: {},
    p99Spread: spread([]),
    errors,
    errorRate: best === undefined || best.conns === 0 ? 0 : best.errorCount / best.conns,
    retries: 0,
    closesWithoutNotice: false,
    cpu: best?.cpu ?? nan,
    perRequestUs: best?.cpuPerReplyUs ?? nan,
    rssPeak: maxFinite(steps.map((s) => s.rssPeak)),
    inside: null,
    inFlight: nan,
    generatorBound: steps.some((s) => s.behind),
    otherCpu: maxFinite(steps.map((s) => s.otherCpu)),
    sustainedRate: best?.rate ?? 0,
  };
}
