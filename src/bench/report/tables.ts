// The report's tables as plain data (header + rows of strings), built once from
// results.json and rendered by both markdown.ts and html.ts, so the two never disagree.
import type { BenchReport, Cell, RunResult, ScenarioInfo } from '../results.js';
import type { ProcMemory } from '../sample.js';
import { errorsText, fixed, int, isNum, mb, ms, pct } from './format.js';

/** Other processes using more than this much CPU (% of one core) make a run suspect. */
export const NOISE_CPU = 25;

export interface Table {
  columns: string[];
  /** 'r' for numeric columns. */
  align: Array<'l' | 'r'>;
  rows: string[][];
}

/** Whether a run's server changed its number of processes (it autoscaled). */
export function processesChanged(r: { procs: number; procsMin?: number }): boolean {
  return (r.procsMin ?? r.procs) !== r.procs;
}

export function cellOf(report: BenchReport, server: string, scenario: string): Cell | undefined {
  return report.cells.find((c) => c.server === server && c.scenario === scenario);
}

/** Servers that produced at least one result, in table order. */
export function ranServers(report: BenchReport): string[] {
  return report.servers
    .map((s) => s.name)
    .filter((n) => report.cells.some((c) => c.server === n && c.status === 'ok'));
}

/** The one number that stands for a cell in the headline, and whether higher is better. */
export function headlineMetric(
  sc: ScenarioInfo,
  cell: Cell | undefined,
): { value: number; text: string; higherBetter: boolean } {
  const nan = {
    value: Number.NaN,
    text: cell?.status === 'failed' ? 'failed' : '—',
    higherBetter: true,
  };
  if (cell === undefined || cell.status !== 'ok' || cell.summary === null) return nan;
  const s = cell.summary;
  if (sc.kind === 'sweep' || sc.kind === 'httperf')
    return {
      value: s.sustainedRate ?? Number.NaN,
      text: `${int(s.sustainedRate)}`,
      higherBetter: true,
    };
  if (sc.kind === 'idle') {
    const run = cell.runs[0];
    const front = run?.rss.rootPeak ?? Number.NaN;
    const idle = run?.idle;
    const short = idle !== undefined && idle.held < idle.target ? ` (held ${int(idle.held)})` : '';
    // A server that let most connections go did not hold them: its memory is no comparison.
    const heldMost = idle !== undefined && idle.held >= 0.9 * idle.target;
    return {
      value: heldMost ? front : Number.NaN,
      text: `${mb(front)}${short}`,
      higherBetter: false,
    };
  }
  if (sc.kind === 'open') {
    const p99 = s.latencyByTag.short?.p99 ?? s.latency.p99;
    return { value: p99, text: ms(p99), higherBetter: false };
  }
  if (sc.name === 'upload' || sc.name === 'download') {
    const bytes =
      sc.name === 'download'
        ? cell.runs.map((r) => r.bytesPerS)
        : cell.runs.map((r) => r.throughput * 10 * 1024 * 1024);
    const sorted = bytes.slice().sort((a, b) => a - b);
    const med = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
    return { value: med, text: mb(med), higherBetter: true };
  }
  const verdict = s.fastClients === undefined ? '' : ` ${s.fastClients.verdict}`;
  return {
    value: s.throughput.median,
    text: `${int(s.throughput.median)}${verdict}`,
    higherBetter: true,
  };
}

export function headlineUnit(sc: ScenarioInfo): string {
  if (sc.kind === 'sweep') return 'sustained req/s';
  if (sc.kind === 'httperf') return 'held req/s';
  if (sc.kind === 'idle') return 'front RSS MB';
  if (sc.kind === 'open') return 'short p99 ms';
  if (sc.name === 'upload' || sc.name === 'download') return 'MB/s';
  if (sc.kind === 'slow') return 'fast req/s';
  if (sc.kind === 'ws') return 'messages/s';
  return 'req/s';
}

/** ⚠ generator at its limit, † busy machine (see the method notes). */
function marks(cell: Cell | undefined): string {
  const s = cell?.summary;
  if (s === null || s === undefined) return '';
  return `${s.generatorBound ? ' ⚠' : ''}${isNum(s.otherCpu) && s.otherCpu > NOISE_CPU ? ' †' : ''}`;
}

