// `npx cask serve`, `npm exec cask serve` and `npm start` run Cask as npm's grandchild:
//
//   npm (npx) ── sh -c 'cask serve' ── node bin/cask.js (Cask)
//
// A SIGTERM to npm (what a supervisor or `kill` sends to the process it started) ends npm and
// its shell, but never reaches Cask, which would go on serving, re-parented to init. So when
// npm started it, Cask watches its parent and npm: when either is gone, or its parent changed
// (re-parented), it shuts down as on SIGTERM. Run any other way (a shell, systemd, Docker, a
// `nohup`), nothing is watched: a server outliving its shell on purpose must keep running.

import { readFileSync } from 'node:fs';

const SHELLS = new Set(['sh', 'dash', 'bash', 'zsh', 'ash', 'busybox']);
const POLL_MS = 500;

/** The parent pid and command name of a process, from /proc (Linux); undefined elsewhere. */
function stat(pid: number): { ppid: number; name: string } | undefined {
  try {
    // /proc/PID/stat: `pid (name) state ppid …`; the name may hold spaces and parentheses.
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const name = text.slice(text.indexOf('(') + 1, close);
    const ppid = Number(text.slice(close + 2).split(' ')[1]);
    return { ppid, name };
  } catch {
    return undefined;
  }
}

/**
 * The processes to watch: the parent, and npm behind the shell it runs scripts with, when npm
 * started this process (it sets `npm_execpath` for `npx`, `npm exec` and `npm run`); none
 * otherwise.
 */
export function npmParents(env: Readonly<Record<string, string | undefined>>): number[] {
  if (env['npm_execpath'] === undefined || env['npm_execpath'] === '') return [];
  const parent = process.ppid;
  if (parent <= 1) return [];
  const watched = [parent];
  const shell = stat(parent);
  if (shell !== undefined && SHELLS.has(shell.name) && shell.ppid > 1) watched.push(shell.ppid);
  return watched;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Calls `gone` once, when one of `pids` has exited or this process's parent changed from what
 * it was (`parent`, when it is among them). Returns a function that stops watching.
 */
export function watchParents(pids: readonly number[], gone: (pid: number) => void): () => void {
  if (pids.length === 0) return () => {};
  const parent = process.ppid;
  const timer = setInterval(() => {
    const reparented = pids.includes(parent) && process.ppid !== parent;
    const missing = reparented ? parent : pids.find((pid) => !alive(pid));
    if (missing === undefined) return;
    clearInterval(timer);
    gone(missing);
  }, POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
