// Statistics and histograms of the benchmark lab (src/bench/stats.ts, histogram.ts).
import { test, type TestContext } from 'node:test';
import fc from 'fast-check';
import { LatencyHistogram } from '../../src/bench/histogram.js';
import { mean, median, medianCounts, percentile, spread } from '../../src/bench/stats.js';

test('`percentile()` returns the median of an odd sample', (t: TestContext) => {
  t.plan(1);
  t.assert.strictEqual(percentile([9, 1, 5, 3, 7], 50), 5);
});

test('`percentile()` interpolates between the two middle values of an even sample', (t: TestContext) => {
  t.plan(2);
  t.assert.strictEqual(percentile([1, 2, 3, 4], 50), 2.5);
  t.assert.strictEqual(percentile([10, 20], 25), 12.5);
});

test('`percentile()` returns the extremes at 0 and 100 and NaN for an empty sample', (t: TestContext) => {
  t.plan(3);
  t.assert.strictEqual(percentile([3, 1, 2], 0), 1);
  t.assert.strictEqual(percentile([3, 1, 2], 100), 3);
  t.assert.ok(Number.isNaN(percentile([], 50)));
});

test('`percentile()` ignores NaN values and rejects a rank outside 0..100', (t: TestContext) => {
  t.plan(2);
  t.assert.strictEqual(median([Number.NaN, 4, 2]), 3);
  t.assert.throws(() => percentile([1], 101), RangeError);
});

test('`percentile()` stays between the sample minimum and maximum', () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1 }),
      fc.double({ min: 0, max: 100, noNaN: true }),
      (xs, p) => {
        const v = percentile(xs, p);
        return v >= Math.min(...xs) - 1e-9 && v <= Math.max(...xs) + 1e-9;
      },
    ),
  );
});

test('`spread()` is (max - min) / median and 0 for a single repeat', (t: TestContext) => {
  t.plan(5);
  const s = spread([90, 100, 120]);
  t.assert.strictEqual(s.min, 90);
  t.assert.strictEqual(s.max, 120);
  t.assert.strictEqual(s.median, 100);
  t.assert.ok(Math.abs(s.relative - 0.3) < 1e-12);
  t.assert.strictEqual(spread([42]).relative, 0);
});

test('`spread()` of nothing is NaN, not zero', (t: TestContext) => {
  t.plan(2);
  t.assert.ok(Number.isNaN(spread([]).median));
  t.assert.ok(Number.isNaN(spread([]).relative));
});

test('`mean()` averages finite values only', (t: TestContext) => {
  t.plan(2);
  t.assert.strictEqual(mean([1, 2, 3, Number.NaN]), 2);
  t.assert.ok(Number.isNaN(mean([])));
});

test('`medianCounts()` counts a kind missing from a repeat as zero', (t: TestContext) => {
  t.plan(1);
  t.assert.deepStrictEqual(medianCounts([{ reset: 4 }, { reset: 2, timeout: 1 }, {}]), {
    reset: 2,
    timeout: 0,
  });
});

test('`LatencyHistogram` percentiles are within 0.1% of the exact values', (t: TestContext) => {
  t.plan(4);
  const h = new LatencyHistogram();
  for (let i = 1; i <= 10_000; i++) h.recordMs(i / 10); // 0.1 ms … 1000 ms
  const s = h.summary();
  t.assert.strictEqual(s.count, 10_000);
  t.assert.ok(Math.abs(s.p50 - 500) / 500 < 0.001, `p50 ${s.p50}`);
  t.assert.ok(Math.abs(s.p99 - 990) / 990 < 0.001, `p99 ${s.p99}`);
  t.assert.ok(Math.abs(s.max - 1000) / 1000 < 0.001, `max ${s.max}`);
});

test('`LatencyHistogram.merge()` of encoded parts equals one histogram of everything', (t: TestContext) => {
  t.plan(3);
  const a = new LatencyHistogram();
  const b = new LatencyHistogram();
  const all = new LatencyHistogram();
  for (let i = 0; i < 1000; i++) {
    const v = 0.05 + (i % 97) * 1.3;
    (i % 2 === 0 ? a : b).recordMs(v);
    all.recordMs(v);
  }
  const merged = LatencyHistogram.merge([a.encode(), b.encode()]);
  t.assert.strictEqual(merged.count, 1000);
  t.assert.strictEqual(merged.percentileMs(50), all.percentileMs(50));
  t.assert.strictEqual(merged.percentileMs(99.9), all.percentileMs(99.9));
});

test('`LatencyHistogram.summary()` of an empty histogram is NaN, not zero', (t: TestContext) => {
  t.plan(2);
  const s = new LatencyHistogram().summary();
  t.assert.strictEqual(s.count, 0);
  t.assert.ok(Number.isNaN(s.p99));
});

test('`LatencyHistogram.recordMs()` with a count records that many values', (t: TestContext) => {
  t.plan(2);
  const h = new LatencyHistogram();
  h.recordMs(2, 300);
  h.recordMs(4, 100);
  t.assert.strictEqual(h.count, 400);
  t.assert.ok(Math.abs(h.percentileMs(50) - 2) < 0.01);
});
