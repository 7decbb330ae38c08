// One line per server and scenario saying what limited it, from the numbers alone: CPU
// saturated, all worker slots busy (requests queue outside the app), the listen backlog
// overflowing (connect timeouts, 1 s SYN retries), the generator at its limit, or a busy
// machine. These are the readings docs/bench.md teaches, applied mechanically. For
// slow-readers it first says whether the fast client was served, and why: the readers
// against the server's slots, and how that server writes a response nobody takes.
import type { BenchReport, Cell, CellSummary, ScenarioInfo } from '../results.js';
import { fixed, int, isNum, ms, pct } from './format.js';
import { NOISE_CPU, processesChanged } from './tables.js';

function slotsText(slots: number | null | undefined): string {
  return slots === 1 ? 'its only slot' : `all ${int(slots)} slots`;
}

/** How each server writes a response its client does not take, which decides whether a
 * slow reader holds the thread or process that ran the app. From each server's source:
 * waitress channel.py write_soon() and outbuf_high_watermark, twisted.web.wsgi
 * _WSGIResponse.write() (no back-pressure, said there), tornado.wsgi.WSGIContainer
 * (joins the body before writing), uWSGI --socket-timeout (default 4 s). */
const WRITE_PATH: Readonly<Record<string, string>> = {
  cask: 'the Python worker passes the response over its link to the Node front, which writes it from its event loop, and the worker waits for a slow reader only if the front stops taking the response before it has all of it',
  'gunicorn-sync':
    'the worker process writes the response itself with blocking sends, one request per process',
  'gunicorn-gthread': 'the pool thread that ran the app writes the response with blocking sends',
  'gunicorn-gevent':
    'each connection has its own greenlet, and a send that would block parks only that greenlet',
  uwsgi:
    'the worker thread writes the response itself, waiting up to its socket timeout (4 s) for each write to move',
  waitress:
    "a worker thread appends the response to the connection's output buffer (memory, then temporary files), which the I/O thread drains, and before each append it waits while more than 16 MB is buffered, so a body streamed in pieces holds it and a one-piece body does not",
  cheroot: 'a pool thread owns each connection and writes the response with blocking sends',
  twisted:
    'a pool thread runs the app and hands each piece to the reactor, which buffers it in memory without limit',
  tornado:
    'the app runs on the IOLoop, which joins the whole body and buffers it in memory for the connection',
  werkzeug: 'a new thread per connection writes its response with blocking sends',
  wsgiref: 'its only thread writes each response with blocking sends',
  mod_wsgi:
    'a daemon thread sends the response to an Apache thread that writes it to the client with blocking sends, and waits once the socket between them is full',
};

/** slow-readers: whether the fast client was served, and why, from the server's slots, the
 * inside view (a streamed response counts as in the app until the server closes it) and
 * how the server writes responses. */
function readersWhy(report: BenchReport, c: Cell, s: CellSummary): string | null {
  const f = s.fastClients;
  if (f === undefined) return null;
  const slots = report.servers.find((x) => x.name === c.server)?.slots;
  const readers = c.runs[0]?.slow?.clients;
  const n = readers === undefined ? 'the slow readers' : `${int(readers)} slow readers`;
  const how = WRITE_PATH[c.server];
  const because = how === undefined ? '' : `, because ${how}`;
  const util = s.inside?.utilization;
  const head = `fast client ${f.verdict} (${pct(f.answered)} of its requests answered in time`;
  if (f.verdict === 'served') {
    const p99 = `, p99 ${ms(s.latency.p99)} ms)`;
    if (slots === null || slots === undefined)
      return `${head}${p99}: ${n} held a thread or greenlet each and the fast client got another of its own${because}`;
    return `${head}${p99}: ${n} did not hold its ${int(slots)} slot${slots === 1 ? '' : 's'}${because}`;
  }
  const held = isNum(util) && util >= 0.9 ? ` (slots used ${pct(util)})` : '';
  if (slots === null || slots === undefined)
    return `${head}) though it has no fixed number of slots${how === undefined ? '' : `: ${how}`}`;
  return `${head}): ${n} for ${int(slots)} slot${slots === 1 ? '' : 's'}, each held while the server wrote to its reader${held}, so the fast request waited for one${because}`;
}

