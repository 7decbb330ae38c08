// One line per server and scenario saying what limited it, from the numbers alone: CPU
// saturated, all worker slots busy (requests queue outside the app), the listen backlog
// overflowing (connect timeouts, 1 s SYN retries), the generator at its limit, or a busy
// machine. These are the readings docs/bench.md teaches, applied mechanically.
import type { BenchReport, Cell, ScenarioInfo } from '../results.js';
import { fixed, int, isNum, ms, pct } from './format.js';
import { NOISE_CPU, processesChanged } from './tables.js';

function slotsText(slots: number | null | undefined): string {
  return slots === 1 ? 'its only slot' : `all ${int(slots)} slots`;
}

export function explainCell(report: BenchReport, sc: ScenarioInfo, c: Cell): string | null {
  const s = c.summary;
  if (c.status !== 'ok' || s === null || sc.kind === 'sweep') return null;
  const serverCores = Math.max(1, report.settings.serverCpus.length);
  const why: string[] = [];
  const i = s.inside;
  const cpuBound = isNum(s.cpu) && s.cpu >= 90 * serverCores;
  const busyMachine = isNum(s.otherCpu) && s.otherCpu > NOISE_CPU;
  const nearCpu = !cpuBound && busyMachine && isNum(s.cpu) && s.cpu >= 70 * serverCores;
  if (s.generatorBound) why.push('the load generator was at its CPU limit: the server may do more');
  if (cpuBound)
    why.push(
      `CPU-bound (${fixed(s.cpu, 0)}% of ${serverCores === 1 ? 'its core' : `${serverCores} cores`}, ${int(s.perRequestUs)} µs of CPU per request)`,
    );
  if (nearCpu)
    why.push(
      `probably CPU-bound (${fixed(s.cpu, 0)}% CPU while other processes competed for the machine)`,
    );
  if (i !== null && isNum(i.utilization) && i.utilization >= 0.9) {
    why.push(
      `${slotsText(report.servers.find((x) => x.name === c.server)?.slots)} busy (${pct(i.utilization)}): requests wait for a worker — app p50 ${ms(i.appP50)} ms, client p50 ${ms(s.latency.p50)} ms`,
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
  if (sc.kind === 'slow') {
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
