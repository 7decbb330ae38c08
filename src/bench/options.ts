// Command-line options of `cask bench`, parsed with node:util parseArgs and validated once
// into a frozen object (unknown options and bad values are errors, exit status 2).
import { parseArgs } from 'node:util';
import { DEFAULT_SCENARIOS, SCENARIOS } from './scenarios.js';
import { SERVERS } from './servers.js';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface BenchOptions {
  servers: string[];
  scenarios: string[];
  app: string | null;
  chdir: string | null;
  path: string | null;
  headers: Array<[string, string]>;
  out: string;
  workers: number;
  threads: number;
  python: string;
  serverCpus: string | undefined;
  loadCpus: string | undefined;
  pin: boolean;
  durationS: number | null;
  warmupS: number | null;
  repeat: number | null;
  connections: number | undefined;
  rate: number | undefined;
  timeoutS: number;
  load: 'builtin' | 'wrk';
  inside: boolean;
  sweep: { requests: number; seconds: number; start: number; step: number; max: number };
  httperf: { start: number; step: number; max: number; conns: number; seconds: number };
  quiet: boolean;
  keepTmp: boolean;
  /** --note: said in the report's notes (the state of the machine, what else ran). */
  notes: string[];
  argv: string[];
}

export const USAGE = `Usage: cask bench [options]
       cask bench report RESULTS.json [--out DIR]

Runs the same scenarios against every WSGI server installed here (Cask included), with
the same CPU budget, and writes results.json, results.md and results.html.

Selection
  --servers LIST        comma-separated servers (default: all available)
  --scenarios LIST      comma-separated scenarios (default: all; with --app, those that
                        work on any app)
  --list                list servers (with availability) and scenarios, then exit
Your own app
  --app MODULE:CALLABLE app to load instead of the bundled ones (or path/to/file.py:app)
  --chdir DIR           directory to import --app from (default: current directory)
  --path PATH           path to request (default: /)
  --header 'Name: v'    extra request header (repeatable)
Budget
  -w, --workers N       worker processes per server (default 1)
  --threads N           threads per worker (default 4)
  --server-cpus LIST    CPUs for the server, e.g. 1 or 2-3 (default: second half)
  --load-cpus LIST      CPUs for the load generator (default: first half)
  --no-pin              do not pin anything with taskset
  --python PATH         Python for the Python servers and Cask's workers
                        (default /usr/bin/python3)
Timing (the defaults keep the whole matrix, every server, to about 20 minutes on 2 cores)
  --duration S          measured seconds per repeat
  --warmup S            warm-up seconds before each repeat
  --repeat N            repeats per server and scenario (medians are reported)
  --connections N       closed-loop connections (overrides each scenario's)
  --rate N              open-loop rate of the mixed scenario (req/s, default 20)
  --timeout S           request timeout (default 10)
  --sweep-requests N    requests per rate in rate-sweep (default 10000)
  --sweep-seconds S     cap on each rate's schedule: fewer requests when 10000 would
                        take longer (default 2.5; 0 = no cap)
  --sweep-start N       first rate (default 1000)
  --sweep-step N        rate increment (default 1000)
  --sweep-max N         last rate tried (default 20000)
  --httperf-start N     httperf scenario: first rate (default 1000)
  --httperf-step N      rate increment (default 1000)
  --httperf-max N       last rate tried (default 15000)
  --httperf-conns N     connections per rate, at most (default 10000)
  --httperf-seconds S   seconds of traffic per rate when fewer connections than
                        --httperf-conns give it (default 2)
Output
  --out DIR             output directory (default ./cask-bench/<timestamp>)
  --load builtin|wrk    load generator for the closed-loop GET scenarios (default builtin)
  --no-inside           do not wrap the app in the inside-view middleware
  --keep-tmp            keep the temp directory (server logs, inside records)
  --note TEXT           a note for the report, e.g. what else the machine was running
                        (repeatable)
  -q, --quiet           no progress line
  -h, --help            this help
`;

function positiveInt(name: string, v: string | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`Option --${name} must be an integer >= ${min}: ${v}`);
  return n;
}

function seconds(name: string, v: string | undefined, allowZero: boolean): number | null {
  if (v === undefined) return null;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0))
    throw new UsageError(
      `Option --${name} must be a ${allowZero ? 'non-negative' : 'positive'} number of seconds: ${v}`,
    );
  return n;
}

function list(name: string, v: string | undefined, known: readonly string[]): string[] | null {
  if (v === undefined) return null;
  const items = v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const it of items) {
    if (!known.includes(it))
      throw new UsageError(`Unknown ${name}: ${it} (known: ${known.join(', ')})`);
  }
  if (items.length === 0)
    throw new UsageError(`Option --${name}s needs at least one name: ${JSON.stringify(v)}`);
  return items;
}

