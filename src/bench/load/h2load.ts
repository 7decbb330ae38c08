// The load of the `h2` scenario: h2load (nghttp2's load generator), which speaks HTTP/2 —
// with prior knowledge over cleartext, by ALPN over TLS — and, with --h1, HTTP/1.1 over the
// same code paths, so the two protocols are compared with one tool. It runs timed
// (`--warm-up-time`, then `-D`) and writes one line per request of the measured window to its
// --log-file (start µs since the epoch, status, µs to the end of the response), from which the
// same HDR histogram as the built-in generator's is built.
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LatencyHistogram } from '../histogram.js';
import { toMonotonicNs } from './recorder.js';
import type { LoadResult } from './spec.js';

/** One way of reaching the server: the protocol h2load speaks and the concurrency it keeps. */
export interface H2Leg {
  /** Short name in the report: 'h2c', 'http/1.1', 'h2 (TLS)', 'http/1.1 (TLS)'. */
  name: string;
  /** HTTP/1.1 (`h2load --h1`) rather than HTTP/2. */
  h1: boolean;
  tls: boolean;
  /** Connections (`-c`). */
  connections: number;
  /** Streams in flight per connection (`-m`): HTTP/2 multiplexes; HTTP/1.1 keeps 1. */
  streams: number;
}

export interface H2LoadSpec {
  host: string;
  port: number;
  path: string;
  leg: H2Leg;
  warmupMs: number;
  durationMs: number;
  timeoutMs: number;
}

export interface H2LoadTools {
  h2load: string;
  taskset: string | null;
  cpus: readonly number[];
  tmpDir: string;
}

export function h2loadArgv(spec: H2LoadSpec, tools: H2LoadTools, logFile: string): string[] {
  const { leg } = spec;
  const threads = Math.max(1, Math.min(tools.cpus.length, leg.connections));
  const argv = [
    ...(leg.h1 ? ['--h1'] : []),
    '-t', String(threads),
    '-c', String(leg.connections),
    '-m', String(leg.streams),
    '-D', String(Math.max(1, Math.round(spec.durationMs / 1000))),
    '--warm-up-time', String(Math.max(0, Math.round(spec.warmupMs / 1000))),
    '-T', String(Math.max(1, Math.ceil(spec.timeoutMs / 1000))),
    '--log-file', logFile,
    `${leg.tls ? 'https' : 'http'}://${spec.host}:${spec.port}${spec.path}`,
  ]; // prettier-ignore
  const pin =
    tools.taskset !== null && tools.cpus.length > 0
      ? [tools.taskset, '-c', tools.cpus.join(',')]
      : [];
  return [...pin, tools.h2load, ...argv];
}

export interface H2LoadSummary {
  /** What h2load says it negotiated: 'h2c', 'h2', 'http/1.1'. */
  protocol: string;
  /** Requests started, completed with a 2xx/3xx, failed and errored in the measured window. */
  requests: number;
  succeeded: number;
  failed: number;
  errored: number;
  timeout: number;
  statuses: Record<string, number>;
  bytes: number;
}

/** The counters of h2load's report (its stdout). */
export function parseH2loadOutput(stdout: string): H2LoadSummary {
  const requests =
    /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
      stdout,
    );
  if (requests === null) throw new Error(`h2load printed no summary: ${stdout.slice(-300)}`);
  const n = requests.slice(1).map(Number);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(stdout);
  const statuses: Record<string, number> = {};
  ['2xx', '3xx', '4xx', '5xx'].forEach((k, i) => {
    const count = Number(codes?.[i + 1] ?? 0);
    if (count > 0) statuses[k] = count;
  });
  return {
    protocol: /Application protocol: (\S+)/.exec(stdout)?.[1] ?? '?',
    requests: n[1] ?? 0,
    succeeded: n[3] ?? 0,
    failed: n[4] ?? 0,
    errored: n[5] ?? 0,
    timeout: n[6] ?? 0,
    statuses,
    bytes: Number(/traffic: \S+ \((\d+)\) total/.exec(stdout)?.[1] ?? 0),
  };
}

