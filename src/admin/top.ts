// `cask status` and `cask top`: read a running server's /stats from its admin listener and
// show it, once (status) or refreshed every second in the terminal (top, as uwsgitop does for
// uWSGI's stats server). Where the server is: `--url`, else the first `--admin-bind` and the
// `--admin-token` of the same flags, CASK_* variables and config file as `cask serve`.

import { request as httpRequest } from 'node:http';
import { formatBind, loadConfig } from '../config/index.js';
import { ConfigError } from '../errors.js';
import type { AppStats, Stats } from './stats.js';

export interface TopIo {
  readonly stdout: { write(text: string): unknown; readonly columns?: number };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

export const STATUS_HELP = `Usage: cask status [--url URL] [--json] [serve options]
       cask top [--url URL] [--interval S] [--count N] [serve options]

Show a running server's workers, threads, what each thread runs and for how long, memory,
CPU and queue, read from /stats on its admin listener. status prints it once; top refreshes
it every second (q or Ctrl-C quits), like uwsgitop.

The server is --url (http://127.0.0.1:9000, or unix:/path/admin.sock), else the first
--admin-bind of the same flags, CASK_* variables and config file as cask serve; the token is
--admin-token or CASK_ADMIN_TOKEN.
`;

interface Target {
  readonly url: string;
  readonly socketPath?: string;
  readonly token: string;
}

/** Splits our own options off; the rest are `cask serve` options that locate the server. */
function parseArgs(args: readonly string[]): {
  url?: string;
  json: boolean;
  interval: number;
  count: number;
  rest: string[];
} {
  const rest: string[] = [];
  let url: string | undefined;
  let json = false;
  let interval = 1;
  let count = Infinity;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? arg.split(/=(.*)/s) : [arg];
    const value = (): string => {
      const v = inline ?? args[++i];
      if (v === undefined) throw new ConfigError(`Missing value for ${name}`);
      return v;
    };
    if (name === '--url') url = value();
    else if (name === '--json') json = true;
    else if (name === '--interval') interval = positive(name, value());
    else if (name === '--count' || name === '-n') count = positive(name, value());
    else rest.push(arg);
  }
  return { ...(url === undefined ? {} : { url }), json, interval, count, rest };
}

function positive(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`Invalid value for ${name}: ${raw}`);
  return n;
}

function locate(url: string | undefined, rest: string[], io: TopIo): Target {
  const config = loadConfig({ argv: rest, env: io.env, cwd: io.cwd });
  const token = config.adminToken;
  if (url !== undefined) {
    if (url.startsWith('unix:')) return { url: 'http://admin', socketPath: url.slice(5), token };
    return { url: url.replace(/\/+$/, ''), token };
  }
  const bind = config.adminBind[0];
  if (bind === undefined) {
    throw new ConfigError(
      'Cannot find the admin listener: give --url, or the --admin-bind the server was started with',
    );
  }
  if (bind.kind === 'unix') return { url: 'http://admin', socketPath: bind.path, token };
  // A wildcard address is reached on the loopback, where no token is needed.
  const host = bind.host === '0.0.0.0' ? '127.0.0.1' : bind.host === '::' ? '::1' : bind.host;
  return { url: `http://${formatBind({ ...bind, host })}`, token };
}

export function fetchStats(target: Target): Promise<Stats> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      `${target.url}/stats`,
      {
        ...(target.socketPath === undefined ? {} : { socketPath: target.socketPath }),
        headers: target.token === '' ? {} : { Authorization: `Bearer ${target.token}` },
        timeout: 5000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if (response.statusCode !== 200) {
            reject(
              new Error(`${target.url}/stats answered ${response.statusCode}: ${body.trim()}`),
            );
            return;
          }
          try {
            resolve(JSON.parse(body) as Stats);
          } catch (error) {
            reject(new Error(`${target.url}/stats is not JSON: ${(error as Error).message}`));
          }
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error('no answer within 5 s')));
    request.on('error', (error) =>
      reject(new Error(`Cannot read ${target.url}/stats: ${error.message}`)),
    );
    request.end();
  });
}

