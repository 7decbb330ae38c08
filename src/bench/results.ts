// The shape of results.json: everything a report needs, so Markdown and HTML are rendered
// from the file alone (`cask bench report results.json`), never from live state.
import type { LatencySummary } from './histogram.js';
import type { InsideSummary } from './inside.js';
import type { IdleTally } from './load/spec.js';
import type { ProcMemory } from './sample.js';
import type { Spread } from './stats.js';

export const SCHEMA = 'cask-bench/1';

export interface MachineInfo {
  os: string;
  kernel: string;
  cpuModel: string;
  cpus: number;
  memoryBytes: number;
  node: string;
  python: string;
}

export interface Settings {
  workers: number;
  threads: number;
  serverCpus: number[];
  loadCpus: number[];
  pinning: string;
  load: 'builtin' | 'wrk';
  /** Overrides given on the command line (null: each scenario's default). */
  durationS: number | null;
  warmupS: number | null;
  repeat: number | null;
  timeoutS: number;
  inside: boolean;
  python: string;
  app: string | null;
  path: string | null;
  sweep: { requests: number; seconds: number; start: number; step: number; max: number };
  /** The httperf sweep: rates start…max by step, min(conns, seconds × rate) connections each
   *  (absent from results written before it). */
  httperf?: { start: number; step: number; max: number; conns: number; seconds: number };
  argv: string[];
}

export interface ServerInfo {
  name: string;
  title: string;
  model: string;
  budget: string;
  slots: number | null;
  available: boolean;
  version: string;
  /** Why it was not run (missing package, failed to start). */
  skipped: string | null;
  notes: string;
}

export interface ScenarioInfo {
  name: string;
  title: string;
  question: string;
  shape: string;
  app: string;
  kind: string;
  durationS: number;
  warmupS: number;
  repeat: number;
  /** The raw-net ceiling runs it, and the report gives each server's ratio to it. */
  ceiling?: boolean;
}

export interface TimePoint {
  /** ms since the start of the measured window (beyond windowS: after the load) */
  t: number;
  cpu: number;
  rss: number;
  /** Server processes alive (front and workers). */
  procs?: number;
}

export interface RunResult {
  repeat: number;
  /** `h2` scenarios: the leg (protocol) this run measured, e.g. 'h2c' or 'http/1.1'. */
  leg?: string;
  windowS: number;
  /** Successful responses in the window. */
  requests: number;
  throughput: number;
  sent: number;
  errorCount: number;
  errors: Record<string, number>;
  statuses: Record<string, number>;
  retries: number;
  /** Reused connections found closed without notice, warm-up included (see load/spec.ts). */
  closesWithoutNotice: number;
  connections: number;
  bytesPerS: number;
  latency: LatencySummary;
  latencyByTag: Record<string, LatencySummary>;
  /** Encoded hdr histogram of all successful requests (µs), for later re-analysis. */
  histogram: string;
  cpu: { avg: number; peak: number; seconds: number; perRequestUs: number };
  /** RSS of the whole process tree in the window; `root*` of the process the bench started
   *  alone (Cask's Node front, a master, or the only process), `rootBefore` at the first
   *  sample, before the load (absent from results written before they were kept). */
  rss: { peak: number; avg: number; rootPeak?: number; rootAvg?: number; rootBefore?: number };
  /** RSS and PSS of each of the server's processes, read once in the middle of the measured
   *  window (`atMs` after the load started). */
  memory?: { atMs: number; processes: ProcMemory[] };
  /** Idle scenarios: what the idle connections did. */
  idle?: IdleTally;
  /** Most server processes seen in the window and the observation after it. */
  procs: number;
  /** Fewest server processes seen there (autoscaling shows as procsMin < procs). */
  procsMin?: number;
  /** Seconds the server was still sampled after the load stopped; its samples have
   * t > windowS * 1000 and count only in `samples`, `procs` and `procsMin`. */
  observedAfterS?: number;
  /** Generator CPU, % of one core summed over generator processes. */
  loadCpu: number;
  generatorBound: boolean;
  /** CPU used by everything else on the machine during the window, % of one core. */
  otherCpu: number;
  /** Client-side requests in flight by Little's law (throughput × mean latency). */
  inFlight: number;
  samples: TimePoint[];
  inside: InsideSummary | null;
  /** Slow scenarios: what the slow clients got done (see load/spec.ts SlowTally; `clients`,
   * `open` and `bytesIn` are absent from results written before slow-readers). */
  slow?: {
    clients?: number;
    completed: number;
    connected: number;
    open?: number;
    bytesIn?: number;
    errors: Record<string, number>;
  };
}

