// Small synthetic results for the benchmark lab's report tests: a run, a cell and a report
// with the servers and scenarios a test names, without running anything.
import { LatencyHistogram } from '../../src/bench/histogram.js';
import {
  SCHEMA,
  type BenchReport,
  type Cell,
  type RunResult,
  type ScenarioInfo,
} from '../../src/bench/results.js';
import { summarizeCell } from '../../src/bench/summarize.js';

/** One repeat at `throughput` req/s, with the memory figures a test passes. */
export function fixtureRun(throughput: number, extra: Partial<RunResult> = {}): RunResult {
  const h = new LatencyHistogram();
  h.recordMs(1, 100);
  const latency = h.summary();
  return {
    repeat: 1, windowS: 1, requests: throughput, throughput, sent: throughput, errorCount: 0, errors: {}, statuses: {},
    retries: 0, closesWithoutNotice: 0, connections: 50, bytesPerS: 0, latency, latencyByTag: { all: latency }, histogram: h.encode(),
    cpu: { avg: 90, peak: 100, seconds: 0.9, perRequestUs: 50 }, rss: { peak: 50e6, avg: 48e6 }, procs: 1, loadCpu: 40,
    generatorBound: false, otherCpu: 3, inFlight: 50, samples: [], inside: null, ...extra,
  }; // prettier-ignore
}

/** An `ok` cell of `server` in `scenario` whose repeats ran at `tputs` req/s. */
export function fixtureCell(
  server: string,
  scenario: string,
  tputs: number[],
  extra: Partial<RunResult> = {},
): Cell {
  const runs = tputs.map((x, i) => fixtureRun(x, { ...extra, repeat: i + 1 }));
  return {
    server,
    scenario,
    status: 'ok',
    error: null,
    command: `${server} PORT`,
    loadCommand: null,
    startupMs: 100,
    wallS: 3,
    runs,
    sweep: null,
    summary: summarizeCell(runs),
  };
}

export function fixtureScenario(
  name: string,
  kind = 'closed',
  extra: Partial<ScenarioInfo> = {},
): ScenarioInfo {
  return {
    name, title: name, question: '?', shape: 'a load', app: 'hello:application', kind,
    durationS: 1, warmupS: 0.4, repeat: 3, ...extra,
  }; // prettier-ignore
}

export function fixtureReport(
  servers: string[],
  scenarios: ScenarioInfo[],
  cells: Cell[],
): BenchReport {
  return {
    schema: SCHEMA,
    startedAt: '2026-01-02T03:04:05.000Z',
    finishedAt: '2026-01-02T03:05:05.000Z',
    elapsedS: 60,
    machine: { os: 'Linux x64', kernel: '6', cpuModel: 'Test CPU', cpus: 2, memoryBytes: 8e9, node: 'v20', python: '3.11' },
    settings: {
      workers: 1, threads: 4, serverCpus: [1], loadCpus: [0], pinning: 'disjoint', load: 'builtin',
      durationS: null, warmupS: null, repeat: null, timeoutS: 10, inside: true, python: '/usr/bin/python3', app: null, path: null,
      sweep: { requests: 10000, seconds: 2.5, start: 1000, step: 1000, max: 20000 }, argv: [],
    },
    servers: servers.map((name) => ({
      name, title: name, model: 'm', budget: 'b', slots: null, available: true, version: '', skipped: null, notes: '',
    })),
    scenarios,
    cells,
    notes: [],
  }; // prettier-ignore
}
