import { test, type TestContext } from 'node:test';
import {
  insideFromScrapes,
  insideOfWindow,
  parseScrape,
  type TimedScrape,
} from '../../src/bench/cask-metrics.js';

function exposition(o: {
  requests: number;
  wait: [number, number, number];
  busy: number;
  capacity: number;
}): string {
  const [fast, slow, sum] = o.wait;
  return [
    '# TYPE cask_requests_total counter',
    `cask_requests_total{app="a",method="GET",status_class="2xx"} ${o.requests}`,
    'cask_requests_total{app="a",method="POST",status_class="2xx"} 1',
    `cask_queue_wait_seconds_bucket{le="0.001"} ${fast}`,
    `cask_queue_wait_seconds_bucket{le="0.01"} ${fast + slow}`,
    `cask_queue_wait_seconds_bucket{le="+Inf"} ${fast + slow}`,
    `cask_queue_wait_seconds_sum ${sum}`,
    `cask_queue_wait_seconds_count ${fast + slow}`,
    `cask_app_seconds_bucket{le="0.001"} 0`,
    `cask_app_seconds_bucket{le="0.01"} ${fast + slow}`,
    `cask_app_seconds_bucket{le="+Inf"} ${fast + slow}`,
    `cask_app_seconds_sum ${(fast + slow) * 0.005}`,
    `cask_app_seconds_count ${fast + slow}`,
    `cask_busy_thread_seconds_total ${o.busy}`,
    `cask_capacity_thread_seconds_total ${o.capacity}`,
    'cask_workers{state="ready"} 2',
    '',
  ].join('\n');
}

test('`parseScrape()` keys samples by name and labels and skips comments', (t: TestContext) => {
  t.plan(2);
  const s = parseScrape('# HELP x y\nx{a="1 2"} 3\ny 4\n');
  t.assert.equal(s.get('x{a="1 2"}'), 3);
  t.assert.equal(s.get('y'), 4);
});

test('`insideFromScrapes()` takes the window from the difference of two scrapes', (t: TestContext) => {
  t.plan(8);
  const before = parseScrape(
    exposition({ requests: 10, wait: [10, 0, 0.001], busy: 1, capacity: 10 }),
  );
  const after = parseScrape(
    exposition({ requests: 110, wait: [60, 50, 0.251], busy: 3, capacity: 18 }),
  );
  const inside = insideFromScrapes(before, after, 2000, 4);
  t.assert.equal(inside.requests, 100);
  t.assert.equal(inside.queueWait.count, 100);
  t.assert.equal(inside.queueWait.mean, 2.5);
  // 50 under 1 ms, 50 in (1, 10] ms: the median sits at the top of the first bucket.
  t.assert.equal(inside.queueWait.p50, 1);
  t.assert.equal(inside.appTime.count, 100);
  t.assert.equal(inside.utilization, 0.25);
  t.assert.equal(inside.avgInApp, 1);
  t.assert.equal(inside.processes, 2);
});

test('`insideOfWindow()` takes the first and last scrapes inside the window, over their span', (t: TestContext) => {
  t.plan(5);
  const at = (ms: number, requests: number, busy: number): TimedScrape => ({
    atNs: BigInt(ms) * 1_000_000n,
    scrape: parseScrape(
      exposition({ requests, wait: [requests, 0, 0], busy, capacity: (ms / 1000) * 4 }),
    ),
  });
  // Scrapes every 250 ms from 0 to 3000 ms; the window is [400, 2600] ms.
  const scrapes = [0, 250, 500, 750, 1000, 1500, 2000, 2500, 2750, 3000].map((ms) =>
    at(ms, ms, ms / 1000),
  );
  const inside = insideOfWindow(scrapes, 400_000_000n, 2_600_000_000n, 4);
  t.assert.ok(inside !== null);
  // From the 500 ms scrape to the 2500 ms one: 2000 requests over 2 s, 2 busy thread-seconds.
  t.assert.equal(inside?.requests, 2000);
  t.assert.equal(inside?.avgInApp, 1);
  t.assert.equal(inside?.utilization, 0.25);
  // One scrape inside the window is no span at all.
  t.assert.equal(insideOfWindow(scrapes, 2_400_000_000n, 2_600_000_000n, 4), null);
});
