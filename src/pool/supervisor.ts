// Private to src/pool: keeps the right workers alive. Everything that changes what is wanted
// (start-up, a reload, a worker count signal, the autoscaler, a recycling limit, a death)
// only records it and schedules `reconcile()`, which asks plan.ts for the steps and takes
// them. One loop, one place where workers are spawned and let go.
//
// A worker that dies unexpectedly is replaced with an exponential backoff (100 ms doubling to
// 10 s while replacements keep dying young); so is one whose process could not be made at
// all (no descriptor left for its pipes, a bad interpreter path). A worker that cannot load
// the app stops the server at start-up (exit 4), aborts a reload (the old generation keeps
// serving), and is retried with the backoff otherwise.

import type { Logger } from '../log.js';
import { Autoscaler, sampleLoad } from './autoscale.js';
import { formatBytes, lifetimeMs, readRss, requestLimit } from './limits.js';
import { plan, type Step, type WorkerView } from './plan.js';
import { EXIT_LOAD_ERROR, WorkerProcess, type WorkerSpec } from './worker.js';
import { Zygotes } from './zygote.js';
import type { ExchangeSink } from '../ipc/link.js';
import type { ResponseHead } from '../ipc/protocol.js';

const MAX_BACKOFF_MS = 10_000;
/** A worker that lived this long was not dying young: the backoff starts over. */
const YOUNG_MS = 5000;
const RSS_EVERY_MS = 1000;

export interface SupervisorOptions {
  readonly spec: WorkerSpec;
  readonly workers: number;
  /** Autoscaling bounds; equal to `workers` when it is off. */
  readonly workersMin: number;
  readonly workersMax: number;
  readonly idleTimeoutMs: number;
  /** How long a drained worker may take to finish its requests. */
  readonly gracefulMs: number;
  readonly maxRequests: number;
  readonly maxRequestsJitter: number;
  /** Seconds. */
  readonly maxLifetime: number;
  readonly maxLifetimeJitter: number;
  /** Bytes; 0 for no limit. */
  readonly maxRss: number;
  /**
   * `cask dev`: an app that cannot be loaded at start-up does not stop the server; no worker
   * runs until the next reload (a change to its files), as after a failed reload.
   */
  readonly waitForFix?: boolean;
}

/** What the supervisor needs from the dispatcher (pool.ts). */
export interface Dispatch {
  readonly queued: number;
  pump(): void;
  /** The worker exited: fail what it held. */
  workerGone(worker: WorkerProcess, why: string): void;
  onExchangeDone(worker: WorkerProcess, id: number): void;
  onReclaimed(worker: WorkerProcess, id: number, sink: ExchangeSink): void;
  /** A request let go of its worker's thread (a push stream). */
  onDetached?(worker: WorkerProcess, id: number): void;
  /** The stack of a slow request's thread arrived. */
  onStack?(worker: WorkerProcess, id: number, text: string): void;
}

export interface WorkerExit {
  readonly pid: number | undefined;
  /** The worker's number (gunicorn's `worker.age`). */
  readonly age: number;
  readonly generation: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface PoolEvents {
  onWorkerExit?(exit: WorkerExit): void;
  onTargetChanged?(now: number, before: number): void;
  onReload?(outcome: { ok: boolean; generation: number; reason?: string }): void;
  /** A worker reported the app's source files (FILES). */
  onFiles?(files: string[], generation: number): void;
  /** A worker that cannot load the app sent its development error page. */
  onLoadErrorPage?(page: ResponseHead, generation: number): void;
}

export type FatalKind = 'load' | 'start';

export class Supervisor {
  readonly workers: WorkerProcess[] = [];
  /** How many workers are wanted. */
  target: number;
  /** The committed generation (0 until the first one is ready). */
  serving = 0;
  /** A generation asked for and not committed yet (the first one, at start-up). */
  pending: number | undefined = 1;
  events: PoolEvents = {};
  /** Environment for the workers on top of the front's (set by the on_starting hook). */
  workerEnv: Readonly<Record<string, string | null>> = {};
  fatal: string | undefined;
  readonly counters = { spawned: 0, deaths: 0, recycled: 0, reloads: 0 };
  /** Workers started and exited, by reason (WORKER_START_REASONS, WORKER_EXIT_REASONS). */
  readonly starts = new Map<string, number>();
  readonly exits = new Map<string, number>();
  /** What the workers that exited added up to: busy and available thread-seconds. */
  readonly retired = { busySeconds: 0, capacitySeconds: 0 };
  /** Why the next replacements of the serving generation are started (oldest first). */
  private owed: string[] = [];
  private nextGeneration = 2;
  private nextIndex = 1;
  private failures = 0;
  private spawnNotBefore = 0;
  private backoffTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private scheduled = false;
  private rssCheckedAt = 0;
  private readonly leaving = new Set<WorkerProcess>();
  private readonly autoscaler: Autoscaler | undefined;
  private readyWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private exitWaiters: Array<() => void> = [];
  /** `--preload`: the zygotes the workers are forked from. */
  private readonly zygotes: Zygotes | undefined;