export function headlineTable(report: BenchReport): Table {
  const servers = ranServers(report);
  return {
    columns: ['server', ...report.scenarios.map((s) => `${s.name} (${headlineUnit(s)})`)],
    align: ['l', ...report.scenarios.map(() => 'r' as const)],
    rows: servers.map((srv) => [
      srv,
      ...report.scenarios.map((sc) => {
        const cell = cellOf(report, srv, sc.name);
        return `${headlineMetric(sc, cell).text}${marks(cell)}`;
      }),
    ]),
  };
}

/** Marks a ratio taken from CPU time per request instead of the headline figure. */
export const BY_CPU = 'by CPU';

/** One server's standing against another in one scenario (relativeTo). */
export interface Relative {
  /** Above 1 is better than the other server. */
  value: number;
  /** Taken from CPU time per request: the load generator was at its limit (relativeTo). */
  byCpu: boolean;
}

/**
 * `server`'s headline figure over `other`'s in scenario `sc`, inverted for lower-is-better
 * figures so that above 1 always means better than `other`; undefined when either has no
 * figure. When the load generator of a closed-loop scenario was at its limit in either run
 * (⚠), both numbers are the generator's, not the servers' (a Node generator opening a
 * connection per request cannot outrun uWSGI, nor a Node server doing the same), so their
 * ratio says nothing; CPU time per request still does, and the ratio is then `other`'s CPU
 * per request over `server`'s, marked byCpu (undefined without both CPU figures). The rate
 * sweeps keep their held rates: a generator that fell behind at the top rate did not at the
 * rates below it, where the held rate was found.
 */
export function relativeTo(
  sc: ScenarioInfo,
  server: Cell | undefined,
  other: Cell | undefined,
): Relative | undefined {
  const a = headlineMetric(sc, server);
  const b = headlineMetric(sc, other);
  if (!isNum(a.value) || !isNum(b.value) || a.value === 0 || b.value === 0) return undefined;
  const s = server?.summary;
  const o = other?.summary;
  if (
    sc.kind === 'closed' &&
    a.higherBetter &&
    (s?.generatorBound === true || o?.generatorBound === true)
  ) {
    const mine = s?.perRequestUs;
    const theirs = o?.perRequestUs;
    if (!isNum(mine) || !isNum(theirs) || mine <= 0 || theirs <= 0) return undefined;
    return { value: theirs / mine, byCpu: true };
  }
  return { value: a.higherBetter ? a.value / b.value : b.value / a.value, byCpu: false };
}

/** A ratio cell of the report's tables: 0.35×, or 0.35× by CPU; '—' for none. */
function relativeText(r: Relative | undefined): string {
  if (r === undefined) return '—';
  return `${r.value.toFixed(2)}×${r.byCpu ? ` ${BY_CPU}` : ''}`;
}

/** Each server's headline numbers divided by Cask's (for "higher is better" metrics;
 * inverted for latency, so > 1 always means better than Cask), or its CPU per request
 * against Cask's where the generator limited either run (relativeTo). */
export function ratioTable(report: BenchReport, base = 'cask'): Table | null {
  const servers = ranServers(report);
  if (!servers.includes(base)) return null;
  return {
    columns: ['server', ...report.scenarios.map((s) => s.name)],
    align: ['l', ...report.scenarios.map(() => 'r' as const)],
    rows: servers.map((srv) => [
      srv,
      ...report.scenarios.map((sc) =>
        relativeText(relativeTo(sc, cellOf(report, srv, sc.name), cellOf(report, base, sc.name))),
      ),
    ]),
  };
}

/** The server that stands for the ceiling: node:net with a fixed response (servers.ts). */
export const CEILING = 'raw-net';

/** Each server's headline number in the connection scenarios divided by the raw-net
 * ceiling's in the same run (1× would be a server that costs no more than Node's own
 * accept, read, write and close), or the ratio of CPU per request where the generator
 * limited either run (relativeTo); null when the ceiling did not run. Only scenarios
 * whose headline is higher-is-better take part. */
