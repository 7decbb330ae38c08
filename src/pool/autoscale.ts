// Private to src/pool: how many workers the load asks for, between `workers-min` and
// `workers-max`. Pure: the pool feeds it one sample per tick and applies what it answers.
//
// Up: a worker is added when requests have been waiting for a thread (in the front's queue,
// or queued inside a worker beyond its threads) in at least half of the samples of the last
// UP_WINDOW_MS, and no worker is still starting: one at a time, each step measured again.
// Down: a worker that has had nothing in flight for `idle-timeout` is retired. The
// dispatcher sends each request to the least busy worker, the oldest of equals, so under a
// light load the youngest workers are the ones left idle.
//
// Busy threads alone never add a worker: with one thread per worker and exactly as many
// clients as workers, every thread is busy and nobody waits; adding a worker there would
// leave it idle, retire it after `idle-timeout` and add it again, for ever.

export const UP_WINDOW_MS = 1000;
const UP_SHARE = 0.5;

export interface LoadSample {
  readonly now: number;
  readonly target: number;
  /** Requests waiting in the front's queue. */
  readonly queued: number;
  /** Requests held by accepting workers (running or queued inside them). */
  readonly inFlight: number;
  /** Threads of the accepting workers. */
  readonly capacity: number;
  /** Workers of the serving generation still starting. */
  readonly starting: number;
  /** The longest time an accepting worker has had nothing in flight, in ms (0: none idle). */
  readonly longestIdleMs: number;
}

export interface ScaleDecision {
  readonly target: number;
  readonly why: string;
}

/** What the sample needs of a worker (WorkerProcess has it). */
export interface WorkerLoad {
  readonly generation: number;
  readonly state: string;
  readonly accepting: boolean;
  readonly inFlight: number;
  readonly idleSince: number;
  /** Requests it runs at once, when it said (READY): an ASGI or gevent worker's slots. */
  readonly threads?: number;
}

/** One sample of the serving generation's load. */
export function sampleLoad(
  workers: Iterable<WorkerLoad>,
  threads: number,
  at: { now: number; target: number; queued: number; serving: number },
): LoadSample {
  let inFlight = 0;
  let capacity = 0;
  let starting = 0;
  let longestIdleMs = 0;
  for (const worker of workers) {
    if (worker.generation !== at.serving) continue;
    if (worker.state === 'starting') starting++;
    if (!worker.accepting) continue;
    inFlight += worker.inFlight;
    capacity += worker.threads ?? threads;
    if (worker.inFlight === 0 && worker.idleSince > 0) {
      longestIdleMs = Math.max(longestIdleMs, at.now - worker.idleSince);
    }
  }
  return {
    now: at.now,
    target: at.target,
    queued: at.queued,
    inFlight,
    capacity,
    starting,
    longestIdleMs,
  };
}

export class Autoscaler {
  private windowStart: number | undefined;
  private samples = 0;
  private waiting = 0;

  constructor(
    readonly min: number,
    readonly max: number,
    readonly idleTimeoutMs: number,
  ) {}

  decide(load: LoadSample): ScaleDecision | undefined {
    const demand = load.queued + load.inFlight;
    const waits = demand > load.capacity;
    if (this.windowStart === undefined) this.windowStart = load.now;
    this.samples++;
    if (waits) this.waiting++;
    if (load.now - this.windowStart >= UP_WINDOW_MS) {
      const share = this.waiting / this.samples;
      this.windowStart = load.now;
      this.samples = 0;
      this.waiting = 0;
      if (share >= UP_SHARE && load.starting === 0 && load.target < this.max) {
        return {
          target: load.target + 1,
          why: `requests waited for a thread in ${Math.round(share * 100)}% of the last second (${demand} for ${load.capacity} threads)`,
        };
      }
    }
    if (!waits && load.target > this.min && load.longestIdleMs >= this.idleTimeoutMs) {
      return {
        target: load.target - 1,
        why: `a worker was idle for ${Math.round(load.longestIdleMs / 1000)} s`,
      };
    }
    return undefined;
  }
}
