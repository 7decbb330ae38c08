// The depth of a worker's own queue (src/pool/prefetch-depth.ts): `--prefetch` until the
// worker's pace is known, then as many requests as it finishes in PREFETCH_WINDOW_MS, within
// `--prefetch` and PREFETCH_MAX; measured only over requests finished back to back.
import { test, type TestContext } from 'node:test';
import {
  PACE_SAMPLE,
  PREFETCH_MAX,
  PREFETCH_WINDOW_MS,
  PrefetchDepth,
} from '../../src/pool/prefetch-depth.js';

/** `count` requests finished every `everyMs`, from `from`, all with the next one at hand. */
function finishEvery(depth: PrefetchDepth, count: number, everyMs: number, from = 0): number {
  let now = from;
  for (let i = 0; i < count; i++) {
    depth.finished(now, true);
    now += everyMs;
  }
  return now;
}

test('`--prefetch` holds until a whole run of requests has set the pace', (t: TestContext) => {
  t.plan(3);
  const depth = new PrefetchDepth();
  t.assert.strictEqual(depth.extra(8), 8);
  finishEvery(depth, PACE_SAMPLE, 0.05);
  t.assert.strictEqual(depth.extra(8), 8, 'one short of a run: no pace yet');
  depth.finished(PACE_SAMPLE * 0.05, true);
  // 50 µs a request: 10 ms holds 200, more than the ceiling.
  t.assert.strictEqual(depth.extra(8), PREFETCH_MAX);
});

test('the depth is the window over the pace, between `--prefetch` and the ceiling', (t: TestContext) => {
  t.plan(4);
  const flask = new PrefetchDepth();
  finishEvery(flask, PACE_SAMPLE + 1, 0.25);
  t.assert.strictEqual(flask.extra(8), Math.floor(PREFETCH_WINDOW_MS / 0.25));
  const slow = new PrefetchDepth();
  finishEvery(slow, PACE_SAMPLE + 1, 5);
  t.assert.strictEqual(slow.extra(8), 8, 'two requests fit in the window: the floor holds');
  t.assert.strictEqual(slow.extra(1), 2);
  // `--prefetch 0` turns prefetching off whatever the pace.
  t.assert.strictEqual(flask.extra(0), 0);
});

test('a slow request in a run brings the depth back down; an idle gap starts the run again', (t: TestContext) => {
  t.plan(3);
  const depth = new PrefetchDepth();
  let now = finishEvery(depth, PACE_SAMPLE + 1, 0.05);
  t.assert.strictEqual(depth.extra(8), PREFETCH_MAX);
  // One request of the next run takes 400 ms: the run's average is 12.5 ms a request.
  now = finishEvery(depth, PACE_SAMPLE - 1, 0, now);
  depth.finished(now + 400, true);
  t.assert.strictEqual(depth.extra(8), 8);
  // Requests that finish with nothing waiting behind them say nothing of the worker's pace:
  // a run cut by one starts over, so the long gap before it is never counted.
  const gaps = new PrefetchDepth();
  now = finishEvery(gaps, PACE_SAMPLE, 0.05);
  gaps.finished(now + 1000, false);
  finishEvery(gaps, PACE_SAMPLE + 1, 0.125, now + 1000);
  t.assert.strictEqual(gaps.extra(8), Math.floor(PREFETCH_WINDOW_MS / 0.125));
});