/** Latencies (µs) of the successful requests in h2load's --log-file, and its time span. */
export function parseH2loadLog(text: string): {
  latency: LatencyHistogram;
  firstUs: number;
  lastUs: number;
} {
  const latency = new LatencyHistogram();
  let firstUs = Number.POSITIVE_INFINITY;
  let lastUs = 0;
  for (const line of text.split('\n')) {
    const [start, status, took] = line.split('\t');
    if (start === undefined || status === undefined || took === undefined) continue;
    const startUs = Number(start);
    const us = Number(took);
    if (!Number.isFinite(startUs) || !Number.isFinite(us)) continue;
    if (startUs < firstUs) firstUs = startUs;
    if (startUs + us > lastUs) lastUs = startUs + us;
    const code = Number(status);
    if (code >= 200 && code < 400) latency.recordMs(us / 1000);
  }
  return { latency, firstUs, lastUs };
}

function exec(argv: string[], timeoutMs: number, onPid?: (pid: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    const child = execFile(
      cmd as string,
      args,
      { timeout: timeoutMs, maxBuffer: 4 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`h2load failed: ${stderr.trim() || err.message}`));
        else resolve(stdout);
      },
    );
    if (child.pid !== undefined) onPid?.(child.pid); // taskset execs h2load in the same pid
  });
}

const quote = (a: string): string =>
  /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;

/** One timed h2load run, as the LoadResult the rest of the lab reads. */
export async function runH2load(
  spec: H2LoadSpec,
  tools: H2LoadTools,
  onPid?: (pid: number) => void,
): Promise<{ result: LoadResult; command: string; protocol: string }> {
  const logFile = join(tools.tmpDir, `h2load-${process.pid}-${Date.now()}.log`);
  const argv = h2loadArgv(spec, tools, logFile);
  const launched = performance.now();
  let stdout: string;
  let log: string;
  try {
    stdout = await exec(argv, spec.warmupMs + spec.durationMs + 30_000, onPid);
    log = readFileSync(logFile, 'utf8');
  } finally {
    rmSync(logFile, { force: true });
  }
  const out = parseH2loadOutput(stdout);
  const { latency } = parseH2loadLog(log);
  // The measured window: after the warm-up, for the duration asked (h2load counts only it).
  const start = launched + spec.warmupMs;
  const end = start + Math.max(1000, Math.round(spec.durationMs / 1000) * 1000);
  const errors: Record<string, number> = {};
  if (out.errored > 0) errors.errored = out.errored;
  if (out.timeout > 0) errors.timeout = out.timeout;
  const failedStatus = (out.statuses['4xx'] ?? 0) + (out.statuses['5xx'] ?? 0);
  if (failedStatus > 0) errors['status-4xx-5xx'] = failedStatus;
  return {
    command: argv.map(quote).join(' '),
    protocol: out.protocol,
    result: {
      kind: 'closed',
      windowStartNs: toMonotonicNs(start).toString(),
      windowEndNs: toMonotonicNs(end).toString(),
      ok: latency.count,
      sent: out.requests,
      statuses: out.statuses,
      errors,
      retries: 0,
      connections: spec.leg.connections,
      bytesIn: out.bytes,
      latency: { all: latency.encode() },
    },
  };
}

/**
 * A self-signed certificate for 127.0.0.1 in `dir`, made with the openssl command (an EC
 * P-256 key: quick to make). Returns why it could not be made instead when that failed.
 */
export function throwawayCertificate(dir: string): { cert: string; key: string } | string {
  const cert = join(dir, 'bench-cert.pem');
  const key = join(dir, 'bench-key.pem');
  const made = spawnSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1',
    ], // prettier-ignore
    { encoding: 'utf8' },
  );
  if (made.error !== undefined) return `no certificate for the TLS legs: ${made.error.message}`;
  if (made.status !== 0) return `no certificate for the TLS legs: ${made.stderr.trim()}`;
  return { cert, key };
}
