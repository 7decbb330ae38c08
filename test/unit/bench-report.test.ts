// Rendering results.json into Markdown and HTML (src/bench/report/), from a synthetic run.
import { test, type TestContext } from 'node:test';
import vm from 'node:vm';
import { LatencyHistogram } from '../../src/bench/histogram.js';
import { explainScenario } from '../../src/bench/report/explain.js';
import { renderHtml } from '../../src/bench/report/html.js';
import { renderMarkdown } from '../../src/bench/report/markdown.js';
import { headlineTable, ratioTable, scenarioTable } from '../../src/bench/report/tables.js';
import { SCHEMA, type BenchReport, type Cell, type RunResult } from '../../src/bench/results.js';
import { summarizeCell } from '../../src/bench/summarize.js';

function run(throughput: number, p50: number): RunResult {
  const h = new LatencyHistogram();
  h.recordMs(p50, 99);
  h.recordMs(p50 * 10, 1);
  const latency = h.summary();
  return {
    repeat: 1, windowS: 2, requests: throughput * 2, throughput, sent: throughput * 2, errorCount: 0, errors: {}, statuses: { '200': throughput * 2 },
    retries: 0, closesWithoutNotice: 0, connections: 50, bytesPerS: throughput * 100, latency, latencyByTag: { all: latency }, histogram: h.encode(),
    cpu: { avg: 95, peak: 100, seconds: 1.9, perRequestUs: 100 }, rss: { peak: 50e6, avg: 48e6 }, procs: 2, loadCpu: 40,
    generatorBound: false, otherCpu: 3, inFlight: 50, samples: [{ t: 0, cpu: 90, rss: 48e6 }, { t: 100, cpu: 97, rss: 50e6 }],
    inside: { requests: 10, processes: 1, appTime: latency, avgInApp: 1.5, maxInApp: 4, busy: 0.9, utilization: 0.375, slots: 4, timeline: [1, 2] },
  }; // prettier-ignore
}

function cell(server: string, scenario: string, tputs: number[]): Cell {
  const runs = tputs.map((x, i) => ({ ...run(x, 1000 / x), repeat: i + 1 }));
  return {
    server,
    scenario,
    status: 'ok',
    error: null,
    command: `${server} --port PORT`,
    loadCommand: null,
    startupMs: 300,
    wallS: 5,
    runs,
    sweep: null,
    summary: summarizeCell(runs),
  };
}

function syntheticReport(): BenchReport {
  return {
    schema: SCHEMA,
    startedAt: '2026-01-02T03:04:05.000Z',
    finishedAt: '2026-01-02T03:05:05.000Z',
    elapsedS: 60,
    machine: {
      os: 'Linux x64',
      kernel: '6',
      cpuModel: 'Test CPU',
      cpus: 2,
      memoryBytes: 8e9,
      node: 'v20',
      python: '3.11',
    },
    settings: {
      workers: 1, threads: 4, serverCpus: [1], loadCpus: [0], pinning: 'server and load on disjoint CPU sets', load: 'builtin',
      durationS: null, warmupS: null, repeat: null, timeoutS: 10, inside: true, python: '/usr/bin/python3', app: null, path: null,
      sweep: { requests: 10000, seconds: 3, start: 1000, step: 1000, max: 20000 }, argv: ['--servers', 'cask,waitress'],
    }, // prettier-ignore
    servers: [
      {
        name: 'cask',
        title: 'Cask',
        model: 'm',
        budget: '1 × 4',
        slots: 4,
        available: true,
        version: 'cask 0.1.0',
        skipped: null,
        notes: '',
      },
      {
        name: 'waitress',
        title: 'waitress',
        model: 'm',
        budget: '1 × 4',
        slots: 4,
        available: true,
        version: 'waitress 2',
        skipped: null,
        notes: '',
      },
      {
        name: 'bjoern',
        title: 'bjoern',
        model: 'm',
        budget: '',
        slots: null,
        available: false,
        version: '',
        skipped: 'Python module bjoern not importable',
        notes: '',
      },
    ],
    scenarios: [
      {
        name: 'hello',
        title: 'Hello',
        question: 'Overhead?',
        shape: 'closed loop',
        app: 'hello:application',
        kind: 'closed',
        durationS: 2,
        warmupS: 0.5,
        repeat: 3,
      },
    ],
    cells: [
      cell('cask', 'hello', [10000, 11000, 9000]),
      cell('waitress', 'hello', [5000, 5500, 4500]),
    ],
    notes: [],
  };
}

