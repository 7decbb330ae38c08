// Starts the real `cask` CLI (bin/cask.js over the built dist/) with a real Python, on port 0,
// and waits for it to say it is ready. Every test server is stopped by PID in `t.after`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { statFields } from './procfs.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = fileURLToPath(new URL('../../bin/cask.js', import.meta.url));
export const APPS = fileURLToPath(new URL('../fixtures/apps/', import.meta.url));

export interface RunningCask {
  proc: ChildProcess;
  port: number;
  host: string;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  stdout(): string;
  /** Resolves when the text appears in stderr (or rejects after `ms`). */
  waitFor(text: string | RegExp, ms?: number): Promise<void>;
  /** SIGTERM and wait for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Don't wait for "Ready" (for servers expected to fail at start). */
  noWait?: boolean;
  timeoutMs?: number;
  /** A command that starts cask in its place (exec), e.g. the socket-activation launcher. */
  launcher?: string[];
}

export function runCask(args: string[], options: StartOptions = {}): RunningCask {
  const [command, ...prefix] = [...(options.launcher ?? []), process.execPath, BIN];
  const proc = spawn(command as string, [...prefix, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let out = '';
  const waiters: Array<{ text: string | RegExp; resolve: () => void }> = [];
  const check = (): void => {
    for (const w of [...waiters]) {
      const hit =
        typeof w.text === 'string'
          ? err.includes(w.text) || out.includes(w.text)
          : w.text.test(err) || w.text.test(out);
      if (hit) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  proc.stderr.setEncoding('utf8').on('data', (s: string) => {
    err += s;
    if (process.env.CASK_TEST_VERBOSE) process.stderr.write(s);
    check();
  });
  proc.stdout.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    check();
  });
  // 'exit' can come before the last of the server's output has been read from its pipes (a
  // message printed just before it exits, which a test then looks for); 'close' comes once
  // both pipes are drained. A process the server started may hold them open after it (the new
  // process of SIGUSR2 writes to the same stderr), so that wait is bounded: draining what is
  // already in the pipes takes one turn of the event loop, not a second.
  const drained = new Promise<void>((resolve) => proc.once('close', () => resolve()));
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      const bound = setTimeout(() => resolve(code), 1000);
      void drained.then(() => {
        clearTimeout(bound);
        resolve(code);
      });
    }),
  );
  const server: RunningCask = {
    proc,
    port: 0,
    host: '127.0.0.1',
    stderr: () => err,
    stdout: () => out,
    waitFor(text, ms = 15_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`Timed out waiting for ${String(text)}; stderr:\n${err}`)),
          ms,
        );
        waiters.push({
          text,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        check();
        void exited.then(() => {
          clearTimeout(timer);
          setTimeout(
            () =>
              reject(new Error(`Server exited while waiting for ${String(text)}; stderr:\n${err}`)),
            20,
          );
        });
      });
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
    exited,
  };
  return server;
}

/** Start cask on 127.0.0.1 with a free port and wait until its workers are ready. */
export async function startCask(argv: string[], options: StartOptions = {}): Promise<RunningCask> {
  const args = argv[0] === 'serve' || argv[0] === 'dev' ? argv : ['serve', ...argv];
  const hasBind = args.some((a) => a === '-b' || a === '--bind' || a.startsWith('--bind='));
  const server = runCask(hasBind ? args : [...args, '-b', '127.0.0.1:0'], options);
  if (options.noWait) return server;
  await server.waitFor(/Ready: \d+ worker/, options.timeoutMs ?? 20_000);
  const match = /on https?:\/\/(\[[^\]]+\]|[\d.]+):(\d+)/.exec(server.stderr());
  if (match) {
    server.host = (match[1] as string).replace(/^\[|\]$/g, '');
    server.port = Number(match[2]);
  }
  return server;
}

/** The full path of a command on PATH (as the shell finds it), or undefined when absent. */
export function onPath(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

const HAS_PROCFS = existsSync('/proc/self/stat');

/**
 * Whether process `pid` still runs. Signal 0 checks that it exists without sending anything;
 * a process that has exited but whose parent has not reaped it yet (a zombie) still exists,
 * and /proc says which it is. A process whose parent exited before it is reaped by whatever
 * adopts it, which may be late, or never in a container whose first process does not reap.
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (!HAS_PROCFS) return true;
  try {
    return statFields(readFileSync(`/proc/${pid}/stat`, 'latin1'))[0] !== 'Z';
  } catch {
    return false; // gone between the two checks
  }
}

/** Debian's own python3, where the framework packages (python3-flask, …) are installed. */
export const DEBIAN_PYTHON = '/usr/bin/python3';

/** Why a test needs Debian's `pkg` to import `module` and cannot run here; false if it can. */
export function debianMissing(module: string, pkg: string): string | false {
  const probe = spawnSync(DEBIAN_PYTHON, ['-c', `import ${module}`]);
  return probe.status === 0
    ? false
    : `${pkg} is not installed for ${DEBIAN_PYTHON} (apt-get install ${pkg})`;
}
