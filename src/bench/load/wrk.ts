// Optional load mode `--load wrk`: the same closed-loop GET scenarios driven by wrk
// instead of the built-in generator, used to check the generator (docs/bench.md states the
// gap) and by bench/hello.sh. wrk's Lua done() hook prints 1000 quantiles of its latency
// histogram, from which an approximate histogram is rebuilt so the report treats both
// modes alike.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LatencyHistogram } from '../histogram.js';
import { toMonotonicNs } from './recorder.js';
import type { ClosedSpec, LoadResult } from './spec.js';

const SCRIPT = `-- written by cask bench: print wrk's summary and latency quantiles (µs)
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("CASKBENCH %d %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    summary.bytes, e.connect, e.read, e.write, e.status, e.timeout))
  for i = 1, 1000 do
    io.write(string.format("Q %d %d\\n", i, latency:percentile(i / 10)))
  end
end
`;

export interface WrkTools {
  wrk: string;
  taskset: string | null;
  cpus: readonly number[];
  tmpDir: string;
}

/** Whether wrk can drive this spec: one GET template without a body. Without keep-alive
 * the request says `Connection: close`, and wrk reconnects after every response. */
export function wrkCanRun(spec: ClosedSpec): boolean {
  const only = spec.requests[0];
  return (
    spec.requests.length === 1 &&
    only !== undefined &&
    only.method === 'GET' &&
    only.bodyBytes === 0
  );
}

export function wrkArgv(
  spec: ClosedSpec,
  seconds: number,
  tools: WrkTools,
  script: string | null,
): string[] {
  const t = spec.requests[0];
  if (t === undefined) throw new RangeError('A wrk load needs one request template: 0');
  const threads = Math.max(1, Math.min(tools.cpus.length, spec.connections));
  const argv = [
    '-t',
    String(threads),
    '-c',
    String(spec.connections),
    '-d',
    `${seconds}s`,
    '--timeout',
    `${Math.ceil(spec.timeoutMs / 1000)}s`,
  ];
  for (const [n, v] of t.headers) argv.push('-H', `${n}: ${v}`);
  if (!spec.keepAlive && !t.headers.some(([n]) => n.toLowerCase() === 'connection'))
    argv.push('-H', 'Connection: close');
  if (script !== null) argv.push('-s', script);
  argv.push(`http://${spec.host}:${spec.port}${t.path}`);
  const pin =
    tools.taskset !== null && tools.cpus.length > 0
      ? [tools.taskset, '-c', tools.cpus.join(',')]
      : [];
  return [...pin, tools.wrk, ...argv];
}

function exec(argv: string[], timeoutMs: number, onPid?: (pid: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    const child = execFile(
      cmd as string,
      args,
      { timeout: timeoutMs, maxBuffer: 4 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`wrk failed: ${stderr.trim() || err.message}`));
        else resolve(stdout);
      },
    );
    if (child.pid !== undefined) onPid?.(child.pid); // taskset execs wrk in the same pid
  });
}

export function parseWrkOutput(stdout: string): {
  requests: number;
  durationUs: number;
  bytes: number;
  errors: Record<string, number>;
  quantiles: number[];
  closesWithoutNotice: number;
} {
  const line = stdout.split('\n').find((l) => l.startsWith('CASKBENCH '));
  if (line === undefined) throw new Error(`wrk printed no summary: ${stdout.slice(0, 200)}`);
  const [requests, durationUs, bytes, connect, read, write, status, timeout] = line
    .split(' ')
    .slice(1)
    .map(Number) as number[];
  const quantiles: number[] = [];
  for (const l of stdout.split('\n')) {
    const m = /^Q (\d+) (\d+)$/.exec(l);
    if (m !== null) quantiles[Number(m[1]) - 1] = Number(m[2]);
  }
  const errors: Record<string, number> = {};
  const add = (k: string, n: number | undefined): void => {
    if (n !== undefined && n > 0) errors[k] = n;
  };
  add('connect-refused', connect);
  // wrk keeps reusing a connection the server closed after a complete response without
  // `Connection: close` (uWSGI's --http-socket) and counts a read error each time; when
  // that happens for most requests it is the server's connection policy, not a failure,
  // and it is reported the way the built-in generator reports it.
  const closesWithoutNotice =
    read !== undefined && requests !== undefined && read >= requests / 2 ? read : 0;
  if (closesWithoutNotice === 0) add('closed', read);
  add('reset', write);
  add('timeout', timeout);
  add('status-non2xx', status);
  return {
    requests: requests ?? 0,
    durationUs: durationUs ?? 0,
    bytes: bytes ?? 0,
    errors,
    quantiles,
    closesWithoutNotice,
  };
}

export async function runWrk(
  spec: ClosedSpec,
  tools: WrkTools,
  onPid?: (pid: number) => void,
): Promise<{ result: LoadResult; command: string }> {
  const script = join(tools.tmpDir, 'cask-bench-wrk.lua');
  writeFileSync(script, SCRIPT);
  if (spec.warmupMs > 0) {
    await exec(
      wrkArgv(spec, Math.max(1, Math.round(spec.warmupMs / 1000)), tools, null),
      spec.warmupMs + 30_000,
    );
  }
  const seconds = Math.max(1, Math.round(spec.durationMs / 1000));
  const argv = wrkArgv(spec, seconds, tools, script);
  const start = performance.now();
  const out = parseWrkOutput(await exec(argv, seconds * 1000 + 30_000, onPid));
  const end = start + out.durationUs / 1000;
  // Rebuild an approximate histogram: each 0.1% quantile stands for 0.1% of the requests.
  const ok = out.requests - (out.errors['status-non2xx'] ?? 0);
  const h = new LatencyHistogram();
  const per = ok / 1000;
  let carried = 0;
  for (const q of out.quantiles) {
    carried += per;
    const n = Math.floor(carried);
    carried -= n;
    h.recordMs(q / 1000, n);
  }
  const tag = spec.requests[0]?.tag ?? 'all';
  return {
    command: argv
      .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
      .join(' '),
    result: {
      kind: 'closed',
      windowStartNs: toMonotonicNs(start).toString(),
      windowEndNs: toMonotonicNs(end).toString(),
      ok,
      sent: out.requests,
      statuses: {},
      errors: out.errors,
      retries: 0,
      connections: spec.connections,
      bytesIn: out.bytes,
      latency: { [tag]: h.encode() },
      ...(out.closesWithoutNotice > 0 ? { closesWithoutNotice: out.closesWithoutNotice } : {}),
    },
  };
}
