// httperf's constant-rate sweep, the classic WSGI server benchmark: at each rate R,
// `httperf --server 127.0.0.1 --port P --rate R --num-conns N` opens N connections at R per
// second, one request each, and prints what came back. A server holds R when every reply
// arrives, none errs, and the reply rate stays within 3% of R. httperf is run as it is,
// pinned to the load CPUs; this file builds its command line, reads its summary, and
// decides whether a rate was held.
import { execFile } from 'node:child_process';

export interface HttperfTools {
  httperf: string;
  taskset: string | null;
  cpus: readonly number[];
}

export interface HttperfPlan {
  /** First rate, step and last rate tried (req/s). */
  start: number;
  step: number;
  max: number;
  /** Connections per rate: `seconds` of traffic at that rate, at most `conns`. */
  conns: number;
  seconds: number;
}

export interface HttperfRun {
  host: string;
  port: number;
  rate: number;
  conns: number;
  /** Seconds httperf waits for a server reaction before counting a client timeout. */
  timeoutS: number;
  /** Path asked for ('/' is httperf's default and is not passed). */
  path: string;
  headers: ReadonlyArray<[string, string]>;
}

/** What httperf printed, the figures the report uses. Times in ms. */
export interface HttperfOutput {
  connections: number;
  requests: number;
  replies: number;
  durationS: number;
  /** Most connections open at once ("<=N concurrent connections"). */
  concurrent: number;
  requestRate: number;
  connectionTime: { min: number; avg: number; max: number; median: number; stddev: number };
  connectMs: number;
  responseMs: number;
  status: Record<string, number>;
  /** httperf's own CPU (s), and in % of the test's duration (always near 100%: httperf
   *  polls without sleeping). */
  cpuUserS: number;
  cpuSystemS: number;
  cpuPct: number;
  /** Most connections httperf opened at once to catch up with its schedule (1 when it kept
   *  up): a burst of b at rate R means it was b/R seconds late. */
  burst: number;
  errorTotal: number;
  /** Non-zero error counts by httperf's name: client-timo, connrefused, fd-unavail, … */
  errors: Record<string, number>;
}

/** Tolerance of the reply rate against the offered rate for a rate to count as held. */
export const HOLD_TOLERANCE = 0.03;

/** Connections at one rate: `seconds` of traffic, capped at `conns` so fast rates stay short
 *  (and at no fewer than one). */
export function httperfConns(plan: Pick<HttperfPlan, 'conns' | 'seconds'>, rate: number): number {
  return Math.max(1, Math.min(plan.conns, Math.round(rate * plan.seconds)));
}

/** The rates of the sweep, start to max by step. */
export function httperfRates(plan: Pick<HttperfPlan, 'start' | 'step' | 'max'>): number[] {
  const out: number[] = [];
  for (let r = plan.start; r <= plan.max; r += plan.step) out.push(r);
  return out;
}

export function httperfArgv(run: HttperfRun, tools: HttperfTools): string[] {
  const argv = [
    tools.httperf,
    '--server',
    run.host,
    '--port',
    String(run.port),
    '--rate',
    String(run.rate),
    '--num-conns',
    String(run.conns),
    '--timeout',
    String(run.timeoutS),
  ];
  if (run.path !== '/') argv.push('--uri', run.path);
  for (const [n, v] of run.headers) argv.push('--add-header', `${n}: ${v}\\n`);
  const pin =
    tools.taskset !== null && tools.cpus.length > 0
      ? [tools.taskset, '-c', tools.cpus.join(',')]
      : [];
  return [...pin, ...argv];
}

function num(text: string, re: RegExp): number {
  const m = re.exec(text);
  return m === null ? Number.NaN : Number(m[1]);
}

