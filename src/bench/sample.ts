// CPU and memory of a server's whole process tree, sampled from /proc ten times a second.
// A server is often several processes (master + workers, Apache + mod_wsgi daemons, Node
// front + Python workers), so the tree is rediscovered every second from each process's
// parent pid and every member's counters are summed. CPU is taken per pid as the change of
// utime+stime since the previous sample, so a worker that exits or is replaced does not
// make the total jump backwards.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface Sample {
  /** Milliseconds since the sampler started (performance.now() based). */
  t: number;
  /** performance.now() of the sample, to cut a window out of a longer series. */
  at: number;
  /** CPU of the server tree over the last interval, in % of one core. */
  cpu: number;
  /** Sum of the tree's resident set sizes (shared pages counted in each process). */
  rss: number;
  /** Resident set of the process the bench started alone (Cask's Node front, a master). */
  rootRss?: number;
  procs: number;
  /** CPU of the extra pids (the load generator), in % of one core. */
  loadCpu: number;
  /** CPU used on the machine by anything else (other users' jobs, this process), in %
   * of one core: a noisy neighbour shows here, not as a slower server. */
  otherCpu: number;
}

/** Busy clock ticks of the whole machine (all CPUs), from the first line of /proc/stat. */
export function machineBusyTicks(text: string): number {
  const line = text.slice(0, text.indexOf('\n'));
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy = user + nice + system + steal.
  // Interrupt and softirq time is left out: loopback traffic of the benchmark itself is
  // processed there and charged to no process, so it would read as someone else's load.
  const v = (i: number): number => (Number.isFinite(f[i]) ? (f[i] as number) : 0);
  return v(0) + v(1) + v(2) + v(7);
}

function readMachineTicks(): number {
  try {
    return machineBusyTicks(readFileSync('/proc/stat', 'latin1'));
  } catch {
    return Number.NaN;
  }
}

function sysconf(name: string, fallback: number): number {
  try {
    return Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim()) || fallback;
  } catch {
    return fallback;
  }
}

const CLK_TCK = sysconf('CLK_TCK', 100);
const PAGE = sysconf('PAGESIZE', 4096);

interface Stat {
  ppid: number;
  ticks: number;
  rssPages: number;
}

/** Parse /proc/PID/stat; the command name may contain spaces and parentheses, so the
 * fields are counted from the last ')' (proc(5)). */
export function parseStat(text: string): Stat | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const f = text.slice(close + 2).split(' ');
  // After the name: state(0) ppid(1) ... utime(11) stime(12) ... rss(21)
  const ppid = Number(f[1]);
  const ticks = Number(f[11]) + Number(f[12]);
  const rssPages = Number(f[21]);
  if (!Number.isFinite(ppid) || !Number.isFinite(ticks)) return null;
  return { ppid, ticks, rssPages };
}

function readStat(pid: number): Stat | null {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return null;
  }
}

/** All descendants of root (and root) from one scan of /proc. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [root];
  }
  for (const e of entries) {
    const pid = Number(e);
    if (!Number.isInteger(pid)) continue;
    const st = readStat(pid);
    if (st === null) continue;
    const list = children.get(st.ppid);
    if (list === undefined) children.set(st.ppid, [pid]);
    else list.push(pid);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

export class ProcSampler {
  private readonly samples: Sample[] = [];
  private readonly lastTicks = new Map<number, number>();
  private readonly lastLoadTicks = new Map<number, number>();
  private tree: number[] = [];
  private lastScan = 0;
  private last = 0;
  private lastMachine = Number.NaN;
  private readonly t0 = performance.now();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly root: number,
    private readonly loadPids: number[] = [],
    private readonly intervalMs = 100,
  ) {}

  /** Count another process as load generator (wrk, started after the sampler). */
  addLoadPid(pid: number): void {
    if (pid > 0 && !this.loadPids.includes(pid)) this.loadPids.push(pid);
  }

  start(): void {
    this.sample(); // baseline counters
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  stop(): Sample[] {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.sample();
    return this.samples;
  }

  private delta(
    pids: readonly number[],
    last: Map<number, number>,
  ): { ticks: number; rss: number; alive: number; rootRss: number } {
    let ticks = 0;
    let rss = 0;
    let alive = 0;
    let rootRss = Number.NaN;
    for (const pid of pids) {
      const st = readStat(pid);
      if (st === null) continue;
      alive += 1;
      const prev = last.get(pid);
      if (prev !== undefined) ticks += Math.max(0, st.ticks - prev);
      last.set(pid, st.ticks);
      rss += st.rssPages * PAGE;
      if (pid === this.root) rootRss = st.rssPages * PAGE;
    }
    return { ticks, rss, alive, rootRss };
  }

  private sample(): void {
    const now = performance.now();
    if (now - this.lastScan >= 1000 || this.tree.length === 0) {
      this.tree = processTree(this.root);
      this.lastScan = now;
    }
    const server = this.delta(this.tree, this.lastTicks);
    const load = this.delta(this.loadPids, this.lastLoadTicks);
    const machine = readMachineTicks();
    const machineTicks = machine - this.lastMachine;
    this.lastMachine = machine;
    const first = this.last === 0;
    const dt = (now - this.last) / 1000;
    this.last = now;
    if (first || dt <= 0) return;
    this.samples.push({
      t: now - this.t0,
      at: now,
      cpu: (server.ticks / CLK_TCK / dt) * 100,
      rss: server.rss,
      rootRss: server.rootRss,
      procs: server.alive,
      loadCpu: (load.ticks / CLK_TCK / dt) * 100,
      otherCpu: Number.isFinite(machineTicks)
        ? Math.max(0, ((machineTicks - server.ticks - load.ticks) / CLK_TCK / dt) * 100)
        : Number.NaN,
    });
  }
}

/** Memory of one process of a server, from /proc: resident set and proportional set (PSS:
 * each shared page divided among the processes that map it, so a pre-fork server's
 * processes add up to what the server really holds). Bytes. */
export interface ProcMemory {
  pid: number;
  ppid: number;
  name: string;
  rss: number;
  pss: number;
  /** The process the bench started (the front, master or only process). */
  root: boolean;
}

/** Rss and Pss of /proc/PID/smaps_rollup (given in kB there), in bytes; NaN when absent. */
export function parseSmapsRollup(text: string): { rss: number; pss: number } {
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return m === null ? Number.NaN : Number(m[1]) * 1024;
  };
  return { rss: field('Rss'), pss: field('Pss') };
}

/** RSS and PSS of every process of the tree under `root`, root first. Reading smaps_rollup
 * walks the process's page tables, so this is taken once per run, not ten times a second. */
export function memorySnapshot(root: number): ProcMemory[] {
  const out: ProcMemory[] = [];
  for (const pid of processTree(root)) {
    const st = readStat(pid);
    if (st === null) continue;
    let mem = { rss: st.rssPages * PAGE, pss: Number.NaN };
    try {
      const rollup = parseSmapsRollup(readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1'));
      if (Number.isFinite(rollup.pss)) mem = { rss: rollup.rss, pss: rollup.pss };
    } catch {
      /* exited meanwhile, or smaps_rollup unreadable (kernel before 4.14): RSS only */
    }
    let name = '?';
    try {
      name = readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
    } catch {
      /* exited meanwhile */
    }
    out.push({ pid, ppid: st.ppid, name, ...mem, root: pid === root });
  }
  return out;
}
