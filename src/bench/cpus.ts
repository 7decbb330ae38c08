// Which CPUs the server and the load generator get. With two or more CPUs they get
// disjoint sets (taskset), so neither steals cycles from the other; with one, nothing is
// pinned and the report says so.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface CpuPlan {
  server: number[];
  load: number[];
  /** Path of taskset, or null when pinning is off. */
  taskset: string | null;
  note: string;
}

/** Parse a Linux CPU list such as "0-3,6,8-9". */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (part === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (m === null) throw new RangeError(`Invalid CPU list: ${text}`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new RangeError(`Invalid CPU list: ${text}`);
    for (let c = a; c <= b; c++) out.push(c);
  }
  return out;
}

/** CPUs this process may run on (its affinity mask, not just the count). */
export function allowedCpus(): number[] {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const m = /^Cpus_allowed_list:\s*(.+)$/m.exec(status);
    if (m?.[1] !== undefined) return parseCpuList(m[1]);
  } catch {
    /* not Linux */
  }
  return [0];
}

export function findTaskset(): string | null {
  for (const p of ['/usr/bin/taskset', '/bin/taskset']) {
    try {
      execFileSync(p, ['-c', '0', 'true'], { stdio: 'ignore' });
      return p;
    } catch {
      /* try next */
    }
  }
  return null;
}

/** Default split: the first half of the CPUs (at least one) drive the load, the rest
 * serve; on a 2-CPU machine CPU 0 loads and CPU 1 serves, as in docs/performance.md. */
export function planCpus(opts: { serverCpus?: string; loadCpus?: string; pin: boolean }): CpuPlan {
  const allowed = allowedCpus();
  const taskset = opts.pin ? findTaskset() : null;
  if (opts.serverCpus !== undefined || opts.loadCpus !== undefined) {
    const server =
      opts.serverCpus !== undefined
        ? parseCpuList(opts.serverCpus)
        : allowed.filter((c) => !parseCpuList(opts.loadCpus ?? '').includes(c));
    const load =
      opts.loadCpus !== undefined
        ? parseCpuList(opts.loadCpus)
        : allowed.filter((c) => !server.includes(c));
    for (const c of [...server, ...load]) {
      if (!allowed.includes(c)) throw new RangeError(`CPU is not available to this process: ${c}`);
    }
    if (server.length === 0 || load.length === 0)
      throw new RangeError(
        `Server and load need at least one CPU each: server=${server.join(',')} load=${load.join(',')}`,
      );
    if (taskset === null)
      return { server, load, taskset, note: 'CPU sets given but taskset is missing: not pinned' };
    const overlap = server.some((c) => load.includes(c));
    return {
      server,
      load,
      taskset,
      note: overlap ? 'server and load CPU sets overlap' : 'server and load on disjoint CPU sets',
    };
  }
  if (allowed.length < 2 || taskset === null) {
    const why =
      allowed.length < 2
        ? 'only one CPU'
        : opts.pin
          ? 'taskset not found'
          : 'pinning disabled (--no-pin)';
    return {
      server: allowed,
      load: allowed,
      taskset: null,
      note: `not pinned: ${why}; server and load share the CPUs`,
    };
  }
  const k = Math.max(1, Math.floor(allowed.length / 2));
  return {
    server: allowed.slice(k),
    load: allowed.slice(0, k),
    taskset,
    note: 'server and load on disjoint CPU sets',
  };
}
