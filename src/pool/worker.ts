// One Python worker process: spawn, ready handshake, output capture, drain, abort and kill.
// The link (file descriptor 3 of the child, a Unix socketpair made by libuv) carries the
// requests. The supervisor decides what happens to a worker; this file only does it.

import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Socket } from 'node:net';
import { LinkProtocolError } from '../errors.js';
import { Kind, type ResponseHead } from '../ipc/protocol.js';
import { WorkerLink, type ExchangeSink } from '../ipc/link.js';
import { IdTable } from '../ipc/id-table.js';
import { PrefetchDepth } from './prefetch-depth.js';
import type { Config } from '../config/index.js';
import type { WorkerChild, ZygoteSource } from './zygote.js';
import type { Logger } from '../log.js';

/** The folder holding the `cask_worker` package, from src/pool or dist/pool alike. */
export const PYTHON_DIR = fileURLToPath(new URL('../../python', import.meta.url));

export const EXIT_LINK_ERROR = 3;
export const EXIT_LOAD_ERROR = 4;
/** The worker's answer to SIGABRT: it printed its busy threads' stacks and left. */
export const EXIT_ABORTED = 5;
/** After SIGABRT (or SIGTERM from kill()), how long before SIGKILL. */
const KILL_AFTER_MS = 1000;
/** How long after a worker's exit its link may take to reach its end (WorkerLink.afterEnd):
 *  at once when the worker held it alone, so this only bounds a forked process holding it. */
const LINK_END_WAIT_MS = 200;

/** How to start a worker: settings from the table (`hooks` is a module or file of
 *  python/cask_worker/hooks.py, or null), and whether there may be several. */
export interface WorkerSpec extends Readonly<
  Pick<
    Config,
    | 'python'
    | 'app'
    | 'threads'
    | 'pythonpath'
    | 'chdir'
    | 'hooks'
    | 'interface'
    | 'workerClass'
    | 'workerScheduling'
    | 'workerConnections'
    | 'timeout'
    | 'timeoutGrace'
  >
> {
  readonly multiprocess: boolean;
  /** Send the app's source files in FILES frames, for the file watcher (`reload`). */
  readonly reportFiles?: boolean;
  /** Send development error pages (ERROR_PAGE): `cask dev` only, never `cask serve`. */
  readonly debugPages?: boolean;
  /** Which app it runs, in its log lines, when the server runs several (`/api worker 1 …`). */
  readonly label?: string | undefined;
  /** `--preload`: the workers are forked from a zygote that imported the app (zygote.ts). */
  readonly preload?: boolean;
  /** The zygote this worker is forked from; without one it is spawned. */
  readonly zygote?: ZygoteSource;
}

/** One request a worker holds, from dispatch until its final frame. */
export interface Held {
  readonly worker: WorkerProcess;
  /** The party waiting for the response; undefined once it gave up (client gone, 504). */
  job: ExchangeSink | undefined;
  id: number;
  startedAt: number;
  reclaiming: boolean;
  /** 'running' until `timeout`; then 'overdue' (TIMEOUT sent) until `timeout-grace`; then 'stuck'. */
  phase: 'running' | 'overdue' | 'stuck';
  /** When an overdue request becomes stuck. */
  graceEndsAt: number;
  /** Its stack was asked for once it ran past `slow-request`. */
  slowReported?: boolean;
  /** `timeout` does not apply (a WebSocket). */
  untimed?: boolean;
  /** A push stream: it holds no thread of the worker, so it is not counted in `inFlight`. */
  detached?: boolean;
}