// ── rendering (pure) ──────────────────────────────────────────────────────────

export function formatDuration(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${String(Math.floor(seconds % 60)).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h}h${String(m % 60).padStart(2, '0')}m` : `${Math.floor(h / 24)}d${h % 24}h`;
}

export function formatSize(bytes: number | null): string {
  if (bytes === null) return '-';
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)}G`;
  if (bytes >= 1024 ** 2) return `${Math.round(bytes / 1024 ** 2)}M`;
  return `${Math.round(bytes / 1024)}K`;
}

function pad(text: string | number, width: number, right = false): string {
  const s = String(text);
  return right ? s.padStart(width) : s.padEnd(width);
}

const ms = (v: number | null | undefined): string =>
  v === null || v === undefined ? '-' : `${v} ms`;

/**
 * The screen: a summary, then one line per worker and one per request it holds.
 * `previous` (the stats of the last refresh) gives each worker's CPU% and requests/s.
 */
export function renderStats(stats: Stats, previous?: Stats, width = 120): string {
  const lines: string[] = [];
  const ready = stats.workers.filter((w) => w.state === 'ready').length;
  const recent = stats.utilization.recent ?? stats.utilization.sinceStart;
  lines.push(
    `cask ${stats.version}  pid ${stats.pid}  ${stats.app}  up ${formatDuration(stats.uptime)}  ` +
      `generation ${stats.generation}${stats.reloading ? ' (reloading)' : ''}  workers ${ready}/${stats.targetWorkers}`,
  );
  const last = stats.last;
  lines.push(
    `req/s ${last?.rps ?? '-'}  5xx/s ${last?.errors ?? '-'}  p50 ${ms(last?.p50)}  p99 ${ms(last?.p99)}  ` +
      `queue ${stats.queue.depth}/${stats.queue.max}  utilisation ${Math.round(recent * 100)}%  ` +
      `requests ${stats.requests.total}  front ${formatSize(stats.front.rssBytes)}`,
  );
  // Several apps: a line for each, and each worker row says whose it is.
  // A server from before per-app stats sends no `apps`.
  const listed = (stats.apps as readonly AppStats[] | undefined) ?? [];
  const apps = listed.length > 1 ? listed : [];
  const appWidth = Math.min(16, Math.max(4, ...apps.map((a) => a.name.length + 1)));
  const appColumn = (name: string): string =>
    apps.length === 0
      ? ''
      : pad(name.length >= appWidth ? `${name.slice(0, appWidth - 2)}…` : name, appWidth);
  for (const a of apps) {
    const up = a.workers.filter((w) => w.state === 'ready').length;
    lines.push(
      `app ${a.name} (${a.app})  workers ${up}/${a.targetWorkers}  ` +
        `queue ${a.queue.depth}/${a.queue.max}  requests ${a.requests.total}  ` +
        `5xx ${a.requests.byStatus['5xx'] ?? 0}`,
    );
  }
  // Several fronts (`--fronts N`, src/fronts/merge.ts): each worker is front.worker, since
  // every front numbers its own workers from 1.
  const fronts = (stats as { fronts?: number }).fronts ?? 0;
  const widWidth = fronts > 1 ? 6 : 4;
  const wid = (w: Stats['workers'][number]): string => {
    const front = (w as { front?: number }).front;
    return front === undefined ? String(w.worker) : `${front}.${w.worker}`;
  };
  if (fronts > 1) lines.push(`fronts ${fronts} (a worker is front.worker)`);
  lines.push('');
  lines.push(
    `${appColumn('APP')}${pad('WID', widWidth)}${pad('PID', 8)}${pad('GEN', 4)}${pad('STATE', 9)}${pad('THR', 4, true)}` +
      `${pad('BUSY', 5, true)}${pad('REQ', 9, true)}${pad('RPS', 7, true)}${pad('CPU%', 6, true)}` +
      `${pad('CPU', 8, true)}${pad('RSS', 6, true)}${pad('UP', 8, true)}  RUNNING NOW (age)`,
  );
  const dt = previous === undefined ? 0 : stats.uptime - previous.uptime;
  for (const w of stats.workers) {
    const before = previous?.workers.find((p) => p.pid === w.pid);
    const cpuPct =
      before !== undefined && dt > 0 && w.cpuSeconds !== null && before.cpuSeconds !== null
        ? `${Math.round(((w.cpuSeconds - before.cpuSeconds) / dt) * 100)}`
        : '-';
    const rps =
      before !== undefined && dt > 0 ? `${Math.round((w.served - before.served) / dt)}` : '-';
    const running = w.requests
      .filter((r) => r.started)
      .map(
        (r) =>
          `${r.method} ${r.target} (${formatDuration(r.age)}${r.phase === 'running' ? '' : `, ${r.phase}`})`,
      );
    const waiting = w.requests.length - running.length;
    let now = running.join(', ') || (w.state === 'ready' ? 'idle' : '');
    if (waiting > 0) now += ` +${waiting} waiting`;
    const line =
      `${appColumn(w.app)}${pad(wid(w), widWidth)}${pad(w.pid ?? '-', 8)}${pad(w.generation, 4)}${pad(w.state, 9)}` +
      `${pad(w.threads, 4, true)}${pad(w.busy, 5, true)}${pad(w.served, 9, true)}${pad(rps, 7, true)}` +
      `${pad(cpuPct, 6, true)}${pad(w.cpuSeconds === null ? '-' : w.cpuSeconds.toFixed(1), 8, true)}` +
      `${pad(formatSize(w.rssBytes), 6, true)}${pad(formatDuration(w.uptime), 8, true)}  ${now}`;
    lines.push(line.length > width ? `${line.slice(0, width - 1)}…` : line);
  }
  return `${lines.join('\n')}\n`;
}

