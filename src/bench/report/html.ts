// results.html: one self-contained file (chart.js inlined, data embedded) with the same
// tables as results.md plus charts: throughput per server, latency percentiles, CPU and
// memory over time, requests inside the app over time, and the rate sweep.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { BenchReport, Cell, RunResult } from '../results.js';
import { explainScenario } from './explain.js';
import { method } from './markdown.js';
import {
  CEILING,
  BY_CPU,
  ceilingTable,
  cellOf,
  headlineTable,
  headlineUnit,
  httperfMatrix,
  httperfTable,
  idleTable,
  memoryTable,
  MEMORY_SCENARIOS,
  processesChanged,
  ranServers,
  ratioTable,
  scenariosTable,
  scenarioTable,
  serversTable,
  sweepTable,
  type Table,
} from './tables.js';

/** chart.js's UMD build, which defines a global `Chart` when inlined in a <script>. */
export function chartJsSource(): string {
  const require = createRequire(import.meta.url);
  const main = require.resolve('chart.js'); // …/chart.js/dist/chart.cjs
  return readFileSync(join(dirname(main), 'chart.umd.js'), 'utf8');
}

function esc(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

function htmlTable(t: Table): string {
  const head = t.columns
    .map((c, i) => `<th class="${t.align[i] === 'r' ? 'r' : ''}">${esc(c)}</th>`)
    .join('');
  const rows = t.rows
    .map(
      (r) =>
        `<tr>${r.map((c, i) => `<td class="${t.align[i] === 'r' ? 'r' : ''}">${esc(c)}</td>`).join('')}</tr>`,
    )
    .join('\n');
  return `<div class="tw"><table><thead><tr>${head}</tr></thead><tbody>\n${rows}\n</tbody></table></div>`;
}

/** The run whose throughput is the median: its time series stand for the cell. */
function medianRun(cell: Cell): RunResult | undefined {
  const sorted = cell.runs.slice().sort((a, b) => a.throughput - b.throughput);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** Whether any server changed its number of processes in a scenario (autoscaling). */
function processesVary(report: BenchReport, scenario: string): boolean {
  return report.cells.some((c) => c.scenario === scenario && c.runs.some(processesChanged));
}

/** Only what the charts draw (no histograms), to keep the file small. */
function chartData(report: BenchReport): unknown {
  const servers = ranServers(report);
  return {
    servers,
    scenarios: report.scenarios.map((sc) => ({
      name: sc.name,
      kind: sc.kind,
      unit: headlineUnit(sc),
      cells: servers.flatMap((srv) => {
        const c = cellOf(report, srv, sc.name);
        if (c === undefined || c.status !== 'ok' || c.summary === null) return [];
        const run = medianRun(c);
        const s = c.summary;
        return [
          {
            server: srv,
            tput: [s.throughput.median, s.throughput.min, s.throughput.max],
            lat:
              sc.kind === 'open'
                ? [
                    s.latencyByTag.short?.p50,
                    s.latencyByTag.short?.p99,
                    s.latencyByTag.short?.max,
                    s.latencyByTag.slow?.p50,
                  ]
                : [s.latency.p50, s.latency.p90, s.latency.p99, s.latency.max],
            cpu: run?.samples.map((p) => [p.t / 1000, p.cpu]) ?? [],
            rss: run?.samples.map((p) => [p.t / 1000, Math.round(p.rss / 1048576)]) ?? [],
            procs: run?.samples.map((p) => [p.t / 1000, p.procs ?? null]) ?? [],
            inApp: run?.inside?.timeline ?? [],
            sweep: (c.sweep ?? []).map((st) => [
              st.rate,
              Math.round(st.replyRate),
              st.latency.p99,
              st.errorCount,
            ]),
          },
        ];
      }),
    })),
  };
}

// Client-side script (plain JS, runs in the browser) that draws every chart from DATA.
const DRAW = String.raw`
const PALETTE = ['#d62728','#1f77b4','#2ca02c','#ff7f0e','#9467bd','#8c564b','#e377c2','#7f7f7f','#bcbd22','#17becf','#393b79','#637939'];
const color = (srv) => PALETTE[DATA.servers.indexOf(srv) % PALETTE.length];
function chart(id, config) {
  const el = document.getElementById(id);
  if (el) new Chart(el, config);
}
const common = { animation: false, responsive: true, maintainAspectRatio: false, plugins: { legend: { position: 'bottom' } } };
function series(cells, key, label, yTitle) {
  return { type: 'line', data: { datasets: cells.map((c) => ({ label: c.server, data: c[key].map(([x, y]) => ({ x, y })), borderColor: color(c.server), backgroundColor: color(c.server), pointRadius: 0, borderWidth: 1.5 })) },
    options: { ...common, scales: { x: { type: 'linear', title: { display: true, text: 'seconds into the measured window' } }, y: { beginAtZero: true, title: { display: true, text: yTitle } } } } };
}
for (const sc of DATA.scenarios) {
  const cells = sc.cells;
  const labels = cells.map((c) => c.server);
  if (sc.kind === 'sweep') {
    chart('sweep-rate-' + sc.name, { type: 'line', data: { datasets: cells.map((c) => ({ label: c.server, data: c.sweep.map((s) => ({ x: s[0], y: s[1] })), borderColor: color(c.server), backgroundColor: color(c.server) })) },
      options: { ...common, scales: { x: { type: 'linear', title: { display: true, text: 'offered req/s' } }, y: { beginAtZero: true, title: { display: true, text: 'replies/s' } } } } });
    chart('sweep-p99-' + sc.name, { type: 'line', data: { datasets: cells.map((c) => ({ label: c.server, data: c.sweep.map((s) => ({ x: s[0], y: s[2] })), borderColor: color(c.server), backgroundColor: color(c.server) })) },
      options: { ...common, scales: { x: { type: 'linear', title: { display: true, text: 'offered req/s' } }, y: { type: 'logarithmic', title: { display: true, text: 'p99 latency (ms)' } } } } });
    continue;
  }
  chart('tput-' + sc.name, { type: 'bar', data: { labels, datasets: [
      { label: 'median req/s', data: cells.map((c) => c.tput[0]), backgroundColor: cells.map((c) => color(c.server)) },
      { label: 'min–max of repeats', data: cells.map((c) => [c.tput[1], c.tput[2]]), backgroundColor: 'rgba(0,0,0,0.25)', barPercentage: 0.25 } ] },
    options: { ...common, scales: { x: { stacked: false }, y: { beginAtZero: true, title: { display: true, text: 'requests per second' } } } } });
  const latLabels = sc.kind === 'open' ? ['short p50', 'short p99', 'short max', 'slow p50'] : ['p50', 'p90', 'p99', 'max'];
  chart('lat-' + sc.name, { type: 'bar', data: { labels, datasets: latLabels.map((l, i) => ({ label: l, data: cells.map((c) => c.lat[i] ?? null), backgroundColor: ['#9ecae1', '#4292c6', '#08519c', '#08306b'][i] })) },
    options: { ...common, scales: { y: { type: 'logarithmic', title: { display: true, text: 'latency (ms, log scale)' } } } } });
  chart('cpu-' + sc.name, series(cells, 'cpu', 'CPU', 'server CPU (% of one core)'));
  chart('rss-' + sc.name, series(cells, 'rss', 'RSS', 'server RSS (MB)'));
  chart('procs-' + sc.name, series(cells, 'procs', 'processes', 'server processes (front + workers)'));
  const inApp = cells.map((c) => ({ ...c, inAppXY: c.inApp.map((v, i) => [i / 10, v]) }));
  chart('inapp-' + sc.name, series(inApp, 'inAppXY', 'in app', 'requests inside the app'));
}
`;

function canvas(id: string, title: string): string {
  return `<figure><figcaption>${esc(title)}</figcaption><div class="cv"><canvas id="${id}"></canvas></div></figure>`;
}

export function renderHtml(report: BenchReport, chartJs = chartJsSource()): string {
  const body: string[] = [];
  body.push(`<h1>cask bench — ${esc(report.startedAt.slice(0, 16).replace('T', ' '))} UTC</h1>`);
  body.push(
    `<ul>${method(report)
      .map((l) => `<li>${esc(l.replace(/^- /, '')).replace(/`([^`]+)`/g, '<code>$1</code>')}</li>`)
      .join('')}</ul>`,
  );
  for (const n of report.notes) body.push(`<p class="note">${esc(n)}</p>`);
  body.push('<h2>Headline</h2>', htmlTable(headlineTable(report)));
  const ratios = ratioTable(report);
  if (ratios !== null)
    body.push(
      `<p>Relative to Cask (&gt; 1× is better than Cask; where the load generator was at its limit in either run, ⚠, the ratio is of CPU time per request, Cask's over the server's, marked “${BY_CPU}”):</p>`,
      htmlTable(ratios),
    );
  const ceiling = ceilingTable(report);
  if (ceiling !== null)
    body.push(
      `<p>Against the ceiling, ${CEILING} (node:net with a fixed response, no HTTP parser, no Python; 1× would cost no more than Node's own accept, read, write and close; where the load generator was at its limit in either run, ⚠, the ratio is of CPU time per request, the ceiling's over the server's, marked “${BY_CPU}”):</p>`,
      htmlTable(ceiling),
    );
  body.push('<h2>Scenarios</h2>', htmlTable(scenariosTable(report)));
  for (const sc of report.scenarios) {
    body.push(
      `<h2 id="${esc(sc.name)}">${esc(sc.name)} — ${esc(sc.title)}</h2>`,
      `<p><em>${esc(sc.question)}</em> ${esc(sc.shape)}.</p>`,
    );
    if (sc.kind === 'httperf') {
      const matrix = httperfMatrix(report, sc);
      if (matrix !== null)
        body.push(
          '<p>Connection time average / maximum (ms) at each offered rate where the server held it; ✗ and the reply rate where it did not (the sweep stops there).</p>',
          htmlTable(matrix),
        );
      for (const c of report.cells.filter((x) => x.scenario === sc.name)) {
        body.push(
          `<h3>${esc(c.server)}</h3>`,
          c.status === 'ok'
            ? htmlTable(httperfTable(c))
            : `<p>${esc(c.status)}: ${esc(c.error ?? '')}</p>`,
        );
      }
      continue;
    }
    if (sc.kind === 'sweep') {
      body.push(
        `<div class="grid">${canvas(`sweep-rate-${sc.name}`, 'Replies per second against the offered rate')}${canvas(`sweep-p99-${sc.name}`, 'p99 latency against the offered rate')}</div>`,
      );
      for (const srv of ranServers(report)) {
        const cell = cellOf(report, srv, sc.name);
        if (cell === undefined) continue;
        body.push(
          `<h3>${esc(srv)}</h3>`,
          cell.status === 'ok'
            ? htmlTable(sweepTable(cell))
            : `<p>${esc(cell.status)}: ${esc(cell.error ?? '')}</p>`,
        );
      }
      continue;
    }
    if (sc.kind === 'idle') {
      body.push(
        "<p>The front is the process the bench started (Cask's Node front; for other servers their master or only process); KB per connection is what holding the connections added to it.</p>",
        htmlTable(idleTable(report, sc)),
      );
      continue;
    }
    body.push(htmlTable(scenarioTable(report, sc)));
    const memory = MEMORY_SCENARIOS.includes(sc.name) ? memoryTable(report, sc.name) : null;
    if (memory !== null)
      body.push(
        "<p>Memory under this load: the process group's peak RSS, its first process's alone (Cask's Node front, a master, or the only process), and RSS / PSS of each process read once in the middle of the load:</p>",
        htmlTable(memory),
      );
    const why = explainScenario(report, sc);
    if (why.length > 0)
      body.push(
        `<ul class="why">${why.map((w) => `<li>${esc(w).replace(/`([^`]+)`/g, '<code>$1</code>')}</li>`).join('')}</ul>`,
      );
    body.push(
      `<div class="grid">${canvas(`tput-${sc.name}`, 'Throughput (median of repeats, with min–max)')}${canvas(`lat-${sc.name}`, 'Latency percentiles (median of repeats)')}` +
        `${canvas(`cpu-${sc.name}`, 'Server CPU over time (median run)')}${canvas(`rss-${sc.name}`, 'Server memory over time (median run)')}` +
        `${canvas(`inapp-${sc.name}`, 'Requests inside the app (inside view, 100 ms buckets)')}` +
        `${processesVary(report, sc.name) ? canvas(`procs-${sc.name}`, 'Server processes over time (median run; past the load window: idle)') : ''}</div>`,
    );
  }
  body.push('<h2>Servers</h2>', htmlTable(serversTable(report)));
  body.push('<h2>Commands</h2><ul>');
  const seen = new Set<string>();
  for (const c of report.cells) {
    if (c.command === '' || seen.has(c.server)) continue;
    seen.add(c.server);
    body.push(
      `<li><b>${esc(c.server)}</b>: <code>${esc(c.command)}</code>${c.loadCommand === null ? '' : `<br>load: <code>${esc(c.loadCommand)}</code>`}</li>`,
    );
  }
  body.push('</ul>');
  // JSON inside <script>: escape '<' so a value can never close the element.
  const data = JSON.stringify(chartData(report)).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>cask bench ${esc(report.startedAt.slice(0, 10))}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#222}
h2{margin-top:2.5rem;border-bottom:1px solid #ddd}
.tw{overflow-x:auto}table{border-collapse:collapse;margin:.5rem 0}th,td{padding:.25rem .55rem;border-bottom:1px solid #eee;white-space:nowrap}
th{background:#f6f6f6;text-align:left}.r{text-align:right}code{font-size:12px;word-break:break-all}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:1rem}
figure{margin:0}figcaption{font-weight:600;margin:.5rem 0}.cv{position:relative;height:300px}.note{background:#fff6d6;padding:.5rem}
</style>
<script>${chartJs}</script>
</head><body>
${body.join('\n')}
<script>const DATA = ${data};
${DRAW}</script>
</body></html>
`;
}
