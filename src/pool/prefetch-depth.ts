// How many requests a worker may hold beyond its threads: `--prefetch`, or more for a worker
// whose requests are short, as many as it finishes in about PREFETCH_WINDOW_MS.
//
// Why more: the front and the workers share the CPUs, and each time the worker runs out of
// requests and waits for the front to send more, both pay for the switch (the two processes
// and their caches take turns on the core). The deeper the worker's own queue, the more
// requests each of its turns serves: a hello-world app on one worker × one thread, 50
// keep-alive clients, server on one core, spent 54–64 µs of CPU per request (front and
// worker) with 8 requests held beyond its thread and 36–40 µs with 48 or more
// (docs/performance.md, "Keeping a worker fed").
//
// Why bounded by time rather than by count: a request that waits inside a worker is trapped
// there until the requests ahead of it have run (or, behind a slow one, until the pool's
// stall check gives it back, Pool.unstick), and `max-queue-wait` does not apply to it. A
// count that suits a 50 µs request would trap seconds of work behind a 50 ms one; a window
// of time keeps the wait of the last request held to about that window, whatever the app.
//
// The pace is measured where it is cheap and meaningful: over runs of PACE_SAMPLE requests
// that finish while the worker holds more than its threads (so it was never idle between
// them, and the time between them is its own pace, not the clients'). A slow request ending
// such a run makes its average slow, and the depth falls back towards `--prefetch`.

/** The work, in milliseconds of the worker's own pace, that its queue may hold. */
export const PREFETCH_WINDOW_MS = 10;
/** The depth never grows past this many requests beyond the worker's threads. */
export const PREFETCH_MAX = 128;
/** Requests finished back to back per measurement of the pace. */
export const PACE_SAMPLE = 32;

export class PrefetchDepth {
  /** Milliseconds per finished request over the last complete run; NaN before the first. */
  private paceMs = Number.NaN;
  private runStart = 0;
  private runCount = 0;

  /**
   * A request finished. `busy`: the worker held more requests than its threads when it did,
   * so it had the next one at hand. `now` is a monotonic clock in milliseconds.
   */
  finished(now: number, busy: boolean): void {
    if (!busy) {
      // An idle gap: the run so far measured the clients' pace too; start again.
      this.runCount = 0;
      return;
    }
    if (this.runCount === 0) {
      this.runStart = now;
      this.runCount = 1;
      return;
    }
    if (++this.runCount <= PACE_SAMPLE) return;
    this.paceMs = (now - this.runStart) / PACE_SAMPLE;
    this.runStart = now;
    this.runCount = 1;
  }

  /** Requests the worker may hold beyond its threads: `floor` (`--prefetch`) at least; 0 when
   *  prefetching is off (`floor` 0). */
  extra(floor: number): number {
    if (floor === 0) return 0;
    const pace = this.paceMs;
    if (!(pace > 0)) return floor;
    const fits = Math.floor(PREFETCH_WINDOW_MS / pace);
    return fits <= floor ? floor : fits >= PREFETCH_MAX ? PREFETCH_MAX : fits;
  }
}