export interface SweepStep {
  rate: number;
  requests: number;
  replies: number;
  replyRate: number;
  replyRateMin: number;
  replyRateMax: number;
  spanS: number;
  connectionTime: { min: number; avg: number; max: number; median: number };
  connectTime: LatencySummary;
  latency: LatencySummary;
  errorCount: number;
  errors: Record<string, number>;
  maxLagMs: number;
  cpu: number;
  /** CPU used by other processes on the machine meanwhile (% of one core, median). */
  otherCpu: number;
  rssPeak: number;
  broke: boolean;
  why: string;
}

/** One rate of the httperf sweep, from httperf's own summary and the server's /proc. */
export interface HttperfStep {
  rate: number;
  /** Connections opened, one request each. */
  conns: number;
  replies: number;
  /** Replies over httperf's test duration, and the rate httperf sent requests at. */
  replyRate: number;
  requestRate: number;
  durationS: number;
  /** Connection time (connect to close), ms, as httperf prints it. */
  connectionTime: { min: number; avg: number; max: number; median: number };
  connectMs: number;
  /** Most connections open at once. */
  concurrent: number;
  errorCount: number;
  errors: Record<string, number>;
  status: Record<string, number>;
  held: boolean;
  why: string;
  /** httperf fell more than 100 ms behind its schedule (`lagMs`, from its longest connect
   *  burst): the generator, not the server, may have set the pace. */
  behind: boolean;
  lagMs?: number;
  /** Server CPU over the step (% of one core) and per reply (µs). */
  cpu: number;
  cpuPerReplyUs: number;
  /** httperf's CPU over the step, % of one core. */
  loadCpu: number;
  otherCpu: number;
  rssPeak: number;
}

export interface CellSummary {
  throughput: Spread;
  latency: { mean: number; p50: number; p90: number; p99: number; p999: number; max: number };
  latencyByTag: Record<string, { p50: number; p99: number; max: number; count: number }>;
  /** p99 spread across repeats (the tail moves more than the median). */
  p99Spread: Spread;
  errors: Record<string, number>;
  errorRate: number;
  /** Median per repeat of requests resent after a reused connection was found closed. */
  retries: number;
  /** The server closed connections after responses without `Connection: close`. */
  closesWithoutNotice: boolean;
  cpu: number;
  perRequestUs: number;
  rssPeak: number;
  inside: {
    avgInApp: number;
    maxInApp: number;
    utilization: number | null;
    appP50: number;
    outsideP50: number;
    processes: number;
    /** Queue wait before a worker took the request (ms), where the server measures it. */
    queueP50?: number;
    queueP99?: number;
    /** 'metrics' when the figures are the server's own /metrics (no peak in-app count). */
    source?: 'metrics';
  } | null;
  inFlight: number;
  generatorBound: boolean;
  /** Highest median CPU of other processes on the machine in any repeat (% of a core). */
  otherCpu: number;
  /** rate-sweep: highest offered rate that did not break. */
  sustainedRate?: number;
  /** Slow scenarios: the fast clients' share of requests answered within their timeout
   * (median of the repeats) and the verdict drawn from it (summarize.ts fastVerdict). */
  fastClients?: { answered: number; verdict: 'served' | 'blocked' };
}

export interface Cell {
  server: string;
  scenario: string;
  status: 'ok' | 'failed' | 'skipped';
  error: string | null;
  command: string;
  loadCommand: string | null;
  startupMs: number;
  /** Wall-clock seconds the whole cell took (start, warm-ups, repeats, stop). */
  wallS: number;
  runs: RunResult[];
  sweep: SweepStep[] | null;
  /** `httperf`: each rate tried, up to the first one the server did not hold. */
  httperf?: HttperfStep[];
  summary: CellSummary | null;
  /** `h2` scenarios: each leg, the protocol h2load negotiated, and why it did not run. */
  legs?: LegInfo[];
}

export interface LegInfo {
  name: string;
  /** What h2load reported: 'h2c', 'h2', 'http/1.1' ('' when the leg did not run). */
  protocol: string;
  skipped: string | null;
}

export interface BenchReport {
  schema: typeof SCHEMA;
  startedAt: string;
  finishedAt: string;
  elapsedS: number;
  machine: MachineInfo;
  settings: Settings;
  servers: ServerInfo[];
  scenarios: ScenarioInfo[];
  cells: Cell[];
  notes: string[];
}