export interface WorkerEvents {
  onReady(worker: WorkerProcess): void;
  onLoadError(worker: WorkerProcess, text: string): void;
  onExchangeDone(worker: WorkerProcess, id: number, sink: ExchangeSink): void;
  onReclaimed(worker: WorkerProcess, id: number, sink: ExchangeSink): void;
  /** Request `id` no longer holds a thread of the worker (a push stream). */
  onDetached?(worker: WorkerProcess, id: number): void;
  /** The stack of the thread running request `id`, asked for by the slow-request watch. */
  onStack?(worker: WorkerProcess, id: number, text: string): void;
  onExit(worker: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void;
  /** The app's source files (FILES); see WorkerSpec.reportFiles. */
  onFiles?(worker: WorkerProcess, files: string[]): void;
  /** The development error page of an app that could not be loaded (before LOAD_ERROR). */
  onLoadErrorPage?(worker: WorkerProcess, page: ResponseHead): void;
  /** The worker asks to be replaced (RETIRE): a thread it cannot get back, and why. */
  onRetire?(worker: WorkerProcess, reason: string): void;
}

/**
 * starting ─READY─▶ ready ─stop (RECLAIM + STOP)─▶ stopping ─exit─▶ dead
 *     └──────────────┴──────abort / kill / crash─────────────────▶ dead
 */
export type WorkerState = 'starting' | 'ready' | 'stopping' | 'dead';

/** The environment of a Python child: ours, `extra` on top (null removes), cask_worker importable. */
export function pythonEnv(extra: Readonly<Record<string, string | null>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [name, value] of Object.entries(extra)) {
    if (value === null) delete env[name];
    else env[name] = value;
  }
  env.PYTHONPATH = env.PYTHONPATH ? `${PYTHON_DIR}${delimiter}${env.PYTHONPATH}` : PYTHON_DIR;
  env.PYTHONUNBUFFERED = '1';
  return env;
}

export function workerArgs(spec: WorkerSpec, index = 1, generation = 1): string[] {
  const args = ['-m', 'cask_worker', '--app', spec.app, '--threads', String(spec.threads)];
  // The worker decides `auto` itself (only Python can look at the callable) and says which
  // in READY; an ASGI worker runs `worker-connections` requests at once.
  if (spec.interface !== 'auto') args.push('--interface', spec.interface);
  // A gevent worker runs `worker-connections` greenlets (python/cask_worker/__main__.py).
  if (spec.workerClass === 'gevent') args.push('--worker-class', 'gevent');
  if (spec.interface !== 'wsgi' || spec.workerClass === 'gevent')
    args.push('--worker-connections', String(spec.workerConnections));
  // Set by the worker itself, before its threads start, so that every thread inherits it.
  if (spec.workerScheduling === 'batch') args.push('--scheduling', 'batch');
  if (spec.multiprocess) args.push('--multiprocess');
  for (const dir of spec.pythonpath) args.push('--pythonpath', dir);
  if (spec.chdir) args.push('--chdir', spec.chdir);
  if (spec.hooks !== null) args.push('--hooks', spec.hooks);
  if (spec.reportFiles === true) args.push('--report-files');
  if (spec.debugPages === true) args.push('--debug-pages');
  // The front stops timing a request at its final frame; what a WSGI app runs after it (the
  // rest of its iterable, close()) is timed by the worker itself, with the same limits.
  if (spec.timeout > 0)
    args.push('--timeout', String(spec.timeout), '--timeout-grace', String(spec.timeoutGrace));
  if (index !== 1 || generation !== 1)
    args.push('--age', String(index), '--generation', String(generation));
  return args;
}

/**
 * A worker whose process could not be made. spawn() throws for some failures (ENOTDIR or
 * EACCES on a directory of the interpreter's path) and reports others on the next tick as an
 * 'error' event (ENOENT, and EMFILE or ENFILE when no descriptor is left for its pipes). This
 * stands in for the child in the first case and reports the same way, so that every failed
 * start takes the one path of the 'error' handler, after the supervisor has recorded it.
 */
export class UnstartedChild extends EventEmitter implements WorkerChild {
  readonly pid = undefined;
  readonly stdout = null;
  readonly stderr = null;
  readonly stdio = undefined;

  constructor(error: Error) {
    super();
    process.nextTick(() => this.emit('error', error));
  }

  kill(): boolean {
    return false;
  }
}

/** Spawns a worker's interpreter; a spawn that throws gives an UnstartedChild instead. */
function spawnWorker(
  spec: WorkerSpec,
  args: string[],
  extraEnv: Readonly<Record<string, string | null>>,
): WorkerChild {
  try {
    return spawn(spec.python, args, {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      env: pythonEnv(extraEnv),
      cwd: spec.chdir ?? process.cwd(),
    });
  } catch (error) {
    return new UnstartedChild(spawnFailure(error, spec.python));
  }
}

