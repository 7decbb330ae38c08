// One Python worker process: spawn, ready handshake, output capture, stop and kill. The link
// (file descriptor 3 of the child, a Unix socketpair made by libuv) carries the requests.

import { spawn, type ChildProcess } from 'node:child_process';
import { delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'node:net';
import { Kind } from '../ipc/protocol.js';
import { WorkerLink, type ExchangeSink } from '../ipc/link.js';
import type { Logger } from '../log.js';

/** The folder holding the `cask_worker` package, from src/pool or dist/pool alike. */
export const PYTHON_DIR = fileURLToPath(new URL('../../python', import.meta.url));

export const EXIT_LINK_ERROR = 3;
export const EXIT_LOAD_ERROR = 4;

export interface WorkerSpec {
  python: string;
  app: string;
  threads: number;
  multiprocess: boolean;
  pythonpath: readonly string[];
  chdir: string | undefined;
}

export interface WorkerEvents {
  onReady(worker: WorkerProcess): void;
  onLoadError(worker: WorkerProcess, text: string): void;
  onExchangeDone(worker: WorkerProcess, id: number, sink: ExchangeSink): void;
  onReclaimed(worker: WorkerProcess, sink: ExchangeSink): void;
  onExit(worker: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void;
}

export type WorkerState = 'starting' | 'ready' | 'stopping' | 'dead';

export function workerArgs(spec: WorkerSpec): string[] {
  const args = ['-m', 'cask_worker', '--app', spec.app, '--threads', String(spec.threads)];
  if (spec.multiprocess) args.push('--multiprocess');
  for (const dir of spec.pythonpath) args.push('--pythonpath', dir);
  if (spec.chdir) args.push('--chdir', spec.chdir);
  return args;
}

export class WorkerProcess {
  state: WorkerState = 'starting';
  readonly child: ChildProcess;
  readonly link: WorkerLink;
  readonly startedAt = Date.now();
  /** Requests sent and not yet finished by a final frame. */
  inFlight = 0;
  /** When the worker last finished a request; a worker that holds queued requests and has
   *  finished nothing for a while is stalled behind slow ones (see Pool.unstick). */
  lastDoneAt = Date.now();
  /** Stalled workers get no requests beyond their threads until they finish one. */
  stalled = false;
  /** Set when the interpreter itself could not be started. */
  spawnError: Error | undefined;
  wasReady = false;
  private nextId = 1;
  private killTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly index: number,
    spec: WorkerSpec,
    private readonly logger: Logger,
    events: WorkerEvents,
  ) {
    const env = { ...process.env };
    env.PYTHONPATH = env.PYTHONPATH ? `${PYTHON_DIR}${delimiter}${env.PYTHONPATH}` : PYTHON_DIR;
    env.PYTHONUNBUFFERED = '1';
    this.child = spawn(spec.python, workerArgs(spec), {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      env,
      cwd: spec.chdir ?? process.cwd(),
    });
    this.child.on('error', (error) => {
      if (this.child.pid !== undefined || this.state === 'dead') return;
      // The interpreter could not be started at all (ENOENT, EACCES): no 'exit' will follow.
      this.spawnError = error;
      this.state = 'dead';
      this.link.close();
      events.onExit(this, null, null);
    });
    this.pipeLines(this.child.stdout, 'stdout');
    this.pipeLines(this.child.stderr, 'stderr');
    this.link = new WorkerLink(this.child.stdio[3] as Socket, {
      onReady: () => {
        this.wasReady = true;
        if (this.state === 'starting') this.state = 'ready';
        events.onReady(this);
      },
      onLog: (level, text) => this.logger.log(level, text, this.tag),
      onLoadError: (text) => events.onLoadError(this, text),
      onStats: () => {},
      onExchangeDone: (id, sink) => events.onExchangeDone(this, id, sink),
      onReclaimed: (_id, sink) => events.onReclaimed(this, sink),
      onProtocolError: (error) => {
        this.logger.error(`Worker link broken, killing the worker: ${error.message}`, this.tag);
        this.kill();
      },
    });
    this.child.on('exit', (code, signal) => {
      this.state = 'dead';
      clearTimeout(this.killTimer);
      this.link.close();
      events.onExit(this, code, signal);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get tag(): string {
    return `worker ${this.index} pid ${this.pid ?? '?'}`;
  }

  /** Start an exchange: returns the request id to send frames under. */
  open(sink: ExchangeSink): number {
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    this.inFlight++;
    this.link.open(id, sink);
    return id;
  }

  /** Ask the worker to finish what it holds and exit; KILL after `graceMs`. */
  stop(graceMs: number): void {
    if (this.state === 'dead' || this.state === 'stopping') return;
    this.state = 'stopping';
    this.link.send(0, Kind.STOP, 0);
    this.killTimer = setTimeout(() => this.kill(), graceMs);
    this.killTimer.unref();
  }

  /** TERM now, KILL if it still runs a moment later. */
  kill(): void {
    if (this.state === 'dead') return;
    this.state = 'stopping';
    this.child.kill('SIGTERM');
    clearTimeout(this.killTimer);
    this.killTimer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    this.killTimer.unref();
  }

  private pipeLines(stream: NodeJS.ReadableStream | null, name: string): void {
    if (stream === null) return;
    let carry = '';
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => {
      const lines = (carry + text).split('\n');
      carry = lines.pop() ?? '';
      for (const line of lines) this.logger.raw(`${this.tag} ${name}`, line);
    });
    stream.on('end', () => {
      if (carry) this.logger.raw(`${this.tag} ${name}`, carry);
    });
  }
}