// ── the commands ──────────────────────────────────────────────────────────────

export async function statusCommand(args: string[], io: TopIo): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    io.stdout.write(STATUS_HELP);
    return 0;
  }
  const options = parseArgs(args);
  const target = locate(options.url, options.rest, io);
  try {
    const stats = await fetchStats(target);
    io.stdout.write(
      options.json
        ? `${JSON.stringify(stats, null, 2)}\n`
        : renderStats(stats, undefined, io.stdout.columns ?? 120),
    );
    return 0;
  } catch (error) {
    io.stderr.write(`cask: ${(error as Error).message}\n`);
    return 1;
  }
}

const CLEAR = '\x1b[H\x1b[2J';

export async function topCommand(args: string[], io: TopIo): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    io.stdout.write(STATUS_HELP);
    return 0;
  }
  const options = parseArgs(args);
  const target = locate(options.url, options.rest, io);
  const interactive = process.stdin.isTTY === true && process.stdout === io.stdout;
  let stop = false;
  const quit = (): void => {
    stop = true;
  };
  if (interactive) {
    process.stdin.setRawMode(true);
    process.stdin.resume();
    process.stdin.on('data', (key: Buffer) => {
      if (key[0] === 0x71 || key[0] === 0x03) quit(); // q, Ctrl-C
    });
  }
  process.once('SIGINT', quit);
  let previous: Stats | undefined;
  let failures = 0;
  try {
    for (let shown = 0; !stop && shown < options.count; shown++) {
      try {
        const stats = await fetchStats(target);
        const screen = renderStats(stats, previous, io.stdout.columns ?? 120);
        io.stdout.write(interactive ? `${CLEAR}${screen}` : `${screen}\n`);
        previous = stats;
        failures = 0;
      } catch (error) {
        io.stderr.write(`cask: ${(error as Error).message}\n`);
        if (++failures >= 3) return 1;
      }
      if (shown + 1 < options.count && !stop)
        await new Promise((resolve) => setTimeout(resolve, options.interval * 1000));
    }
    return 0;
  } finally {
    process.off('SIGINT', quit);
    if (interactive) {
      process.stdin.setRawMode(false);
      process.stdin.pause();
    }
  }
}
