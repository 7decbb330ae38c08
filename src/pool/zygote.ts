// `--preload`: the workers of a generation are forked from one Python process that imported
// the app (python/cask_worker/zygote.py), so their memory is shared copy-on-write. Node
// cannot pass descriptors to a running process, so the zygote is started with every slot's
// descriptors already open: each slot is a worker's stdout, stderr and link, exactly what a
// worker spawned by Node gets.
//
//   front ── spawn ──▶ zygote: imports the app, gc.freeze()
//     │  fds 4+3i, 5+3i, 6+3i (slot i)   │
//     │  "fork i" ───────────────────────▶ fork ─▶ worker: slot i's fds as 1, 2, 3
//     ◀── "forked i, pid" / "exit i, code" ┘
//
// A zygote serves no request, so a worker forked from it to replace a recycled one starts as
// clean as the first. Each generation (SIGHUP) has its own zygote, which imports the new
// code; one whose slots are used up is followed by a new one of the same generation. A
// zygote is closed once a newer one took over and its last worker has exited, since the
// exits of its workers come through it.

import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Logger } from '../log.js';
import { onLines, pythonEnv, spawnFailure, workerArgs, type WorkerSpec } from './worker.js';

/** The first slot descriptor in the zygote (0–2 stdio, 3 the control channel). */
const FIRST_SLOT_FD = 4;
/** Each slot is a worker's stdout, stderr and link. */
const FDS_PER_SLOT = 3;
const MAX_SLOTS = 64;
/** How long an exit waits for the rest of the worker's link (a worker's child may hold it). */
const LINK_END_WAIT_MS = 1000;

/** What a WorkerProcess needs of its process; a ChildProcess has it, and so has a zygote's. */
export interface WorkerChild {
  readonly pid?: number | undefined;
  /** These are null or undefined for a process that could not be started: it has no pipes. */
  readonly stdout: Readable | null | undefined;
  readonly stderr: Readable | null | undefined;
  readonly stdio: readonly unknown[] | undefined;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- ChildProcess's own signature
  on(event: 'exit' | 'error', listener: (...args: any[]) => void): unknown;
  kill(signal?: NodeJS.Signals): boolean;
}

/** Where a worker comes from when it is not spawned: `fork(args)` with the worker's arguments. */
export interface ZygoteSource {
  fork(args: readonly string[]): WorkerChild;
}

interface Message {
  ready?: number;
  error?: string;
  forked?: number;
  pid?: number | null;
  exit?: number;
  code?: number | null;
  signal?: NodeJS.Signals | null;
}

/** A worker forked by a zygote, as WorkerProcess sees a child process. */
class ZygoteChild extends EventEmitter implements WorkerChild {
  pid: number | undefined;
  readonly stdout: Readable | undefined;
  readonly stderr: Readable | undefined;
  readonly stdio: readonly unknown[] | undefined;
  exited = false;
  private pendingSignal: NodeJS.Signals | undefined;

  /** `slot`: its stdout, stderr and link; undefined when the zygote has no pipes to give. */
  constructor(slot: readonly Socket[] | undefined) {
    super();
    const [stdout, stderr, link] = slot ?? [];
    this.stdout = stdout;
    this.stderr = stderr;
    this.stdio = slot === undefined ? undefined : [null, stdout, stderr, link];
  }

  /** The zygote could not be started, so neither could this worker: 'error', and no 'exit'. */
  failed(error: Error): void {
    if (this.exited) return;
    this.exited = true;
    this.emit('error', error);
  }

  forked(pid: number): void {
    this.pid = pid;
    if (this.pendingSignal !== undefined) this.kill(this.pendingSignal);
  }

  ended(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exited) return;
    this.exited = true;
    // The exit comes over the control channel, the worker's last frames (a LOAD_ERROR) over
    // its link: the exit is told once the link is read to its end, as a spawned worker's.
    const link = this.stdio?.[3] as Socket | undefined;
    if (link === undefined || link.closed || link.destroyed) {
      this.emit('exit', code, signal);
      return;
    }
    let told = false;
    const tell = (): void => {
      if (told) return;
      told = true;
      clearTimeout(timer);
      this.emit('exit', code, signal);
    };
    const timer = setTimeout(tell, LINK_END_WAIT_MS);
    link.once('close', tell);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.exited) return false;
    if (this.pid === undefined) {
      // Not forked yet: the signal goes as soon as it is.
      this.pendingSignal = signal;
      return true;
    }
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

/** One zygote process and its slots. */
class Zygote implements ZygoteSource {
  readonly generation: number;
  /** Undefined when spawn() threw: there never was a process. */
  private readonly child: ChildProcess | undefined;
  private readonly children = new Map<number, ZygoteChild>();
  private nextSlot = 0;
  private gone = false;
  /** Why the zygote could not be started; every worker asked of it fails to start with it. */
  private failure: Error | undefined;