export function ceilingTable(report: BenchReport, ceiling = CEILING): Table | null {
  const servers = ranServers(report);
  if (!servers.includes(ceiling)) return null;
  const scenarios = report.scenarios.filter((sc) => {
    if (sc.ceiling !== true) return false;
    const top = headlineMetric(sc, cellOf(report, ceiling, sc.name));
    return top.higherBetter && isNum(top.value) && top.value > 0;
  });
  if (scenarios.length === 0) return null;
  return {
    columns: ['server', ...scenarios.map((s) => s.name)],
    align: ['l', ...scenarios.map(() => 'r' as const)],
    rows: servers
      .filter((srv) => srv !== ceiling)
      .map((srv) => [
        srv,
        ...scenarios.map((sc) =>
          relativeText(
            relativeTo(sc, cellOf(report, srv, sc.name), cellOf(report, ceiling, sc.name)),
          ),
        ),
      ])
      // Servers that ran none of these scenarios (the ASGI servers) have no row.
      .filter((row) => row.slice(1).some((v) => v !== '—')),
  };
}

/** Slow scenarios: the measured fast clients, whether they were served (summarize.ts
 * fastVerdict), and what the server spent meanwhile. */
const SLOW_COLUMNS = [
  'server',
  'fast req/s',
  'spread',
  'p50 ms',
  'p99 ms',
  'max ms',
  'answered',
  'fast clients',
  'errors',
  'CPU %',
  'RSS MB',
  'in app avg/max',
  'slots used',
];

function inApp(c: Cell): string {
  const i = c.summary?.inside;
  if (i === null || i === undefined) return '—';
  return `${fixed(i.avgInApp)} / ${int(i.maxInApp)}`;
}

/** The per-scenario table: throughput with spread, latency, errors, resources, inside. */
export function scenarioTable(report: BenchReport, sc: ScenarioInfo): Table {
  const cells = report.cells.filter((c) => c.scenario === sc.name);
  const ok = cells.filter((c) => c.status === 'ok' && c.summary !== null);
  const tagged = sc.kind === 'open';
  const slow = sc.kind === 'slow';
  ok.sort((a, b) => {
    const ma = headlineMetric(sc, a);
    const mbv = headlineMetric(sc, b);
    const d = (isNum(mbv.value) ? mbv.value : -Infinity) - (isNum(ma.value) ? ma.value : -Infinity);
    return ma.higherBetter ? d : -d;
  });
  const plainColumns = tagged
    ? [
        'server',
        'replies/s',
        'spread',
        'short p50',
        'short p99',
        'short max',
        'slow p50',
        'errors',
        'CPU %',
        'RSS MB',
        'in app avg/max',
        'slots used',
      ]
    : [
        'server',
        // A WebSocket broadcast counts messages; its latency is a round's, its CPU per message.
        sc.kind === 'ws' ? 'messages/s' : 'req/s',
        'spread',
        'p50 ms',
        'p90 ms',
        'p99 ms',
        'max ms',
        'errors',
        'CPU %',
        sc.kind === 'ws' ? 'CPU µs/message' : 'CPU µs/req',
        'RSS MB',
        'in app avg/max',
        'slots used',
        'outside app p50 ms',
        'queue wait p50 ms',
      ];
  const columns = slow ? SLOW_COLUMNS : plainColumns;
  const rows = ok.map((c) => {
    const s = c.summary as NonNullable<Cell['summary']>;
    const errorTotal = Object.values(s.errors).reduce((a, b) => a + b, 0);
    const flag = `${s.generatorBound ? ' ⚠' : ''}${isNum(s.otherCpu) && s.otherCpu > NOISE_CPU ? ' †' : ''}`;
    const base = [c.server, `${int(s.throughput.median)}${flag}`, pct(s.throughput.relative)];
    const util = s.inside?.utilization;
    const retried = s.closesWithoutNotice || s.retries > 0 ? ' ‡' : '';
    const tail = [
      errorsText(errorTotal, s.errors) + retried,
      fixed(s.cpu, 0),
      mb(s.rssPeak),
      inApp(c),
      isNum(util) ? pct(util) : '—',
    ];
    if (tagged) {
      const sh = s.latencyByTag.short;
      const sl = s.latencyByTag.slow;
      return [...base, ms(sh?.p50), ms(sh?.p99), ms(sh?.max), ms(sl?.p50), ...tail];
    }
    if (slow) {
      const f = s.fastClients;
      const lat = [ms(s.latency.p50), ms(s.latency.p99), ms(s.latency.max)];
      return [...base, ...lat, pct(f?.answered), f?.verdict ?? '—', ...tail];
    }
    return [
      ...base,
      ms(s.latency.p50),
      ms(s.latency.p90),
      ms(s.latency.p99),
      ms(s.latency.max),
      tail[0] as string,
      tail[1] as string,
      int(s.perRequestUs),
      ...tail.slice(2),
      ms(s.inside?.outsideP50),
      ms(s.inside?.queueP50),
    ];
  });
  for (const c of cells.filter((x) => x.status !== 'ok')) {
    rows.push([c.server, c.status, ...columns.slice(2).map(() => '')]);
  }
  return { columns, align: columns.map((_, i) => (i === 0 ? 'l' : 'r')), rows };
}

