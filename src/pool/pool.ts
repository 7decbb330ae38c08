// The worker pool: hands each request to the least busy worker, queues it (bounded in size
// and in time) when every worker is full, and turns deaths and timeouts into 502/503/504 for
// the requests they hit. Which workers exist is the supervisor's business (supervisor.ts);
// this file is the dispatcher and the watchdog, and the pool's one public entry.
//
// Capacity per worker is its threads plus `prefetch`, or more for a worker whose requests are
// short (prefetch-depth.ts). The least busy worker is chosen first, so a request is queued
// *inside* a worker (behind a possibly slow one) only when every thread of every worker is
// already busy; the prefetched request then saves the round trip that would otherwise leave
// the worker idle between requests (docs/protocol.md, "Keeping a worker fed").
//
// One timer ticks for the whole pool (no timer per request). Each tick: requests past
// `timeout` get 504 and a TIMEOUT frame (the worker raises RequestTimeout in that thread);
// requests still running `timeout-grace` later are stuck and their worker is taken out of
// service; a draining worker left holding only stuck requests is aborted; requests queued
// longer than `max-queue-wait` get 503; then the supervisor's own checks run.

import type { Config } from '../config/index.js';
import { ConfigError, WorkerError } from '../errors.js';
import { Kind } from '../ipc/protocol.js';
import type { ExchangeSink } from '../ipc/link.js';
import type { Logger } from '../log.js';
import { Supervisor, type FatalKind, type PoolEvents } from './supervisor.js';
import { WaitQueue } from './queue.js';
import { watchRequests, type Watched } from './watchdog.js';
import type { Held, WorkerProcess, WorkerSpec } from './worker.js';

export type { PoolEvents, WorkerExit } from './supervisor.js';

/**
 * The settings the pool reads, straight from the settings table: their names, types and units
 * (durations in seconds, sizes in bytes; 0 disables a limit) are the table's, so a setting is
 * never copied into a second shape by hand. `--workers-max` and `--workers-min` are resolved
 * into the bounds below.
 */
export type PoolSettings = Readonly<
  Pick<
    Config,
    | 'prefetch'
    | 'maxQueue'
    | 'maxQueueWait'
    | 'timeout'
    | 'timeoutGrace'
    | 'gracefulTimeout'
    | 'idleTimeout'
    | 'maxRequests'
    | 'maxRequestsJitter'
    | 'maxLifetime'
    | 'maxLifetimeJitter'
    | 'maxRss'
    | 'slowRequest'
  >
>;

export interface PoolOptions extends PoolSettings, WorkerSpec {
  /** Workers to start with, within the bounds. */
  workers: number;
  /** Autoscaling bounds: equal to `workers` (the default) turns autoscaling off. */
  workersMin: number;
  workersMax: number;
  /** `cask dev`: an app that cannot be loaded waits for a reload instead of stopping the server. */
  waitForFix?: boolean;
}

/**
 * The pool's settings from the server's config. `workers-min` and `workers-max` default to
 * `workers`; the pool starts with `workers` brought within them. Throws ConfigError when
 * the two bounds contradict each other (the CLI exits 2).
 */
export function poolOptions(config: Config): PoolOptions {
  const min = config.workersMin > 0 ? config.workersMin : config.workers;
  const wantedMax = config.workersMax > 0 ? config.workersMax : config.workers;
  if (config.workersMin > 0 && config.workersMax > 0 && config.workersMax < config.workersMin) {
    throw new ConfigError(
      `Invalid value for --workers-max: ${config.workersMax} is below --workers-min (${config.workersMin})`,
    );
  }
  const max = Math.max(min, wantedMax);
  return {
    ...config,
    multiprocess: max > 1,
    workers: Math.min(max, Math.max(min, config.workers)),
    workersMin: min,
    workersMax: max,
  };
}