  constructor(
    spec: WorkerSpec,
    generation: number,
    readonly slots: number,
    private readonly logger: Logger,
    extraEnv: Readonly<Record<string, string | null>>,
    private readonly onIdle: () => void,
  ) {
    this.generation = generation;
    const args = [
      '-m',
      'cask_worker.zygote',
      '--slots',
      String(slots),
      '--',
      ...workerArgs(spec, 0, generation).slice(2),
    ];
    let child: ChildProcess;
    try {
      child = spawn(spec.python, args, {
        stdio: [
          'ignore',
          'pipe',
          'pipe',
          'pipe',
          ...Array.from({ length: slots * FDS_PER_SLOT }, () => 'pipe' as const),
        ],
        env: pythonEnv(extraEnv),
        cwd: spec.chdir ?? process.cwd(),
      });
    } catch (error) {
      // spawn() throws for some failures (ENOTDIR on the interpreter's path): as with those
      // it reports later, the workers asked of this zygote fail to start, and the supervisor
      // retries them with its backoff, from a new zygote.
      this.child = undefined;
      this.failure = spawnFailure(error, spec.python);
      this.gone = true;
      return;
    }
    this.child = child;
    child.on('error', (error: Error) => {
      // The interpreter could not be started (ENOENT, or EMFILE when no descriptor is left
      // for the pipes): every worker asked of it fails as a spawn would. An 'error' of a
      // process that runs (a signal it may not be sent) changes nothing.
      if (child.pid === undefined) this.fail(error);
    });
    child.on('exit', () => this.end());
    // Not started: there are no pipes to read, and the 'error' comes on the next tick.
    if (child.pid === undefined) return;
    const tag = `zygote of generation ${generation} pid ${child.pid}`;
    onLines(child.stdout, (line) => this.logger.raw(`${tag} stdout`, line));
    onLines(child.stderr, (line) => this.logger.raw(`${tag} stderr`, line));
    const control = child.stdio[3] as Socket;
    control.on('error', () => {});
    // One JSON message a line, which must arrive whole: no limit on its length (the
    // zygote is the server's own code).
    onLines(control, (line) => this.receive(line), Infinity);
  }

  get full(): boolean {
    return this.nextSlot >= this.slots;
  }

  /** New workers may come from it: it has slots left and has not failed or exited. */
  get usable(): boolean {
    return !this.gone && !this.full;
  }

  /** Workers forked (or being forked) that have not exited. */
  get live(): number {
    return this.children.size;
  }

  fork(args: readonly string[]): WorkerChild {
    const slot = this.nextSlot++;
    const base = FIRST_SLOT_FD + slot * FDS_PER_SLOT;
    const child = this.child?.pid === undefined ? undefined : this.child;
    const sockets = child && [0, 1, 2].map((i) => child.stdio[base + i] as Socket);
    const worker = new ZygoteChild(sockets);
    this.children.set(slot, worker);
    const done = (): void => {
      this.children.delete(slot);
      if (this.children.size === 0) this.onIdle();
    };
    worker.once('exit', done);
    worker.once('error', done);
    const failure = this.failure;
    if (failure !== undefined) {
      // After the WorkerProcess has its listeners, as for a spawn that fails.
      process.nextTick(() => worker.failed(failure));
    } else if (this.gone) {
      setImmediate(() => worker.ended(null, null));
    } else if (child !== undefined) {
      (child.stdio[3] as Socket).write(`${JSON.stringify({ fork: slot, argv: args })}\n`);
    }
    // Else the zygote's spawn failed and its 'error' is on the way: fail() ends this worker.
    return worker;
  }

  /** Ends the zygote; workers it forked are stopped by their own WorkerProcess first. */
  close(): void {
    if (this.gone || this.child?.pid === undefined) return;
    (this.child.stdio[3] as Socket).end();
    this.child.kill('SIGTERM');
  }

  private receive(line: string): void {
    let message: Message;
    try {
      message = JSON.parse(line) as Message;
    } catch {
      return;
    }
    if (message.forked !== undefined && typeof message.pid === 'number') {
      this.children.get(message.forked)?.forked(message.pid);
    } else if (message.exit !== undefined) {
      this.children.get(message.exit)?.ended(message.code ?? null, message.signal ?? null);
    } else if (message.ready !== undefined) {
      this.logger.info(`Zygote of generation ${this.generation} imported the app; forking workers`);
    }
  }

  /** The zygote could not be started: neither can the workers asked of it. */
  private fail(error: Error): void {
    this.failure = error;
    this.gone = true;
    for (const worker of [...this.children.values()]) worker.failed(error);
  }

  /** The zygote is gone: its workers' exits can no longer be told, so they are ended here. */
  private end(): void {
    if (this.gone) return;
    this.gone = true;
    for (const worker of this.children.values()) {
      if (worker.pid !== undefined) worker.kill('SIGKILL');
      worker.ended(null, worker.pid === undefined ? null : 'SIGKILL');
    }
  }
}

/** The zygotes of a pool: the current one of each generation, and older ones still needed. */
export class Zygotes {
  private readonly all: Zygote[] = [];
  private newest = 0;

  constructor(
    private readonly spec: WorkerSpec,
    private readonly workersMax: number,
    private readonly logger: Logger,
  ) {}

  /** Where the next worker of `generation` comes from. */
  for(generation: number, extraEnv: Readonly<Record<string, string | null>>): ZygoteSource {
    this.newest = Math.max(this.newest, generation);
    // A zygote that failed or exited gives no more workers: a retry starts a new one.
    let zygote = this.all.find((z) => z.generation === generation && z.usable);
    if (zygote === undefined) {
      // Enough slots for the workers and their replacements for a while; a zygote whose
      // slots run out is followed by a new one, which imports the app again.
      const slots = Math.min(MAX_SLOTS, Math.max(16, 4 * this.workersMax));
      const created: Zygote = new Zygote(this.spec, generation, slots, this.logger, extraEnv, () =>
        this.prune(),
      );
      zygote = created;
      this.all.push(created);
    }
    this.prune();
    return zygote;
  }

  /** Every zygote, at shutdown once the workers are gone. */
  closeAll(): void {
    for (const zygote of this.all.splice(0)) zygote.close();
  }

  /** Closes the zygotes no worker will come from any more and none still needs. */
  private prune(): void {
    for (const zygote of [...this.all]) {
      const superseded = !zygote.usable || zygote.generation < this.newest;
      if (superseded && zygote.live === 0) {
        zygote.close();
        this.all.splice(this.all.indexOf(zygote), 1);
      }
    }
  }
}