/** httperf-style table of one server's rate sweep. */
export function sweepTable(cell: Cell): Table {
  const columns = [
    'offered req/s',
    'replies/s avg',
    'min',
    'max',
    'conn ms min',
    'avg',
    'max',
    'median',
    'connect p50 ms',
    'p99 ms',
    'errors',
    'CPU %',
    'result',
  ];
  const rows = (cell.sweep ?? []).map((st) => [
    int(st.rate),
    int(st.replyRate),
    int(st.replyRateMin),
    int(st.replyRateMax),
    ms(st.connectionTime.min),
    ms(st.connectionTime.avg),
    ms(st.connectionTime.max),
    ms(st.connectionTime.median),
    ms(st.connectTime.p50),
    ms(st.latency.p99),
    errorsText(st.errorCount, st.errors),
    fixed(st.cpu, 0),
    `${st.broke ? `broke: ${st.why}` : 'ok'}${st.maxLagMs > 100 ? ' ⚠' : ''}${isNum(st.otherCpu) && st.otherCpu > NOISE_CPU ? ' †' : ''}`,
  ]);
  return { columns, align: columns.map((_, i) => (i === 12 ? 'l' : 'r')), rows };
}

export function serversTable(report: BenchReport): Table {
  const columns = ['server', 'version', 'model', 'budget', 'status', 'notes'];
  const rows = report.servers.map((s) => [
    s.name,
    s.version,
    s.model,
    s.budget,
    s.skipped === null ? 'ran' : `skipped: ${s.skipped}`,
    s.notes,
  ]);
  return { columns, align: columns.map(() => 'l'), rows };
}

function sweepText(sw: BenchReport['settings']['sweep']): string {
  const cap = (sw.seconds ?? 0) > 0 ? `, or ${sw.seconds} s of traffic if less` : '';
  return `1 sweep: ${int(sw.start)}, ${int(sw.start + sw.step)} … req/s (up to ${int(sw.max)}), ${int(sw.requests)} requests per rate${cap}`;
}

function httperfText(h: BenchReport['settings']['httperf']): string {
  if (h === undefined) return '1 sweep';
  return `1 sweep: ${int(h.start)}, ${int(h.start + h.step)} … req/s (up to ${int(h.max)}), min(${int(h.conns)}, ${h.seconds} s × rate) connections per rate`;
}

