// What the metrics add to one request, in nanoseconds, measured alone: the clock reads, the
// counters and histograms the gateway bumps, and the pool's busy-thread accounting, exactly as
// the request path calls them. A whole hello-world request costs ~40 µs of CPU on this machine
// (bench/cpu-cost.sh), so the budget of 1% is ~400 ns. Whole-server A/B runs (docs/performance.md)
// drift by more than 1% on a shared machine; this isolates the part that changed.
//
//   node --import tsx bench/metrics-cost.ts [iterations]

import { RequestMetrics } from '../src/admin/instruments.js';

const iterations = Number(process.argv[2] ?? 2_000_000);
const metrics = new RequestMetrics();
const methods = ['GET', 'GET', 'POST', 'GET'];

/** The pool's accounting, as WorkerProcess.settle() does it. */
const worker = { inFlight: 0, threads: 4, busyMs: 0, settledAt: Date.now() };
function settle(now: number): void {
  const busy = worker.inFlight < worker.threads ? worker.inFlight : worker.threads;
  if (busy > 0) worker.busyMs += busy * (now - worker.settledAt);
  worker.settledAt = now;
}

interface Job {
  startedAt: number;
  dispatchedAt: number;
  doneAt: number;
}

function oneRequest(i: number): Job {
  const job: Job = { startedAt: performance.now(), dispatchedAt: -1, doneAt: -1 };
  // GatewayJob.dispatch(), called from inside handle(): it reuses startedAt.
  job.dispatchedAt = job.startedAt;
  settle(Date.now()); // Pool.tryDispatch(): its Date.now() was there before
  worker.inFlight++;
  job.doneAt = performance.now(); // the final frame
  settle(Date.now()); // Pool.onExchangeDone(): likewise
  worker.inFlight--;
  metrics.completed(methods[i & 3] as string, 200, job, performance.now()); // Gateway.completed()
  return job;
}

function baseline(i: number): Job {
  // What the request path did before: the pool's two clock reads and its in-flight count.
  const job: Job = { startedAt: 0, dispatchedAt: Date.now(), doneAt: -1 };
  worker.inFlight++;
  job.doneAt = Date.now() + (i & 1);
  worker.inFlight--;
  return job;
}

function time(fn: (i: number) => Job): number {
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink += fn(i).dispatchedAt;
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  if (sink === 42) console.log('');
  return ns;
}

// Warm up both, then measure each three times and keep the fastest (least disturbed).
time(oneRequest);
time(baseline);
const withMetrics = Math.min(time(oneRequest), time(oneRequest), time(oneRequest));
const without = Math.min(time(baseline), time(baseline), time(baseline));
console.log(
  `metrics per request: ${(withMetrics - without).toFixed(0)} ns ` +
    `(${withMetrics.toFixed(0)} ns with, ${without.toFixed(0)} ns without, ${iterations} iterations)`,
);