test('`renderMarkdown()` writes the headline, the scenario table and the skip reason', (t: TestContext) => {
  t.plan(4);
  const md = renderMarkdown(syntheticReport());
  t.assert.match(md, /^# cask bench — 2026-01-02 03:04 UTC/);
  t.assert.match(md, /\| cask \| 10,000 \|/);
  t.assert.match(md, /\| waitress \| 5,000 \| 20% \|/);
  t.assert.match(md, /bjoern .*skipped: Python module bjoern not importable/);
});

test('`ratioTable()` divides each server by Cask', (t: TestContext) => {
  t.plan(2);
  const r = ratioTable(syntheticReport());
  t.assert.deepStrictEqual(r?.rows, [
    ['cask', '1.00×'],
    ['waitress', '0.50×'],
  ]);
  t.assert.deepStrictEqual(headlineTable(syntheticReport()).columns, ['server', 'hello (req/s)']);
});

test('`ratioTable()` divides CPU per request where the load generator was at its limit', (t: TestContext) => {
  t.plan(3);
  const report = syntheticReport();
  const [base, other] = report.cells as [Cell, Cell];
  // The generator held waitress at 100 req/s (⚠) while it spent 50 µs per request to
  // Cask's 100: twice as cheap, whatever the requests per second say.
  other.summary = {
    ...(other.summary as NonNullable<Cell['summary']>),
    generatorBound: true,
    perRequestUs: 50,
  };
  t.assert.deepStrictEqual(ratioTable(report)?.rows, [
    ['cask', '1.00×'],
    ['waitress', '2.00× by CPU'],
  ]);
  t.assert.match(renderMarkdown(report), /Relative to Cask[^\n]*marked "by CPU"/);
  // A limited run without a CPU figure gives no ratio rather than the generator's.
  base.summary = { ...(base.summary as NonNullable<Cell['summary']>), perRequestUs: Number.NaN };
  t.assert.deepStrictEqual(ratioTable(report)?.rows[1], ['waitress', '—']);
});

test('`renderMarkdown()` prints a dash, not zero, for values lost as null in JSON', (t: TestContext) => {
  t.plan(1);
  const report = JSON.parse(JSON.stringify(syntheticReport())) as BenchReport;
  const c = report.cells[1] as Cell;
  (c.summary as { perRequestUs: number | null }).perRequestUs = null;
  t.assert.match(renderMarkdown(report), /\| waitress \|[^\n]*\| — \|/);
});

/** Run the page's own script with a stand-in Chart and a document that has exactly the
 * page's canvases; the types of the charts it built. */
function drawnCharts(html: string): string[] {
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1] as string);
  const draw = scripts.at(-1) as string;
  const made: string[] = [];
  const ctx = vm.createContext({
    Chart: class {
      constructor(_el: unknown, config: { type: string }) {
        made.push(config.type);
      }
    },
    document: {
      getElementById: (id: string) => (html.includes(`<canvas id="${id}">`) ? { id } : null),
    },
  });
  vm.runInContext(draw, ctx);
  return made;
}

test('`renderHtml()` is self-contained and its chart script runs against chart.js', (t: TestContext) => {
  t.plan(4);
  const html = renderHtml(syntheticReport());
  t.assert.ok(!/<script[^>]+src=/.test(html), 'no external scripts');
  t.assert.match(html, /Chart\.js v4/);
  t.assert.match(html, /<canvas id="tput-hello">/);
  t.assert.deepStrictEqual(drawnCharts(html), ['bar', 'bar', 'line', 'line', 'line']);
});

test('`renderHtml()` draws the process count only where a server changed it', (t: TestContext) => {
  const report = syntheticReport();
  t.assert.ok(!renderHtml(report).includes('<canvas id="procs-hello">'));
  const c = report.cells[0] as Cell;
  c.runs = c.runs.map((r) => ({
    ...r,
    procs: 3,
    procsMin: 2,
    samples: r.samples.map((p, i) => ({ ...p, procs: 2 + i })),
  }));
  const html = renderHtml(report);
  t.assert.match(html, /<canvas id="procs-hello">/);
  t.assert.deepStrictEqual(drawnCharts(html), ['bar', 'bar', 'line', 'line', 'line', 'line']);
});

test('`explainScenario()` names the CPU as the limit of a saturated server', (t: TestContext) => {
  t.plan(2);
  const report = syntheticReport();
  const why = explainScenario(report, report.scenarios[0] as BenchReport['scenarios'][number]);
  t.assert.strictEqual(why.length, 2);
  t.assert.match(
    why[0] as string,
    /^cask: CPU-bound \(95% of its core, 100 µs of CPU per request\)/,
  );
});