/** The run whose throughput is the median of a cell's repeats (it stands for the cell). */
export function medianRun(cell: Cell): RunResult | undefined {
  const sorted = cell.runs.slice().sort((a, b) => a.throughput - b.throughput);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** The scenarios whose report gives each server's memory process by process: the hello app
 * under keep-alive load, plain and in Flask. */
export const MEMORY_SCENARIOS: readonly string[] = ['hello', 'flask-hello'];

/** "21.4 / 9.8" MB: RSS and PSS of one process. */
function rssPss(p: ProcMemory): string {
  return `${mb(p.rss)} / ${mb(p.pss)}`;
}

/**
 * Memory under a scenario's load, for every server: the whole process group's peak RSS (what
 * the 10-per-second samples saw), the first process's alone — Cask's Node front, a master, or
 * the only process — and, from one reading in the middle of the load (median repeat), RSS and
 * PSS of that process and of each of its workers. PSS divides shared pages among the processes
 * that map them, so forked workers are not counted twice.
 */
export function memoryTable(report: BenchReport, scenario: string): Table | null {
  const cells = report.cells.filter(
    (c) => c.scenario === scenario && c.status === 'ok' && c.runs.length > 0,
  );
  if (cells.length === 0) return null;
  const columns = [
    'server',
    'processes',
    'group RSS MB',
    'front RSS MB',
    'workers RSS MB',
    'front RSS / PSS MB',
    'each worker RSS / PSS MB',
  ];
  const rows = cells.map((c) => {
    const run = medianRun(c);
    const procs = run?.memory?.processes ?? [];
    const root = procs.find((p) => p.root);
    const workers = procs.filter((p) => !p.root);
    const frontPeak = Math.max(...c.runs.map((r) => r.rss.rootPeak ?? Number.NaN));
    const groupPeak = c.summary?.rssPeak ?? Number.NaN;
    return [
      c.server,
      procs.length > 0 ? int(procs.length) : int(run?.procs),
      mb(groupPeak),
      mb(frontPeak),
      workers.length > 0 ? mb(workers.reduce((s, p) => s + p.rss, 0)) : '—',
      root === undefined ? '—' : rssPss(root),
      workers.length > 0 ? workers.map(rssPss).join(', ') : '—',
    ];
  });
  return { columns, align: columns.map((_, i) => (i === 0 ? 'l' : 'r')), rows };
}

/** idle-10k: how many connections each server held, and its memory before and while
 * holding them (the first process: Cask's Node front). */
export function idleTable(report: BenchReport, sc: ScenarioInfo): Table {
  const columns = [
    'server',
    'held',
    'asked',
    'answered',
    'closed by server',
    'ramp s',
    'front RSS before MB',
    'front RSS holding MB',
    'KB per connection',
    'group RSS MB',
    'errors',
  ];
  const rows = report.cells
    .filter((c) => c.scenario === sc.name)
    .map((c) => {
      const run = c.runs[0];
      const idle = run?.idle;
      if (c.status !== 'ok' || run === undefined || idle === undefined)
        return [
          c.server,
          `${c.status}: ${(c.error ?? '').split('\n')[0]}`,
          ...columns.slice(2).map(() => ''),
        ];
      const before = run.rss.rootBefore ?? Number.NaN;
      const holding = run.rss.rootPeak ?? Number.NaN;
      const errors = Object.values(idle.errors).reduce((a, b) => a + b, 0);
      return [
        c.server,
        int(idle.held),
        int(idle.target),
        int(idle.answered),
        int(idle.closedByServer),
        fixed(idle.rampMs / 1000),
        mb(before),
        mb(holding),
        // Per connection only when it held (nearly) all of them: a server that closed most
        // would divide its baseline growth by a handful of connections.
        idle.held >= 0.9 * idle.target ? fixed((holding - before) / 1024 / idle.held) : '—',
        mb(run.rss.peak),
        errorsText(errors, idle.errors),
      ];
    });
  return { columns, align: columns.map((_, i) => (i === 0 ? 'l' : 'r')), rows };
}

/** One server's httperf sweep, a row per rate as httperf prints it, with the verdict. */
export function httperfTable(cell: Cell): Table {
  const columns = [
    'offered req/s',
    'conns',
    'replies',
    'replies/s',
    'sent/s',
    'conn ms min',
    'avg',
    'max',
    'median',
    'connect ms',
    'open at once',
    'errors',
    'CPU %',
    'CPU µs/reply',
    'result',
  ];
  const rows = (cell.httperf ?? []).map((st) => [
    int(st.rate),
    int(st.conns),
    int(st.replies),
    int(st.replyRate),
    int(st.requestRate),
    // httperf prints milliseconds with one decimal; more digits would be invented.
    fixed(st.connectionTime.min),
    fixed(st.connectionTime.avg),
    fixed(st.connectionTime.max),
    fixed(st.connectionTime.median),
    fixed(st.connectMs),
    int(st.concurrent),
    errorsText(st.errorCount, st.errors),
    fixed(st.cpu, 0),
    int(st.cpuPerReplyUs),
    `${st.held ? 'held' : `not held: ${st.why}`}${st.behind ? ' ⚠' : ''}${isNum(st.otherCpu) && st.otherCpu > NOISE_CPU ? ' †' : ''}`,
  ]);
  return { columns, align: columns.map((_, i) => (i === columns.length - 1 ? 'l' : 'r')), rows };
}

/** Every server's httperf sweep side by side: at each offered rate the average and maximum
 * connection time (ms) where the rate was held, the reply rate (✗) where it was not, and
 * the highest rate each server held. */
export function httperfMatrix(report: BenchReport, sc: ScenarioInfo): Table | null {
  const cells = ranServers(report)
    .map((srv) => cellOf(report, srv, sc.name))
    .filter((c): c is Cell => c !== undefined && c.status === 'ok' && c.httperf !== undefined);
  if (cells.length === 0) return null;
  const rates = [...new Set(cells.flatMap((c) => (c.httperf ?? []).map((s) => s.rate)))].sort(
    (a, b) => a - b,
  );
  const rows = rates.map((rate) => [
    int(rate),
    ...cells.map((c) => {
      const st = c.httperf?.find((s) => s.rate === rate);
      if (st === undefined) return '';
      const mark = `${st.behind ? ' ⚠' : ''}${isNum(st.otherCpu) && st.otherCpu > NOISE_CPU ? ' †' : ''}`;
      if (st.held)
        return `${fixed(st.connectionTime.avg)} / ${fixed(st.connectionTime.max)}${mark}`;
      const errors = st.errorCount > 0 ? `, ${int(st.errorCount)} errors` : '';
      return `✗ ${int(st.replyRate)}/s${errors}${mark}`;
    }),
  ]);
  rows.push(['holds up to', ...cells.map((c) => int(c.summary?.sustainedRate))]);
  return {
    columns: ['offered req/s', ...cells.map((c) => c.server)],
    align: ['r', ...cells.map(() => 'r' as const)],
    rows,
  };
}

export function scenariosTable(report: BenchReport): Table {
  const columns = ['scenario', 'question', 'load', 'app', 'warm-up', 'repeats × duration'];
  const rows = report.scenarios.map((s) => [
    s.name,
    s.question,
    s.shape,
    s.app,
    `${s.warmupS} s`,
    s.kind === 'sweep'
      ? sweepText(report.settings.sweep)
      : s.kind === 'httperf'
        ? httperfText(report.settings.httperf)
        : `${s.repeat} × ${s.durationS} s`,
  ]);
  return { columns, align: columns.map(() => 'l'), rows };
}

/** Median of a list of numbers (NaN when empty). */
function medianOf(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * `h2` scenarios: one row per leg (protocol), medians of its repeats, with each HTTP/2 leg's
 * throughput and p99 as a ratio of the HTTP/1.1 leg over the same transport (cleartext or TLS).
 */
export function legsTable(cell: Cell): Table {
  const rows: string[][] = [];
  const stats = new Map<string, { rps: number; p99: number }>();
  for (const leg of cell.legs ?? []) {
    const runs = cell.runs.filter((r) => r.leg === leg.name);
    stats.set(leg.name, {
      rps: medianOf(runs.map((r) => r.throughput)),
      p99: medianOf(runs.map((r) => r.latency.p99)),
    });
  }
  for (const leg of cell.legs ?? []) {
    const runs = cell.runs.filter((r) => r.leg === leg.name);
    if (leg.skipped !== null || runs.length === 0) {
      rows.push([leg.name, '—', '—', '—', '—', '—', '—', `skipped: ${leg.skipped ?? 'not run'}`]);
      continue;
    }
    const own = stats.get(leg.name) as { rps: number; p99: number };
    const tls = leg.name.endsWith('(TLS)');
    const base = stats.get(tls ? 'http/1.1 (TLS)' : 'http/1.1');
    const isBase = leg.name.startsWith('http/1.1');
    const ratio =
      isBase || base === undefined || !isNum(base.rps)
        ? '1×'
        : `${fixed(own.rps / base.rps, 2)}× req/s, ${fixed(own.p99 / base.p99, 2)}× p99`;
    const errors = runs.reduce((n, r) => n + r.errorCount, 0);
    rows.push([
      leg.name,
      leg.protocol || '?',
      int(own.rps),
      ms(medianOf(runs.map((r) => r.latency.p50))),
      ms(own.p99),
      int(medianOf(runs.map((r) => r.cpu.perRequestUs))),
      isBase ? '—' : ratio,
      errors > 0 ? `errors ${int(errors)}` : '',
    ]);
  }
  return {
    columns: [
      'leg',
      'negotiated',
      'req/s',
      'p50 ms',
      'p99 ms',
      'CPU µs/req',
      'vs HTTP/1.1',
      'notes',
    ],
    align: ['l', 'l', 'r', 'r', 'r', 'r', 'l', 'l'],
    rows,
  };
}