export function explainCell(report: BenchReport, sc: ScenarioInfo, c: Cell): string | null {
  const s = c.summary;
  if (c.status !== 'ok' || s === null || sc.kind === 'sweep' || sc.kind === 'httperf') return null;
  const serverCores = Math.max(1, report.settings.serverCpus.length);
  const why: string[] = [];
  const i = s.inside;
  const cpuBound = isNum(s.cpu) && s.cpu >= 90 * serverCores;
  const busyMachine = isNum(s.otherCpu) && s.otherCpu > NOISE_CPU;
  const nearCpu = !cpuBound && busyMachine && isNum(s.cpu) && s.cpu >= 70 * serverCores;
  // slow-readers: whether the fast client was served comes first; it is the question.
  const readers = sc.name.startsWith('slow-readers') ? readersWhy(report, c, s) : null;
  if (readers !== null) why.push(readers);
  if (s.generatorBound) why.push('the load generator was at its CPU limit: the server may do more');
  if (cpuBound)
    why.push(
      `CPU-bound (${fixed(s.cpu, 0)}% of ${serverCores === 1 ? 'its core' : `${serverCores} cores`}, ${int(s.perRequestUs)} µs of CPU per request)`,
    );
  if (nearCpu)
    why.push(
      `probably CPU-bound (${fixed(s.cpu, 0)}% CPU while other processes competed for the machine)`,
    );
  if (readers === null && i !== null && isNum(i.utilization) && i.utilization >= 0.9) {
    why.push(
      `${slotsText(report.servers.find((x) => x.name === c.server)?.slots)} busy (${pct(i.utilization)}): requests wait for a worker — ${isNum(i.queueP50) ? `queue wait p50 ${ms(i.queueP50)} ms (its /metrics), ` : ''}app p50 ${ms(i.appP50)} ms, client p50 ${ms(s.latency.p50)} ms`,
    );
  } else if (
    sc.kind === 'closed' &&
    !cpuBound &&
    !nearCpu &&
    !s.generatorBound &&
    i !== null &&
    isNum(i.outsideP50) &&
    isNum(s.latency.p50) &&
    s.latency.p50 > 1 &&
    i.outsideP50 > 0.8 * s.latency.p50
  ) {
    why.push(
      `${pct(i.outsideP50 / s.latency.p50)} of the median latency is spent outside the app with CPU and slots to spare: the server's own connection handling is the limit`,
    );
  }
  const connectTimeouts = s.errors['connect-timeout'] ?? 0;
  if (
    connectTimeouts > 0 ||
    (isNum(s.latency.max) && s.latency.max > 1000 && isNum(s.latency.p99) && s.latency.p99 < 200)
  ) {
    why.push(
      'connections dropped from a full listen backlog (1 s SYN retries show as ~1 s maximum latency)',
    );
  }
  const errorTotal = Object.values(s.errors).reduce((a, b) => a + b, 0);
  if (errorTotal > 0 && connectTimeouts < errorTotal)
    why.push(
      `${int(errorTotal)} errors per repeat (${Object.keys(s.errors)
        .filter((k) => (s.errors[k] ?? 0) > 0)
        .join(', ')})`,
    );
  if (s.closesWithoutNotice || s.retries > 0) {
    why.push(
      'it closes each connection after its response without saying `Connection: close`, so every request pays for a new connection (the client only learns by trying to reuse it)',
    );
  }
  if (sc.kind === 'slow' && readers === null) {
    // Slow clients hold connections, threads or processes before the app is ever called,
    // which the inside view cannot see; the drop against the same server's `hello` run
    // (keep-alive, no slow clients) is what they cost.
    const hello = report.cells.find((x) => x.server === c.server && x.scenario === 'hello');
    const base = hello?.summary?.throughput.median;
    if (s.throughput.median === 0)
      why.push('slow clients held every worker: the fast clients got nothing');
    else if (isNum(base) && base > 0) {
      const kept = s.throughput.median / base;
      why.push(
        kept >= 0.5
          ? `the fast clients kept ${pct(kept)} of its \`hello\` throughput`
          : cpuBound || nearCpu
            ? `serving the slow clients took its CPU: the fast clients got ${pct(kept)} of its \`hello\` throughput`
            : `slow clients held its workers or connections: the fast clients got ${pct(kept)} of its \`hello\` throughput`,
      );
    }
  }
  const scaled = c.runs.find(processesChanged);
  if (scaled !== undefined)
    why.push(
      `it ran ${scaled.procsMin} to ${scaled.procs} processes (front + workers) as it scaled, so slot use is not given`,
    );
  if (busyMachine) why.push(`other processes used ${fixed(s.otherCpu, 0)}% of a CPU meanwhile`);
  return why.length === 0 ? null : `${c.server}: ${why.join('; ')}.`;
}

export function explainScenario(report: BenchReport, sc: ScenarioInfo): string[] {
  return report.cells
    .filter((c) => c.scenario === sc.name)
    .map((c) => explainCell(report, sc, c))
    .filter((x): x is string => x !== null);
}