/** A request waiting for, or held by, a worker. */
export interface PoolJob extends ExchangeSink {
  /** Send the request's frames to `worker` under `id`. */
  dispatch(worker: WorkerProcess, id: number): void;
  /** The request in a few words for the log (`GET /path from 10.0.0.1`). */
  describe?(): string;
  /** Set by dispatch() for an exchange `timeout` does not apply to (a WebSocket). */
  readonly untimed?: boolean;
  /**
   * The pool's record of the job while a worker runs it and its client still waits; only the
   * pool reads or writes it. It is kept on the job rather than in a Map keyed by job, for the
   * reason src/ipc/id-table.ts gives.
   */
  poolHeld?: Held | undefined;
  /**
   * Whether the request may run in another worker after the one holding it died before
   * starting it (Pool.workerGone): its method is idempotent (RFC 9110 §9.2.2, which lets a
   * request with such a method be sent again when the first attempt's outcome is unknown) and
   * nothing of a response came for it. Absent: never.
   */
  replayable?(): boolean;
}

/**
 * A worker that holds requests beyond its threads and has finished none for this long is
 * stuck behind slow requests: the requests it has not started are asked back (RECLAIM) and
 * sent to a worker that is moving. Short enough that a fast request never waits long behind
 * a slow one; long enough that a worker running ordinary requests is never disturbed.
 */
export const STALL_MS = 20;

/** The tick: a quarter of the shortest deadline it watches, between these bounds. */
const TICK_MIN_MS = 50;
const TICK_MAX_MS = 250;

/**
 * The requests `worker` holds that it cannot have started: it starts them in the order it got
 * them, one per thread, so those past its thread count in that order are still waiting
 * (`held` iterates in the order the requests were sent: ids count up, src/ipc/id-table.ts).
 * Push streams are left out: started, and on no thread.
 */
function* waitingIn(worker: WorkerProcess): Generator<Held> {
  let index = 0;
  for (const held of worker.held.values()) {
    if (held.detached === true) continue;
    if (index++ >= worker.threads) yield held;
  }
}

export class Pool {
  readonly supervisor: Supervisor;
  private readonly workers: WorkerProcess[];
  private readonly watched: Watched;
  private readonly queue = new WaitQueue<PoolJob>();
  /** Requests in a worker whose client still waits for them (those with a `poolHeld`). */
  private runningCount = 0;
  private rotate = 0;
  private stopping = false;
  private tickTimer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  readonly counters = {
    dispatched: 0,
    queueFull: 0,
    queueTimeouts: 0,
    timeouts: 0,
    stuck: 0,
    reclaimed: 0,
    slow: 0,
  };
  private readonly logger: Logger;

  constructor(
    private readonly options: PoolOptions,
    logger: Logger,
    /** Called once if the app cannot run ('load': exit 4; 'start': exit 1). */
    onFatal: (reason: string, kind: FatalKind) => void,
  ) {
    this.supervisor = new Supervisor(
      {
        spec: options,
        workers: options.workers,
        workersMin: options.workersMin,
        workersMax: options.workersMax,
        idleTimeoutMs: options.idleTimeout * 1000,
        gracefulMs: options.gracefulTimeout * 1000,
        maxRequests: options.maxRequests,
        maxRequestsJitter: options.maxRequestsJitter,
        maxLifetime: options.maxLifetime,
        maxLifetimeJitter: options.maxLifetimeJitter,
        maxRss: options.maxRss,
        waitForFix: options.waitForFix,
      },
      this,
      logger,
      onFatal,
    );
    this.logger = logger;
    this.workers = this.supervisor.workers;
    this.watched = {
      workers: this.workers,
      timeoutMs: options.timeout * 1000,
      graceMs: options.timeoutGrace * 1000,
      logger,
      counters: this.counters,
      gaveUp: (job) => this.release(job as PoolJob),
      takeOut: (worker, why) => this.supervisor.takeOut(worker, why),
      failure: () =>
        new WorkerError('CASK_WORKER_TIMEOUT', `Request ran longer than ${options.timeout} s`),
      stuckReason: () =>
        `a request still runs ${options.timeoutGrace} s after its ${options.timeout} s timeout ` +
        '(blocked in a C call?); its other requests may finish, then it is aborted',
    };
  }

  /** Reload, worker-count, exit and scaling events, for hooks and logs. */
  set events(events: PoolEvents) {
    this.supervisor.events = events;
  }