/**
 * The error a spawn() threw, named like the ones it reports by event (`spawn FILE ENOTDIR`):
 * the thrown ones leave the file out, which the log line needs to be of use.
 */
export function spawnFailure(error: unknown, file: string): Error {
  const failure = error as NodeJS.ErrnoException;
  if (failure.syscall === 'spawn' && failure.code !== undefined)
    failure.message = `spawn ${file} ${failure.code}`;
  return failure;
}

export class WorkerProcess {
  state: WorkerState = 'starting';
  readonly child: WorkerChild;
  readonly link: WorkerLink;
  readonly startedAt = Date.now();
  /** Requests sent and not yet finished by a final frame. */
  inFlight = 0;
  /** When the worker last finished a request; a worker that holds queued requests and has
   *  finished nothing for a while is stalled behind slow ones (see Pool.unstick). */
  lastDoneAt = Date.now();
  /** Stalled workers get no requests beyond their threads until they finish one. */
  stalled = false;
  /** How many it may hold beyond its threads, from the pace it finishes them at. */
  readonly depth = new PrefetchDepth();
  /** Set when the interpreter itself could not be started. */
  spawnError: Error | undefined;
  /** The worker broke the link protocol: its requests in flight fail with this (502). */
  brokenLink: LinkProtocolError | undefined;
  wasReady = false;
  /** The dispatcher may give it requests: ready, of the serving generation, not draining. */
  accepting = false;
  /** Why it should be replaced (max-requests, max-lifetime, max-rss), once a fresh one is ready. */
  retiring: string | undefined;
  /** Requests dispatched to it over its life, and how many it may take (max-requests). */
  served = 0;
  maxServed = Infinity;
  /** When max-lifetime retires it (ms since the epoch). */
  expiresAt = Infinity;
  /** It sent LOAD_ERROR. */
  loadFailed = false;
  /** When it last had nothing in flight (0 while busy), for idle-timeout. */
  idleSince = Date.now();
  /** Every request it holds, by request id, in dispatch order. */
  readonly held = new IdTable<Held>();
  /** When it became ready (ms since the epoch); 0 before. Its capacity counts from here. */
  readyAt = 0;
  /**
   * Busy thread-milliseconds so far: min(inFlight, threads) integrated over time, settled
   * each time `inFlight` changes (capacity utilisation, as mod_wsgi defines it).
   */
  busyMs = 0;
  /** When `busyMs` was last settled. */
  settledAt = Date.now();
  /** Why it was started and why it was let go, for the starts and exits counters. */
  startReason = 'start';
  exitReason: string | undefined;
  /**
   * Requests it runs at once: `threads` for a WSGI worker, `worker-connections` for an ASGI
   * one (its READY says which, and how many). The dispatcher holds at most this plus
   * `depth.extra(prefetch)` in it; /stats counts these slots as its threads.
   */
  threads: number;
  /** What its READY said the app is; undefined until then. */
  interface: 'wsgi' | 'asgi' | undefined;
  /** Its READY, as sent (`pid`, `python`, `interface`, `concurrency`, `loop`, …). */
  readyInfo: Readonly<Record<string, unknown>> = {};
  private nextId = 1;
  private killTimer: NodeJS.Timeout | undefined;
  private aborting = false;
  private readonly label: string;

