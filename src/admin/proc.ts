// Private to src/admin: CPU time and resident memory of a process, from Linux's /proc. Read
// only when someone asks (a scrape, /stats, the once-a-second sampler when the admin listener
// is on): each read is a few hundred bytes the kernel generates without touching a disk.

import { readFileSync } from 'node:fs';

/**
 * Clock ticks per second of the times in /proc/PID/stat (USER_HZ). Linux fixes it at 100 on
 * every architecture Node runs on; `getconf CLK_TCK` prints it.
 */
export const CLOCK_TICKS = 100;

export interface ProcUsage {
  /** utime + stime, in seconds. */
  readonly cpuSeconds: number;
  /** VmRSS, in bytes. */
  readonly rssBytes: number;
}

/** Fields 14 and 15 (utime, stime) of /proc/PID/stat; the command name may hold spaces. */
export function parseStatCpu(stat: string): number | undefined {
  const close = stat.lastIndexOf(')');
  if (close === -1) return undefined;
  // After ") " come field 3 (state) onwards: utime is field 14, so index 11 here.
  const fields = stat.slice(close + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return (utime + stime) / CLOCK_TICKS;
}

/** `VmRSS:  12345 kB` of /proc/PID/status, in bytes. */
export function parseStatusRss(status: string): number | undefined {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return match === null ? undefined : Number(match[1]) * 1024;
}

/** undefined where /proc is missing (not Linux) or the process is gone. */
export function readUsage(pid: number | undefined): ProcUsage | undefined {
  if (pid === undefined) return undefined;
  try {
    const cpuSeconds = parseStatCpu(readFileSync(`/proc/${pid}/stat`, 'latin1'));
    const rssBytes = parseStatusRss(readFileSync(`/proc/${pid}/status`, 'latin1'));
    if (cpuSeconds === undefined || rssBytes === undefined) return undefined;
    return { cpuSeconds, rssBytes };
  } catch {
    return undefined;
  }
}