  constructor(
    private readonly options: SupervisorOptions,
    private readonly dispatch: Dispatch,
    private readonly logger: Logger,
    private readonly onFatal: (reason: string, kind: FatalKind) => void,
  ) {
    this.target = options.workers;
    this.zygotes =
      options.spec.preload === true
        ? new Zygotes(options.spec, options.workersMax, logger)
        : undefined;
    if (options.workersMax > options.workersMin) {
      this.autoscaler = new Autoscaler(
        options.workersMin,
        options.workersMax,
        options.idleTimeoutMs,
      );
    }
  }

  get autoscaling(): boolean {
    return this.autoscaler !== undefined;
  }

  /** Resolves when the first generation is ready; rejects if the app cannot run. */
  start(): Promise<void> {
    this.reconcile();
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /** SIGHUP: a new generation with freshly imported code; false before start-up is done. */
  reload(): boolean {
    // Before the first generation is ready there is nothing to reload, unless it could not
    // be loaded at all (waitForFix): then nothing runs and a reload is the way out.
    if (this.stopping || (this.serving === 0 && this.pending !== undefined)) return false;
    if (this.pending !== undefined) this.abandon(this.pending, 'a newer reload replaced it');
    this.pending = this.nextGeneration++;
    this.counters.reloads++;
    this.logger.info(
      `Reload: starting generation ${this.pending} (${this.target} worker(s)); generation ${this.serving} serves until it is ready`,
    );
    this.schedule();
    return true;
  }

  /** SIGTTIN/SIGTTOU and the autoscaler. Returns the target actually set. */
  setTarget(wanted: number, why: string): number {
    if (this.stopping) return this.target;
    const low = this.autoscaler?.min ?? 1;
    const high = this.autoscaler?.max ?? Number.MAX_SAFE_INTEGER;
    const next = Math.min(high, Math.max(low, wanted));
    const before = this.target;
    if (next === before) {
      this.logger.info(
        `Workers stay at ${before} (${why}; the limits are ${low} to ${this.autoscaler ? high : 'any'})`,
      );
      return before;
    }
    this.target = next;
    this.logger.info(`Workers: ${before} -> ${next} (${why})`);
    this.events.onTargetChanged?.(next, before);
    this.schedule();
    return next;
  }

  /** A recycling limit was reached: replace the worker once a fresh one is ready. */
  retire(worker: WorkerProcess, why: string): void {
    if (worker.retiring !== undefined || worker.state !== 'ready') return;
    worker.retiring = why;
    this.owed.push('recycled');
    this.counters.recycled++;
    this.logger.info(`Recycling the worker (${why}): starting its replacement first`, worker.tag);
    this.schedule();
  }

  /** Out of service at once (a request would not stop): no new requests, replaced now. */
  takeOut(worker: WorkerProcess, why: string): void {
    if (this.leaving.has(worker)) return;
    this.logger.error(`Taking the worker out of service: ${why}`, worker.tag);
    worker.exitReason = 'timeout';
    this.owed.push('timeout');
    this.letGo(worker, 'drain');
    this.schedule();
  }

  /** Called by the pool's tick: lifetimes, memory, autoscaling. */
  tick(now: number): void {
    if (this.stopping || this.serving === 0) return;
    const sampleRss = this.options.maxRss > 0 && now - this.rssCheckedAt >= RSS_EVERY_MS;
    if (sampleRss) this.rssCheckedAt = now;
    for (const worker of this.workers) {
      if (
        worker.state !== 'ready' ||
        worker.retiring !== undefined ||
        worker.generation !== this.serving
      )
        continue;
      if (now >= worker.expiresAt) {
        this.retire(worker, `max-lifetime: ${Math.round((now - worker.startedAt) / 1000)} s old`);
      } else if (sampleRss && worker.pid !== undefined) {
        const rss = readRss(worker.pid);
        if (rss !== undefined && rss > this.options.maxRss) {
          this.retire(
            worker,
            `max-rss: ${formatBytes(rss)} resident, limit ${formatBytes(this.options.maxRss)}`,
          );
        }
      }
    }
    if (this.autoscaler !== undefined && this.pending === undefined) this.autoscale(now);
  }

  /** Stop every worker after the requests it holds; resolves when all have exited. */
  stop(graceMs: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.backoffTimer);
    for (const waiter of this.readyWaiters.splice(0))
      waiter.reject(new Error('The server is shutting down'));
    const alive = this.workers.filter((w) => w.alive);
    if (alive.length === 0) {
      this.zygotes?.closeAll();
      return Promise.resolve();
    }
    for (const worker of alive) {
      this.leaving.add(worker);
      worker.exitReason ??= 'shutdown';
      worker.stop(graceMs);
    }
    return new Promise((resolve) =>
      this.exitWaiters.push(() => {
        this.zygotes?.closeAll();
        resolve();
      }),
    );
  }