  /** Spawn the workers; resolves when they are ready, rejects if the app cannot run. */
  start(): Promise<void> {
    const watched = [
      this.options.timeout,
      this.options.timeoutGrace,
      this.options.maxQueueWait,
      this.options.slowRequest,
    ]
      .filter((s) => s > 0)
      .map((s) => (s * 1000) / 4);
    const every = Math.min(TICK_MAX_MS, Math.max(TICK_MIN_MS, Math.min(TICK_MAX_MS, ...watched)));
    this.tickTimer = setInterval(() => this.tick(), every);
    this.tickTimer.unref();
    return this.supervisor.start();
  }

  get queued(): number {
    return this.queue.size;
  }

  /** `max-queue`: past it, requests get 503. */
  get maxQueue(): number {
    return this.options.maxQueue;
  }

  get busy(): number {
    return this.runningCount;
  }

  get readyWorkers(): number {
    return this.supervisor.acceptingWorkers;
  }

  /** Workers serving and not shutting down: what /readyz reports. */
  get ready(): boolean {
    return !this.stopping && this.supervisor.serving > 0 && this.supervisor.acceptingWorkers > 0;
  }

  submit(job: PoolJob): void {
    if (this.supervisor.fatal !== undefined || this.stopping) {
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
    const held = job.poolHeld;
    if (held === undefined) {
      this.queue.remove(job);
      return;
    }
    // The worker still holds it (and it still counts against `timeout`) until its final frame.
    this.release(job);
    held.job = undefined;
    held.worker.link.detach(held.id);
    held.worker.link.send(held.id, Kind.CANCEL, 0);
  }

  /** Grant response-body credit for a running job (see docs/protocol.md, flow control). */
  grant(job: PoolJob, bytes: number): void {
    const held = job.poolHeld;
    if (held !== undefined) held.worker.link.grant(held.id, bytes);
  }

  /** The job is no longer running for its client; false if it was not. */
  private release(job: PoolJob): boolean {
    if (job.poolHeld === undefined) return false;
    job.poolHeld = undefined;
    this.runningCount--;
    return true;
  }

  /** SIGHUP: a new generation of workers; false before start-up is done. */
  reload(): boolean {
    return this.supervisor.reload();
  }

  /** SIGTTIN/SIGTTOU: one worker more or less. */
  scale(delta: number, why: string): number {
    return this.supervisor.setTarget(this.supervisor.target + delta, why);
  }

  /** Stop every worker after the requests they hold; resolves when all have exited. */
  stop(graceMs: number): Promise<void> {
    this.stopping = true;
    clearInterval(this.tickTimer);
    clearTimeout(this.stallTimer);
    for (let job = this.queue.shift(); job !== undefined; job = this.queue.shift()) {
      job.onFail(new WorkerError('CASK_WORKER_DIED', 'The server is shutting down'));
    }
    return this.supervisor.stop(graceMs);
  }

  // -- what the supervisor calls (Dispatch) -------------------------------------------

  pump(): void {
    for (let job = this.queue.peek(); job !== undefined; job = this.queue.peek()) {
      if (!this.tryDispatch(job)) return;
      this.queue.shift();
    }
  }

  /**
   * The worker exited: what it held fails with 502, except the requests it cannot have
   * started, which go back to the head of the queue for another worker, as a RECLAIM would
   * have sent them. A worker starts requests in the order it got them, one per thread, and
   * this runs once the link has been read to its end (WorkerProcess), so every response it
   * finished is known: past its thread count, in the order sent (push streams aside), the
   * requests it held were still waiting. A request that kills its worker is one it was
   * running, so it is never sent again. One case escapes that count: a final frame the
   * worker had queued for its link writer thread and not yet written when it died (it
   * writes while another write is in progress: docs/protocol.md, "Coalescing"), after which
   * that thread may have started the next request. That is why only requests that may be sent
   * twice anyway are sent again (PoolJob.replayable).
   */
  workerGone(worker: WorkerProcess, why: string): void {
    worker.link.drainSinks();
    const failure = worker.brokenLink ?? new WorkerError('CASK_WORKER_DIED', why);
    const replayed: PoolJob[] = [];
    const waiting = new Set(waitingIn(worker));
    for (const held of worker.held.values()) {
      const job = held.job as PoolJob | undefined;
      if (job === undefined) continue;
      this.release(job);
      if (
        waiting.has(held) &&
        !this.stopping &&
        held.phase === 'running' &&
        job.replayable?.() === true
      ) {
        replayed.push(job);
        continue;
      }
      job.onFail(failure);
    }
    worker.held.clear();
    if (replayed.length > 0) {
      this.counters.reclaimed += replayed.length;
      // In the order they came, ahead of everything queued: they have waited longest.
      for (let i = replayed.length - 1; i >= 0; i--) this.queue.unshift(replayed[i] as PoolJob);
      this.logger.warn(
        `${replayed.length} request${replayed.length === 1 ? '' : 's'} the worker had not started sent to another worker (idempotent, no response yet)`,
      );
    }
    this.pump();
  }

  onExchangeDone(worker: WorkerProcess, id: number): void {
    const held = worker.held.get(id);
    worker.held.delete(id);
    if (held?.detached !== true) this.freeSlot(worker);
    if (held?.job !== undefined) this.release(held.job as PoolJob);
    this.pump();
  }

  /**
   * The request goes on as a push stream that holds no thread of the worker: its slot is
   * free for the next request, while the watchdog still times it (`held` keeps it).
   */
  onDetached(worker: WorkerProcess, id: number): void {
    const held = worker.held.get(id);
    if (held === undefined || held.detached === true) return;
    held.detached = true;
    // Its stack has no thread to show (the worker answers so); nothing to ask for.
    held.slowReported = true;
    this.freeSlot(worker);
    this.pump();
  }

  /**
   * The server is shutting down: every push stream is asked to end now (END_STREAM), since
   * the connections it holds would otherwise keep the drain waiting until its deadline.
   */
  endStreams(): void {
    for (const worker of this.workers) {
      if (worker.state === 'dead') continue;
      for (const held of worker.held.values())
        if (held.detached === true) worker.link.send(held.id, Kind.END_STREAM, 0);
    }
  }

  private freeSlot(worker: WorkerProcess): void {
    const now = Date.now();
    worker.depth.finished(performance.now(), worker.inFlight > worker.threads);
    worker.settle(now);
    worker.inFlight--;
    worker.lastDoneAt = now;
    if (worker.inFlight === 0) worker.idleSince = now;
    worker.stalled = false;
  }

  onReclaimed(worker: WorkerProcess, id: number, sink: ExchangeSink): void {
    worker.held.delete(id);
    worker.settle(Date.now());
    worker.inFlight--;
    if (worker.inFlight === 0) worker.idleSince = Date.now();
    const job = sink as PoolJob;
    if (this.release(job)) {
      this.counters.reclaimed++;
      if (this.stopping) {
        // A stopping worker gives back what it had not started; nobody is left to run it.
        job.onFail(new WorkerError('CASK_WORKER_DIED', 'The server is shutting down'));
        return;
      }
      // Back to the head of the line: it has waited longest.
      this.queue.unshift(job);
    }
    this.pump();
  }

  // -- dispatch -------------------------------------------------------------------------

  private tryDispatch(job: PoolJob): boolean {
    const count = this.workers.length;
    // With autoscaling the oldest of equally busy workers is preferred, so a light load
    // leaves the youngest idle and they can be retired; otherwise ties rotate.
    const start = this.supervisor.autoscaling ? 0 : this.rotate;
    let best: WorkerProcess | undefined;
    for (let i = 0; i < count; i++) {
      const worker = this.workers[(start + i) % count] as WorkerProcess;
      if (!this.canTake(worker)) continue;
      if (best === undefined || worker.inFlight < best.inFlight) best = worker;
      if (best.inFlight === 0) break;
    }
    if (best === undefined) return false;
    this.rotate = (this.rotate + 1) % Math.max(1, count);
    const now = Date.now();
    best.settle(now);
    const id = best.open(job);
    const held: Held = {
      worker: best,
      job,
      id,
      startedAt: now,
      reclaiming: false,
      phase: 'running',
      graceEndsAt: 0,
    };
    best.held.set(id, held);
    best.idleSince = 0;
    if (job.poolHeld === undefined) this.runningCount++;
    job.poolHeld = held;
    this.counters.dispatched++;
    job.dispatch(best, id);
    if (job.untimed === true) held.untimed = true;
    if (++best.served >= best.maxServed) {
      this.supervisor.retire(best, `max-requests: ${best.served} requests served`);
    }
    if (best.inFlight > best.threads && this.stallTimer === undefined) this.armStallCheck();
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
    const now = Date.now();
    let again = false;
    const stalled: WorkerProcess[] = [];
    for (const worker of this.workers) {
      if (worker.state !== 'ready' || worker.inFlight <= worker.threads) continue;
      again = true;
      if (now - worker.lastDoneAt < STALL_MS) continue;
      worker.stalled = true;
      stalled.push(worker);
    }
    // A request given back waits in the front's queue for the next worker that can take it.
    // While no other worker can (one worker, or every other one stalled or full), it would only
    // come back to the same worker, one RECLAIM and one resend later, as often as every
    // STALL_MS for requests that simply take longer than that: so it stays where it is until
    // another worker has room, which a later check sees.
    if (stalled.length === 0 || !this.workers.some((w) => this.canTake(w))) return again;
    for (const worker of stalled) {
      for (const held of waitingIn(worker)) {
        if (held.reclaiming || held.phase !== 'running') continue;
        held.reclaiming = true;
        worker.link.send(held.id, Kind.RECLAIM, 0);
      }
    }
    return again;
  }

  /** Whether tryDispatch() could give `worker` one more request now. */
  private canTake(worker: WorkerProcess): boolean {
    const limit = worker.stalled
      ? worker.threads
      : worker.threads + worker.depth.extra(this.options.prefetch);
    return worker.accepting && worker.inFlight < limit;
  }

  // -- the watchdog -------------------------------------------------------------------

  private tick(): void {
    const now = Date.now();
    if (this.options.timeout > 0) watchRequests(this.watched, now);
    if (this.options.slowRequest > 0) this.watchSlow(now);
    if (this.options.maxQueueWait > 0 && this.queued > 0) this.watchQueue(now);
    this.supervisor.tick(now);
  }

  /**
   * `slow-request`: once per request, ask the worker for the Python stack of the thread
   * running it (STACK_DUMP); the answer is logged by onStack(). The request is not stopped.
   */
  private watchSlow(now: number): void {
    const limit = this.options.slowRequest * 1000;
    for (const worker of this.workers) {
      if (worker.state === 'dead') continue;
      for (const held of worker.held.values()) {
        if (
          held.slowReported === true ||
          held.untimed === true ||
          held.phase !== 'running' ||
          now - held.startedAt < limit
        )
          continue;
        held.slowReported = true;
        this.counters.slow++;
        worker.link.send(held.id, Kind.STACK_DUMP, 0);
      }
    }
  }

  onStack(worker: WorkerProcess, id: number, text: string): void {
    const held = worker.held.get(id);
    const job = held?.job as PoolJob | undefined;
    const what = job?.describe?.() ?? `request ${id} (its client is gone)`;
    const age =
      held === undefined ? '' : ` for ${((Date.now() - held.startedAt) / 1000).toFixed(1)} s`;
    this.logger.warn(
      `Slow request: ${what} has run${age} (slow-request is ${this.options.slowRequest} s); ` +
        `its thread, where it is now:\n${text.trimEnd()}`,
      worker.tag,
    );
  }

  private watchQueue(now: number): void {
    for (const job of this.queue.expire(now - this.options.maxQueueWait * 1000)) {
      this.counters.queueTimeouts++;
      job.onFail(
        new WorkerError(
          'CASK_QUEUE_TIMEOUT',
          `No worker was free within ${this.options.maxQueueWait} s`,
        ),
      );
    }
  }
}
