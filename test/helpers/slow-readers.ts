// What the slow-reader tests (over HTTP/1.1 and HTTP/2) observe of a running server: whether
// its app threads are free, how many requests its app is still running, its response spool
// files and the descriptors its front holds open. The app is test/fixtures/apps/big_responses.py.

import { readdirSync, readlinkSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { get } from './http.js';

/** The 99th percentile of latencies sorted in ascending order. */
export const p99 = (sorted: number[]): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] as number;

/**
 * `threads` requests that each hold a thread for 0.2 s, all at once: whether all were answered
 * within `ms` (every thread of the server was free by then, less 0.2 s).
 */
export async function threadsFree(port: number, threads: number, ms = 1000): Promise<boolean> {
  const start = Date.now();
  const answers = await Promise.all(
    Array.from({ length: threads }, () =>
      get(port, '/sleep?0.2', {}, { ms: 3000 }).catch(() => undefined),
    ),
  );
  return answers.every((a) => a?.status === 200) && Date.now() - start < ms;
}

/** How many responses the app has begun and not closed (big_responses.py's `/inflight`). */
export const inflight = async (port: number): Promise<number> =>
  Number((await get(port, '/inflight')).body.toString());

/** How many descriptors `pid` holds open. */
export const openFds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

/** The descriptors `pid` holds open on files whose name starts with `prefix`. */
export function fdsOn(pid: number, prefix: string): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (basename(readlinkSync(`/proc/${pid}/fd/${fd}`)).startsWith(prefix)) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

/** The sizes of the response spool files of the front `pid` in `dir`. */
export function spoolFiles(dir: string, pid: number): number[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith(`cask-response-${pid}-`))
    .map((f) => {
      try {
        return statSync(join(dir, f)).size;
      } catch {
        return 0; // removed meanwhile
      }
    });
}

/** Bytes in the response spool files of the front `pid` in `dir`. */
export const spooledBytes = (dir: string, pid: number): number =>
  spoolFiles(dir, pid).reduce((sum, size) => sum + size, 0);