  /** Ready and taking requests: for /readyz. */
  get acceptingWorkers(): number {
    let n = 0;
    for (const worker of this.workers) if (worker.accepting) n++;
    return n;
  }

  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.reconcile();
    });
  }

  private reconcile(): void {
    if (this.stopping || this.fatal !== undefined) return;
    // An app that never loaded (waitForFix): nothing is wanted until the next reload.
    if (this.serving === 0 && this.pending === undefined) return;
    const views: WorkerView[] = this.workers
      .filter((w) => w.alive)
      .map((w) => ({
        key: w.index,
        generation: w.generation,
        state: w.state === 'dead' ? 'stopping' : w.state,
        retiring: w.retiring !== undefined,
        inFlight: w.inFlight,
        startedAt: w.startedAt,
      }));
    const steps = plan({
      target: this.target,
      serving: this.serving,
      pending: this.pending,
      workers: views,
    });
    for (const step of steps) this.take(step);
    this.updateAccepting();
    this.dispatch.pump();
  }

  private take(step: Step): void {
    if (step.do === 'spawn') {
      const wait = this.spawnNotBefore - Date.now();
      if (wait > 0) {
        if (this.backoffTimer === undefined) {
          this.backoffTimer = setTimeout(() => {
            this.backoffTimer = undefined;
            this.reconcile();
          }, wait);
          this.backoffTimer.unref();
        }
        return;
      }
      this.spawn(step.generation);
    } else if (step.do === 'commit') {
      this.commit(step.generation);
    } else {
      const worker = this.workers.find((w) => w.index === step.key);
      if (worker === undefined) return;
      this.logger.info(`Stopping the worker: ${step.why}`, worker.tag);
      // After a commit step `serving` is the new generation, so the old one's workers are
      // let go for the reload; extras of the current generation, for scaling.
      worker.exitReason ??=
        worker.retiring !== undefined
          ? 'recycled'
          : worker.generation === this.serving || worker.generation === this.pending
            ? 'scaling'
            : 'reload';
      this.letGo(worker, step.do);
    }
  }

  private commit(generation: number): void {
    const first = this.serving === 0 && this.readyWaiters.length > 0;
    this.serving = generation;
    this.pending = undefined;
    // Replacements owed to the old generation are not owed any more: the new one is whole.
    this.owed = [];
    if (first) {
      for (const waiter of this.readyWaiters.splice(0)) waiter.resolve();
      return;
    }
    this.logger.info(`Reload complete: generation ${generation} serves`);
    this.events.onReload?.({ ok: true, generation });
  }

  private updateAccepting(): void {
    // At start-up the first generation's workers take requests as they come up: there is
    // no old code to protect.
    const open = this.serving === 0 ? this.pending : this.serving;
    for (const worker of this.workers) {
      worker.accepting =
        worker.state === 'ready' && worker.generation === open && !this.leaving.has(worker);
    }
  }

  private letGo(worker: WorkerProcess, how: 'drain' | 'kill'): void {
    this.leaving.add(worker);
    worker.accepting = false;
    if (how === 'kill') worker.kill();
    else worker.stop(this.options.gracefulMs);
  }

  private spawn(generation: number): void {
    const spec =
      this.zygotes === undefined
        ? this.options.spec
        : { ...this.options.spec, zygote: this.zygotes.for(generation, this.workerEnv) };
    const worker = new WorkerProcess(
      this.nextIndex++,
      generation,
      spec,
      this.logger,
      {
        onReady: (w) => this.onReady(w),
        onLoadError: (w, text) => this.onLoadError(w, text),
        onExchangeDone: (w, id) => this.dispatch.onExchangeDone(w, id),
        onReclaimed: (w, id, sink) => this.dispatch.onReclaimed(w, id, sink),
        onDetached: (w, id) => this.dispatch.onDetached?.(w, id),
        onStack: (w, id, text) => this.dispatch.onStack?.(w, id, text),
        onExit: (w, code, signal) => this.onExit(w, code, signal),
        onFiles: (w, files) => this.events.onFiles?.(files, w.generation),
        onLoadErrorPage: (w, page) => this.events.onLoadErrorPage?.(page, w.generation),
        onRetire: (w, reason) => this.takeOut(w, reason),
      },
      this.workerEnv,
    );
    worker.startReason =
      this.serving === 0
        ? 'start'
        : generation === this.pending
          ? 'reload'
          : (this.owed.shift() ?? 'scaling');
    count(this.starts, worker.startReason);
    worker.maxServed = requestLimit(this.options.maxRequests, this.options.maxRequestsJitter);
    worker.expiresAt =
      worker.startedAt + lifetimeMs(this.options.maxLifetime, this.options.maxLifetimeJitter);
    this.counters.spawned++;
    this.workers.push(worker);
  }

  private onReady(worker: WorkerProcess): void {
    // An ASGI or gevent worker says so, with its slots (and an ASGI one its loop).
    const kind =
      worker.interface === 'asgi'
        ? ` (ASGI, ${worker.threads} connections, ${String(worker.readyInfo.loop ?? 'asyncio')})`
        : worker.readyInfo.worker_class === 'gevent'
          ? ` (gevent, ${worker.threads} greenlets)`
          : '';
    this.logger.info(generationNote(worker, `Worker ready${kind}`), worker.tag);
    this.reconcile();
  }

  private onLoadError(worker: WorkerProcess, text: string): void {
    worker.loadFailed = true;
    // A worker already let go (its reload was abandoned) has nothing more to report.
    if (this.fatal !== undefined || this.stopping || this.leaving.has(worker)) return;
    // The worker printed the whole traceback already; its last line says what it was.
    const last = (text.trimEnd().split('\n').at(-1) ?? '').trim();
    if (this.serving === 0 && this.options.waitForFix !== true) {
      this.fail(text, 'load');
    } else if (worker.generation === this.pending) {
      this.abandon(worker.generation, `the new code could not be loaded (${last})`);
    } else {
      this.logger.error(`A new worker could not load the app:\n${text.trimEnd()}`, worker.tag);
    }
  }

  private onExit(worker: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void {
    this.workers.splice(this.workers.indexOf(worker), 1);
    const expected = this.leaving.delete(worker);
    const now = Date.now();
    worker.settle(now);
    this.retired.busySeconds += worker.busySeconds(now);
    if (worker.readyAt > 0)
      this.retired.capacitySeconds += (worker.threads * (now - worker.readyAt)) / 1000;
    if (!expected || worker.exitReason === undefined) {
      worker.exitReason = 'crash';
      if (!this.stopping && this.fatal === undefined && worker.generation === this.serving)
        this.owed.push('crash');
    }
    count(this.exits, worker.exitReason);
    this.dispatch.workerGone(worker, `Worker exited mid-request (${signal ?? code})`);
    this.events.onWorkerExit?.({
      pid: worker.pid,
      age: worker.index,
      generation: worker.generation,
      code,
      signal,
    });
    if (this.stopping) {
      if (this.workers.length === 0) for (const done of this.exitWaiters.splice(0)) done();
      return;
    }
    if (this.fatal !== undefined) return;
    if (expected) {
      this.logger.info(`Worker exited (${signal ?? `code ${code}`})`, worker.tag);
      this.schedule();
      return;
    }
    if (code === EXIT_LOAD_ERROR && !worker.loadFailed) {
      this.onLoadError(worker, 'The worker exited with the app-load error code');
      if (this.fatal !== undefined) return;
    }
    const waits = this.options.waitForFix === true && worker.spawnError === undefined;
    if (this.serving === 0 && !worker.wasReady && !waits) {
      // At start-up a worker that dies before it is ready will die again (wrong interpreter,
      // an unsupported Python): stop and say so, as gunicorn does, instead of looping.
      this.fail(
        worker.spawnError
          ? `Cannot run ${this.options.spec.python}: ${worker.spawnError.message}`
          : `A worker exited before it was ready (${signal ?? `code ${code}`}); see its output above`,
        'start',
      );
      return;
    }
    if (worker.generation === this.pending && !worker.wasReady) {
      if (worker.loadFailed) return; // abandoned already, by onLoadError
      this.abandon(
        worker.generation,
        worker.spawnError
          ? `a new worker could not be started (${worker.spawnError.message})`
          : `a new worker exited before it was ready (${signal ?? `code ${code}`})`,
      );
      return;
    }
    this.counters.deaths++;
    const lived = Date.now() - worker.startedAt;
    this.failures = lived > YOUNG_MS ? 1 : this.failures + 1;
    const delay = Math.min(MAX_BACKOFF_MS, 100 * 2 ** (this.failures - 1));
    this.spawnNotBefore = Date.now() + delay;
    if (worker.spawnError) {
      // Its process could not be made (no descriptor left, a path that went bad): the
      // workers that run serve on, and the retries back off as after a crash until it works.
      this.logger.error(
        `The worker could not be started (${worker.spawnError.message}); trying again in ${delay} ms`,
        worker.tag,
      );
    } else {
      this.logger.warn(
        `Worker exited (${signal ?? `code ${code}`}); starting a new one in ${delay} ms`,
        worker.tag,
      );
    }
    this.schedule();
  }

  /** A reload that cannot finish: its workers go, the serving generation stays. */
  private abandon(generation: number, why: string): void {
    if (this.pending !== generation) return;
    this.pending = undefined;
    for (const worker of this.workers)
      if (worker.generation === generation && worker.alive) {
        worker.exitReason ??= 'reload';
        this.letGo(worker, 'kill');
      }
    if (this.serving === 0) {
      // waitForFix: the server runs on without workers until the next reload.
      this.logger.error(`The app could not be loaded, waiting for a change to its files: ${why}`);
      for (const waiter of this.readyWaiters.splice(0)) waiter.resolve();
    } else {
      this.logger.error(`Reload failed, generation ${this.serving} keeps serving: ${why}`);
    }
    this.events.onReload?.({ ok: false, generation, reason: why });
    this.schedule();
  }

  private fail(reason: string, kind: FatalKind): void {
    this.fatal = reason;
    this.onFatal(reason, kind);
    const error = new Error(reason);
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(error);
  }

  private autoscale(now: number): void {
    const context = {
      now,
      target: this.target,
      queued: this.dispatch.queued,
      serving: this.serving,
    };
    const load = sampleLoad(this.workers, this.options.spec.threads, context);
    const decision = this.autoscaler?.decide(load);
    if (decision !== undefined) this.setTarget(decision.target, `autoscaling: ${decision.why}`);
  }
}

function count(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function generationNote(worker: WorkerProcess, text: string): string {
  return worker.generation > 1 ? `${text} (generation ${worker.generation})` : text;
}