function stamp(d = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}_${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

export const OPTION_SPEC = {
  servers: { type: 'string' },
  scenarios: { type: 'string' },
  list: { type: 'boolean' },
  app: { type: 'string' },
  chdir: { type: 'string' },
  path: { type: 'string' },
  header: { type: 'string', multiple: true },
  workers: { type: 'string', short: 'w' },
  threads: { type: 'string' },
  'server-cpus': { type: 'string' },
  'load-cpus': { type: 'string' },
  'no-pin': { type: 'boolean' },
  python: { type: 'string' },
  duration: { type: 'string' },
  warmup: { type: 'string' },
  repeat: { type: 'string' },
  connections: { type: 'string' },
  rate: { type: 'string' },
  timeout: { type: 'string' },
  'sweep-requests': { type: 'string' },
  'sweep-seconds': { type: 'string' },
  'sweep-start': { type: 'string' },
  'sweep-step': { type: 'string' },
  'sweep-max': { type: 'string' },
  'httperf-start': { type: 'string' },
  'httperf-step': { type: 'string' },
  'httperf-max': { type: 'string' },
  'httperf-conns': { type: 'string' },
  'httperf-seconds': { type: 'string' },
  out: { type: 'string', short: 'o' },
  load: { type: 'string' },
  'no-inside': { type: 'boolean' },
  'keep-tmp': { type: 'boolean' },
  note: { type: 'string', multiple: true },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type ParsedValues = ReturnType<
  typeof parseArgs<{ options: typeof OPTION_SPEC; allowPositionals: true }>
>['values'];

export function parseBenchArgs(argv: string[]): { values: ParsedValues; positionals: string[] } {
  try {
    return parseArgs({ args: argv, options: OPTION_SPEC, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

export function resolveOptions(values: ParsedValues, argv: string[]): BenchOptions {
  const serverNames = SERVERS.map((s) => s.name);
  const scenarioNames = SCENARIOS.map((s) => s.name);
  const app = values.app ?? null;
  if (app !== null && !/^[^:]+(:[\w.]+)?$/.test(app))
    throw new UsageError(`Option --app must look like module:callable or file.py:callable: ${app}`);
  const path = values.path ?? null;
  if (path !== null && !path.startsWith('/'))
    throw new UsageError(`Option --path must start with /: ${path}`);
  let scenarios = list('scenario', values.scenarios, scenarioNames);
  if (app !== null) {
    const bad = (scenarios ?? []).filter(
      (n) => SCENARIOS.find((s) => s.name === n)?.ownApp === false,
    );
    if (bad.length > 0)
      throw new UsageError(
        `Scenario needs its bundled app and cannot run with --app: ${bad.join(', ')}`,
      );
    scenarios ??= SCENARIOS.filter((s) => s.ownApp && s.optIn !== true).map((s) => s.name);
  }
  const headers: Array<[string, string]> = (values.header ?? []).map((h) => {
    const i = h.indexOf(':');
    if (i <= 0 || /[\r\n]/.test(h))
      throw new UsageError(`Option --header must be 'Name: value': ${h}`);
    return [h.slice(0, i).trim(), h.slice(i + 1).trim()];
  });
  const load = values.load ?? 'builtin';
  if (load !== 'builtin' && load !== 'wrk')
    throw new UsageError(`Option --load must be builtin or wrk: ${load}`);
  const rate = values.rate === undefined ? undefined : Number(values.rate);
  if (rate !== undefined && !(rate > 0))
    throw new UsageError(`Option --rate must be a positive number: ${values.rate}`);
  const sweep = {
    requests: positiveInt('sweep-requests', values['sweep-requests']) ?? 10_000,
    seconds: seconds('sweep-seconds', values['sweep-seconds'], true) ?? 2.5,
    start: positiveInt('sweep-start', values['sweep-start']) ?? 1000,
    step: positiveInt('sweep-step', values['sweep-step']) ?? 1000,
    max: positiveInt('sweep-max', values['sweep-max']) ?? 20_000,
  };
  if (sweep.max < sweep.start)
    throw new UsageError(`Option --sweep-max must not be below --sweep-start: ${sweep.max}`);
  const httperf = {
    start: positiveInt('httperf-start', values['httperf-start']) ?? 1000,
    step: positiveInt('httperf-step', values['httperf-step']) ?? 1000,
    max: positiveInt('httperf-max', values['httperf-max']) ?? 15_000,
    conns: positiveInt('httperf-conns', values['httperf-conns']) ?? 10_000,
    seconds: seconds('httperf-seconds', values['httperf-seconds'], false) ?? 2,
  };
  if (httperf.max < httperf.start)
    throw new UsageError(`Option --httperf-max must not be below --httperf-start: ${httperf.max}`);
  return Object.freeze({
    servers:
      list('server', values.servers, serverNames) ??
      SERVERS.filter((s) => s.optIn !== true).map((s) => s.name),
    scenarios: scenarios ?? [...DEFAULT_SCENARIOS],
    app,
    chdir: values.chdir ?? null,
    path,
    headers,
    out: values.out ?? `cask-bench/${stamp()}`,
    workers: positiveInt('workers', values.workers) ?? 1,
    threads: positiveInt('threads', values.threads) ?? 4,
    python: values.python ?? '/usr/bin/python3',
    serverCpus: values['server-cpus'],
    loadCpus: values['load-cpus'],
    pin: values['no-pin'] !== true,
    durationS: seconds('duration', values.duration, false),
    warmupS: seconds('warmup', values.warmup, true),
    repeat: positiveInt('repeat', values.repeat) ?? null,
    connections: positiveInt('connections', values.connections),
    rate,
    timeoutS: seconds('timeout', values.timeout, false) ?? 10,
    load,
    inside: values['no-inside'] !== true,
    sweep,
    httperf,
    quiet: values.quiet === true,
    keepTmp: values['keep-tmp'] === true,
    notes: values.note ?? [],
    argv,
  });
}
