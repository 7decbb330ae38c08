// The worker pool: keeps `workers` Python processes alive, hands each request to the least
// busy one, queues (bounded) when every worker is full, and turns deaths and timeouts into
// 502/504 for the requests they hit.
//
// Capacity per worker is `threads + prefetch`. The least busy worker is chosen first, so a
// request is queued *inside* a worker (behind a possibly slow one) only when every thread of
// every worker is already busy; the prefetched request then saves the round trip that would
// otherwise leave the worker idle between requests (docs/protocol.md, "Keeping a worker fed").

import { WorkerError } from '../errors.js';
import { Kind } from '../ipc/protocol.js';
import type { ExchangeSink } from '../ipc/link.js';
import type { Logger } from '../log.js';
import { EXIT_LOAD_ERROR, WorkerProcess, type WorkerSpec } from './worker.js';

export interface PoolOptions extends WorkerSpec {
  workers: number;
  prefetch: number;
  maxQueue: number;
  /** seconds; 0 disables */
  timeout: number;
}

/** A request waiting for, or held by, a worker. */
export interface PoolJob extends ExchangeSink {
  /** Send the request's frames to `worker` under `id`. */
  dispatch(worker: WorkerProcess, id: number): void;
}

interface Running {
  job: PoolJob;
  worker: WorkerProcess;
  id: number;
  startedAt: number;
  reclaiming: boolean;
}

const MAX_BACKOFF_MS = 10_000;
/**
 * A worker that holds requests beyond its threads and has finished none for this long is
 * stuck behind slow requests: the requests it has not started are asked back (RECLAIM) and
 * sent to a worker that is moving. Short enough that a fast request never waits long behind
 * a slow one; long enough that a worker running ordinary requests is never disturbed.
 */
export const STALL_MS = 20;

export class Pool {
  private readonly workers: WorkerProcess[] = [];
  private readonly queue: Array<PoolJob | undefined> = [];
  private queueHead = 0;
  private readonly running = new Map<PoolJob, Running>();
  private nextIndex = 1;
  private rotate = 0;
  private failures = 0;
  private stopping = false;
  private fatal: string | undefined;
  private everReady = false;
  private sweepTimer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private readyWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private exitWaiters: Array<() => void> = [];
  readonly counters = { dispatched: 0, queueFull: 0, timeouts: 0, workerDeaths: 0, reclaimed: 0 };

  constructor(
    private readonly options: PoolOptions,
    private readonly logger: Logger,
    /** Called once if the app cannot be loaded: the server must stop, not respawn. */
    private readonly onFatal: (reason: string, kind: 'load' | 'start') => void,
  ) {}