/** Read httperf's summary (the lines from "Total:" to "Errors:"). */
export function parseHttperf(stdout: string): HttperfOutput {
  const total =
    /Total: connections (\d+) requests (\d+) replies (\d+) test-duration ([\d.]+) s/.exec(stdout);
  if (total === null) throw new Error(`httperf printed no summary: ${stdout.slice(0, 300)}`);
  const ct =
    /Connection time \[ms\]: min ([\d.]+) avg ([\d.]+) max ([\d.]+) median ([\d.]+) stddev ([\d.]+)/.exec(
      stdout,
    );
  const status: Record<string, number> = {};
  const st = /Reply status: (.*)/.exec(stdout);
  for (const m of (st?.[1] ?? '').matchAll(/(\w+)=(\d+)/g)) status[m[1] as string] = Number(m[2]);
  const errors: Record<string, number> = {};
  let errorTotal = 0;
  for (const line of stdout.split('\n').filter((l) => l.startsWith('Errors:'))) {
    for (const m of line.slice('Errors:'.length).matchAll(/([\w-]+) (\d+)/g)) {
      const [name, n] = [m[1] as string, Number(m[2])];
      if (name === 'total') errorTotal = n;
      else if (n > 0) errors[name] = n;
    }
  }
  const c = (i: number): number => (ct === null ? Number.NaN : Number(ct[i]));
  return {
    connections: Number(total[1]),
    requests: Number(total[2]),
    replies: Number(total[3]),
    durationS: Number(total[4]),
    concurrent: num(stdout, /<=(\d+) concurrent connections/),
    requestRate: num(stdout, /Request rate: ([\d.]+) req\/s/),
    connectionTime: { min: c(1), avg: c(2), max: c(3), median: c(4), stddev: c(5) },
    connectMs: num(stdout, /Connection time \[ms\]: connect ([\d.]+)/),
    responseMs: num(stdout, /Reply time \[ms\]: response ([\d.]+)/),
    status,
    cpuUserS: num(stdout, /CPU time \[s\]: user ([\d.]+)/),
    cpuSystemS: num(stdout, /CPU time \[s\]: user [\d.]+ system ([\d.]+)/),
    cpuPct: num(stdout, /CPU time \[s\]: .*total ([\d.]+)%/),
    burst: num(stdout, /Maximum connect burst length: (\d+)/),
    errorTotal,
    errors,
  };
}

/** Reply rate over the whole test (httperf's own per-5-second samples need runs of 5 s
 *  or more; a step here is shorter). */
export function replyRate(out: Pick<HttperfOutput, 'replies' | 'durationS'>): number {
  return out.durationS > 0 ? out.replies / out.durationS : 0;
}

/** Whether `rate` was held with `conns` connections, and if not, why. A reply with a status
 *  of 400 or more counts as an error, as a missing one does. */
export function httperfVerdict(
  rate: number,
  conns: number,
  out: HttperfOutput,
): { held: boolean; why: string } {
  const whys: string[] = [];
  if (out.replies < conns) whys.push(`${conns - out.replies} of ${conns} replies missing`);
  const bad = (out.status['4xx'] ?? 0) + (out.status['5xx'] ?? 0);
  if (out.errorTotal > 0) {
    const kinds = Object.entries(out.errors)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    whys.push(`${out.errorTotal} errors${kinds === '' ? '' : ` (${kinds})`}`);
  }
  if (bad > 0) whys.push(`${bad} replies with status ≥ 400`);
  const rr = replyRate(out);
  if (Math.abs(rr - rate) > rate * HOLD_TOLERANCE)
    whys.push(`replies at ${Math.round(rr)}/s for ${rate}/s offered`);
  return { held: whys.length === 0, why: whys.join(', ') };
}

/** How late httperf may fall behind its schedule before a step is marked (ms): the same
 *  bound as the built-in generator's in rate-sweep. */
export const HTTPERF_LAG_MS = 100;

/** How late httperf fell behind its schedule (ms), from its longest connect burst. */
export function httperfLagMs(rate: number, out: Pick<HttperfOutput, 'burst'>): number {
  return Number.isFinite(out.burst) && rate > 0 ? (Math.max(0, out.burst - 1) / rate) * 1000 : 0;
}

/** Whether httperf itself fell behind. Its request rate cannot tell (it is counted over the
 *  whole test, which a slow server stretches), nor can its CPU (it polls without sleeping,
 *  so always near 100%); the connects it had to open in one burst to catch up can. */
export function httperfBehind(rate: number, out: Pick<HttperfOutput, 'burst'>): boolean {
  return httperfLagMs(rate, out) > HTTPERF_LAG_MS;
}

/** Run httperf once; resolves with its stdout. It stops by itself (every connection is
 *  answered or times out); the time limit is a safety net against a hung httperf. */
export function execHttperf(
  argv: string[],
  limitMs: number,
  onPid?: (pid: number) => void,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    const child = execFile(
      cmd as string,
      args,
      { timeout: limitMs, maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        if (err !== null && !stdout.includes('Total: connections'))
          reject(new Error(`httperf failed: ${stderr.trim() || err.message}`));
        else resolve(stdout);
      },
    );
    if (child.pid !== undefined) onPid?.(child.pid); // taskset execs httperf in the same pid
  });
}
