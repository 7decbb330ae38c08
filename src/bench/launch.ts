// Starting and stopping one server under test. Each server is spawned detached, which
// makes it the leader of a new process group; readiness is an HTTP answer on its port,
// polled (never a fixed sleep); stopping signals the whole group we created, by its
// id (kill(-pgid)), then escalates to SIGKILL. Nothing here ever looks processes up by
// name, so other servers running on the machine are never touched.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { Launch } from './servers.js';

export interface RunningServer {
  pid: number;
  child: ChildProcess;
  logPath: string;
  exitCode: number | null | undefined;
}

/** A free TCP port on 127.0.0.1 (asked from the kernel, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command as a user would type it: env assignments, taskset, argv. */
export function commandLine(
  launch: Launch,
  pin: string[],
  hideEnv: readonly string[] = [],
): string {
  const env = Object.entries(launch.env)
    .filter(([k]) => !hideEnv.includes(k))
    .map(([k, v]) => `${k}=${shellQuote(v)}`);
  return [...env, ...pin, ...launch.argv]
    .map((a, i) => (i < env.length ? a : shellQuote(a)))
    .join(' ');
}

/** Every server group this process started and has not stopped yet, so an interrupted
 * run can still kill exactly those groups (they are detached and would outlive it). */
const live = new Set<RunningServer>();

/** SIGKILL every group started here and not yet stopped (synchronous: safe in 'exit'). */
export function killStartedGroups(): void {
  for (const s of live) signalGroup(s.pid, 'SIGKILL');
  live.clear();
}

export function startServer(launch: Launch, pin: string[], logPath: string): RunningServer {
  for (const f of launch.files) {
    writeFileSync(f.path, f.content);
    if (f.mode !== undefined) chmodSync(f.path, f.mode);
  }
  const log = openSync(logPath, 'a');
  const [cmd, ...args] = [...pin, ...launch.argv];
  const child = spawn(cmd as string, args, {
    cwd: launch.cwd,
    env: { ...process.env, ...launch.env },
    detached: true, // own process group (setsid): the group id is the pid
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const running: RunningServer = { pid: child.pid ?? -1, child, logPath, exitCode: undefined };
  if (running.pid > 0) live.add(running);
  child.on('exit', (code, sig) => {
    running.exitCode = code ?? (sig === null ? null : -1);
  });
  child.on('error', () => {
    running.exitCode = -1;
  });
  return running;
}

/** Send one request and resolve with the status line, or reject. */
/** One GET; over TLS (`secure`) the bench's throwaway certificate is not checked. */
function probe(port: number, path: string, timeoutMs: number, secure = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = secure
      ? tls.connect({
          host: '127.0.0.1',
          port,
          rejectUnauthorized: false,
          ALPNProtocols: ['http/1.1'],
        })
      : net.connect({ host: '127.0.0.1', port });
    let got = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('timeout'));
    }, timeoutMs);
    s.on(secure ? 'secureConnect' : 'connect', () =>
      s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`),
    );
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      const nl = got.indexOf('\r\n');
      if (nl >= 0) {
        clearTimeout(timer);
        s.destroy();
        if (got.startsWith('HTTP/')) resolve(got.slice(0, nl));
        else reject(new Error(`not HTTP: ${JSON.stringify(got.slice(0, 40))}`));
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on('close', () => {
      clearTimeout(timer);
      reject(new Error('closed without a response'));
    });
  });
}

export function logTail(path: string, lines = 8): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Poll until the server answers any HTTP status, it exits, or the timeout passes. */
export async function waitReady(
  s: RunningServer,
  port: number,
  path: string,
  timeoutMs: number,
  probeTimeoutMs = 2000,
  secure = false,
  /** Whether a status line means ready: any does, unless a front answers for a server behind
   *  it that is not up yet (behind-nginx.ts). */
  ready: (status: string) => boolean = () => true,
): Promise<{ ms: number; status: string }> {
  const t0 = performance.now();
  let delay = 25;
  let last = '';
  while (performance.now() - t0 < timeoutMs) {
    if (s.exitCode !== undefined) {
      throw new Error(`Server exited before answering: code ${s.exitCode}\n${logTail(s.logPath)}`);
    }
    try {
      const status = await probe(port, path, Math.min(probeTimeoutMs, timeoutMs), secure);
      if (ready(status)) return { ms: performance.now() - t0, status };
      last = status;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(200, delay * 1.5);
  }
  throw new Error(
    `Server did not answer within ${Math.round(timeoutMs / 1000)} s: ${last}\n${logTail(s.logPath)}`,
  );
}

/** Live (non-zombie) members of a process group, from /proc. Zombies are skipped: once
 * the leader dies its children are reparented to pid 1, which in a container may never
 * reap them. */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    const pid = Number(e);
    if (!Number.isInteger(pid)) continue;
    try {
      const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) === pgid && f[0] !== 'Z') out.push(pid);
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

function signalGroup(pgid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pgid, sig);
  } catch {
    /* group already gone */
  }
}

async function waitGone(pgid: number, ms: number): Promise<boolean> {
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    if (groupMembers(pgid).length === 0) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return groupMembers(pgid).length === 0;
}

/** Stop the group we started: its quick-stop signal, then SIGKILL after graceMs. */
export async function stopServer(
  s: RunningServer,
  signal: NodeJS.Signals,
  graceMs = 3000,
): Promise<'stopped' | 'killed'> {
  if (s.pid <= 0) return 'stopped';
  live.delete(s);
  signalGroup(s.pid, signal);
  if (await waitGone(s.pid, graceMs)) return 'stopped';
  signalGroup(s.pid, 'SIGKILL');
  await waitGone(s.pid, 3000);
  return 'killed';
}