  /** Spawn the workers; resolves when all are ready, rejects on an app load error. */
  start(): Promise<void> {
    for (let i = 0; i < this.options.workers; i++) this.spawn();
    if (this.options.timeout > 0) {
      const every = Math.min(1000, Math.max(50, (this.options.timeout * 1000) / 4));
      this.sweepTimer = setInterval(() => this.sweep(), every);
      this.sweepTimer.unref();
    }
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  get queued(): number {
    return this.queue.length - this.queueHead;
  }

  get busy(): number {
    return this.running.size;
  }

  get readyWorkers(): number {
    return this.workers.filter((w) => w.state === 'ready').length;
  }

  submit(job: PoolJob): void {
    if (this.fatal !== undefined || this.stopping) {
      job.onFail(new WorkerError('CASK_WORKER_DIED', 'The server is shutting down'));
      return;
    }
    if (this.queued === 0 && this.tryDispatch(job)) return;
    if (this.queued >= this.options.maxQueue) {
      this.counters.queueFull++;
      job.onFail(new WorkerError('CASK_QUEUE_FULL', `Queue full: ${this.queued} requests waiting`));
      return;
    }
    this.queue.push(job);
  }

  /** The client went away: drop a queued job, or tell the worker to stop a running one. */
  cancel(job: PoolJob): void {
    const run = this.running.get(job);
    if (run === undefined) {
      const at = this.queue.indexOf(job, this.queueHead);
      if (at >= 0) this.queue[at] = undefined;
      return;
    }
    this.running.delete(job);
    run.worker.link.detach(run.id);
    run.worker.link.send(run.id, Kind.CANCEL, 0);
  }

  /** Grant response-body credit for a running job (see docs/protocol.md, flow control). */
  grant(job: PoolJob, bytes: number): void {
    const run = this.running.get(job);
    if (run !== undefined) run.worker.link.grant(run.id, bytes);
  }

  /** Stop every worker after the requests they hold; resolves when all have exited. */
  stop(graceMs: number): Promise<void> {
    this.stopping = true;
    clearInterval(this.sweepTimer);
    clearTimeout(this.stallTimer);
    for (let job = this.shiftQueue(); job !== undefined; job = this.shiftQueue()) {
      job.onFail(new WorkerError('CASK_WORKER_DIED', 'The server is shutting down'));
    }
    const alive = this.workers.filter((w) => w.state !== 'dead');
    if (alive.length === 0) return Promise.resolve();
    for (const worker of alive) worker.stop(graceMs);
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  private spawn(): void {
    const worker = new WorkerProcess(this.nextIndex++, this.options, this.logger, {
      onReady: (w) => this.onReady(w),
      onLoadError: (_w, text) => this.onLoadError(text),
      onExchangeDone: (w, _id, sink) => this.onExchangeDone(w, sink),
      onReclaimed: (w, sink) => this.onReclaimed(w, sink),
      onExit: (w, code, signal) => this.onExit(w, code, signal),
    });
    this.workers.push(worker);
  }

  private onReady(worker: WorkerProcess): void {
    this.everReady = true;
    this.logger.info(`Worker ready`, worker.tag);
    if (this.workers.every((w) => w.state !== 'starting')) {
      for (const waiter of this.readyWaiters.splice(0)) waiter.resolve();
    }
    this.pump();
  }

  private onLoadError(text: string): void {
    if (this.fatal !== undefined) return;
    this.fatal = text;
    this.onFatal(text, 'load');
    const error = new WorkerError('CASK_APP_LOAD', 'The application could not be loaded');
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(error);
  }

  private onExchangeDone(worker: WorkerProcess, sink: ExchangeSink): void {
    worker.inFlight--;
    worker.lastDoneAt = Date.now();
    worker.stalled = false;
    this.running.delete(sink as PoolJob);
    this.pump();
  }

  private onReclaimed(worker: WorkerProcess, sink: ExchangeSink): void {
    worker.inFlight--;
    const job = sink as PoolJob;
    if (this.running.delete(job)) {
      this.counters.reclaimed++;
      if (this.stopping) {
        // A stopping worker gives back what it had not started; nobody is left to run it.
        job.onFail(new WorkerError('CASK_WORKER_DIED', 'The server is shutting down'));
        return;
      }
      // Back to the head of the line: it has waited longest.
      if (this.queueHead > 0) this.queue[--this.queueHead] = job;
      else this.queue.unshift(job);
    }
    this.pump();
  }

  private onExit(worker: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void {
    this.workers.splice(this.workers.indexOf(worker), 1);
    for (const [, sink] of worker.link.drainSinks()) {
      sink.onFail(new WorkerError('CASK_WORKER_DIED', `Worker exited mid-request (${signal ?? code})`));
    }
    for (const [job, run] of this.running) if (run.worker === worker) this.running.delete(job);
    if (this.stopping) {
      if (this.workers.length === 0) for (const done of this.exitWaiters.splice(0)) done();
      return;
    }
    if (code === EXIT_LOAD_ERROR || this.fatal !== undefined) {
      if (this.fatal === undefined) this.onLoadError('The worker exited with the app-load error code');
      return;
    }
    if (!this.everReady && !worker.wasReady) {
      // At start-up a worker that dies before it is ready will die again (wrong interpreter,
      // an unsupported Python): stop and say so, as gunicorn does, instead of looping.
      this.fatal = worker.spawnError
        ? `Cannot run ${this.options.python}: ${worker.spawnError.message}`
        : `A worker exited before it was ready (${signal ?? `code ${code}`}); see its output above`;
      this.onFatal(this.fatal, 'start');
      const error = new WorkerError('CASK_WORKER_DIED', this.fatal);
      for (const waiter of this.readyWaiters.splice(0)) waiter.reject(error);
      return;
    }
    this.counters.workerDeaths++;
    const lived = Date.now() - worker.startedAt;
    this.failures = lived > 5000 ? 1 : this.failures + 1;
    const delay = Math.min(MAX_BACKOFF_MS, 100 * 2 ** (this.failures - 1));
    this.logger.warn(`Worker exited (${signal ?? `code ${code}`}); starting a new one in ${delay} ms`, worker.tag);
    setTimeout(() => {
      if (!this.stopping) this.spawn();
    }, delay).unref();
  }

  private pump(): void {
    while (this.queued > 0) {
      const job = this.queue[this.queueHead];
      if (job === undefined) {
        this.shiftQueue();
        continue;
      }
      if (!this.tryDispatch(job)) return;
      this.shiftQueue();
    }
  }

  private shiftQueue(): PoolJob | undefined {
    if (this.queueHead >= this.queue.length) return undefined;
    const job = this.queue[this.queueHead];
    this.queue[this.queueHead++] = undefined;
    // Compact now and then so the array does not grow for ever.
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    return job;
  }

  private tryDispatch(job: PoolJob): boolean {
    const threads = this.options.threads;
    const capacity = threads + this.options.prefetch;
    const count = this.workers.length;
    let best: WorkerProcess | undefined;
    for (let i = 0; i < count; i++) {
      const worker = this.workers[(this.rotate + i) % count] as WorkerProcess;
      if (worker.state !== 'ready' || worker.inFlight >= (worker.stalled ? threads : capacity)) continue;
      if (best === undefined || worker.inFlight < best.inFlight) best = worker;
      if (best.inFlight === 0) break;
    }
    if (best === undefined) return false;
    this.rotate = (this.rotate + 1) % Math.max(1, count);
    const id = best.open(job);
    this.running.set(job, { job, worker: best, id, startedAt: Date.now(), reclaiming: false });
    this.counters.dispatched++;
    job.dispatch(best, id);
    if (best.inFlight > threads && this.stallTimer === undefined) this.armStallCheck();
    return true;
  }

  private armStallCheck(): void {
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined;
      if (this.unstick()) this.armStallCheck();
    }, STALL_MS);
    this.stallTimer.unref();
  }

  /** Ask stalled workers for the requests they have not started; true while any worker
   *  still holds requests beyond its threads (so the check must run again). */
  private unstick(): boolean {
    const threads = this.options.threads;
    const now = Date.now();
    let again = false;
    for (const worker of this.workers) {
      if (worker.state !== 'ready' || worker.inFlight <= threads) continue;
      again = true;
      if (now - worker.lastDoneAt < STALL_MS) continue;
      worker.stalled = true;
      // The worker starts requests in the order it got them, so the newest ones beyond its
      // thread count are the ones still waiting; a Map iterates in insertion order.
      const mine: Running[] = [];
      for (const run of this.running.values()) if (run.worker === worker) mine.push(run);
      for (const run of mine.slice(threads)) {
        if (run.reclaiming) continue;
        run.reclaiming = true;
        worker.link.send(run.id, Kind.RECLAIM, 0);
      }
    }
    return again;
  }

  /** Coarse timeout check: one timer for the pool instead of one per request. */
  private sweep(): void {
    const limit = Date.now() - this.options.timeout * 1000;
    const doomed = new Set<WorkerProcess>();
    for (const [job, run] of this.running) {
      if (run.startedAt > limit) continue;
      this.running.delete(job);
      this.counters.timeouts++;
      run.worker.link.detach(run.id);
      job.onFail(new WorkerError('CASK_WORKER_TIMEOUT', `Request ran longer than ${this.options.timeout} s`));
      doomed.add(run.worker);
    }
    for (const worker of doomed) {
      this.logger.error(`Request timed out after ${this.options.timeout} s; replacing the worker`, worker.tag);
      worker.kill();
    }
  }
}
