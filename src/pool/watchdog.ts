// Private to src/pool: request timeouts, checked on the pool's tick (one timer for the whole
// pool, none per request). Every request a worker holds has a phase:
//
//   running ──timeout──▶ overdue ──timeout-grace──▶ stuck
//              504 to the client,    still no final frame: the worker is taken out of
//              TIMEOUT to the worker service (no new requests, replaced at once)
//              (RequestTimeout in
//               its thread)
//
// A worker taken out of service is drained: its other requests finish. Once it holds
// nothing but stuck requests it is aborted (SIGABRT, then SIGKILL), so no innocent request
// is failed for a stuck one. A request whose client went away is still watched: it holds a
// thread until its final frame.

import type { WorkerError } from '../errors.js';
import { Kind } from '../ipc/protocol.js';
import type { ExchangeSink } from '../ipc/link.js';
import type { Logger } from '../log.js';
import type { Held, WorkerProcess } from './worker.js';

export interface Watched {
  readonly workers: readonly WorkerProcess[];
  readonly timeoutMs: number;
  readonly graceMs: number;
  readonly logger: Logger;
  readonly counters: { timeouts: number; stuck: number };
  /** The pool stops tracking a job it failed with 504. */
  gaveUp(job: ExchangeSink): void;
  takeOut(worker: WorkerProcess, why: string): void;
  failure(): WorkerError;
  stuckReason(): string;
}

export function watchRequests(pool: Watched, now: number): void {
  for (const worker of [...pool.workers]) {
    let onlyStuck = worker.held.size > 0;
    for (const held of worker.held.values()) {
      if (held.untimed === true) {
        // A WebSocket: it has its own ping and idle timeouts in the front.
        onlyStuck = false;
        continue;
      }
      if (held.phase === 'running') {
        if (now - held.startedAt < pool.timeoutMs) onlyStuck = false;
        else timeOut(pool, worker, held, now);
      }
      if (held.phase === 'overdue') {
        if (now < held.graceEndsAt) onlyStuck = false;
        else stuck(pool, worker, held);
      }
    }
    if (onlyStuck && worker.state === 'stopping' && worker.alive) {
      pool.logger.error(
        'Aborting the worker: it holds only requests that would not stop',
        worker.tag,
      );
      worker.abort();
    }
  }
}

/** 504 now; the worker stops the request in its own thread (docs/protocol.md, TIMEOUT). */
function timeOut(pool: Watched, worker: WorkerProcess, held: Held, now: number): void {
  held.phase = 'overdue';
  held.graceEndsAt = now + pool.graceMs;
  pool.counters.timeouts++;
  const job = held.job;
  if (job !== undefined) {
    held.job = undefined;
    pool.gaveUp(job);
    worker.link.detach(held.id);
    job.onFail(pool.failure());
  }
  worker.link.send(held.id, Kind.TIMEOUT, 0);
}

function stuck(pool: Watched, worker: WorkerProcess, held: Held): void {
  held.phase = 'stuck';
  pool.counters.stuck++;
  pool.takeOut(worker, pool.stuckReason());
}