test('`explainScenario()` says when a server scaled its processes during the run', (t: TestContext) => {
  const report = syntheticReport();
  const sc = report.scenarios[0] as BenchReport['scenarios'][number];
  t.assert.doesNotMatch(explainScenario(report, sc).join('\n'), /as it scaled/);
  const c = report.cells[0] as Cell;
  c.runs = c.runs.map((r) => ({ ...r, procs: 5, procsMin: 2 }));
  t.assert.match(
    explainScenario(report, sc)[0] as string,
    /^cask: .*it ran 2 to 5 processes \(front \+ workers\) as it scaled, so slot use is not given/,
  );
});

/** A slow-readers run of one server: `ok` fast answers and `timeouts` fast timeouts in the
 * window, 16 slow readers still connected, `util` of the slots held by streamed bodies. */
function readersRun(ok: number, timeouts: number, util: number): RunResult {
  const r = run(Math.max(ok, 1) / 1.5, 2);
  return {
    ...r,
    windowS: 1.5,
    requests: ok,
    throughput: ok / 1.5,
    sent: ok + timeouts,
    errorCount: timeouts,
    errors: timeouts > 0 ? { timeout: timeouts } : {},
    cpu: { ...r.cpu, avg: 30 },
    inside: r.inside === null ? null : { ...r.inside, utilization: util },
    slow: { clients: 16, completed: 0, connected: 16, open: 16, bytesIn: 16 * 70_000, errors: {} },
  };
}

function slowReadersReport(): BenchReport {
  const report = syntheticReport();
  report.scenarios = [
    {
      name: 'slow-readers',
      title: 'Slow readers',
      question: 'Do slow readers block the others?',
      shape: '16 slow readers; a fast request unanswered after 1 s is a timeout',
      app: 'big_response:application',
      kind: 'slow',
      durationS: 1.5,
      warmupS: 1,
      repeat: 2,
    },
  ];
  const cellOf = (server: string, runs: RunResult[]): Cell => ({
    ...cell(server, 'slow-readers', [1]),
    runs,
    summary: summarizeCell(runs),
  });
  report.cells = [
    cellOf('cask', [readersRun(3000, 0, 0.1), readersRun(2800, 0, 0.1)]),
    cellOf('waitress', [readersRun(0, 2, 1), readersRun(1, 1, 1)]),
  ];
  return report;
}

test('`scenarioTable()` of a slow scenario gives the fast client’s share answered and verdict', (t: TestContext) => {
  t.plan(3);
  const report = slowReadersReport();
  const table = scenarioTable(report, report.scenarios[0] as BenchReport['scenarios'][number]);
  t.assert.deepStrictEqual(table.columns.slice(6, 9), ['answered', 'fast clients', 'errors']);
  t.assert.deepStrictEqual(
    table.rows.map((r) => [r[0], r[6], r[7], r[8]]),
    [
      ['cask', '100%', 'served', '0'],
      ['waitress', '25%', 'blocked', '2 (timeout 2)'],
    ],
  );
  t.assert.deepStrictEqual(headlineTable(report).rows, [
    ['cask', '1,933 served'],
    ['waitress', '0 blocked'],
  ]);
});

test('`renderMarkdown()` states the served rule and what the slow readers received', (t: TestContext) => {
  t.plan(2);
  const md = renderMarkdown(slowReadersReport());
  t.assert.match(
    md,
    /"served" when at least 90% of their requests .* answered within their timeout/,
  );
  t.assert.match(
    md,
    /- cask: 0\/16, 16 still connected at the end, 68\.4 KB received per connection; 0\/16/,
  );
});

test('`explainScenario()` says why slow readers blocked a thread pool and not a buffering front', (t: TestContext) => {
  t.plan(2);
  const report = slowReadersReport();
  const [cask, waitress] = explainScenario(
    report,
    report.scenarios[0] as BenchReport['scenarios'][number],
  );
  t.assert.match(
    cask as string,
    /^cask: fast client served \(100% of its requests answered in time, p99 [\d.]+ ms\): 16 slow readers did not hold its 4 slots, because the Python worker passes the response over its link to the Node front/,
  );
  t.assert.match(
    waitress as string,
    /^waitress: fast client blocked \(25% of its requests answered in time\): 16 slow readers for 4 slots, each held while the server wrote to its reader \(slots used 100%\), so the fast request waited for one, because a worker thread appends the response .* waits while more than 16 MB is buffered/,
  );
});
