// results.md: the summary a human reads first, rendered from results.json alone.
import type { BenchReport, RunResult } from '../results.js';
import { SERVED_SHARE } from '../summarize.js';
import { shellQuote } from '../launch.js';
import { explainScenario } from './explain.js';
import { duration, errorsText, fixed, int, mb, pct } from './format.js';
import {
  CEILING,
  BY_CPU,
  ceilingTable,
  cellOf,
  headlineTable,
  httperfMatrix,
  httperfTable,
  idleTable,
  legsTable,
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

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function markdownTable(t: Table): string {
  const head = `| ${t.columns.map(escapeCell).join(' | ')} |`;
  const rule = `|${t.align.map((a) => (a === 'r' ? '---:' : '---')).join('|')}|`;
  const rows = t.rows.map((r) => `| ${r.map(escapeCell).join(' | ')} |`);
  return [head, rule, ...rows].join('\n');
}

export function method(report: BenchReport): string[] {
  const m = report.machine;
  const st = report.settings;
  return [
    `- Machine: ${m.cpuModel}, ${m.cpus} CPUs, ${mb(m.memoryBytes)} MB RAM; ${m.os}, kernel ${m.kernel}; Node ${m.node}; Python ${m.python} (${st.python}).`,
    `- Budget for every server: ${st.workers} worker process(es) × ${st.threads} thread(s), server CPUs ${st.serverCpus.join(',')}, load generator CPUs ${st.loadCpus.join(',')} — ${st.pinning}.`,
    `- Load: ${st.load === 'wrk' ? 'wrk for the closed-loop GET scenarios, the built-in generator for the rest' : 'built-in generator (raw sockets, HDR histograms, open loop measured from the intended send time)'}; request timeout ${st.timeoutS} s.`,
    `- Each server is started afresh for each scenario, answers a readiness request, gets a warm-up, then the measured repeats; numbers are medians of the repeats and "spread" is (max − min) / median across them.`,
    `- CPU and RSS: the server's whole process tree from /proc, 10 samples per second (RSS counts shared pages once per process). "CPU µs/req" is server CPU time divided by requests.`,
    `- Inside view${st.inside ? '' : ' (off for this run)'}: a WSGI middleware records each request's time in the app; "in app avg/max" is how many requests were inside the app at once, "slots used" that average over the server's processes × threads, "outside app" the client's p50 minus the app's p50 (queueing, parsing, transfer). Cask is not wrapped: its own \`/metrics\` is scraped four times a second on a loopback admin listener and the first and last scrapes inside the window give its app time, queue wait ("queue wait p50": from the request being complete to a worker taking it) and slots used (busy over available thread-seconds); that view has no peak, so Cask's "max" shows —.`,
    `- ⚠ marks a run where the load generator used ≥ 80% of its CPU: the number is a floor, not the server's limit. † marks a run during which other processes on the machine used more than a quarter of a CPU: compare it with care. ‡ after the error count: the server closed keep-alive connections after a response without saying \`Connection: close\`; the built-in generator resent the first such requests, then opened a new connection per request (wrk instead counts a read error each time).`,
    ...(report.scenarios.some((s) => s.kind === 'slow')
      ? [
          `- Slow scenarios: the fast clients were "served" when at least ${pct(SERVED_SHARE)} of their requests in the measured window were answered within their timeout (given with each scenario's load), "blocked" otherwise; "answered" is that share, median of the repeats. A request still waiting when the window closed counts as unanswered.`,
        ]
      : []),
    `- Command: \`cask bench ${st.argv.map(shellQuote).join(' ')}\`; run started ${report.startedAt}, took ${duration(report.elapsedS)}.`,
  ];
}

/** "48 bytes", "70.3 KB": what a slow reader took stays in bytes, what a slow client read
 * through is in KB. */
function bytesText(n: number): string {
  return n < 1024 ? `${int(n)} bytes` : `${fixed(n / 1024)} KB`;
}

/** One repeat's slow clients: "40/212, 16 still connected at the end, 48 bytes received per
 * connection, errors 3 (reset 3)" (the middle parts are absent from older results). */
export function slowText(s: RunResult['slow']): string {
  if (s === undefined) return '—';
  const errors = Object.values(s.errors).reduce((a, b) => a + b, 0);
  const open = s.open === undefined ? '' : `, ${int(s.open)} still connected at the end`;
  const each =
    s.bytesIn === undefined || s.connected === 0
      ? ''
      : `, ${bytesText(s.bytesIn / s.connected)} received per connection`;
  return `${int(s.completed)}/${int(s.connected)}${open}${each}${errors > 0 ? `, errors ${errorsText(errors, s.errors)}` : ''}`;
}

export function renderMarkdown(report: BenchReport): string {
  const out: string[] = [];
  out.push(`# cask bench — ${report.startedAt.slice(0, 16).replace('T', ' ')} UTC`, '');
  out.push(...method(report), '');
  for (const n of report.notes) out.push(`> ${n}`, '');
  out.push(
    '## Headline',
    '',
    'Median of the repeats; see each scenario for spread, latency, errors and resources.',
    '',
  );
  out.push(markdownTable(headlineTable(report)), '');
  const ratios = ratioTable(report);
  if (ratios !== null) {
    out.push(
      `Relative to Cask (> 1× is better than Cask; for mixed, the inverse of the short-request p99). Where the load generator was at its limit in either run (⚠), requests per second measure the generator, not the servers, and the ratio is instead Cask's CPU time per request divided by the server's, marked "${BY_CPU}":`,
      '',
    );
    out.push(markdownTable(ratios), '');
  }
  const ceiling = ceilingTable(report);
  if (ceiling !== null) {
    out.push(
      `Against the ceiling, ${CEILING} (a node:net server answering every request head with a fixed response, no HTTP parser, no Python): each server's number divided by its number in the same run, so 1× would cost no more than Node's own accept, read, write and close. Where the load generator was at its limit in either run (⚠), requests per second measure the generator, not the servers, and the ratio is instead the ceiling's CPU time per request divided by the server's, marked "${BY_CPU}":`,
      '',
    );
    out.push(markdownTable(ceiling), '');
  }
  out.push('## Scenarios', '', markdownTable(scenariosTable(report)), '');
  for (const sc of report.scenarios) {
    out.push(`## ${sc.name} — ${sc.title}`, '', `*${sc.question}* ${sc.shape}.`, '');
    if (sc.kind === 'httperf') {
      const matrix = httperfMatrix(report, sc);
      if (matrix !== null)
        out.push(
          'Connection time average / maximum (ms) at each offered rate where the server held it; ✗ and the reply rate where it did not (the sweep stops there). ⚠: httperf fell more than 100 ms behind its schedule; †: other processes used more than a quarter of a CPU.',
          '',
          markdownTable(matrix),
          '',
        );
      for (const c of report.cells.filter((x) => x.scenario === sc.name)) {
        if (c.status !== 'ok') {
          out.push(`- ${c.server} ${c.status}: ${(c.error ?? '').split('\n')[0]}`, '');
          continue;
        }
        out.push(
          `### ${c.server} — holds ${int(c.summary?.sustainedRate)} req/s`,
          '',
          markdownTable(httperfTable(c)),
          '',
        );
      }
      continue;
    }
    if (sc.kind === 'sweep') {
      for (const srv of ranServers(report)) {
        const cell = cellOf(report, srv, sc.name);
        if (cell === undefined) continue;
        out.push(
          `### ${srv}${cell.summary?.sustainedRate !== undefined ? ` — sustained ${int(cell.summary.sustainedRate)} req/s` : ''}`,
          '',
        );
        if (cell.status !== 'ok') out.push(`${cell.status}: ${cell.error ?? ''}`, '');
        else out.push(markdownTable(sweepTable(cell)), '');
      }
      continue;
    }
    if (sc.kind === 'idle') {
      out.push(
        'The front is the process the bench started (Cask\'s Node front; for other servers their master or only process); "KB per connection" is what holding the connections added to it.',
        '',
        markdownTable(idleTable(report, sc)),
        '',
      );
      continue;
    }
    out.push(markdownTable(scenarioTable(report, sc)), '');
    for (const c of report.cells.filter((x) => x.scenario === sc.name && x.status !== 'ok')) {
      out.push(`- ${c.server} ${c.status}: ${(c.error ?? '').split('\n')[0]}`);
    }
    const memory = MEMORY_SCENARIOS.includes(sc.name) ? memoryTable(report, sc.name) : null;
    if (memory !== null)
      out.push(
        '',
        `Memory under this load: the process group's peak RSS, its first process's alone (Cask's Node front, a master, or the only process), and RSS / PSS of each process read once in the middle of the load (PSS shares each page among the processes that map it):`,
        '',
        markdownTable(memory),
      );
    if (sc.name === 'autoscale') {
      out.push(
        '',
        'Server processes (front + workers) per repeat, during the load and in the idle time after it:',
        '',
      );
      for (const c of report.cells.filter((x) => x.scenario === sc.name && x.status === 'ok'))
        out.push(`- ${c.server}: ${c.runs.map((r) => procsText(r)).join('; ')}`);
    }
    if (sc.kind === 'h2') {
      for (const c of report.cells.filter((x) => x.scenario === sc.name && x.legs !== undefined)) {
        if (c.status === 'skipped') continue;
        out.push('', `${c.server}, by protocol (the headline row above is h2c):`, '');
        out.push(markdownTable(legsTable(c)));
      }
    }
    const slowInfo = report.cells.filter(
      (c) => c.scenario === sc.name && c.runs.some((r) => r.slow !== undefined),
    );
    if (slowInfo.length > 0) {
      out.push(
        '',
        'Slow clients per repeat (responses read to the end / connections opened, how many were still connected when the run ended, bytes each connection received, errors):',
        '',
      );
      for (const c of slowInfo)
        out.push(`- ${c.server}: ${c.runs.map((r) => slowText(r.slow)).join('; ')}`);
    }
    const why = explainScenario(report, sc);
    if (why.length > 0) out.push('', 'What limited each server:', '', ...why.map((w) => `- ${w}`));
    out.push('');
  }
  out.push('## Servers', '', markdownTable(serversTable(report)), '');
  out.push(
    '## Commands',
    '',
    'Each server as it was started (PORT and temp paths vary per run; CASKBENCH_INSIDE_DIR is the per-run records directory):',
    '',
  );
  const seen = new Set<string>();
  for (const c of report.cells) {
    if (c.command === '' || seen.has(c.server)) continue;
    seen.add(c.server);
    out.push(`- **${c.server}** (${c.scenario}): \`${c.command}\``);
    if (c.loadCommand !== null) out.push(`  - load: \`${c.loadCommand}\``);
  }
  out.push('');
  return out.join('\n');
}

/** "min 2, max 5 processes" for one run, with the count over time when it changed and,
 * when the run was watched after its load, where the load stopped. */
export function procsText(r: {
  procs: number;
  procsMin?: number;
  windowS?: number;
  observedAfterS?: number;
  samples: Array<{ t: number; procs?: number }>;
}): string {
  const steps: string[] = [];
  const stopMs =
    r.observedAfterS !== undefined && r.windowS !== undefined ? r.windowS * 1000 : Infinity;
  let last: number | undefined;
  let stopped = false;
  for (const p of r.samples) {
    if (!stopped && p.t > stopMs) {
      stopped = true;
      steps.push(`load stopped at ${(stopMs / 1000).toFixed(1)} s`);
    }
    if (p.procs === undefined || p.procs === last) continue;
    last = p.procs;
    steps.push(`${p.procs} at ${(p.t / 1000).toFixed(1)} s`);
  }
  const head = `min ${r.procsMin ?? r.procs}, max ${r.procs} processes`;
  return processesChanged(r) ? `${head} (${steps.join(', ')})` : head;
}