  constructor(
    readonly index: number,
    readonly generation: number,
    spec: WorkerSpec,
    private readonly logger: Logger,
    events: WorkerEvents,
    extraEnv: Readonly<Record<string, string | null>> = {},
  ) {
    this.threads = spec.threads;
    this.label = spec.label === undefined ? '' : `${spec.label} `;
    // Forked from the zygote with the same arguments (without `-m cask_worker`), or spawned.
    this.child =
      spec.zygote?.fork(workerArgs(spec, index, generation).slice(2)) ??
      spawnWorker(spec, workerArgs(spec, index, generation), extraEnv);
    this.child.on('error', (error: Error) => {
      if (this.child.pid !== undefined || this.state === 'dead') return;
      // The interpreter could not be started at all (ENOENT, EACCES, EMFILE, ENOTDIR): no
      // 'exit' will follow. The supervisor takes it as a worker that died at once.
      this.spawnError = error;
      this.state = 'dead';
      this.link.close();
      events.onExit(this, null, null);
    });
    this.pipeLines(this.child.stdout, 'stdout');
    this.pipeLines(this.child.stderr, 'stderr');
    // A child that could not be started has no pipes (they are made with the process): an
    // unconnected socket stands in for its link until its 'error' closes it.
    const link = this.child.stdio?.[3] as Socket | undefined;
    this.link = new WorkerLink(link ?? new Socket(), {
      onReady: (info) => {
        if (this.state !== 'starting') return;
        this.readyInfo = info;
        this.interface = info.interface === 'asgi' ? 'asgi' : 'wsgi';
        const concurrency = info.concurrency;
        if (typeof concurrency === 'number' && Number.isInteger(concurrency) && concurrency > 0)
          this.threads = concurrency;
        this.wasReady = true;
        this.state = 'ready';
        this.idleSince = Date.now();
        this.readyAt = this.idleSince;
        this.settledAt = this.idleSince;
        events.onReady(this);
      },
      onLog: (level, text) => this.logger.log(level, text, this.tag),
      onLoadError: (text) => events.onLoadError(this, text),
      onStats: () => {},
      onFiles: (files) => events.onFiles?.(this, files),
      onLoadErrorPage: (page) => events.onLoadErrorPage?.(this, page),
      onRetire: (reason) => events.onRetire?.(this, reason),
      onExchangeDone: (id, sink) => events.onExchangeDone(this, id, sink),
      onReclaimed: (id, sink) => events.onReclaimed(this, id, sink),
      onDetached: (id) => events.onDetached?.(this, id),
      onStack: (id, text) => events.onStack?.(this, id, text),
      onProtocolError: (error) => {
        this.brokenLink =
          error instanceof LinkProtocolError ? error : new LinkProtocolError(error.message);
        this.logger.error(
          `Worker link broken, killing the worker: ${error.message} (CASK_LINK_PROTOCOL)`,
          this.tag,
        );
        this.kill();
      },
    });
    this.child.on('exit', (code, signal) => {
      this.state = 'dead';
      this.accepting = false;
      clearTimeout(this.killTimer);
      // The exit can be seen before the last frames the worker wrote are read: a response it
      // finished just before dying would be failed with 502, and the request it was running
      // would look as if it had not started (Pool.workerGone). So its requests are settled
      // only once the link is read to its end.
      this.link.afterEnd(LINK_END_WAIT_MS, () => {
        this.link.close();
        events.onExit(this, code, signal);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.state !== 'dead';
  }

  get tag(): string {
    return `${this.label}worker ${this.index} pid ${this.pid ?? '?'}`;
  }

  /** Adds the busy thread-time since the last change of `inFlight`; call before changing it. */
  settle(now: number): void {
    const busy = this.inFlight < this.threads ? this.inFlight : this.threads;
    if (busy > 0) this.busyMs += busy * (now - this.settledAt);
    this.settledAt = now;
  }

  /** Busy thread-seconds up to `now` (ms), without settling. */
  busySeconds(now: number): number {
    const busy = this.inFlight < this.threads ? this.inFlight : this.threads;
    return (this.busyMs + busy * Math.max(0, now - this.settledAt)) / 1000;
  }

  /** Start an exchange: returns the request id to send frames under. */
  open(sink: ExchangeSink): number {
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    this.inFlight++;
    this.link.open(id, sink);
    return id;
  }

  /**
   * Drain: no new requests; the ones it has not started are asked back (RECLAIM goes before
   * STOP, and the worker reads in order), the others finish, then it exits 0. Aborted if it
   * still runs after `graceMs`.
   */
  stop(graceMs: number): void {
    this.accepting = false;
    if (this.state === 'dead' || this.state === 'stopping') return;
    if (this.state === 'starting') {
      this.kill(); // still importing the app: nothing to finish
      return;
    }
    this.state = 'stopping';
    for (const held of this.held.values()) {
      if (held.reclaiming || held.phase !== 'running') continue;
      held.reclaiming = true;
      this.link.send(held.id, Kind.RECLAIM, 0);
    }
    this.link.send(0, Kind.STOP, 0);
    clearTimeout(this.killTimer);
    this.killTimer = setTimeout(() => this.graceOver(), graceMs);
    this.killTimer.unref();
  }

  /**
   * The graceful timeout of a drain has passed. WebSockets never end by themselves: they are
   * closed with 1001 (going away) and their apps told, which ends their tasks, so the worker
   * exits 0 if nothing else holds it; anything still running a second later is aborted.
   */
  private graceOver(): void {
    let closing = false;
    for (const held of this.held.values()) if (held.job?.goingAway?.() === true) closing = true;
    if (!closing) {
      this.abort();
      return;
    }
    this.killTimer = setTimeout(() => this.abort(), KILL_AFTER_MS);
    this.killTimer.unref();
  }

  /** A request would not stop: SIGABRT (the worker prints where its threads are), KILL a second later. */
  abort(): void {
    // Once: a second SIGABRT would push the SIGKILL back, for ever if the worker hangs.
    if (this.aborting) return;
    this.aborting = true;
    this.signalThenKill('SIGABRT');
  }

  /** TERM now (a graceful stop in the worker), KILL if it still runs a second later. */
  kill(): void {
    this.signalThenKill('SIGTERM');
  }

  private signalThenKill(signal: NodeJS.Signals): void {
    this.accepting = false;
    if (this.state === 'dead') return;
    this.state = 'stopping';
    this.child.kill(signal);
    clearTimeout(this.killTimer);
    this.killTimer = setTimeout(() => this.child.kill('SIGKILL'), KILL_AFTER_MS);
    this.killTimer.unref();
  }

  private pipeLines(stream: NodeJS.ReadableStream | null | undefined, name: string): void {
    onLines(stream, (line) => this.logger.raw(`${this.tag} ${name}`, line));
  }
}

/** The longest line of a child's output that is told whole; a longer one is told in pieces. */
export const MAX_LINE = 64 * 1024;
/** Ends each piece of a line longer than MAX_LINE but its last. */
export const LINE_CONTINUES = ' [line continues]';

/**
 * Splits a child's output into lines. Only the new text is searched for newlines, and what
 * is carried to the next chunk is at most `max` characters: a longer line is told in pieces
 * of `max`, each but its last ending with LINE_CONTINUES. An app that writes a hundred
 * megabytes without a newline then costs the front time in proportion to them and memory
 * for one piece, instead of a copy of all it wrote so far at every chunk (and, past what a
 * string can hold, a RangeError).
 */
export class LineSplitter {
  private carry = '';

  constructor(
    private readonly each: (line: string) => void,
    private readonly max = MAX_LINE,
  ) {}

  push(text: string): void {
    let start = 0;
    let newline = text.indexOf('\n');
    while (newline !== -1) {
      const part = text.slice(start, newline);
      const line = this.carry === '' ? part : this.carry + part;
      this.carry = '';
      this.each(this.cut(line));
      start = newline + 1;
      newline = text.indexOf('\n', start);
    }
    if (start < text.length) {
      const rest = start === 0 ? text : text.slice(start);
      this.carry = this.carry === '' ? rest : this.carry + rest;
      if (this.carry.length > this.max) this.carry = this.cut(this.carry);
    }
  }

  /** The output ended: its last line, even without a newline. */
  end(): void {
    if (this.carry !== '') this.each(this.carry);
    this.carry = '';
  }

  /** Tells the first pieces of `text` while more than `max` is left; returns the rest. */
  private cut(text: string): string {
    let from = 0;
    while (text.length - from > this.max) {
      let to = from + this.max;
      // Not between the two halves of a surrogate pair, which would print as two U+FFFD.
      const last = text.charCodeAt(to - 1);
      if (last >= 0xd800 && last <= 0xdbff) to--;
      this.each(text.slice(from, to) + LINE_CONTINUES);
      from = to;
    }
    return from === 0 ? text : text.slice(from);
  }
}

/**
 * Calls `each` with every line of a child's output, the last one even without a newline; a
 * line longer than `max` comes in pieces (LineSplitter). A child that could not be started
 * has no stream (null, or undefined after EMFILE).
 */
export function onLines(
  stream: NodeJS.ReadableStream | null | undefined,
  each: (line: string) => void,
  max = MAX_LINE,
): void {
  if (stream === null || stream === undefined) return;
  const lines = new LineSplitter(each, max);
  stream.setEncoding('utf8');
  stream.on('data', (text: string) => lines.push(text));
  stream.on('end', () => lines.end());
}
