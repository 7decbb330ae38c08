// Open-file limits for the idle-10k scenario: 10,000 connections need 10,000 descriptors in
// the load generator and in the server. Node raises its own soft limit to the hard limit at
// start; Python servers keep what they inherited. Where a limit is short, it is raised with
// prlimit(1) on that one process (by its pid), which works up to the hard limit, and beyond
// it for root.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Soft and hard limits on open files from /proc/PID/limits ("unlimited" as Infinity). */
export function parseFdLimit(text: string): { soft: number; hard: number } | null {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (m === null) return null;
  const v = (s: string): number => (s === 'unlimited' ? Number.POSITIVE_INFINITY : Number(s));
  return { soft: v(m[1] as string), hard: v(m[2] as string) };
}

export function fdLimit(pid: number): { soft: number; hard: number } | null {
  try {
    return parseFdLimit(readFileSync(`/proc/${pid}/limits`, 'latin1'));
  } catch {
    return null;
  }
}

/** The prlimit arguments that give `pid` at least `need` descriptors, or null when its soft
 *  limit is already enough. The hard limit is raised only when it is below `need`. */
export function prlimitArgs(
  pid: number,
  need: number,
  now: { soft: number; hard: number },
): string[] | null {
  if (now.soft >= need) return null;
  const hard = Math.max(need, now.hard);
  return ['--pid', String(pid), `--nofile=${need}:${Number.isFinite(hard) ? hard : 'unlimited'}`];
}

/** Make sure `pid` may open `need` descriptors; returns its soft limit afterwards. */
export function ensureFdLimit(pid: number, need: number): number {
  const now = fdLimit(pid);
  if (now === null) return Number.NaN;
  const args = prlimitArgs(pid, need, now);
  if (args === null) return now.soft;
  try {
    execFileSync('prlimit', args, { stdio: 'ignore', timeout: 5000 });
  } catch {
    /* not allowed (hard limit, no privilege) or no prlimit: the caller reports the limit */
  }
  return fdLimit(pid)?.soft ?? now.soft;
}
